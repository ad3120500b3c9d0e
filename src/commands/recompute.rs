//! `skewaudit recompute`: offline feature values for sampled keys as of one time.

use super::{CommandError, CommandResult};
use crate::cli::RecomputeArgs;
use crate::exit;
use crate::offline::{self, AS_OF};
use crate::registry::{format_time, parse_time, Feature, Registry};
use crate::sample;
use polars::prelude::*;

/// The checked plan of a recompute, made before any data is read.
pub struct Plan {
    pub registry: Registry,
    pub features: Vec<String>,
    pub sampling: sample::Sampling,
    pub seed: u64,
    pub universe: sample::Universe,
    pub as_of: Option<i64>,
}

impl Plan {
    pub fn from_args(args: &RecomputeArgs) -> Result<Plan, CommandError> {
        let sampling = args.sampling.plan().map_err(CommandError::usage)?;
        let as_of = match &args.as_of {
            Some(t) => {
                Some(parse_time(t).map_err(|m| CommandError::usage(format!("--as-of: {m}")))?)
            }
            None => None,
        };
        if let Some(p) = &args.output {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "parquet" | "ndjson" | "jsonl" | "json") {
                return Err(CommandError::usage(format!(
                    "--output {}: use a .parquet or .ndjson file name",
                    p.display()
                )));
            }
        }
        let registry = Registry::load(&args.registry.registry)?;
        let features: Vec<String> = registry
            .select_features(&args.features)
            .map_err(CommandError::usage)?
            .iter()
            .map(|f| f.name.clone())
            .collect();
        Ok(Plan {
            registry,
            features,
            sampling,
            seed: args.sampling.seed,
            universe: args.sampling.universe(),
            as_of,
        })
    }
}

/// Recomputes the plan's features for its sampled keys; returns the frame (key columns,
/// `as_of` as a UTC datetime, features) and the as-of time used.
pub fn compute(plan: &Plan, counts: bool) -> Result<(DataFrame, i64), CommandError> {
    let reg = &plan.registry;
    let feats: Vec<&Feature> = plan
        .features
        .iter()
        .filter_map(|n| reg.features.get(n))
        .collect();
    let entity = reg.single_entity(&feats).map_err(CommandError::usage)?;
    let keys = sample::sample_keys_in(
        reg,
        entity,
        &feats,
        &plan.sampling,
        plan.seed,
        plan.universe,
    )?;
    if keys.height() == 0 {
        return Err(CommandError {
            code: exit::NOTHING_TO_COMPARE,
            message: "no keys to recompute: the sample is empty".into(),
        });
    }
    let as_of = match plan.as_of {
        Some(t) => t,
        None => {
            let mut wm: Option<i64> = None;
            for src in sample::entity_sources(reg, &feats) {
                if let Some(w) = offline::source_watermark(src)? {
                    wm = Some(wm.map_or(w, |m: i64| m.min(w)));
                }
            }
            wm.ok_or_else(|| CommandError {
                code: exit::NOTHING_TO_COMPARE,
                message: "the sources hold no rows; give --as-of".into(),
            })?
        }
    };
    let mut queries = keys.clone();
    let n = queries.height();
    queries
        .with_column(Column::new(AS_OF.into(), vec![as_of; n]))
        .map_err(|e| CommandError::usage(e.to_string()))?;
    let result = offline::recompute(reg, &feats, &queries)?;
    let mut df = result.frame;
    if !counts {
        let drop: Vec<String> = feats.iter().map(|f| format!("{}__n", f.name)).collect();
        df = df.drop_many(drop);
    }
    let df = df
        .lazy()
        .with_column(
            col(AS_OF)
                .cast(DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .alias("as_of"),
        )
        .collect()
        .map_err(|e| CommandError::usage(e.to_string()))?;
    let mut order: Vec<String> = entity.keys.clone();
    order.push("as_of".into());
    for c in df.get_column_names() {
        if !order.iter().any(|o| o == c.as_str()) && c.as_str() != AS_OF {
            order.push(c.to_string());
        }
    }
    let df = df
        .select(order)
        .map_err(|e| CommandError::usage(e.to_string()))?;
    Ok((df, as_of))
}

pub fn run(args: &RecomputeArgs) -> CommandResult {
    let plan = Plan::from_args(args)?;
    let (mut df, as_of) = compute(&plan, args.counts)?;
    match &args.output {
        Some(path) => {
            crate::output::write_frame(&mut df, path).map_err(CommandError::usage)?;
            if !args.quiet {
                eprintln!(
                    "wrote {} row(s) as of {} to {}",
                    df.height(),
                    format_time(as_of),
                    path.display()
                );
            }
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            JsonWriter::new(&mut lock)
                .with_json_format(JsonFormat::JsonLines)
                .finish(&mut df)
                .map_err(|e| CommandError::usage(e.to_string()))?;
        }
    }
    Ok(exit::OK)
}
