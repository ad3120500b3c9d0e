//! Serving logs: the feature values the model saw, per request (SPEC §3).
//!
//! A log is Parquet (a file, glob or directory) or NDJSON (`[logs] format`, or a `.ndjson` /
//! `.jsonl` / `.json` path). Each row has the entity keys, the request time
//! (`[logs] timestamp`; datetime, date, epoch number or RFC 3339 text), optionally a request
//! id, a model version and a definition version, and the feature values:
//! - as top-level columns named after the features,
//! - or nested in one `[logs] features_column`: a struct, map (list of `{key, value}`
//!   structs) or JSON-object string column (Parquet), or an object member (NDJSON),
//! - or as Feast feature-logging columns `<feature_view>__<feature>` (with
//!   `__log_timestamp` and `__request_id` as the defaults for the time and id columns).
//!
//! The result has the shape of the online frame (`docs/snapshot.md`): per feature its
//! typed value and `__status` (`present`, `null`, `missing` — the log has no such column or
//! member —, `decode_error`), plus `__request_ts` (µs), `__request_id`, `__model_version`
//! and `<feature>__version`. Malformed NDJSON lines are counted; above
//! `[logs] max_malformed_rate` (default 1%) the read fails with a usage error (exit 2).

use crate::offline::scan::{self, one_line};
use crate::online::decode::{decode_json, Cell};
use crate::online::frame::{OnlineFrameBuilder, KEY_PRESENT};
use crate::registry::{Dtype, Feature, Location, Logs};
use polars::prelude::*;
use serde_json::Value as J;
use std::collections::{HashMap, HashSet};

/// Columns added to the log frame.
pub const REQUEST_TS: &str = "__request_ts";
pub const REQUEST_ID: &str = "__request_id";
pub const MODEL_VERSION: &str = "__model_version";

/// Default share of malformed NDJSON lines that still lets a run go on.
pub const DEFAULT_MAX_MALFORMED_RATE: f64 = 0.01;

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("serving log {path}: {message}")]
    Input { path: String, message: String },
}

/// The log rows of the sampled keys.
#[derive(Debug)]
pub struct LogFrame {
    pub frame: DataFrame,
    /// Rows read before the key filter.
    pub rows_read: usize,
    /// NDJSON lines that were not a JSON object with the needed fields.
    pub malformed: usize,
}

fn err(logs: &Logs, message: impl Into<String>) -> LogError {
    LogError::Input {
        path: logs.path.to_string(),
        message: message.into(),
    }
}

/// Where a feature's value is found in a log row.
fn feast_name(f: &Feature) -> Option<String> {
    f.online
        .feature_view
        .as_ref()
        .map(|v| format!("{v}__{}", f.online.field.as_deref().unwrap_or(&f.name)))
}

/// Reads the log rows whose keys are in `keys` (all rows when `None`).
pub fn read(
    logs: &Logs,
    features: &[(&Feature, Dtype)],
    key_names: &[String],
    keys: Option<&DataFrame>,
    max_malformed_rate: f64,
) -> Result<LogFrame, LogError> {
    if logs.ndjson {
        read_ndjson(logs, features, key_names, keys, max_malformed_rate)
    } else {
        read_parquet(logs, features, key_names, keys)
    }
}

fn wanted_keys(keys: Option<&DataFrame>, key_names: &[String]) -> Option<HashSet<Vec<String>>> {
    let df = keys?;
    let rows = crate::online::redis::key_texts(df, key_names).ok()?;
    Some(rows.into_iter().collect())
}

fn ts_column_name(logs: &Logs, has: &dyn Fn(&str) -> bool) -> String {
    if !has(&logs.timestamp) && has("__log_timestamp") {
        "__log_timestamp".into()
    } else {
        logs.timestamp.clone()
    }
}

