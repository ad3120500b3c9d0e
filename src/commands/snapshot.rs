//! `skewaudit snapshot`: read the online values of a sample from Redis and save them as a
//! Parquet snapshot (`docs/snapshot.md`).

use super::{CommandError, CommandResult};
use crate::cli::{OnlineArgs, SnapshotArgs};
use crate::exit;
use crate::online::{self, redis::RedisOptions};
use crate::registry::{format_time, schema, Dtype, Feature, Online, Registry};
use crate::sample;
use std::time::Duration;

/// The online source chosen for a run: a Redis server or a snapshot file.
pub enum OnlineSource {
    Redis(RedisOptions),
    Snapshot(std::path::PathBuf),
}

impl OnlineSource {
    /// The as-of time of a run without `--as-of`: when a snapshot was taken (an incident frozen
    /// by on-call is judged as of then), else now.
    pub fn default_as_of(online: Option<&OnlineSource>) -> i64 {
        match online {
            Some(OnlineSource::Snapshot(path)) => online::snapshot::taken_at(path),
            _ => None,
        }
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros())
    }

    /// The flag, else the registry's `[online] url`; checked before any I/O.
    pub fn from_args(args: &OnlineArgs, reg: &Registry) -> Result<OnlineSource, CommandError> {
        let url = args
            .online
            .clone()
            .or_else(|| reg.online.as_ref().and_then(|o| o.url.clone()))
            .ok_or_else(|| {
                CommandError::usage(
                    "no online store: pass --online URL|FILE or set [online] url in the registry",
                )
            })?;
        if online::is_snapshot(&url) {
            return Ok(OnlineSource::Snapshot(url.into()));
        }
        let scheme = url.split("://").next().unwrap_or("");
        if !["redis", "rediss", "redis+cluster", "rediss+cluster"].contains(&scheme)
            || !url.contains("://")
        {
            return Err(CommandError::usage(format!(
                "--online {}: use redis://, rediss://, redis+cluster:// or a .parquet snapshot",
                online::redact_url(&url)
            )));
        }
        if args.timeout_ms == 0 || args.batch == 0 || args.concurrency == 0 {
            return Err(CommandError::usage(
                "--timeout-ms, --batch and --concurrency must be at least 1",
            ));
        }
        if let Some(r) = args.max_ops_per_sec {
            if !(r > 0.0 && r.is_finite()) {
                return Err(CommandError::usage(
                    "--max-ops-per-sec must be a positive number",
                ));
            }
        }
        if let Some(ca) = &args.ca_file {
            if !ca.is_file() {
                return Err(CommandError::usage(format!(
                    "--ca-file {}: no such file",
                    ca.display()
                )));
            }
        }
        let mut opts = RedisOptions::new(&url);
        opts.cluster |= reg.online.as_ref().is_some_and(|o| o.cluster);
        opts.timeout = Duration::from_millis(args.timeout_ms);
        opts.retries = args.retries;
        opts.batch = args.batch;
        opts.concurrency = args.concurrency;
        opts.max_ops_per_sec = args.max_ops_per_sec;
        opts.ca_file = args.ca_file.clone();
        opts.read_from_replicas = args.read_from_replicas;
        opts.password = args.redis_password.clone().filter(|p| !p.is_empty());
        Ok(OnlineSource::Redis(opts))
    }

    /// Where values come from, safe to print.
    pub fn describe(&self) -> String {
        match self {
            OnlineSource::Redis(o) => online::redact_url(&o.url),
            OnlineSource::Snapshot(p) => p.display().to_string(),
        }
    }
}

/// The registry's `[online]`, or a usage error.
pub fn online_config(reg: &Registry) -> Result<&Online, CommandError> {
    reg.online.as_ref().ok_or_else(|| {
        CommandError::usage(format!(
            "{}: the registry has no [online] section",
            reg.path.display()
        ))
    })
}

