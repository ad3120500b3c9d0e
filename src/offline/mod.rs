//! Offline recompute: the reference values. For a set of `(entity key, as_of)` queries,
//! every requested feature is computed point-in-time correct from its source's Parquet
//! through the canonical definition (SPEC §1).
//!
//! How: per source, one lazy scan filtered to the queried keys (`is_in`, pushed into the
//! Parquet reader), to the time span the queries can see (row-group statistics, and hive
//! partitions when `partition_date` is declared), projected to the columns the features
//! read. It is joined to the queries on the key, each feature masks the joined rows to its
//! window, and one `group_by(query)` computes every feature of the source at once. Memory is
//! bounded by the sampled keys' rows, not the dataset.
//!
//! Semantics (see `docs/registry.md`): window `(T - w, T]` unless `closed` says otherwise;
//! rows with `timestamp <= T` only; `first`/`last` order rows by (timestamp, tiebreak
//! columns, value) with nulls first and take the first/last row's value, null or not; an
//! empty window (no qualifying value; fewer than two for `stddev`) gives `default`, else null
//! — `count` and `count_distinct` without a default are never empty (0, transformed);
//! `transform` applies to the aggregate, not to the default.

pub mod scan;

use crate::registry::{Aggregation, Dtype, Feature, Registry, Scalar, Source};
use polars::prelude::*;
use std::collections::BTreeMap;

pub use scan::{scan_source, ScanError};

/// Name of the as-of column (microseconds since the epoch, UTC) in queries and results.
pub const AS_OF: &str = "__as_of";
const QID: &str = "__qid";
const TS: &str = "__ts";

/// Why a recompute failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("source '{source_name}': {message}")]
    Source {
        source_name: String,
        message: String,
    },
    #[error("feature '{feature}': {message}")]
    Feature { feature: String, message: String },
    #[error("queries: {0}")]
    Query(String),
}

fn src_err(src: &Source) -> impl Fn(PolarsError) -> OfflineError + '_ {
    move |e| OfflineError::Source {
        source_name: src.name.clone(),
        message: scan::one_line(&e.to_string()),
    }
}

/// The polars type of a feature dtype.
pub fn polars_dtype(d: Dtype) -> DataType {
    match d {
        Dtype::Int64 => DataType::Int64,
        Dtype::Float64 => DataType::Float64,
        Dtype::String => DataType::String,
        Dtype::Bool => DataType::Boolean,
        Dtype::FloatList => DataType::List(Box::new(DataType::Float64)),
    }
}

fn scalar_lit(s: &Scalar) -> Expr {
    match s {
        Scalar::Int(i) => lit(*i),
        Scalar::Float(f) => lit(*f),
        Scalar::Str(s) => lit(s.clone()),
        Scalar::Bool(b) => lit(*b),
    }
}

fn internal_key(i: usize) -> String {
    format!("__k{i}")
}

/// Whether a source row at `ts` falls in the window of a query at `as_of`.
fn window_mask(f: &Feature) -> Expr {
    let ts = col(TS);
    let t = col(AS_OF);
    let end = if f.closed.includes_end() {
        ts.clone().lt_eq(t.clone())
    } else {
        ts.clone().lt(t.clone())
    };
    match f.window {
        None => end,
        Some(w) => {
            let start = t - lit(w.as_micros());
            let begin = if f.closed.includes_start() {
                ts.gt_eq(start)
            } else {
                ts.gt(start)
            };
            end.and(begin)
        }
    }
}

/// The result of a recompute.
#[derive(Debug)]
pub struct Recomputed {
    /// One row per query, in query order: the entity key columns, [`AS_OF`], then one column
    /// per feature (named after it, typed by its dtype) and `<feature>__n`, the number of
    /// source rows that qualified (0 = the window was empty).
    pub frame: DataFrame,
    /// Per source used: its watermark (declared, else the maximum event timestamp), in
    /// microseconds; `None` for a source with no rows.
    pub watermarks: BTreeMap<String, Option<i64>>,
}