fn anyvalue_json(av: &AnyValue) -> J {
    match av {
        AnyValue::Null => J::Null,
        AnyValue::Boolean(b) => J::Bool(*b),
        AnyValue::String(s) => J::String(s.to_string()),
        AnyValue::StringOwned(s) => J::String(s.to_string()),
        AnyValue::Int8(v) => J::from(*v),
        AnyValue::Int16(v) => J::from(*v),
        AnyValue::Int32(v) => J::from(*v),
        AnyValue::Int64(v) => J::from(*v),
        AnyValue::UInt8(v) => J::from(*v),
        AnyValue::UInt16(v) => J::from(*v),
        AnyValue::UInt32(v) => J::from(*v),
        AnyValue::UInt64(v) => J::from(*v),
        // NaN and infinities have no JSON number: carry them as text, which decodes back.
        AnyValue::Float32(v) => serde_json::Number::from_f64(*v as f64)
            .map(J::Number)
            .unwrap_or_else(|| J::String(v.to_string())),
        AnyValue::Float64(v) => serde_json::Number::from_f64(*v)
            .map(J::Number)
            .unwrap_or_else(|| J::String(v.to_string())),
        AnyValue::List(s) => J::Array(
            s.cast(&DataType::Float64)
                .ok()
                .and_then(|s| {
                    s.f64().ok().map(|c| {
                        c.iter()
                            .map(|x| {
                                x.and_then(serde_json::Number::from_f64)
                                    .map(J::Number)
                                    .unwrap_or(J::Null)
                            })
                            .collect()
                    })
                })
                .unwrap_or_default(),
        ),
        other => J::String(other.str_value().to_string()),
    }
}

/// A Parquet map as Polars reads it: a list of `{key, value}` structs.
fn is_map(dt: &DataType) -> bool {
    match dt {
        DataType::List(inner) => match inner.as_ref() {
            DataType::Struct(fields) => {
                fields.len() == 2
                    && fields[0].name().as_str() == "key"
                    && fields[1].name().as_str() == "value"
            }
            _ => false,
        },
        _ => false,
    }
}

/// One map cell as a JSON object (keys as text).
fn map_object(v: &AnyValue) -> Option<J> {
    let AnyValue::List(s) = v else { return None };
    let st = s.struct_().ok()?;
    let fields = st.fields_as_series();
    let (keys, values) = (fields.first()?, fields.get(1)?);
    let mut m = serde_json::Map::new();
    for i in 0..keys.len() {
        let k = match keys.get(i).ok()? {
            AnyValue::Null => continue,
            k => k.str_value().to_string(),
        };
        m.insert(k, anyvalue_json(&values.get(i).ok()?));
    }
    Some(J::Object(m))
}

/// Request time in µs from a cell of the timestamp column.
fn ts_micros(av: &AnyValue) -> Option<i64> {
    match av {
        AnyValue::Datetime(v, unit, _) | AnyValue::DatetimeOwned(v, unit, _) => Some(match unit {
            TimeUnit::Nanoseconds => v / 1000,
            TimeUnit::Microseconds => *v,
            TimeUnit::Milliseconds => v * 1000,
        }),
        AnyValue::Date(d) => Some(*d as i64 * 86_400_000_000),
        AnyValue::Null => None,
        other => crate::online::decode::parse_timestamp(
            &anyvalue_json(other)
                .to_string()
                .trim_matches('"')
                .to_string(),
        ),
    }
}

struct Rows {
    keys: Vec<Vec<String>>,
    ts: Vec<Option<i64>>,
    request_id: Vec<Option<String>>,
    model_version: Vec<Option<String>>,
    version: Vec<Option<String>>,
    cells: Vec<Vec<Cell>>,
}

impl Rows {
    fn new() -> Self {
        Rows {
            keys: vec![],
            ts: vec![],
            request_id: vec![],
            model_version: vec![],
            version: vec![],
            cells: vec![],
        }
    }

