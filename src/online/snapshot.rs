//! Online snapshots: the online values of a sample frozen in one Parquet file
//! (`docs/snapshot.md`). Anywhere an online URL is accepted, such a file is accepted too.

use super::frame::{KEY_PRESENT, STATUS, TS, VERSION};
use super::OnlineError;
use crate::registry::{format_time, Dtype, Feature};
use polars::prelude::*;
use std::path::Path;

/// Parquet metadata keys.
pub const META_VERSION: &str = "skewaudit.snapshot_version";
pub const META_TAKEN_AT: &str = "skewaudit.taken_at";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: &str = "1";

fn input(path: &Path, message: String) -> OnlineError {
    OnlineError::Input {
        what: path.display().to_string(),
        message,
    }
}

/// Reads a snapshot, keeping the entity keys and the columns of `features`, typed by their
/// dtypes. A missing column is an error naming it; so is a value column of another type.
pub fn read(
    path: &Path,
    features: &[(&Feature, Dtype)],
    key_names: &[String],
) -> Result<DataFrame, OnlineError> {
    if !path.is_file() {
        return Err(input(
            path,
            "no such snapshot file; make one with `skewaudit snapshot`".into(),
        ));
    }
    let mut lf = LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        Default::default(),
    )
    .map_err(|e| input(path, crate::offline::scan::one_line(&e.to_string())))?;
    let schema = lf.collect_schema().map_err(|e| {
        input(
            path,
            format!(
                "not a readable Parquet file: {}",
                crate::offline::scan::one_line(&e.to_string())
            ),
        )
    })?;
    let names: Vec<&str> = schema.iter_names().map(|s| s.as_str()).collect();
    let need = |c: &str| -> Result<(), OnlineError> {
        if schema.get(c).is_none() {
            return Err(input(
                path,
                format!(
                    "column '{c}' not found{}; is this a skewaudit snapshot of these features?",
                    crate::registry::did_you_mean(c, names.iter().copied())
                ),
            ));
        }
        Ok(())
    };
    let mut select = Vec::new();
    for k in key_names {
        need(k)?;
        select.push(col(k.as_str()));
    }
    need(KEY_PRESENT)?;
    select.push(col(KEY_PRESENT));
    for (f, dtype) in features {
        let v = f.name.as_str();
        for c in [
            v.to_string(),
            format!("{v}{STATUS}"),
            format!("{v}{TS}"),
            format!("{v}{VERSION}"),
        ] {
            need(&c)?;
        }
        let have = schema.get(v).cloned().unwrap_or(DataType::Null);
        let want = crate::offline::polars_dtype(*dtype);
        let compatible = have == want
            || have == DataType::Null
            || (*dtype == Dtype::Float64 && have.is_primitive_numeric())
            || (*dtype == Dtype::Int64 && have.is_integer())
            || (*dtype == Dtype::String && matches!(have, DataType::String))
            || (*dtype == Dtype::FloatList && matches!(have, DataType::List(_)));
        if !compatible {
            return Err(input(
                path,
                format!(
                    "column '{v}' is {have}, but feature '{v}' is {}",
                    dtype.name()
                ),
            ));
        }
        select.push(col(v).cast(want));
        select.push(col(format!("{v}{STATUS}")).cast(DataType::String));
        select.push(col(format!("{v}{TS}")).cast(DataType::Datetime(
            TimeUnit::Microseconds,
            Some(TimeZone::UTC),
        )));
        select.push(col(format!("{v}{VERSION}")).cast(DataType::String));
    }
    lf.select(select)
        .collect()
        .map_err(|e| input(path, crate::offline::scan::one_line(&e.to_string())))
}

/// When the snapshot was taken (µs since the epoch), from its Parquet metadata; `None` for a
/// file without it (or not readable: reading it later says why).
pub fn taken_at(path: &Path) -> Option<i64> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = ParquetReader::new(file);
    let meta = reader.get_metadata().ok()?;
    let kv = meta.key_value_metadata().as_ref()?;
    kv.iter()
        .find(|k| k.key == META_TAKEN_AT)
        .and_then(|k| k.value.as_deref())
        .and_then(|v| crate::registry::parse_time(v).ok())
}

/// Writes an online frame as a snapshot, atomically, with its format version and the time
/// it was taken (µs since the epoch) in the Parquet metadata.
pub fn write(frame: &mut DataFrame, path: &Path, taken_at: i64) -> Result<(), OnlineError> {
    let meta = vec![
        (META_VERSION.to_string(), FORMAT_VERSION.to_string()),
        (META_TAKEN_AT.to_string(), format_time(taken_at)),
    ];
    crate::output::atomic_write(path, |f| {
        ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(None))
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(meta)))
            .finish(frame)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .map_err(|m| input(path, m))
}
