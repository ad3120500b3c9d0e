//! `skewaudit demo`: the whole audit on the bundled fixtures (`fixtures/shop`), the online
//! side from its snapshot, so no server is needed. Prints the summary and writes the report
//! to a directory (`--output`, default a fresh temporary one), then exits as the gates
//! decide (the demo data has injected skews: exit 1).

use super::{CommandError, CommandResult};
use crate::cli::{AuditArgs, DemoArgs, OnlineArgs, RegistryArg, SamplingArgs};
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
        ],
        output: Some(output.clone()),
        quiet: true,
    };
    crate::output::stdout(&format!(
        "skewaudit demo: {} (online: its snapshot; log: its serving log)\n",
        registry.display()
    ));
    let started = std::time::Instant::now();
    let code = super::audit::run(&audit)?;
    crate::output::stdout(&format!(
        "report: {}  ({:.2}s; ground truth of the injected skews: {})\n",
        output.join("report.json").display(),
        started.elapsed().as_secs_f64(),
        dir.join("GROUND_TRUTH.md").display()
    ));
    Ok(code)
}
