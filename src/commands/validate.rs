//! `skewaudit validate`: the registry statically, then against the data's schemas.

use super::CommandResult;
use crate::cli::ValidateArgs;
use crate::exit;
use crate::registry::{schema, Registry};

pub fn run(args: &ValidateArgs) -> CommandResult {
    let path = &args.registry.registry;
    let reg = Registry::load(path)?;
    if !args.no_data {
        let check = schema::check_against_data(&reg);
        let mut lines: Vec<String> = check
            .problems
            .iter()
            .map(|p| format!("{}: {}", path.display(), p))
            .collect();
        lines.extend(check_logs(&reg, &check.dtypes));
        if !lines.is_empty() {
            return Err(super::CommandError::usage(lines.join("\n")));
        }
    }
    crate::output::stdout(&format!(
        "{}: ok — {} feature(s), {} source(s), {} entit{}{}\n",
        path.display(),
        reg.features.len(),
        reg.sources.len(),
        reg.entities.len(),
        if reg.entities.len() == 1 { "y" } else { "ies" },
        if args.no_data {
            " (data not checked)"
        } else {
            ""
        }
    ));
    Ok(exit::OK)
}

/// The serving log against `[logs]`: for each entity with features, the log is read as an
/// audit reads it, for no key (schema only: key, timestamp, request id, model version and
/// features columns). Local logs only: S3 cannot be read yet.
fn check_logs(
    reg: &Registry,
    dtypes: &std::collections::BTreeMap<String, crate::registry::Dtype>,
) -> Vec<String> {
    use polars::prelude::{Column, DataFrame};
    let Some(logs) = &reg.logs else {
        return Vec::new();
    };
    if !matches!(logs.path, crate::registry::Location::Local(_)) {
        return Vec::new();
    }
    let mut lines = Vec::new();
    for (name, entity) in &reg.entities {
        let feats: Vec<(&crate::registry::Feature, crate::registry::Dtype)> = reg
            .features
            .values()
            .filter(|f| &f.entity == name)
            .map(|f| {
                let d = dtypes.get(&f.name).copied().or(f.dtype);
                (f, d.unwrap_or(crate::registry::Dtype::Float64))
            })
            .collect();
        if feats.is_empty() {
            continue;
        }
        let no_keys = DataFrame::new(
            0,
            entity
                .keys
                .iter()
                .map(|k| Column::new(k.as_str().into(), Vec::<String>::new()))
                .collect(),
        );
        let result = no_keys.map_err(|e| e.to_string()).and_then(|keys| {
            crate::logs::read(
                logs,
                &feats,
                &entity.keys,
                Some(&keys),
                logs.max_malformed_rate,
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            lines.push(format!("{}: [logs]: {e}", reg.path.display()));
        }
    }
    lines
}
