//! `skewaudit audit`: the main job.

use super::snapshot::{override_log_path, typed_features, OnlineSource};
use super::{CommandError, CommandResult};
use crate::audit::{self, AuditPlan};
use crate::cli::AuditArgs;
use crate::registry::{parse_time, Feature, Registry};
use crate::report::{self, Exporter};

impl From<audit::AuditError> for CommandError {
    fn from(e: audit::AuditError) -> Self {
        CommandError {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}

/// Turns the arguments into a checked plan (no data read except schemas).
pub fn plan(args: &AuditArgs) -> Result<AuditPlan, CommandError> {
    let sampling = args.sampling.plan().map_err(CommandError::usage)?;
    for f in &args.format {
        if report::exporter(f).is_none() {
            return Err(CommandError::usage(format!(
                "--format {f}: one of {}",
                report::FORMATS.join(", ")
            )));
        }
    }
    if args.format.len() > 1 && args.output.is_none() {
        return Err(CommandError::usage(
            "several --format values need --output DIR (files report.json, report.md, junit.xml, report.html)",
        ));
    }
    let as_of_flag = match &args.as_of {
        Some(t) => Some(parse_time(t).map_err(|m| CommandError::usage(format!("--as-of: {m}")))?),
        None => None,
    };
    let mut registry = Registry::load(&args.registry.registry)?;
    if let Some(glob) = &args.log {
        override_log_path(&mut registry.logs, &registry.path, glob)?;
    }
    let online = if args.no_online {
        None
    } else if args.online.online.is_some()
        || registry.online.as_ref().is_some_and(|o| o.url.is_some())
    {
        Some(OnlineSource::from_args(&args.online, &registry)?)
    } else {
        None
    };
    let logs = if args.no_log {
        None
    } else {
        registry.logs.clone()
    };
    let as_of = as_of_flag.unwrap_or_else(|| OnlineSource::default_as_of(online.as_ref()));
    if online.is_none() && logs.is_none() {
        return Err(CommandError { code: crate::exit::NOTHING_TO_COMPARE, message: "nothing to compare: give --online URL|FILE or --log GLOB (or set them in the registry)".into() });
    }
    let typed = typed_features(&registry, &args.features)?;
    let plain: Vec<&Feature> = typed.iter().map(|(f, _)| *f).collect();
    let entity = registry
        .single_entity(&plain)
        .map_err(CommandError::usage)?
        .clone();
    let features = typed.iter().map(|(f, d)| (f.name.clone(), *d)).collect();
    Ok(AuditPlan {
        registry,
        features,
        entity,
        sampling,
        seed: args.sampling.seed,
        universe: args.sampling.universe(),
        as_of,
        online,
        logs,
        progress: crate::progress::Progress::with_verbosity(args.quiet, args.verbose),
    })
}

pub fn run(args: &AuditArgs) -> CommandResult {
    let plan = plan(args)?;
    let report = audit::run(&plan)?;
    let names: Vec<&str> = if args.format.is_empty() {
        // The table on the terminal; with --output, every file format too (SPEC §5).
        match &args.output {
            Some(_) => vec!["table", "json", "markdown", "junit", "html"],
            None => vec!["table"],
        }
    } else {
        args.format.iter().map(|s| s.as_str()).collect()
    };
    let exporters: Vec<Box<dyn Exporter>> =
        names.iter().filter_map(|n| report::exporter(n)).collect();
    match &args.output {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CommandError::usage(format!("--output {}: {e}", dir.display())))?;
            for e in &exporters {
                let text = e.render(&report).map_err(CommandError::usage)?;
                match e.file_name() {
                    Some(file) => {
                        let path = dir.join(file);
                        crate::output::atomic_write(&path, |f| {
                            use std::io::Write;
                            f.write_all(text.as_bytes()).map_err(|e| e.to_string())
                        })
                        .map_err(CommandError::usage)?;
                        if !args.quiet {
                            eprintln!("wrote {}", path.display());
                        }
                    }
                    None => crate::output::stdout(&text),
                }
            }
        }
        None => {
            // Without --output one format goes to stdout (checked in `plan`).
            if let Some(e) = exporters.first() {
                crate::output::stdout(&e.render(&report).map_err(CommandError::usage)?);
            }
        }
    }
    Ok(report.exit_code)
}