/// Computes `features` (all of one entity) for each row of `queries`, which holds the
/// entity's key columns and [`AS_OF`] (Int64 microseconds, or a Datetime).
pub fn recompute(
    reg: &Registry,
    features: &[&Feature],
    queries: &DataFrame,
) -> Result<Recomputed, OfflineError> {
    let entity = reg.single_entity(features).map_err(OfflineError::Query)?;
    let keys = &entity.keys;
    // Normalise the queries: internal key names, as_of as i64 µs, a query id.
    let mut cols = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let c = queries
            .column(k)
            .map_err(|_| OfflineError::Query(format!("missing key column '{k}'")))?;
        cols.push(c.clone().with_name(internal_key(i).into()));
    }
    let as_of = queries
        .column(AS_OF)
        .map_err(|_| OfflineError::Query(format!("missing column '{AS_OF}'")))?;
    let as_of = match as_of.dtype() {
        DataType::Datetime(_, _) => as_of
            .as_materialized_series()
            .clone()
            .into_frame()
            .lazy()
            .select([col(AS_OF).dt().timestamp(TimeUnit::Microseconds)])
            .collect()
            .map_err(|e| OfflineError::Query(e.to_string()))?
            .column(AS_OF)
            .map_err(|e| OfflineError::Query(e.to_string()))?
            .clone(),
        _ => as_of
            .cast(&DataType::Int64)
            .map_err(|e| OfflineError::Query(e.to_string()))?,
    };
    cols.push(as_of);
    let height = queries.height();
    let q = DataFrame::new(height, cols).map_err(|e| OfflineError::Query(e.to_string()))?;
    let q = q
        .with_row_index(QID.into(), None)
        .map_err(|e| OfflineError::Query(e.to_string()))?;

    // Group the features by source (deterministic order).
    let mut by_source: BTreeMap<&str, Vec<&Feature>> = BTreeMap::new();
    for f in features {
        by_source.entry(f.source.as_str()).or_default().push(f);
    }

    let mut out = q.clone().lazy();
    let mut watermarks = BTreeMap::new();
    for (src_name, feats) in by_source {
        let src = reg
            .sources
            .get(src_name)
            .ok_or_else(|| OfflineError::Source {
                source_name: src_name.to_string(),
                message: "not declared in [sources]".into(),
            })?;
        let (agg, wm) = source_features(src, keys, &feats, &q)?;
        watermarks.insert(src_name.to_string(), wm);
        out = out.join(
            agg.lazy(),
            [col(QID)],
            [col(QID)],
            JoinArgs::new(JoinType::Left),
        );
    }
    // Restore names and order: keys, as_of, features (registry order), counts.
    let mut select = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        select.push(col(internal_key(i)).alias(k.as_str()));
    }
    select.push(col(AS_OF));
    for f in features {
        select.push(col(format!("__v_{}", f.name)).alias(f.name.as_str()));
    }
    for f in features {
        select.push(
            col(format!("__n_{}", f.name))
                .fill_null(lit(0u32))
                .cast(DataType::UInt32)
                .alias(format!("{}__n", f.name)),
        );
    }
    let frame = out
        .sort([QID], Default::default())
        .select(select)
        .collect()
        .map_err(|e| OfflineError::Query(scan::one_line(&e.to_string())))?;
    Ok(Recomputed { frame, watermarks })
}

/// A source's watermark: declared, else its newest event timestamp (µs; `None` when empty).
pub fn source_watermark(src: &Source) -> Result<Option<i64>, OfflineError> {
    if let Some(w) = src.watermark {
        return Ok(Some(w));
    }
    let mut lf = scan_source(src)?;
    let schema = lf.collect_schema().map_err(src_err(src))?;
    let ts_dtype = schema
        .get(src.timestamp.as_str())
        .ok_or_else(|| OfflineError::Source {
            source_name: src.name.clone(),
            message: format!("timestamp column '{}' not found", src.timestamp),
        })?;
    let ts_expr = scan::ts_micros(&src.timestamp, ts_dtype).map_err(|m| OfflineError::Source {
        source_name: src.name.clone(),
        message: m,
    })?;
    max_timestamp(src, lf, ts_expr)
}

fn max_timestamp(src: &Source, lf: LazyFrame, ts: Expr) -> Result<Option<i64>, OfflineError> {
    let df = lf
        .select([ts.max().alias(TS)])
        .collect()
        .map_err(src_err(src))?;
    Ok(df
        .column(TS)
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<i64>()))
}

