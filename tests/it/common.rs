//! Test helpers: temporary project directories with real Parquet files and registries.

use polars::prelude::*;
use std::path::{Path, PathBuf};

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Self {
        Project {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }
    pub fn parquet(&self, rel: &str, df: &mut DataFrame) -> PathBuf {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        write_parquet(&p, df);
        p
    }
}

pub fn write_parquet(p: &Path, df: &mut DataFrame) {
    let f = std::fs::File::create(p).expect("create parquet");
    ParquetWriter::new(f).finish(df).expect("write parquet");
}

/// Microseconds per minute.
pub const MIN: i64 = 60_000_000;

/// A datetime column (µs, naive = UTC) from microsecond values.
pub fn ts_column(name: &str, us: Vec<i64>) -> Column {
    Column::new(name.into(), us)
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        .expect("cast ts")
}

/// A small transactions table: user_id, event_ts, amount, status, category.
pub fn transactions(rows: &[(i64, i64, Option<f64>, &str, &str)]) -> DataFrame {
    let n = rows.len();
    DataFrame::new(
        n,
        vec![
            Column::new(
                "user_id".into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            ts_column("event_ts", rows.iter().map(|r| r.1).collect()),
            Column::new(
                "amount".into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                rows.iter().map(|r| r.3.to_string()).collect::<Vec<_>>(),
            ),
            Column::new(
                "category".into(),
                rows.iter().map(|r| r.4.to_string()).collect::<Vec<_>>(),
            ),
        ],
    )
    .expect("frame")
}

pub const BASE_REGISTRY: &str = r#"
[project]
name = "t"
version = "v1"

[entities.user]
keys = ["user_id"]

[sources.tx]
path = "tx.parquet"
timestamp = "event_ts"
"#;

/// A project with `tx.parquet` from `rows` and a registry of BASE_REGISTRY + `features`.
pub fn project_with(
    rows: &[(i64, i64, Option<f64>, &str, &str)],
    features: &str,
) -> (Project, PathBuf) {
    let p = Project::new();
    p.parquet("tx.parquet", &mut transactions(rows));
    let reg = p.write("features.toml", &format!("{BASE_REGISTRY}\n{features}"));
    (p, reg)
}
