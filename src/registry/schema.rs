//! Checking a registry against its data: the sources' Parquet schemas (footers only).
//! Each problem is one line naming the feature or source, the column, and a did-you-mean.

use super::{did_you_mean, expr_columns, parse_sql, Aggregation, Dtype, Problem, Registry, Scalar};
use crate::offline::scan;
use polars::prelude::*;
use std::collections::BTreeMap;

fn is_numeric(dt: &DataType) -> bool {
    dt.is_primitive_numeric() || matches!(dt, DataType::Boolean | DataType::Null)
}

fn dtype_fits(declared: Dtype, actual: &DataType) -> bool {
    match declared {
        Dtype::Int64 => actual.is_integer() || matches!(actual, DataType::Boolean | DataType::Null),
        Dtype::Float64 => is_numeric(actual),
        Dtype::String => matches!(actual, DataType::String | DataType::Null),
        Dtype::Bool => matches!(actual, DataType::Boolean | DataType::Null),
        Dtype::FloatList => match actual {
            DataType::List(inner) => is_numeric(inner),
            DataType::Null => true,
            _ => false,
        },
    }
}

/// The output type of `expr` evaluated over rows of `schema`, or the problem.
fn expr_dtype(e: Expr, schema: &Schema) -> Result<DataType, String> {
    let mut lf = DataFrame::empty_with_schema(schema)
        .lazy()
        .select([e.alias("__out")]);
    let out = lf
        .collect_schema()
        .map_err(|e| scan::one_line(&e.to_string()))?;
    out.get("__out")
        .cloned()
        .ok_or_else(|| "no output".to_string())
}

