//! The audit pipeline (SPEC §2-§5): sample keys -> read online values (Redis or snapshot) ->
//! recompute offline as of each value's timestamp -> read the serving log's rows of the
//! sampled keys -> recompute as of each request time -> compare row by row (with causes)
//! and as distributions -> gates -> one [`Report`].

mod compare;

use crate::commands::snapshot::OnlineSource;
use crate::compare::row::Val;
use crate::exit;
use crate::logs;
use crate::offline::{self, AS_OF};
use crate::online;
use crate::registry::{format_time, Dtype, Entity, Feature, Logs, Registry};
use crate::report::{Comparisons, FeatureReport, Report, RunInfo, SCHEMA_VERSION};
use crate::sample::{self, Sampling};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

pub use compare::{Rows, Verdict};

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Sample(#[from] sample::SampleError),
    #[error(transparent)]
    Offline(#[from] offline::OfflineError),
    #[error(transparent)]
    Online(#[from] online::OnlineError),
    #[error(transparent)]
    Logs(#[from] logs::LogError),
    /// The online store was read but could not be what the registry says (exit 3).
    #[error("{0}")]
    ReadErrors(String),
    #[error("{0}")]
    Other(String),
}

impl AuditError {
    /// The documented exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            AuditError::Sample(sample::SampleError::Scan(_)) => exit::UNAVAILABLE,
            AuditError::Offline(offline::OfflineError::Scan(_)) => exit::UNAVAILABLE,
            AuditError::Online(online::OnlineError::Unavailable { .. }) => exit::UNAVAILABLE,
            AuditError::ReadErrors(_) => exit::UNAVAILABLE,
            _ => exit::USAGE,
        }
    }
}

/// A checked audit, made before any data is read.
pub struct AuditPlan {
    pub registry: Registry,
    /// The audited features with their value types.
    pub features: Vec<(String, Dtype)>,
    pub entity: Entity,
    pub sampling: Sampling,
    pub seed: u64,
    /// Where the keys are drawn from.
    pub universe: sample::Universe,
    /// The reference time: `--as-of`, else now (µs).
    pub as_of: i64,
    pub online: Option<OnlineSource>,
    pub logs: Option<Logs>,
    /// Progress display (hidden in library use).
    pub progress: crate::progress::Progress,
}

fn other(e: impl std::fmt::Display) -> AuditError {
    AuditError::Other(e.to_string())
}

/// A value of a frame cell.
pub fn val(av: AnyValue) -> Val {
    match av {
        AnyValue::Null => Val::Null,
        AnyValue::Boolean(b) => Val::Bool(b),
        AnyValue::String(s) => Val::Str(s.to_string()),
        AnyValue::StringOwned(s) => Val::Str(s.to_string()),
        AnyValue::Float64(x) => Val::Num(x),
        AnyValue::Float32(x) => Val::Num(x as f64),
        AnyValue::List(s) => Val::List(
            s.cast(&DataType::Float64)
                .ok()
                .and_then(|s| {
                    s.f64()
                        .ok()
                        .map(|c| c.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                })
                .unwrap_or_default(),
        ),
        other => match other.extract::<i64>() {
            Some(i) => Val::Num(i as f64),
            None => Val::Str(other.str_value().to_string()),
        },
    }
}

fn column_vals(df: &DataFrame, name: &str) -> Result<Vec<Val>, AuditError> {
    let c = df
        .column(name)
        .map_err(other)?
        .as_materialized_series()
        .rechunk();
    Ok(c.iter().map(val).collect())
}

fn column_opt_i64(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>, AuditError> {
    let c = df
        .column(name)
        .map_err(other)?
        .cast(&DataType::Int64)
        .map_err(other)?;
    Ok(c.i64().map_err(other)?.iter().collect())
}

fn column_opt_str(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, AuditError> {
    let c = df
        .column(name)
        .map_err(other)?
        .cast(&DataType::String)
        .map_err(other)?;
    Ok(c.str()
        .map_err(other)?
        .iter()
        .map(|s| s.map(|x| x.to_string()))
        .collect())
}

/// Recomputes `features` at the given `(key row, as_of)` points; returns each feature's
/// values per point and the watermarks.
pub fn recompute_at(
    reg: &Registry,
    features: &[&Feature],
    keys: &DataFrame,
    points: &[(usize, i64)],
) -> Result<(HashMap<String, Vec<Val>>, BTreeMap<String, Option<i64>>), AuditError> {
    if points.is_empty() || features.is_empty() {
        // Nothing to compute (e.g. a key without logged requests): empty columns.
        let empty = features
            .iter()
            .map(|f| (f.name.clone(), Vec::new()))
            .collect();
        return Ok((empty, BTreeMap::new()));
    }
    let idx = IdxCa::from_vec("i".into(), points.iter().map(|p| p.0 as IdxSize).collect());
    let mut q = keys.take(&idx).map_err(other)?;
    q.with_column(Column::new(
        AS_OF.into(),
        points.iter().map(|p| p.1).collect::<Vec<_>>(),
    ))
    .map_err(other)?;
    let out = offline::recompute(reg, features, &q)?;
    let mut values = HashMap::new();
    for f in features {
        values.insert(f.name.clone(), column_vals(&out.frame, &f.name)?);
    }
    Ok((values, out.watermarks))
}

/// Runs the audit.
pub fn run(plan: &AuditPlan) -> Result<Report, AuditError> {
    let started = std::time::Instant::now();
    let reg = &plan.registry;
    let feats: Vec<(&Feature, Dtype)> = plan
        .features
        .iter()
        .filter_map(|(n, d)| reg.features.get(n).map(|f| (f, *d)))
        .collect();
    let plain: Vec<&Feature> = feats.iter().map(|(f, _)| *f).collect();
    let key_names = plan.entity.keys.clone();
    let stage = plan.progress.stage("sampling keys");
    let keys = sample::sample_keys_in(
        reg,
        &plan.entity,
        &plain,
        &plan.sampling,
        plan.seed,
        plan.universe,
    )?;
    stage.done(&format!("{} keys", keys.height()));

    let mut watermarks: BTreeMap<String, Option<i64>> = BTreeMap::new();
    let mut online_reports: BTreeMap<String, crate::report::ComparisonReport> = BTreeMap::new();
    let mut log_reports: BTreeMap<String, crate::report::ComparisonReport> = BTreeMap::new();
    let online_cfg = reg.online.as_ref();

    // Online: the frame of the sampled keys (a key absent from a snapshot is missing).
    if let Some(source) = &plan.online {
        let frame = match source {
            OnlineSource::Redis(opts) => {
                let cfg = online_cfg.ok_or_else(|| {
                    AuditError::Other(format!(
                        "{}: the registry has no [online] section",
                        reg.path.display()
                    ))
                })?;
                let bar = plan.progress.bar(
                    &format!("reading {}", source.describe()),
                    keys.height() as u64,
                );
                let mut opts = opts.clone();
                opts.progress = Some(bar.clone());
                let frame = online::redis::read(&opts, cfg, &feats, &keys, &key_names)?;
                bar.done("");
                frame
            }
            OnlineSource::Snapshot(path) => {
                let snap = online::snapshot::read(path, &feats, &key_names)?;
                keys.clone()
                    .lazy()
                    .join(
                        snap.lazy(),
                        key_names
                            .iter()
                            .map(|k| col(k.as_str()))
                            .collect::<Vec<_>>(),
                        key_names
                            .iter()
                            .map(|k| col(k.as_str()))
                            .collect::<Vec<_>>(),
                        JoinArgs::new(JoinType::Left).with_coalesce(JoinCoalesce::CoalesceColumns),
                    )
                    .collect()
                    .map_err(|e| AuditError::Other(format!("{}: {}", path.display(), e)))?
            }
        };
        check_online_read(&frame, &feats, &key_names, &source.describe())?;
        let rows = Rows::from_frame(&frame, &feats, None, plan.as_of)?;
        let keyframe = frame
            .select(key_names.iter().map(|k| k.as_str()))
            .map_err(other)?;
        let stage = plan
            .progress
            .stage("recomputing offline and comparing with online");
        let (reports, wm) =
            compare::compare_all(reg, &feats, &keyframe, &key_names, &rows, plan.as_of, true)?;
        stage.done("");
        watermarks.extend(wm);
        online_reports = reports;
    }

    // Serving log: the sampled keys' requests, each as of its request time.
    if let Some(l) = &plan.logs {
        let stage = plan
            .progress
            .stage(&format!("reading the serving log {}", l.path));
        let lf = logs::read(l, &feats, &key_names, Some(&keys), l.max_malformed_rate)?;
        stage.done(&format!("{} requests", lf.frame.height()));
        let rows = Rows::from_frame(&lf.frame, &feats, Some(logs::REQUEST_TS), plan.as_of)?;
        let keyframe = lf
            .frame
            .select(key_names.iter().map(|k| k.as_str()))
            .map_err(other)?;
        let stage = plan
            .progress
            .stage("recomputing offline and comparing with the log");
        let (reports, wm) =
            compare::compare_all(reg, &feats, &keyframe, &key_names, &rows, plan.as_of, false)?;
        stage.done("");
        watermarks.extend(wm);
        log_reports = reports;
    }

    compare::adjust_pvalues(&mut online_reports);
    compare::adjust_pvalues(&mut log_reports);

    let mut features = Vec::new();
    let mut any_compared = false;
    for (f, dtype) in &feats {
        let online = online_reports.remove(&f.name);
        let log = log_reports.remove(&f.name);
        let verdicts: Vec<&str> = online
            .iter()
            .chain(log.iter())
            .map(|c| c.verdict.as_str())
            .collect();
        any_compared |= online.iter().chain(log.iter()).any(|c| c.rows.compared > 0);
        features.push(FeatureReport {
            name: f.name.clone(),
            definition_hash: f.definition_hash.clone(),
            dtype: dtype.name().to_string(),
            source: f.source.clone(),
            verdict: Verdict::combine(&verdicts).to_string(),
            comparisons: Comparisons { online, log },
        });
    }
    let all: Vec<&str> = features.iter().map(|f| f.verdict.as_str()).collect();
    let verdict = Verdict::combine(&all);
    let exit_code = if !any_compared {
        exit::NOTHING_TO_COMPARE
    } else if verdict == Verdict::Fail {
        exit::SKEW
    } else {
        exit::OK
    };
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        verdict: verdict.to_string(),
        exit_code,
        run: RunInfo {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            as_of: format_time(plan.as_of),
            seed: plan.seed,
            sampling: match &plan.sampling {
                Sampling::All => "all".into(),
                Sampling::Count(n) => format!("count:{n}"),
                Sampling::Rate(r) => format!("rate:{r}"),
                Sampling::Keys(p) => format!("keys:{}", p.display()),
            },
            sample_size: keys.height(),
            entity: plan.entity.name.clone(),
            entity_keys: key_names.clone(),
            registry_path: reg.path.display().to_string(),
            registry_hash: reg.file_hash.clone(),
            project: reg.project.name.clone(),
            project_version: reg.project.version.clone(),
            online: plan.online.as_ref().map(|o| o.describe()),
            log: plan.logs.as_ref().map(|l| l.path.to_string()),
            watermarks: watermarks
                .into_iter()
                .map(|(k, v)| (k, v.map(format_time)))
                .collect(),
            duration_seconds: started.elapsed().as_secs_f64(),
        },
        features,
    })
}

/// Below this many sampled keys (or values read) the online read is not judged as a whole.
pub const READ_CHECK_MIN_ROWS: usize = 20;

/// "Too many read errors" (SPEC §5, exit 3): an online read that cannot be what the registry
/// describes. With at least [`READ_CHECK_MIN_ROWS`] sampled keys, the run stops when none of
/// them is in the store (a wrong key template or database), or when more than half of a
/// feature's stored values do not decode (a wrong dtype, layout or field). Fewer missing keys
/// or decode errors are findings, counted in the report.
fn check_online_read(
    frame: &DataFrame,
    feats: &[(&crate::registry::Feature, crate::registry::Dtype)],
    key_names: &[String],
    source: &str,
) -> Result<(), AuditError> {
    let n = frame.height();
    if n < READ_CHECK_MIN_ROWS {
        return Ok(());
    }
    let example = || {
        key_names
            .iter()
            .map(|k| {
                let v = frame
                    .column(k)
                    .ok()
                    .and_then(|c| c.get(0).ok())
                    .map(|v| v.to_string().trim_matches('"').to_string())
                    .unwrap_or_default();
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let present = frame
        .column(online::KEY_PRESENT)
        .ok()
        .and_then(|c| c.bool().ok().map(|b| b.sum().unwrap_or(0) as usize))
        .unwrap_or(0);
    if present == 0 {
        return Err(AuditError::ReadErrors(format!(
            "{source}: none of the {n} sampled keys is in the online store (e.g. {}): check \
             [online] key and the database in the URL",
            example()
        )));
    }
    for (f, dtype) in feats {
        let Ok(status) = frame
            .column(&format!("{}{}", f.name, online::frame::STATUS))
            .and_then(|c| c.str().cloned())
        else {
            continue;
        };
        let mut read = 0usize;
        let mut errors = 0usize;
        for s in status.iter().flatten() {
            if s != "missing" {
                read += 1;
            }
            if s == "decode_error" {
                errors += 1;
            }
        }
        if read >= READ_CHECK_MIN_ROWS && errors * 2 > read {
            return Err(AuditError::ReadErrors(format!(
                "{source}: feature '{}': {errors} of the {read} stored values read do not \
                 decode as {}: check the feature's dtype and the [online] layout and field",
                f.name,
                dtype.name()
            )));
        }
    }
    Ok(())
}
