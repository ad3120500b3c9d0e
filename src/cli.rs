//! Command-line arguments (clap) and their conversion into one checked plan per command
//! before any I/O.

use crate::sample::{Sampling, DEFAULT_SEED};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "skewaudit",
    version,
    about = "Audit training-serving skew: recompute features from one canonical registry over Parquet and diff them against Redis and serving logs",
    after_help = "Examples:\n  skewaudit demo\n  skewaudit validate --registry features.toml\n  skewaudit recompute --registry features.toml --sample 1000 --as-of 2026-12-01T00:00:00Z\n\nExit codes: 0 ok, 1 skew (a gate failed), 2 usage/registry/input error, 3 source unavailable, 4 nothing to compare."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit skew: recompute sampled keys offline and compare with online values and serving logs.
    #[command(
        after_help = "Examples:\n  skewaudit audit --registry features.toml --online redis://cache:6379 --sample 10000\n  skewaudit audit --registry features.toml --online snapshot.parquet --log 'serving_log/*.parquet' --format json --output out/\n\nExit codes: 0 no gate failed, 1 a gate failed (skew), 2 usage/registry/input error, 3 a source unavailable or too many read errors, 4 nothing to compare."
    )]
    Audit(AuditArgs),
    /// Explain one entity: source rows in each window, each step, offline / online / logged values, verdict.
    #[command(
        after_help = "Examples:\n  skewaudit explain --registry features.toml --entity user_id=42\n  skewaudit explain --registry features.toml --entity user_id=42 --feature spend_7d --online redis://cache:6379\n  skewaudit explain --registry features.toml --entity driver_id=5001,city=Berlin"
    )]
    Explain(ExplainArgs),
    /// Check a registry statically and against its sources' Parquet schemas (exit 0 or 2).
    #[command(
        after_help = "Examples:\n  skewaudit validate --registry features.toml\n  skewaudit validate --registry features.toml --no-data"
    )]
    Validate(ValidateArgs),
    /// Print the sampled entity keys (deterministic: same seed + same keys = same sample).
    #[command(
        after_help = "Examples:\n  skewaudit sample --registry features.toml --sample 1000 --seed 7\n  skewaudit sample --registry features.toml --sample-rate 0.01"
    )]
    Sample(SampleArgs),
    /// Recompute features offline, point-in-time correct, for sampled keys as of a time.
    #[command(
        after_help = "Examples:\n  skewaudit recompute --registry features.toml --sample 100 --as-of 2026-12-01T00:00:00Z\n  skewaudit recompute --registry features.toml --keys keys.csv --features spend_7d --output values.parquet"
    )]
    Recompute(RecomputeArgs),
    /// Save the online values of a sample to a Parquet snapshot (usable wherever --online is).
    #[command(
        after_help = "Examples:\n  skewaudit snapshot --registry features.toml --online redis://auditor@cache:6379/0 --sample 10000 --out online.parquet\n  REDIS_PASSWORD=... skewaudit snapshot --registry features.toml --online redis+cluster://node1:7000 --keys incident-keys.csv --out incident.parquet"
    )]
    Snapshot(SnapshotArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  skewaudit completions bash > /etc/bash_completion.d/skewaudit\n  skewaudit completions zsh > ~/.zfunc/_skewaudit"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Run on the bundled demo fixtures (no server needed).
    #[command(
        after_help = "Examples:\n  skewaudit demo\n  skewaudit demo --output demo-report/ --sample 2000\n  skewaudit demo --load-redis redis://127.0.0.1:6379/15"
    )]
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct RegistryArg {
    /// The feature registry (TOML).
    #[arg(long, env = "SKEWAUDIT_REGISTRY", value_name = "FILE")]
    pub registry: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub registry: RegistryArg,
    /// Only check the registry itself, not the data's schemas.
    #[arg(long)]
    pub no_data: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SamplingArgs {
    /// Audit exactly N keys (bottom-k on a seeded xxh3 hash of the key).
    #[arg(long, value_name = "N", group = "sampling")]
    pub sample: Option<usize>,
    /// Audit the keys whose hash falls under R (0 < R <= 1).
    #[arg(long, value_name = "R", group = "sampling")]
    pub sample_rate: Option<f64>,
    /// Audit the keys listed in FILE (a header naming the key columns, one key per line).
    #[arg(long, value_name = "FILE", group = "sampling")]
    pub keys: Option<PathBuf>,
    /// Hash seed: the same seed picks the same keys.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Where the keys are drawn from: the features' sources, or the serving log.
    #[arg(long, value_name = "FROM", default_value = "sources", value_parser = ["sources", "log"])]
    pub universe: String,
}

impl SamplingArgs {
    /// The key universe asked for.
    pub fn universe(&self) -> crate::sample::Universe {
        if self.universe == "log" {
            crate::sample::Universe::Log
        } else {
            crate::sample::Universe::Sources
        }
    }

    /// The checked sampling choice; `None` given means every key.
    pub fn plan(&self) -> Result<Sampling, String> {
        if let Some(n) = self.sample {
            if n == 0 {
                return Err("--sample must be at least 1".into());
            }
            return Ok(Sampling::Count(n));
        }
        if let Some(r) = self.sample_rate {
            if !(r > 0.0 && r <= 1.0) {
                return Err(format!("--sample-rate must be in (0, 1], got {r}"));
            }
            return Ok(Sampling::Rate(r));
        }
        if let Some(k) = &self.keys {
            return Ok(Sampling::Keys(k.clone()));
        }
        Ok(Sampling::All)
    }
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Which features' entity and sources to sample from (default: all; one entity).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub features: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RecomputeArgs {
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// The time to compute as of (RFC 3339); default: the earliest watermark of the features'
    /// sources (the newest time all of them are complete).
    #[arg(long, value_name = "RFC3339")]
    pub as_of: Option<String>,
    /// Features to compute (default: all; they must share one entity).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub features: Vec<String>,
    /// Write the values to FILE (.parquet or .ndjson) instead of NDJSON on stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Add `<feature>__n`, the number of source rows behind each value.
    #[arg(long)]
    pub counts: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Where and how to read online values.
#[derive(Debug, Args, Clone)]
pub struct OnlineArgs {
    /// The online store: redis://, rediss:// (TLS), redis+cluster://, or a snapshot .parquet
    /// file (default: the registry's [online] url).
    #[arg(
        long,
        env = "REDIS_URL",
        hide_env_values = true,
        value_name = "URL|FILE"
    )]
    pub online: Option<String>,
    /// Password when the URL has none (never printed).
    #[arg(long, env = "REDIS_PASSWORD", hide_env_values = true, hide = true)]
    pub redis_password: Option<String>,
    /// Per-call timeout, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = crate::online::redis::DEFAULT_TIMEOUT_MS)]
    pub timeout_ms: u64,
    /// Retries of a failed batch (exponential backoff, within 2 x the timeout).
    #[arg(long, value_name = "N", default_value_t = crate::online::redis::DEFAULT_RETRIES)]
    pub retries: u32,
    /// Keys per pipelined batch.
    #[arg(long, value_name = "N", default_value_t = crate::online::redis::DEFAULT_BATCH)]
    pub batch: usize,
    /// Batches in flight at once.
    #[arg(long, value_name = "N", default_value_t = crate::online::redis::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Cap on Redis commands per second, so an audit never hurts production latency.
    #[arg(long, value_name = "N")]
    pub max_ops_per_sec: Option<f64>,
    /// PEM file of the CA that signed the server's TLS certificate.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Redis Cluster: read from replicas.
    #[arg(long)]
    pub read_from_replicas: bool,
}