    fn finish(
        self,
        key_names: &[String],
        key_dtypes: &[DataType],
        features: &[(&Feature, Dtype)],
    ) -> Result<DataFrame, String> {
        let n = self.keys.len();
        let mut key_cols = Vec::new();
        for (i, k) in key_names.iter().enumerate() {
            let c = Column::new(
                k.as_str().into(),
                self.keys.iter().map(|r| r[i].clone()).collect::<Vec<_>>(),
            );
            key_cols.push(
                c.strict_cast(&key_dtypes[i]).map_err(|_| {
                    format!("key column '{k}' does not convert to {}", key_dtypes[i])
                })?,
            );
        }
        let keys = DataFrame::new(n, key_cols).map_err(|e| e.to_string())?;
        let spec: Vec<(String, Dtype)> =
            features.iter().map(|(f, d)| (f.name.clone(), *d)).collect();
        let mut b = OnlineFrameBuilder::new(n, &spec);
        for (row, cells) in self.cells.into_iter().enumerate() {
            for (fi, cell) in cells.into_iter().enumerate() {
                b.set(fi, row, cell, self.ts[row], self.version[row].clone());
            }
            b.set_key_present(row, true);
        }
        let mut df = b.finish(&keys).map_err(|e| e.to_string())?;
        df = df.drop(KEY_PRESENT).map_err(|e| e.to_string())?;
        df.with_column(Column::new(REQUEST_TS.into(), self.ts))
            .map_err(|e| e.to_string())?;
        df.with_column(Column::new(REQUEST_ID.into(), self.request_id))
            .map_err(|e| e.to_string())?;
        df.with_column(Column::new(MODEL_VERSION.into(), self.model_version))
            .map_err(|e| e.to_string())?;
        Ok(df)
    }
}