/// Checks every source and feature of the registry against the data. Returns the problems
/// (empty when the registry is valid) and, per source, its column schema.
pub fn check_against_data(reg: &Registry) -> DataCheck {
    let mut problems = Vec::new();
    let mut unreadable = BTreeMap::new();
    let mut dtypes: BTreeMap<String, Dtype> = BTreeMap::new();
    let mut schemas = BTreeMap::new();
    let mut p = |context: String, message: String| problems.push(Problem { context, message });

    for (name, src) in &reg.sources {
        let ctx = format!("source '{name}'");
        match scan::source_schema(src) {
            Ok(schema) => {
                let names: Vec<&str> = schema.iter_names().map(|s| s.as_str()).collect();
                match schema.get(src.timestamp.as_str()) {
                    None => p(
                        ctx.clone(),
                        format!(
                            "timestamp column '{}' not found in {}{}",
                            src.timestamp,
                            src.location,
                            did_you_mean(&src.timestamp, names.iter().copied())
                        ),
                    ),
                    Some(dt) => {
                        if let Err(m) = scan::ts_micros(&src.timestamp, dt) {
                            p(ctx.clone(), m);
                        }
                    }
                }
                for c in src.tiebreak.iter().chain(src.partition_date.iter()) {
                    if schema.get(c.as_str()).is_none() {
                        p(
                            ctx.clone(),
                            format!(
                                "column '{c}' not found{}",
                                did_you_mean(c, names.iter().copied())
                            ),
                        );
                    }
                }
                schemas.insert(name.clone(), schema);
            }
            Err(e) => {
                let message = e
                    .to_string()
                    .trim_start_matches(&format!("source '{name}': "))
                    .to_string();
                unreadable.insert(name.clone(), message.clone());
                p(ctx, message)
            }
        }
    }

    // Entity keys must exist in every source their features read.
    let mut checked_keys = std::collections::BTreeSet::new();
    for f in reg.features.values() {
        let (Some(entity), Some(schema)) = (reg.entities.get(&f.entity), schemas.get(&f.source))
        else {
            continue;
        };
        if !checked_keys.insert((f.entity.clone(), f.source.clone())) {
            continue;
        }
        let names: Vec<&str> = schema.iter_names().map(|s| s.as_str()).collect();
        for k in &entity.keys {
            match schema.get(k.as_str()) {
                None => p(
                    format!("source '{}'", f.source),
                    format!(
                        "entity '{}' key column '{k}' not found{}",
                        f.entity,
                        did_you_mean(k, names.iter().copied())
                    ),
                ),
                Some(dt) if !(dt.is_integer() || matches!(dt, DataType::String | DataType::Boolean)) => p(
                    format!("source '{}'", f.source),
                    format!("entity key column '{k}' has type {dt}; keys must be integers, strings or booleans"),
                ),
                _ => {}
            }
        }
    }

    for (name, f) in &reg.features {
        let ctx = format!("feature '{name}'");
        let Some(schema) = schemas.get(&f.source) else {
            continue;
        };
        let names: Vec<&str> = schema.iter_names().map(|s| s.as_str()).collect();
        let mut columns_ok = true;
        let mut check_cols =
            |what: &str, sql: &str, p: &mut dyn FnMut(String, String)| -> Option<Expr> {
                let e = parse_sql(sql).ok()?;
                for c in expr_columns(&e) {
                    if schema.get(c.as_str()).is_none() {
                        columns_ok = false;
                        p(
                            ctx.clone(),
                            format!(
                                "{what} \"{sql}\": column '{c}' not found in source '{}'{}",
                                f.source,
                                did_you_mean(&c, names.iter().copied())
                            ),
                        );
                    }
                }
                Some(e)
            };
        let expr = f
            .expr
            .as_deref()
            .and_then(|s| check_cols("expr", s, &mut p));
        let filter = f
            .filter
            .as_deref()
            .and_then(|s| check_cols("filter", s, &mut p));
        if !columns_ok {
            continue;
        }
        if let (Some(e), Some(sql)) = (filter, &f.filter) {
            match expr_dtype(e, schema) {
                Ok(DataType::Boolean) | Ok(DataType::Null) => {}
                Ok(dt) => p(
                    ctx.clone(),
                    format!("filter \"{sql}\" gives {dt}, not a boolean predicate"),
                ),
                Err(m) => p(ctx.clone(), format!("filter \"{sql}\": {m}")),
            }
        }
        // The aggregate's type, for the transform and dtype checks.
        let value_dtype = match (expr, &f.expr) {
            (Some(e), Some(sql)) => {
                match expr_dtype(e, schema) {
                    Ok(dt) => {
                        if f.aggregation.is_numeric() && !is_numeric(&dt) {
                            p(
                                ctx.clone(),
                                format!(
                                    "aggregation '{}' needs a numeric expr, but \"{sql}\" is {dt}",
                                    f.aggregation.name()
                                ),
                            );
                            continue;
                        }
                        if matches!(dt, DataType::List(_))
                            && !matches!(
                                f.aggregation,
                                Aggregation::First | Aggregation::Last | Aggregation::Count
                            )
                        {
                            p(ctx.clone(), format!("aggregation '{}' does not apply to list values; use first or last", f.aggregation.name()));
                            continue;
                        }
                        if matches!(f.aggregation, Aggregation::Min | Aggregation::Max)
                            && !(is_numeric(&dt)
                                || dt.is_temporal()
                                || matches!(dt, DataType::String))
                        {
                            p(
                                ctx.clone(),
                                format!(
                                    "aggregation '{}' cannot order values of type {dt}",
                                    f.aggregation.name()
                                ),
                            );
                            continue;
                        }
                        match f.aggregation {
                            Aggregation::Count | Aggregation::CountDistinct => DataType::Int64,
                            Aggregation::Mean | Aggregation::Stddev => DataType::Float64,
                            _ => dt,
                        }
                    }
                    Err(m) => {
                        p(ctx.clone(), format!("expr \"{sql}\": {m}"));
                        continue;
                    }
                }
            }
            _ => DataType::Int64,
        };
        let out_dtype = match &f.transform {
            Some(t) => {
                let Ok(te) = parse_sql(t) else { continue };
                let vs = Schema::from_iter([Field::new("value".into(), value_dtype.clone())]);
                match expr_dtype(te, &vs) {
                    Ok(dt) => dt,
                    Err(m) => {
                        p(
                            ctx.clone(),
                            format!("transform \"{t}\" over a {value_dtype} value: {m}"),
                        );
                        continue;
                    }
                }
            }
            None => value_dtype,
        };
        dtypes.insert(
            name.clone(),
            f.dtype.unwrap_or_else(|| dtype_of(&out_dtype)),
        );
        if let Some(d) = f.dtype {
            if !dtype_fits(d, &out_dtype) {
                p(
                    ctx.clone(),
                    format!(
                        "dtype {} does not fit the computed value's type {out_dtype}{}",
                        d.name(),
                        if d == Dtype::Int64 {
                            "; use float64, or round/cast in the transform"
                        } else {
                            ""
                        }
                    ),
                );
            }
        } else if let Some(def) = &f.default {
            let fits = match def {
                Scalar::Int(_) | Scalar::Float(_) => is_numeric(&out_dtype),
                Scalar::Str(_) => matches!(out_dtype, DataType::String | DataType::Null),
                Scalar::Bool(_) => matches!(out_dtype, DataType::Boolean | DataType::Null),
            };
            if !fits {
                p(
                    ctx.clone(),
                    format!(
                        "default {} does not fit the computed value's type {out_dtype}",
                        def.to_json()
                    ),
                );
            }
        }
    }
    DataCheck {
        problems,
        unreadable,
        schemas,
        dtypes,
    }
}

/// What checking a registry against its data found.
#[derive(Debug)]
pub struct DataCheck {
    /// Empty when the registry is valid.
    pub problems: Vec<Problem>,
    /// Sources whose data could not be read (no files, unreadable files), with why; also
    /// among `problems`.
    pub unreadable: BTreeMap<String, String>,
    /// Each readable source's schema.
    pub schemas: BTreeMap<String, SchemaRef>,
    /// Each checkable feature's value type: its `dtype`, else the computed type.
    pub dtypes: BTreeMap<String, Dtype>,
}

/// The feature dtype of a computed Polars type (integers -> int64, other numbers -> float64).
pub fn dtype_of(dt: &DataType) -> Dtype {
    if dt.is_integer() {
        Dtype::Int64
    } else if matches!(dt, DataType::Boolean) {
        Dtype::Bool
    } else if matches!(dt, DataType::String) {
        Dtype::String
    } else if matches!(dt, DataType::List(_)) {
        Dtype::FloatList
    } else {
        Dtype::Float64
    }
}