impl OnlineArgs {
    /// The defaults, reading `online` (a URL or a snapshot file).
    pub fn with_online(online: String) -> Self {
        use crate::online::redis::*;
        OnlineArgs {
            online: Some(online),
            redis_password: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            retries: DEFAULT_RETRIES,
            batch: DEFAULT_BATCH,
            concurrency: DEFAULT_CONCURRENCY,
            max_ops_per_sec: None,
            ca_file: None,
            read_from_replicas: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub online: OnlineArgs,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Features to save (default: all; one entity).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub features: Vec<String>,
    /// The snapshot file to write (.parquet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub registry: RegistryArg,
    #[command(flatten)]
    pub online: OnlineArgs,
    /// Serving log (Parquet or NDJSON glob); default: the registry's [logs] path.
    #[arg(long, value_name = "GLOB")]
    pub log: Option<String>,
    /// Skip the online comparison.
    #[arg(long)]
    pub no_online: bool,
    /// Skip the log comparison.
    #[arg(long)]
    pub no_log: bool,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Reference time (RFC 3339) for values without a stored timestamp and for value ages;
    /// default: now.
    #[arg(long, value_name = "RFC3339")]
    pub as_of: Option<String>,
    /// Features to audit (default: all; one entity).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub features: Vec<String>,
    /// Output formats: table, json, markdown, junit, html (several need --output; with
    /// --output and no --format, the table and every file).
    #[arg(long, value_delimiter = ',', value_name = "F,G")]
    pub format: Vec<String>,
    /// Write report files (report.json, report.md, junit.xml, report.html) into DIR.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Off a terminal, log one line per finished stage on stderr (also when RUST_LOG is set).
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub registry: RegistryArg,
    /// The entity: key=value for every key column, comma-separated.
    #[arg(long, value_name = "KEY=VALUE[,..]")]
    pub entity: String,
    /// One feature (default: all of the entity's).
    #[arg(long, value_name = "F")]
    pub feature: Option<String>,
    #[command(flatten)]
    pub online: OnlineArgs,
    /// Serving log (default: the registry's [logs] path).
    #[arg(long, value_name = "GLOB")]
    pub log: Option<String>,
    /// Reference time for values without a stored timestamp (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    pub as_of: Option<String>,
    /// Rows and examples shown per feature.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub rows: usize,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The fixture directory holding features.toml (default: the bundled fixtures/shop).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Where to write the report (default: a new temporary directory).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Users to sample.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub sample: usize,
    /// Instead of auditing: load the demo's online values into this Redis (hash layout of the
    /// demo registry), so the live path can be tried. The only command that writes to Redis.
    #[arg(long, value_name = "URL")]
    pub load_redis: Option<String>,
    /// With --load-redis: load even into a database that already holds keys.
    #[arg(long)]
    pub force: bool,
}