fn read_parquet(
    logs: &Logs,
    features: &[(&Feature, Dtype)],
    key_names: &[String],
    keys: Option<&DataFrame>,
) -> Result<LogFrame, LogError> {
    scan::check_exists(&logs.path).map_err(|m| err(logs, m))?;
    let mut lf =
        scan::scan_location(&logs.path).map_err(|e| err(logs, one_line(&e.to_string())))?;
    let schema = lf
        .collect_schema()
        .map_err(|e| err(logs, one_line(&e.to_string())))?;
    let names: Vec<&str> = schema.iter_names().map(|s| s.as_str()).collect();
    let has = |c: &str| schema.get(c).is_some();
    let ts_col = ts_column_name(logs, &has);
    let mut select = Vec::new();
    let mut key_dtypes = Vec::new();
    for k in key_names {
        let dt = schema.get(k.as_str()).ok_or_else(|| {
            err(
                logs,
                format!(
                    "key column '{k}' not found{}",
                    crate::registry::did_you_mean(k, names.iter().copied())
                ),
            )
        })?;
        key_dtypes.push(dt.clone());
        select.push(col(k.as_str()));
    }
    if !has(&ts_col) {
        return Err(err(
            logs,
            format!(
                "timestamp column '{}' not found{}",
                logs.timestamp,
                crate::registry::did_you_mean(&logs.timestamp, names.iter().copied())
            ),
        ));
    }
    select.push(col(ts_col.as_str()).alias(REQUEST_TS));
    let rid = logs
        .request_id
        .clone()
        .or_else(|| has("__request_id").then(|| "__request_id".to_string()));
    for (opt, alias) in [
        (&rid, REQUEST_ID),
        (&logs.model_version, MODEL_VERSION),
        (&logs.version, "__version"),
    ] {
        if let Some(c) = opt {
            if !has(c) {
                return Err(err(
                    logs,
                    format!(
                        "column '{c}' not found{}",
                        crate::registry::did_you_mean(c, names.iter().copied())
                    ),
                ));
            }
            select.push(col(c.as_str()).cast(DataType::String).alias(alias));
        }
    }
    // Per feature: a column expression, or None (missing for every row).
    let nested = match &logs.features_column {
        Some(fc) => Some((
            fc.clone(),
            schema.get(fc.as_str()).cloned().ok_or_else(|| {
                err(
                    logs,
                    format!(
                        "features column '{fc}' not found{}",
                        crate::registry::did_you_mean(fc, names.iter().copied())
                    ),
                )
            })?,
        )),
        None => None,
    };
    let mut present_cols: Vec<Option<String>> = Vec::new();
    for (i, (f, _)) in features.iter().enumerate() {
        let alias = format!("__f{i}");
        let found = match &nested {
            Some((fc, DataType::Struct(fields))) => fields.iter().any(|x| x.name() == f.name.as_str()).then(|| col(fc.as_str()).struct_().field_by_name(&f.name)),
            Some((_, DataType::String)) => None,
            Some((_, dt)) if is_map(dt) => None,
            Some((fc, other)) => return Err(err(logs, format!("features column '{fc}' is {other}; use a struct, a map (list of key/value structs) or a JSON-object string column"))),
            None => {
                if has(&f.name) {
                    Some(col(f.name.as_str()))
                } else {
                    feast_name(f).filter(|n| has(n)).map(|n| col(n.as_str()))
                }
            }
        };
        match found {
            Some(e) => {
                select.push(e.alias(alias.as_str()));
                present_cols.push(Some(alias));
            }
            None => present_cols.push(None),
        }
    }
    match &nested {
        Some((fc, DataType::String)) => select.push(col(fc.as_str()).alias("__json")),
        Some((fc, dt)) if is_map(dt) => select.push(col(fc.as_str()).alias("__map")),
        _ => {}
    }
    let rows_read = lf
        .clone()
        .select([len().alias("n")])
        .collect()
        .ok()
        .and_then(|d| {
            d.column("n")
                .ok()
                .and_then(|c| c.get(0).ok())
                .and_then(|v| v.extract::<u64>())
        })
        .unwrap_or(0) as usize;
    if let Some(k) = keys {
        for (i, name) in key_names.iter().enumerate() {
            let vals = k
                .column(name)
                .and_then(|c| c.cast(&key_dtypes[i]))
                .map_err(|e| err(logs, e.to_string()))?;
            lf = lf.filter(col(name.as_str()).is_in(
                lit(vals.as_materialized_series().clone()).implode(false),
                false,
            ));
        }
    }
    let df = lf
        .select(select)
        .collect()
        .map_err(|e| err(logs, one_line(&e.to_string())))?;
    let wanted = wanted_keys(keys, key_names);
    let key_text =
        crate::online::redis::key_texts(&df, key_names).map_err(|e| err(logs, e.to_string()))?;
    let mut rows = Rows::new();
    let col_of = |n: &str| df.column(n).ok();
    for (r, kt) in key_text.into_iter().enumerate() {
        if wanted.as_ref().is_some_and(|w| !w.contains(&kt)) {
            continue; // composite keys: the per-column filter keeps a superset
        }
        rows.keys.push(kt);
        rows.ts.push(
            col_of(REQUEST_TS)
                .and_then(|c| c.get(r).ok())
                .and_then(|v| ts_micros(&v)),
        );
        let text = |n: &str| {
            col_of(n).and_then(|c| c.get(r).ok()).and_then(|v| match v {
                AnyValue::Null => None,
                v => Some(v.str_value().to_string()),
            })
        };
        rows.request_id.push(text(REQUEST_ID));
        rows.model_version.push(text(MODEL_VERSION));
        rows.version.push(text("__version"));
        let json_obj = col_of("__json")
            .and_then(|c| c.get(r).ok())
            .and_then(|v| match v {
                AnyValue::String(s) => serde_json::from_str::<J>(s).ok(),
                AnyValue::StringOwned(s) => serde_json::from_str::<J>(s.as_str()).ok(),
                _ => None,
            })
            .or_else(|| {
                col_of("__map")
                    .and_then(|c| c.get(r).ok())
                    .and_then(|v| map_object(&v))
            });
        let mut cells = Vec::with_capacity(features.len());
        for (i, (f, dtype)) in features.iter().enumerate() {
            let cell = match (&present_cols[i], &json_obj, &nested) {
                (Some(c), _, _) => match df.column(c).ok().and_then(|c| c.get(r).ok()) {
                    Some(v) => decode_json(&anyvalue_json(&v), *dtype, &[]),
                    None => Cell::Missing,
                },
                (None, Some(J::Object(m)), _) => match m.get(&f.name) {
                    Some(v) => decode_json(v, *dtype, &[]),
                    None => Cell::Missing,
                },
                (None, None, Some((_, DataType::String))) => {
                    Cell::DecodeError("the features column is not a JSON object".into())
                }
                (None, None, Some((_, dt))) if is_map(dt) => Cell::Missing,
                _ => Cell::Missing,
            };
            cells.push(cell);
        }
        rows.cells.push(cells);
    }
    let frame = rows
        .finish(key_names, &key_dtypes, features)
        .map_err(|m| err(logs, m))?;
    Ok(LogFrame {
        frame,
        rows_read,
        malformed: 0,
    })
}

