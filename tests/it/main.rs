//! Integration tests: one binary, a module per area.

mod audit;
mod audit_props;
mod audit_redis;
mod cli;
mod common;
mod embedding;
mod feast;
mod feast_redis;
mod logs;
mod offline;
mod online;
mod redis_server;
mod registry;
mod sampling;
mod snapshots_test;
mod stats;