/// Each feature with its value type (declared, else computed from the data's schema).
pub fn typed_features<'a>(
    reg: &'a Registry,
    names: &[String],
) -> Result<Vec<(&'a Feature, Dtype)>, CommandError> {
    let feats = reg.select_features(names).map_err(CommandError::usage)?;
    let check = schema::check_against_data(reg);
    // Only what the selected features read matters here (`validate` checks everything).
    let sources: std::collections::BTreeSet<&str> =
        feats.iter().map(|f| f.source.as_str()).collect();
    let selected: std::collections::BTreeSet<&str> =
        feats.iter().map(|f| f.name.as_str()).collect();
    let quoted = |context: &str, kind: &str| {
        context
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix(" '"))
            .and_then(|r| r.strip_suffix('\''))
            .map(str::to_string)
    };
    // Data that is not there is a source unavailable (exit 3), not a registry error.
    if let Some((name, why)) = check
        .unreadable
        .iter()
        .find(|(s, _)| sources.contains(s.as_str()))
    {
        return Err(CommandError::unavailable(format!(
            "{}: source '{name}': {why}",
            reg.path.display()
        )));
    }
    let lines: Vec<String> = check
        .problems
        .iter()
        .filter(
            |p| match (quoted(&p.context, "source"), quoted(&p.context, "feature")) {
                (Some(s), _) => sources.contains(s.as_str()),
                (_, Some(f)) => selected.contains(f.as_str()),
                _ => true,
            },
        )
        .map(|p| format!("{}: {}", reg.path.display(), p))
        .collect();
    if !lines.is_empty() {
        return Err(CommandError::usage(lines.join("\n")));
    }
    Ok(feats
        .into_iter()
        .map(|f| {
            (
                f,
                check
                    .dtypes
                    .get(&f.name)
                    .copied()
                    .or(f.dtype)
                    .unwrap_or(Dtype::Float64),
            )
        })
        .collect())
}

pub fn run(args: &SnapshotArgs) -> CommandResult {
    let sampling = args.sampling.plan().map_err(CommandError::usage)?;
    match args.out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => {}
        _ => {
            return Err(CommandError::usage(format!(
                "--out {}: use a .parquet file name",
                args.out.display()
            )))
        }
    }
    let reg = Registry::load(&args.registry.registry)?;
    let source = OnlineSource::from_args(&args.online, &reg)?;
    let OnlineSource::Redis(opts) = &source else {
        return Err(CommandError::usage(
            "snapshot reads a Redis server: pass --online redis://...",
        ));
    };
    let online_cfg = online_config(&reg)?;
    let feats = typed_features(&reg, &args.features)?;
    let plain: Vec<&Feature> = feats.iter().map(|(f, _)| *f).collect();
    let entity = reg.single_entity(&plain).map_err(CommandError::usage)?;
    let keys = sample::sample_keys_in(
        &reg,
        entity,
        &plain,
        &sampling,
        args.sampling.seed,
        args.sampling.universe(),
    )?;
    if keys.height() == 0 {
        return Err(CommandError {
            code: exit::NOTHING_TO_COMPARE,
            message: "no keys to read: the sample is empty".into(),
        });
    }
    let taken_at = chrono::Utc::now().timestamp_micros();
    let started = std::time::Instant::now();
    let progress = crate::progress::Progress::new(args.quiet);
    let bar = progress.bar(
        &format!("reading {}", source.describe()),
        keys.height() as u64,
    );
    let mut opts = opts.clone();
    opts.progress = Some(bar.clone());
    let mut frame = online::redis::read(&opts, online_cfg, &feats, &keys, &entity.keys)?;
    bar.done("");
    online::snapshot::write(&mut frame, &args.out, taken_at)?;
    if !args.quiet {
        eprintln!(
            "saved {} key(s) x {} feature(s) from {} to {} (taken at {}, {:.2}s)",
            frame.height(),
            feats.len(),
            source.describe(),
            args.out.display(),
            format_time(taken_at),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(exit::OK)
}

/// `--log GLOB` in place of the registry's `[logs] path` (the `[logs]` section still says how
/// to read the rows): a local glob or `s3://`, NDJSON by extension.
pub fn override_log_path(
    logs: &mut Option<crate::registry::Logs>,
    registry: &std::path::Path,
    glob: &str,
) -> Result<(), CommandError> {
    let logs = logs.as_mut().ok_or_else(|| {
        CommandError::usage(format!(
            "--log needs a [logs] section in {} (timestamp column and key columns)",
            registry.display()
        ))
    })?;
    logs.path = if glob.starts_with("s3://") {
        crate::registry::Location::S3(glob.to_string())
    } else {
        crate::registry::Location::Local(glob.into())
    };
    logs.ndjson = glob.ends_with(".ndjson") || glob.ends_with(".jsonl") || glob.ends_with(".json");
    Ok(())
}
