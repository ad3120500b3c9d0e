//! `skewaudit demo`: the whole audit on the bundled fixtures (`fixtures/shop`), the online
//! side from its snapshot, so no server is needed. Prints the summary and writes the report
//! to a directory (`--output`, default a fresh temporary one), then exits as the gates
//! decide (the demo data has injected skews: exit 1).

use super::{CommandError, CommandResult};
use crate::cli::{AuditArgs, DemoArgs, OnlineArgs, RegistryArg, SamplingArgs};
use crate::exit;
use std::path::PathBuf;

/// The bundled fixtures: `./fixtures/shop` when run from the repository, else the path the
/// binary was built from.
pub fn default_fixtures() -> PathBuf {
    let local = PathBuf::from("fixtures/shop");
    if local.join("features.toml").is_file() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop")
}

/// When the demo snapshot was taken: the audit's reference time, so the demo is reproducible.
pub const DEMO_AS_OF: &str = "2026-12-01T00:00:00Z";

pub fn run(args: &DemoArgs) -> CommandResult {
    let dir = args.fixtures.clone().unwrap_or_else(default_fixtures);
    if let Some(url) = &args.load_redis {
        return load_redis(&dir, url, args.force);
    }
    let registry = dir.join("features.toml");
    if !registry.is_file() {
        return Err(CommandError::usage(format!(
            "{}: demo registry not found; run from the repository root or pass --fixtures DIR",
            registry.display()
        )));
    }
    let output = match &args.output {
        Some(d) => d.clone(),
        None => tempfile::Builder::new()
            .prefix("skewaudit-demo-")
            .tempdir()
            .map_err(|e| CommandError::usage(format!("cannot make a temporary directory: {e}")))?
            .keep(),
    };
    let audit = AuditArgs {
        registry: RegistryArg {
            registry: registry.clone(),
        },
        online: OnlineArgs::with_online(
            dir.join("online_snapshot.parquet")
                .to_string_lossy()
                .to_string(),
        ),
        log: None,
        no_online: false,
        no_log: false,
        sampling: SamplingArgs {
            sample: Some(args.sample),
            sample_rate: None,
            keys: None,
            seed: 0,
            universe: "sources".into(),
        },
        as_of: Some(DEMO_AS_OF.into()),
        features: vec![],
        format: vec![
            "table".into(),
            "json".into(),
            "markdown".into(),
            "junit".into(),
            "html".into(),
        ],
        output: Some(output.clone()),
        quiet: true,
        verbose: false,
    };
    crate::output::stdout(&format!(
        "skewaudit demo: {} (online: its snapshot; log: its serving log)\n",
        registry.display()
    ));
    let started = std::time::Instant::now();
    let code = super::audit::run(&audit)?;
    crate::output::stdout(&format!(
        "reports in {}: report.json, report.md, junit.xml, report.html  ({:.2}s; ground truth of the injected skews: {})\n",
        output.display(),
        started.elapsed().as_secs_f64(),
        dir.join("GROUND_TRUTH.md").display()
    ));
    Ok(code)
}

/// `demo --load-redis URL`: writes the demo's online values into Redis as the demo registry's
/// `[online]` describes them (`user:{user_id}` hashes: the value under the feature's name,
/// `_ts` in epoch seconds, `_v:{feature}`; explicit nulls of numeric features stored empty), so
/// the live path can be tried: `skewaudit audit --registry fixtures/shop/features.toml --online
/// URL`. The only code in skewaudit that writes to Redis; `audit` never calls it. Refuses a
/// database that already holds keys unless `--force`.
pub fn load_redis(dir: &std::path::Path, url: &str, force: bool) -> CommandResult {
    use polars::prelude::*;
    let shown = crate::online::redact_url(url);
    let unavailable = |e: redis::RedisError| CommandError::unavailable(format!("{shown}: {e}"));
    let client = redis::Client::open(url)
        .map_err(|e| CommandError::usage(format!("--load-redis {shown}: {e}")))?;
    let mut conn = client
        .get_connection_with_timeout(std::time::Duration::from_secs(5))
        .map_err(unavailable)?;
    let size: i64 = redis::cmd("DBSIZE").query(&mut conn).map_err(unavailable)?;
    if size > 0 && !force {
        return Err(CommandError::usage(format!("{shown} holds {size} key(s); load into an empty database, or pass --force to add the demo keys anyway")));
    }
    let reg = crate::registry::Registry::load(&dir.join("features.toml"))?;
    let path = dir.join("online_snapshot.parquet");
    let snap = LazyFrame::scan_parquet(
        PlRefPath::new(path.to_string_lossy().as_ref()),
        Default::default(),
    )
    .and_then(|lf| lf.collect())
    .map_err(|e| CommandError::usage(format!("{}: {e}", path.display())))?;
    let text = |c: &str, r: usize| -> Option<String> {
        match snap.column(c).ok()?.get(r).ok()? {
            AnyValue::Null => None,
            AnyValue::Float64(x) => Some(format!("{x}")),
            AnyValue::String(s) => Some(s.to_string()),
            v => Some(v.str_value().to_string()),
        }
    };
    let mut pipe = redis::pipe();
    let mut keys = 0usize;
    for r in 0..snap.height() {
        if text("__key_present", r).as_deref() != Some("true") {
            continue;
        }
        let mut cmd = redis::cmd("HSET");
        cmd.arg(format!("user:{}", text("user_id", r).unwrap_or_default()));
        let mut ts_done = false;
        for (name, f) in &reg.features {
            let status = text(&format!("{name}__status"), r).unwrap_or_default();
            match (status.as_str(), text(name, r)) {
                ("present", Some(v)) => {
                    cmd.arg(name.as_str()).arg(v);
                }
                ("null", _) if f.dtype != Some(crate::registry::Dtype::String) => {
                    cmd.arg(name.as_str()).arg("");
                }
                _ => continue,
            }
            if let Some(v) = text(&format!("{name}__version"), r) {
                cmd.arg(format!("_v:{name}")).arg(v);
            }
            if !ts_done {
                let ts = snap
                    .column(&format!("{name}__ts"))
                    .ok()
                    .and_then(|c| c.cast(&DataType::Int64).ok())
                    .and_then(|c| c.get(r).ok().and_then(|v| v.extract::<i64>()));
                if let Some(us) = ts {
                    cmd.arg("_ts").arg(us / 1_000_000);
                    ts_done = true;
                }
            }
        }
        pipe.add_command(cmd).ignore();
        keys += 1;
    }
    pipe.query::<()>(&mut conn).map_err(unavailable)?;
    crate::output::stdout(&format!(
        "loaded {keys} demo keys into {shown}; try: skewaudit audit --registry {} --online {shown} --sample 500 --as-of {DEMO_AS_OF}\n",
        dir.join("features.toml").display()
    ));
    Ok(exit::OK)
}
