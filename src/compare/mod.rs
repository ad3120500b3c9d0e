//! Comparison, pure: per-row matching and cause attribution ([`row`]) and distribution
//! statistics ([`stats`]).

pub mod row;
pub mod stats;
