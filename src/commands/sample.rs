//! `skewaudit sample`: print the sampled keys as CSV (header = the entity's key columns).

use super::{CommandError, CommandResult};
use crate::cli::SampleArgs;
use crate::exit;
use crate::registry::Registry;
use crate::sample;

pub fn run(args: &SampleArgs) -> CommandResult {
    let sampling = args.sampling.plan().map_err(CommandError::usage)?;
    let reg = Registry::load(&args.registry.registry)?;
    let feats = reg
        .select_features(&args.features)
        .map_err(CommandError::usage)?;
    let entity = reg.single_entity(&feats).map_err(CommandError::usage)?;
    let keys = sample::sample_keys_in(
        &reg,
        entity,
        &feats,
        &sampling,
        args.sampling.seed,
        args.sampling.universe(),
    )?;
    let mut out = String::new();
    out.push_str(&entity.keys.join(","));
    out.push('\n');
    let rows = crate::online::redis::key_texts(&keys, &entity.keys)?;
    for parts in rows {
        out.push_str(&parts.join(","));
        out.push('\n');
    }
    crate::output::stdout(&out);
    Ok(exit::OK)
}
