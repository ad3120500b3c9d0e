//! `skewaudit validate`: the registry statically, then against the data's schemas.

use super::CommandResult;
use crate::cli::ValidateArgs;
use crate::exit;
use crate::registry::{schema, Registry};

pub fn run(args: &ValidateArgs) -> CommandResult {
    let path = &args.registry.registry;
    let reg = Registry::load(path)?;
    if !args.no_data {
        let problems = schema::check_against_data(&reg).problems;
        if !problems.is_empty() {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", path.display(), p))
                .collect();
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
