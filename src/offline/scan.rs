//! Opening a source's Parquet as a Polars lazy scan: one file, a glob, or a (hive-partitioned)
//! directory, resolved against the registry's directory; `s3://` is accepted by the type.

use crate::registry::{Location, Source};
use polars::prelude::*;
use std::path::Path;

/// Why a source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("source '{source_name}': {path}: {message}")]
    Open {
        source_name: String,
        path: String,
        message: String,
    },
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Checks that a local location names at least one Parquet file; says what to do otherwise.
pub fn check_exists(loc: &Location) -> Result<(), String> {
    let Location::Local(p) = loc else {
        return Ok(());
    };
    let s = p.to_string_lossy();
    if has_glob(&s) {
        let n = glob::glob(&s)
            .map_err(|e| format!("bad glob pattern: {e}"))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .count();
        if n == 0 {
            return Err("the glob matches no file; check `path` (relative paths resolve against the registry's directory)".into());
        }
        return Ok(());
    }
    if p.is_dir() {
        if !dir_has_parquet(p) {
            return Err("the directory holds no .parquet file".into());
        }
        return Ok(());
    }
    if !p.exists() {
        return Err("no such file or directory; check `path` (relative paths resolve against the registry's directory)".into());
    }
    Ok(())
}

fn dir_has_parquet(p: &Path) -> bool {
    let Ok(rd) = std::fs::read_dir(p) else {
        return false;
    };
    rd.filter_map(Result::ok).any(|e| {
        let path = e.path();
        if path.is_dir() {
            dir_has_parquet(&path)
        } else {
            path.extension().is_some_and(|x| x == "parquet")
        }
    })
}

/// A lazy scan of a Parquet location (hive partitions on for directories).
pub fn scan_location(loc: &Location) -> PolarsResult<LazyFrame> {
    let path = loc.to_string();
    let args = ScanArgsParquet {
        glob: true,
        ..Default::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(path.as_str()), args)
}

/// Opens a source: checks it exists, then scans it.
pub fn scan_source(src: &Source) -> Result<LazyFrame, ScanError> {
    let err = |message: String| ScanError::Open {
        source_name: src.name.clone(),
        path: src.location.to_string(),
        message,
    };
    check_exists(&src.location).map_err(err)?;
    scan_location(&src.location).map_err(|e| err(one_line(&e.to_string())))
}

/// The schema of a source's data (reads Parquet footers only).
pub fn source_schema(src: &Source) -> Result<SchemaRef, ScanError> {
    let mut lf = scan_source(src)?;
    lf.collect_schema().map_err(|e| ScanError::Open {
        source_name: src.name.clone(),
        path: src.location.to_string(),
        message: one_line(&e.to_string()),
    })
}

/// First line of an error message, trimmed (Polars' messages carry hints on later lines).
pub fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// The expression turning a source's timestamp column into microseconds since the epoch,
/// UTC: naive datetimes are UTC, zoned ones are converted, dates are midnight UTC.
pub fn ts_micros(column: &str, dtype: &DataType) -> Result<Expr, String> {
    match dtype {
        DataType::Datetime(_, _) => Ok(col(column).dt().timestamp(TimeUnit::Microseconds)),
        DataType::Date => Ok(col(column)
            .cast(DataType::Datetime(TimeUnit::Microseconds, None))
            .dt()
            .timestamp(TimeUnit::Microseconds)),
        other => Err(format!(
            "timestamp column '{column}' has type {other}; it must be a datetime or a date"
        )),
    }
}
