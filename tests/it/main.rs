//! Integration tests: one binary, a module per area.

mod cli;
mod common;
mod offline;
mod registry;
mod sampling;