fn read_ndjson(
    logs: &Logs,
    features: &[(&Feature, Dtype)],
    key_names: &[String],
    keys: Option<&DataFrame>,
    max_malformed_rate: f64,
) -> Result<LogFrame, LogError> {
    let Location::Local(path) = &logs.path else {
        return Err(err(logs, "NDJSON logs are read from local files"));
    };
    scan::check_exists(&logs.path).map_err(|m| err(logs, m))?;
    let files: Vec<std::path::PathBuf> = if path.to_string_lossy().contains(['*', '?', '[']) {
        glob::glob(&path.to_string_lossy())
            .map_err(|e| err(logs, e.to_string()))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect()
    } else {
        vec![path.clone()]
    };
    let wanted = wanted_keys(keys, key_names);
    let mut rows = Rows::new();
    let (mut total, mut malformed) = (0usize, 0usize);
    let mut first_bad: Option<String> = None;
    let mut sorted = files;
    sorted.sort();
    for file in &sorted {
        let text = std::fs::read_to_string(file)
            .map_err(|e| err(logs, format!("{}: {e}", file.display())))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            total += 1;
            let parsed: Option<HashMap<String, J>> = serde_json::from_str(line).ok();
            let ts_name = |m: &HashMap<String, J>| {
                if m.contains_key(&logs.timestamp) {
                    logs.timestamp.clone()
                } else {
                    "__log_timestamp".into()
                }
            };
            let ok = parsed.as_ref().is_some_and(|m| {
                key_names
                    .iter()
                    .all(|k| m.get(k).is_some_and(|v| !v.is_null()))
                    && m.contains_key(&ts_name(m))
            });
            if !ok {
                malformed += 1;
                first_bad.get_or_insert_with(|| format!("{}:{}", file.display(), n + 1));
                continue;
            }
            let Some(m) = parsed else { continue };
            let kt: Vec<String> = key_names
                .iter()
                .map(|k| match &m[k] {
                    J::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            if wanted.as_ref().is_some_and(|w| !w.contains(&kt)) {
                continue;
            }
            let text_of = |k: &Option<String>| {
                k.as_ref().and_then(|k| m.get(k)).and_then(|v| match v {
                    J::Null => None,
                    J::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
            };
            rows.keys.push(kt);
            rows.ts.push(match &m[&ts_name(&m)] {
                J::String(s) => crate::online::decode::parse_timestamp(s),
                J::Number(x) => x
                    .as_f64()
                    .and_then(|f| crate::online::decode::parse_timestamp(&f.to_string())),
                _ => None,
            });
            rows.request_id.push(text_of(
                &logs.request_id.clone().or(Some("__request_id".into())),
            ));
            rows.model_version.push(text_of(&logs.model_version));
            rows.version.push(text_of(&logs.version));
            let nested = logs
                .features_column
                .as_ref()
                .and_then(|fc| m.get(fc))
                .and_then(|v| match v {
                    J::Object(o) => Some(o.clone()),
                    J::String(s) => serde_json::from_str::<serde_json::Map<String, J>>(s).ok(),
                    _ => None,
                });
            let cells = features
                .iter()
                .map(|(f, dtype)| {
                    let v = match (&logs.features_column, &nested) {
                        (Some(_), Some(o)) => o.get(&f.name).cloned(),
                        (Some(_), None) => None,
                        (None, _) => m
                            .get(&f.name)
                            .cloned()
                            .or_else(|| feast_name(f).and_then(|n| m.get(&n).cloned())),
                    };
                    match v {
                        Some(v) => decode_json(&v, *dtype, &[]),
                        None => Cell::Missing,
                    }
                })
                .collect();
            rows.cells.push(cells);
        }
    }
    if total > 0 && malformed as f64 / total as f64 > max_malformed_rate {
        return Err(err(logs, format!(
            "{malformed} of {total} lines are malformed (first: {}), more than the {:.2}% allowed ([logs] max_malformed_rate)",
            first_bad.unwrap_or_default(),
            max_malformed_rate * 100.0
        )));
    }
    let key_dtypes: Vec<DataType> = match keys {
        Some(k) => key_names
            .iter()
            .map(|n| {
                k.column(n)
                    .map(|c| c.dtype().clone())
                    .unwrap_or(DataType::String)
            })
            .collect(),
        None => key_names.iter().map(|_| DataType::String).collect(),
    };
    let frame = rows
        .finish(key_names, &key_dtypes, features)
        .map_err(|m| err(logs, m))?;
    Ok(LogFrame {
        frame,
        rows_read: total,
        malformed,
    })
}
