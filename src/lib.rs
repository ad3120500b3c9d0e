//! skewaudit: a training-serving skew auditor.
//!
//! The data flows `registry` (canonical feature definitions) -> `sample` (which keys) ->
//! `offline` (point-in-time recompute over Parquet with Polars) -> later `online`, `logs`,
//! `compare` and `report`. `commands` holds one module per subcommand; `cli` turns the raw
//! arguments into checked plans; `exit` holds the documented exit codes.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod exit;
pub mod logs;
pub mod offline;
pub mod online;
pub mod output;
pub mod progress;
pub mod registry;
pub mod report;
pub mod sample;
