//! Building the online frame (the snapshot format) from decoded cells.

use super::decode::{Cell, OnlineValue};
use crate::registry::Dtype;
use polars::prelude::*;

/// Column: whether the key existed in the store.
pub const KEY_PRESENT: &str = "__key_present";

/// Suffixes of a feature's columns.
pub const STATUS: &str = "__status";
pub const TS: &str = "__ts";
pub const VERSION: &str = "__version";

/// A feature's values while reading, typed by its dtype (a cell that does not fit the
/// dtype is null, as in the snapshot).
enum Values {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    List(Vec<Option<Vec<f64>>>),
}

impl Values {
    fn new(dtype: Dtype, rows: usize) -> Values {
        match dtype {
            Dtype::Int64 => Values::Int(vec![None; rows]),
            Dtype::Float64 => Values::Float(vec![None; rows]),
            Dtype::String => Values::Str(vec![None; rows]),
            Dtype::Bool => Values::Bool(vec![None; rows]),
            Dtype::FloatList => Values::List(vec![None; rows]),
        }
    }

    fn set(&mut self, row: usize, v: OnlineValue) {
        match self {
            Values::Int(c) => {
                c[row] = match v {
                    OnlineValue::Int(i) => Some(i),
                    OnlineValue::Bool(b) => Some(b as i64),
                    OnlineValue::Float(f) if f.fract() == 0.0 => Some(f as i64),
                    _ => None,
                }
            }
            Values::Float(c) => {
                c[row] = match v {
                    OnlineValue::Float(f) => Some(f),
                    OnlineValue::Int(i) => Some(i as f64),
                    OnlineValue::Bool(b) => Some(b as i64 as f64),
                    _ => None,
                }
            }
            Values::Str(c) => {
                c[row] = Some(match v {
                    OnlineValue::Str(s) => s,
                    OnlineValue::Int(i) => i.to_string(),
                    OnlineValue::Float(f) => f.to_string(),
                    OnlineValue::Bool(b) => b.to_string(),
                    OnlineValue::List(v) => format!("{v:?}"),
                })
            }
            Values::Bool(c) => {
                c[row] = match v {
                    OnlineValue::Bool(b) => Some(b),
                    OnlineValue::Int(i) => Some(i != 0),
                    _ => None,
                }
            }
            Values::List(c) => {
                c[row] = match v {
                    OnlineValue::List(v) => Some(v),
                    _ => None,
                }
            }
        }
    }

    fn column(self, name: &str) -> Column {
        match self {
            Values::Int(c) => Int64Chunked::from_iter_options(name.into(), c.into_iter())
                .into_series()
                .into(),
            Values::Float(c) => Float64Chunked::from_iter_options(name.into(), c.into_iter())
                .into_series()
                .into(),
            Values::Str(c) => Column::new(name.into(), c),
            Values::Bool(c) => Column::new(name.into(), c),
            Values::List(c) => {
                let mut lists: ListChunked = c
                    .into_iter()
                    .map(|v| v.map(|v| Series::new("".into(), v)))
                    .collect();
                lists.rename(name.into());
                lists.into_series().into()
            }
        }
    }
}

/// Status codes while reading (the snapshot's words, in `STATUS_WORDS` order).
const MISSING: u8 = 0;
const STATUS_WORDS: [&str; 4] = ["missing", "present", "null", "decode_error"];

fn status_code(cell: &Cell) -> u8 {
    match cell {
        Cell::Missing => MISSING,
        Cell::Present(_) => 1,
        Cell::Null => 2,
        Cell::DecodeError(_) => 3,
    }
}

/// One feature's column set while reading. Timestamps and versions are allocated on the
/// first one seen (most stores have neither).
struct FeatureColumns {
    name: String,
    values: Values,
    status: Vec<u8>,
    ts: Option<Vec<Option<i64>>>,
    version: Option<Vec<Option<String>>>,
}

/// Collects cells row by row (rows = the sampled keys, in order) and makes the frame.
pub struct OnlineFrameBuilder {
    rows: usize,
    key_present: Vec<bool>,
    features: Vec<FeatureColumns>,
}

impl OnlineFrameBuilder {
    /// `features`: (name, dtype) in output order; every cell starts `Missing`.
    pub fn new(rows: usize, features: &[(String, Dtype)]) -> Self {
        OnlineFrameBuilder {
            rows,
            key_present: vec![false; rows],
            features: features
                .iter()
                .map(|(name, dtype)| FeatureColumns {
                    name: name.clone(),
                    values: Values::new(*dtype, rows),
                    status: vec![MISSING; rows],
                    ts: None,
                    version: None,
                })
                .collect(),
        }
    }

    pub fn set_key_present(&mut self, row: usize, present: bool) {
        self.key_present[row] = present;
    }

    pub fn set(
        &mut self,
        feature: usize,
        row: usize,
        cell: Cell,
        ts: Option<i64>,
        version: Option<String>,
    ) {
        let rows = self.rows;
        let f = &mut self.features[feature];
        f.status[row] = status_code(&cell);
        if let Cell::Present(v) = cell {
            f.values.set(row, v);
        }
        if ts.is_some() || f.ts.is_some() {
            f.ts.get_or_insert_with(|| vec![None; rows])[row] = ts;
        }
        if version.is_some() || f.version.is_some() {
            f.version.get_or_insert_with(|| vec![None; rows])[row] = version;
        }
    }

    /// The frame: `keys` (the sampled key columns, one row per key) then the online columns.
    pub fn finish(self, keys: &DataFrame) -> PolarsResult<DataFrame> {
        let rows = self.rows;
        let mut cols: Vec<Column> = keys.columns().to_vec();
        cols.push(Column::new(KEY_PRESENT.into(), self.key_present));
        for f in self.features {
            cols.push(f.values.column(&f.name));
            // The status words gathered from the four (no string built per row).
            let codes =
                IdxCa::from_vec("".into(), f.status.iter().map(|c| *c as IdxSize).collect());
            let words =
                StringChunked::from_slice(format!("{}{STATUS}", f.name).into(), &STATUS_WORDS);
            cols.push(words.take(&codes)?.into_series().into());
            let ts_name = format!("{}{TS}", f.name).into();
            let ts_dtype = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
            cols.push(match f.ts {
                Some(ts) => Int64Chunked::from_iter_options(ts_name, ts.into_iter())
                    .into_series()
                    .cast(&ts_dtype)?
                    .into(),
                None => Column::full_null(ts_name, rows, &ts_dtype),
            });
            let version_name = format!("{}{VERSION}", f.name).into();
            cols.push(match f.version {
                Some(v) => Column::new(version_name, v),
                None => Column::full_null(version_name, rows, &DataType::String),
            });
        }
        DataFrame::new(self.rows, cols)
    }
}
