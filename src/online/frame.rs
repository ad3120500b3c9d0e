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

/// One feature's column set while reading.
struct FeatureColumns {
    name: String,
    dtype: Dtype,
    cells: Vec<Cell>,
    ts: Vec<Option<i64>>,
    version: Vec<Option<String>>,
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
                    dtype: *dtype,
                    cells: vec![Cell::Missing; rows],
                    ts: vec![None; rows],
                    version: vec![None; rows],
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
        let f = &mut self.features[feature];
        f.cells[row] = cell;
        f.ts[row] = ts;
        f.version[row] = version;
    }

    /// The frame: `keys` (the sampled key columns, one row per key) then the online columns.
    pub fn finish(self, keys: &DataFrame) -> PolarsResult<DataFrame> {
        let mut cols: Vec<Column> = keys.columns().to_vec();
        cols.push(Column::new(KEY_PRESENT.into(), self.key_present));
        for f in self.features {
            cols.push(value_column(&f.name, f.dtype, &f.cells));
            cols.push(Column::new(
                format!("{}{STATUS}", f.name).into(),
                f.cells.iter().map(|c| c.status()).collect::<Vec<_>>(),
            ));
            cols.push(Column::new(format!("{}{TS}", f.name).into(), f.ts).cast(
                &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            )?);
            cols.push(Column::new(
                format!("{}{VERSION}", f.name).into(),
                f.version,
            ));
        }
        DataFrame::new(self.rows, cols)
    }
}

fn value_column(name: &str, dtype: Dtype, cells: &[Cell]) -> Column {
    let get = |c: &Cell| match c {
        Cell::Present(v) => Some(v.clone()),
        _ => None,
    };
    match dtype {
        Dtype::Int64 => Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| match get(c) {
                    Some(OnlineValue::Int(i)) => Some(i),
                    Some(OnlineValue::Bool(b)) => Some(b as i64),
                    Some(OnlineValue::Float(f)) if f.fract() == 0.0 => Some(f as i64),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        Dtype::Float64 => Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| match get(c) {
                    Some(OnlineValue::Float(f)) => Some(f),
                    Some(OnlineValue::Int(i)) => Some(i as f64),
                    Some(OnlineValue::Bool(b)) => Some(b as i64 as f64),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        Dtype::String => Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| match get(c) {
                    Some(OnlineValue::Str(s)) => Some(s),
                    Some(OnlineValue::Int(i)) => Some(i.to_string()),
                    Some(OnlineValue::Float(f)) => Some(f.to_string()),
                    Some(OnlineValue::Bool(b)) => Some(b.to_string()),
                    Some(OnlineValue::List(v)) => Some(format!("{v:?}")),
                    None => None,
                })
                .collect::<Vec<_>>(),
        ),
        Dtype::FloatList => {
            let mut lists: ListChunked = cells
                .iter()
                .map(|c| match get(c) {
                    Some(OnlineValue::List(v)) => Some(Series::new("".into(), v)),
                    _ => None,
                })
                .collect();
            lists.rename(name.into());
            lists.into_series().into()
        }
        Dtype::Bool => Column::new(
            name.into(),
            cells
                .iter()
                .map(|c| match get(c) {
                    Some(OnlineValue::Bool(b)) => Some(b),
                    Some(OnlineValue::Int(i)) => Some(i != 0),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
    }
}