/// One source's features for all queries: a frame of `__qid`, `__v_<f>`, `__n_<f>`.
fn source_features(
    src: &Source,
    keys: &[String],
    feats: &[&Feature],
    q: &DataFrame,
) -> Result<(DataFrame, Option<i64>), OfflineError> {
    let mut lf = scan_source(src)?;
    let schema = lf.collect_schema().map_err(src_err(src))?;
    let ts_dtype = schema
        .get(src.timestamp.as_str())
        .ok_or_else(|| OfflineError::Source {
            source_name: src.name.clone(),
            message: format!("timestamp column '{}' not found", src.timestamp),
        })?;
    let ts_expr = scan::ts_micros(&src.timestamp, ts_dtype).map_err(|m| OfflineError::Source {
        source_name: src.name.clone(),
        message: m,
    })?;

    let watermark = match src.watermark {
        Some(w) => Some(w),
        None => max_timestamp(src, lf.clone(), ts_expr.clone())?,
    };

    // Query keys cast to the source's key types; key filter pushed into the scan.
    let mut q = q.clone();
    let mut key_filter: Option<Expr> = None;
    for (i, k) in keys.iter().enumerate() {
        let dt = schema.get(k.as_str()).ok_or_else(|| OfflineError::Source {
            source_name: src.name.clone(),
            message: format!(
                "entity key column '{k}' not found{}",
                crate::registry::did_you_mean(k, schema.iter_names().map(|s| s.as_str()))
            ),
        })?;
        let name = internal_key(i);
        let casted = q
            .column(&name)
            .and_then(|c| c.strict_cast(dt))
            .map_err(|_| OfflineError::Source {
                source_name: src.name.clone(),
                message: format!(
                    "a queried key does not convert to column '{k}' ({dt}); check the keys' type"
                ),
            })?;
        q.with_column(casted).map_err(src_err(src))?;
        let uniq = q
            .column(&name)
            .map_err(src_err(src))?
            .as_materialized_series()
            .unique()
            .map_err(src_err(src))?;
        let f = col(k.as_str()).is_in(lit(uniq).implode(false), false);
        key_filter = Some(match key_filter {
            None => f,
            Some(g) => g.and(f),
        });
    }

    // Time span the queries can see.
    let as_of = q
        .column(AS_OF)
        .map_err(src_err(src))?
        .as_materialized_series()
        .clone();
    let (min_t, max_t) = match (
        as_of.min::<i64>().ok().flatten(),
        as_of.max::<i64>().ok().flatten(),
    ) {
        (Some(a), Some(b)) => (a, b),
        _ => (0, -1),
    };
    let widest = feats
        .iter()
        .map(|f| f.window.map(|w| w.as_micros()))
        .try_fold(0i64, |acc, w| w.map(|w| acc.max(w)));

    let mut lf = lf;
    if let Some(kf) = key_filter {
        lf = lf.filter(kf);
    }
    let ts_col = ts_expr.clone();
    let mut time_filter = ts_col.clone().lt_eq(lit(max_t));
    if let Some(w) = widest {
        time_filter = time_filter.and(ts_col.clone().gt_eq(lit(min_t.saturating_sub(w))));
    }
    if let Some(part) = &src.partition_date {
        if schema.get(part.as_str()).is_some() {
            let day = |us: i64| us.div_euclid(86_400_000_000) as i32;
            let dt = col(part.as_str())
                .cast(DataType::Date)
                .cast(DataType::Int32);
            let mut pf = dt.clone().lt_eq(lit(day(max_t)));
            if let Some(w) = widest {
                pf = pf.and(dt.gt_eq(lit(day(min_t.saturating_sub(w)))));
            }
            lf = lf.filter(pf);
        }
    }
    lf = lf.filter(time_filter);

    // Projection: keys, timestamp, tiebreaks, per-feature value and predicate.
    let mut proj = vec![ts_col.alias(TS)];
    for (i, k) in keys.iter().enumerate() {
        proj.push(col(k.as_str()).alias(internal_key(i)));
    }
    for (j, tb) in src.tiebreak.iter().enumerate() {
        proj.push(col(tb.as_str()).alias(format!("__tb{j}")));
    }
    for f in feats {
        let fe = |m: String| OfflineError::Feature {
            feature: f.name.clone(),
            message: m,
        };
        let value = match &f.expr {
            Some(s) => crate::registry::parse_sql(s).map_err(|m| fe(format!("expr: {m}")))?,
            None => lit(true),
        };
        proj.push(value.alias(format!("__e_{}", f.name)));
        let pred = match &f.filter {
            Some(s) => crate::registry::parse_sql(s)
                .map_err(|m| fe(format!("filter: {m}")))?
                .fill_null(lit(false)),
            None => lit(true),
        };
        proj.push(pred.alias(format!("__p_{}", f.name)));
    }
    let mut events = lf.select(proj);
    // Value types: lists (embeddings) cannot order ties, so they are left out of the order.
    let event_schema = events.collect_schema().map_err(src_err(src))?;

    let key_cols: Vec<Expr> = (0..keys.len()).map(|i| col(internal_key(i))).collect();
    let q_ids = q.select([QID]).map_err(src_err(src))?;
    let joined = q
        .lazy()
        .select({
            let mut v = vec![col(QID), col(AS_OF)];
            v.extend(key_cols.iter().cloned());
            v
        })
        .join(
            events,
            key_cols.clone(),
            key_cols,
            JoinArgs::new(JoinType::Inner),
        );

    let mut aggs = Vec::new();
    for f in feats {
        let e = col(format!("__e_{}", f.name));
        let in_window = window_mask(f).and(col(format!("__p_{}", f.name)));
        let counted = if f.aggregation.is_lookup() || f.expr.is_none() {
            in_window.clone()
        } else {
            in_window.clone().and(e.clone().is_not_null())
        };
        let n_name = format!("__n_{}", f.name);
        aggs.push(counted.cast(DataType::UInt32).sum().alias(n_name.as_str()));
        let sel = e.clone().filter(in_window.clone());
        let mut order = vec![col(TS)];
        for j in 0..src.tiebreak.len() {
            order.push(col(format!("__tb{j}")));
        }
        let orderable = event_schema
            .get(format!("__e_{}", f.name).as_str())
            .is_some_and(|dt| !matches!(dt, DataType::List(_) | DataType::Struct(_)));
        if orderable {
            order.push(e.clone());
        }
        let sort_opts = SortMultipleOptions::default()
            .with_nulls_last(false)
            .with_maintain_order(true);
        let agg = match f.aggregation {
            Aggregation::Count => continue,
            Aggregation::Sum => sel.sum(),
            Aggregation::Mean => sel.mean(),
            Aggregation::Min => sel.min(),
            Aggregation::Max => sel.max(),
            Aggregation::Stddev => sel.std(1),
            Aggregation::CountDistinct => sel.drop_nulls().n_unique().cast(DataType::Int64),
            // Sort the whole group, then keep the window: both sorts are stable on the same
            // keys, so value and mask stay aligned.
            Aggregation::First | Aggregation::Last => {
                let sorted = e.clone().sort_by(order.clone(), sort_opts.clone());
                let mask = in_window.clone().sort_by(order.clone(), sort_opts.clone());
                let kept = sorted.filter(mask);
                if f.aggregation == Aggregation::First {
                    kept.first()
                } else {
                    kept.last()
                }
            }
        };
        aggs.push(agg.alias(format!("__a_{}", f.name)));
    }
    let grouped = joined.group_by([col(QID)]).agg(aggs);

    // Every query gets a row (left join), then empty-window defaults and transforms.
    let mut lf = q_ids.lazy().join(
        grouped,
        [col(QID)],
        [col(QID)],
        JoinArgs::new(JoinType::Left),
    );
    let mut finals = vec![col(QID)];
    for f in feats {
        let n_name = format!("__n_{}", f.name);
        let n = col(n_name.as_str()).fill_null(lit(0u32));
        // Rows needed for a non-empty value. A count without a default is never empty: 0
        // is its value (and goes through the transform).
        let need = match (f.aggregation, &f.default) {
            (Aggregation::Stddev, _) => 2u32,
            (Aggregation::Count | Aggregation::CountDistinct, None) => 0,
            _ => 1,
        };
        let agg = match f.aggregation {
            Aggregation::Count => n.clone().cast(DataType::Int64),
            Aggregation::CountDistinct => col(format!("__a_{}", f.name)).fill_null(lit(0i64)),
            _ => col(format!("__a_{}", f.name)),
        };
        let value = match &f.transform {
            Some(t) => {
                let te = crate::registry::parse_sql(t).map_err(|m| OfflineError::Feature {
                    feature: f.name.clone(),
                    message: format!("transform: {m}"),
                })?;
                let t_name = format!("__t_{}", f.name);
                lf = lf
                    .with_column(agg.alias("value"))
                    .with_column(te.alias(t_name.as_str()));
                col(t_name.as_str())
            }
            None => agg,
        };
        let empty = match (&f.default, f.aggregation) {
            (Some(d), _) => scalar_lit(d),
            (None, _) => lit(NULL),
        };
        let mut v = when(n.clone().gt_eq(lit(need)))
            .then(value)
            .otherwise(empty);
        if let Some(d) = f.dtype {
            v = v.cast(polars_dtype(d));
        }
        finals.push(v.alias(format!("__v_{}", f.name)));
        finals.push(n.alias(n_name.as_str()));
    }
    let df = lf.select(finals).collect().map_err(src_err(src))?;
    Ok((df, watermark))
}
