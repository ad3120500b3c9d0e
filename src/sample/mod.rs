//! Deterministic sampling of entity keys (SPEC §2).
//!
//! Each key is hashed with xxh3-64, seeded, over its **canonical key bytes**: for each key
//! column in the entity's declared order, the value's text (integers in decimal, strings as
//! their UTF-8 bytes, booleans `true`/`false`) preceded by its byte length as a u32
//! little-endian. So `user_id = 42` is `02 00 00 00 34 32`, and the integer 42 and the string
//! "42" are the same key (a key file, a log and a Parquet column agree). `--sample N` keeps
//! the N keys with the smallest hashes (bottom-k; ties broken by the canonical bytes),
//! `--sample-rate R` keeps the keys whose hash is below `R * 2^64`. Both depend only on the
//! seed and the set of keys, not on file order or machine. Null keys are never sampled.

use crate::offline::scan;
use crate::registry::{Entity, Feature, Registry};
use polars::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The default seed (`--seed`).
pub const DEFAULT_SEED: u64 = 0;

/// How to pick keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Sampling {
    /// Every key of the universe.
    All,
    /// Exactly N keys (all of them when the universe is smaller), bottom-k.
    Count(usize),
    /// Keys whose hash falls under R (0 < R <= 1).
    Rate(f64),
    /// An explicit list.
    Keys(PathBuf),
}

/// Why sampling failed.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Scan(#[from] scan::ScanError),
    #[error("{path}: {message}")]
    KeysFile { path: PathBuf, message: String },
    #[error("sampling: {0}")]
    Other(String),
}

/// The canonical bytes of one key (see the module docs).
pub fn canonical_key_bytes<S: AsRef<str>>(parts: &[S]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.as_ref().len() + 4).sum());
    for p in parts {
        let b = p.as_ref().as_bytes();
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// The seeded hash of a key's canonical bytes.
pub fn key_hash(bytes: &[u8], seed: u64) -> u64 {
    xxh3_64_with_seed(bytes, seed)
}

/// The key columns of `df` as canonical text, one `Vec<String>` per column (None = null).
fn key_texts(df: &DataFrame, keys: &[String]) -> PolarsResult<Vec<Vec<Option<String>>>> {
    keys.iter()
        .map(|k| {
            let c = df.column(k)?.cast(&DataType::String)?;
            let ca = c.str()?.clone();
            Ok(ca.iter().map(|v| v.map(|s| s.to_string())).collect())
        })
        .collect()
}

/// The `(hash, canonical bytes, row)` of every non-null key row of `df`.
fn hashed_rows(
    df: &DataFrame,
    keys: &[String],
    seed: u64,
) -> PolarsResult<Vec<(u64, Vec<u8>, usize)>> {
    let texts = key_texts(df, keys)?;
    let mut out = Vec::with_capacity(df.height());
    'rows: for row in 0..df.height() {
        let mut parts = Vec::with_capacity(keys.len());
        for col in &texts {
            match &col[row] {
                Some(s) => parts.push(s.as_str()),
                None => continue 'rows,
            }
        }
        let bytes = canonical_key_bytes(&parts);
        out.push((key_hash(&bytes, seed), bytes, row));
    }
    Ok(out)
}

/// Picks keys from `universe` (distinct key rows) by `sampling` (not `Keys`), in hash order.
pub fn sample_frame(
    universe: &DataFrame,
    keys: &[String],
    sampling: &Sampling,
    seed: u64,
) -> Result<DataFrame, SampleError> {
    let mut rows =
        hashed_rows(universe, keys, seed).map_err(|e| SampleError::Other(e.to_string()))?;
    rows.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    rows.dedup_by(|a, b| a.1 == b.1);
    let picked: Vec<IdxSize> = match sampling {
        Sampling::All | Sampling::Keys(_) => rows.iter().map(|r| r.2 as IdxSize).collect(),
        Sampling::Count(n) => rows.iter().take(*n).map(|r| r.2 as IdxSize).collect(),
        Sampling::Rate(r) => {
            let threshold = rate_threshold(*r);
            rows.iter()
                .filter(|x| (x.0 as u128) < threshold)
                .map(|x| x.2 as IdxSize)
                .collect()
        }
    };
    let idx = IdxCa::from_vec("idx".into(), picked);
    universe
        .select(keys.iter().map(|k| k.as_str()))
        .and_then(|d| d.take(&idx))
        .map_err(|e| SampleError::Other(e.to_string()))
}

/// `R * 2^64` as an exclusive upper bound on the hash.
pub fn rate_threshold(r: f64) -> u128 {
    let r = r.clamp(0.0, 1.0);
    ((r * 18_446_744_073_709_551_616.0) as u128).min(1u128 << 64)
}

/// The sources an entity's features read.
pub fn entity_sources<'a>(
    reg: &'a Registry,
    features: &[&Feature],
) -> Vec<&'a crate::registry::Source> {
    let names: BTreeSet<&str> = features.iter().map(|f| f.source.as_str()).collect();
    names.iter().filter_map(|n| reg.sources.get(*n)).collect()
}

/// The key universe: distinct keys over the entity's sources (key columns typed as in the
/// first source; other sources' keys are cast to that type).
pub fn universe(
    reg: &Registry,
    entity: &Entity,
    features: &[&Feature],
) -> Result<DataFrame, SampleError> {
    let mut frames: Vec<DataFrame> = Vec::new();
    let mut target: Option<Schema> = None;
    for src in entity_sources(reg, features) {
        let lf = scan::scan_source(src)?;
        let key_exprs: Vec<Expr> = entity.keys.iter().map(|k| col(k.as_str())).collect();
        let mut lf = lf.select(key_exprs).unique(None, UniqueKeepStrategy::Any);
        let schema = lf.collect_schema().map_err(|e| {
            SampleError::Other(format!(
                "source '{}': {}",
                src.name,
                scan::one_line(&e.to_string())
            ))
        })?;
        if let Some(t) = &target {
            let casts: Vec<Expr> = entity
                .keys
                .iter()
                .map(|k| {
                    let dt = t.get(k.as_str()).cloned().unwrap_or(DataType::String);
                    col(k.as_str()).strict_cast(dt)
                })
                .collect();
            lf = lf.select(casts);
        } else {
            target = Some(schema.as_ref().clone());
        }
        let df = lf.collect().map_err(|e| {
            SampleError::Other(format!(
                "source '{}': reading keys: {}",
                src.name,
                scan::one_line(&e.to_string())
            ))
        })?;
        frames.push(df);
    }
    let mut it = frames.into_iter();
    let mut all = it
        .next()
        .ok_or_else(|| SampleError::Other("the entity's features read no source".into()))?;
    for df in it {
        all.vstack_mut(&df)
            .map_err(|e| SampleError::Other(e.to_string()))?;
    }
    all.lazy()
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()
        .map_err(|e| SampleError::Other(e.to_string()))
}

/// Reads an explicit key list: a header line naming the entity's key columns (in any order,
/// comma-separated) and one key per line; for a single-key entity the header may be omitted.
/// Blank lines and lines starting with `#` are skipped. Values are strings; they are cast to
/// the sources' key types when recomputing.
pub fn read_keys_file(path: &Path, entity: &Entity) -> Result<DataFrame, SampleError> {
    let err = |message: String| SampleError::KeysFile {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(format!("cannot read the keys file: {e}")))?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    let split = |l: &str| {
        l.split(',')
            .map(|s| s.trim().trim_matches('"').to_string())
            .collect::<Vec<_>>()
    };
    let mut order: Vec<usize> = (0..entity.keys.len()).collect();
    if let Some((_, first)) = lines.peek() {
        let head = split(first);
        let is_header =
            head.len() == entity.keys.len() && entity.keys.iter().all(|k| head.contains(k));
        if is_header {
            order = entity
                .keys
                .iter()
                .map(|k| head.iter().position(|h| h == k).unwrap_or(0))
                .collect();
            lines.next();
        } else if entity.keys.len() > 1 {
            return Err(err(format!(
                "the first line must name the key columns: {}",
                entity.keys.join(",")
            )));
        }
    }
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); entity.keys.len()];
    for (n, l) in lines {
        let parts = split(l);
        if parts.len() != entity.keys.len() {
            return Err(err(format!(
                "line {n}: expected {} value(s) ({}), found {}",
                entity.keys.len(),
                entity.keys.join(","),
                parts.len()
            )));
        }
        for (i, &pos) in order.iter().enumerate() {
            cols[i].push(parts[pos].clone());
        }
    }
    if cols[0].is_empty() {
        return Err(err("the keys file lists no key".into()));
    }
    let height = cols[0].len();
    let columns: Vec<Column> = entity
        .keys
        .iter()
        .zip(cols)
        .map(|(k, v)| Column::new(k.as_str().into(), v))
        .collect();
    let df = DataFrame::new(height, columns).map_err(|e| err(e.to_string()))?;
    df.lazy()
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()
        .map_err(|e| err(e.to_string()))
}

/// Where the key universe comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Universe {
    /// The distinct keys of the entity's features' sources.
    #[default]
    Sources,
    /// The distinct keys of the serving log (`[logs]`).
    Log,
}

/// Samples an entity's keys from the chosen universe.
pub fn sample_keys_in(
    reg: &Registry,
    entity: &Entity,
    features: &[&Feature],
    sampling: &Sampling,
    seed: u64,
    universe: Universe,
) -> Result<DataFrame, SampleError> {
    if universe == Universe::Sources || matches!(sampling, Sampling::Keys(_)) {
        return sample_keys(reg, entity, features, sampling, seed);
    }
    let logs = reg.logs.as_ref().ok_or_else(|| {
        SampleError::Other("--universe log needs a [logs] section (or --log)".into())
    })?;
    let lf = crate::logs::read(logs, &[], &entity.keys, None, logs.max_malformed_rate)
        .map_err(|e| SampleError::Other(e.to_string()))?;
    let keys = lf
        .frame
        .select(entity.keys.iter().map(|k| k.as_str()))
        .and_then(|d| d.unique_stable(None, UniqueKeepStrategy::First, None))
        .map_err(|e| SampleError::Other(e.to_string()))?;
    sample_frame(&keys, &entity.keys, sampling, seed)
}

/// Samples an entity's keys as the user asked.
pub fn sample_keys(
    reg: &Registry,
    entity: &Entity,
    features: &[&Feature],
    sampling: &Sampling,
    seed: u64,
) -> Result<DataFrame, SampleError> {
    match sampling {
        Sampling::Keys(path) => {
            let listed = read_keys_file(path, entity)?;
            typed_like_sources(reg, entity, features, listed, path)
        }
        other => {
            let u = universe(reg, entity, features)?;
            sample_frame(&u, &entity.keys, other, seed)
        }
    }
}

/// Casts listed keys (strings) to the key types of the entity's first source, so outputs
/// carry keys typed as the data; a value that does not convert is an error naming it.
fn typed_like_sources(
    reg: &Registry,
    entity: &Entity,
    features: &[&Feature],
    listed: DataFrame,
    path: &Path,
) -> Result<DataFrame, SampleError> {
    let Some(src) = entity_sources(reg, features).into_iter().next() else {
        return Ok(listed);
    };
    let schema = scan::source_schema(src)?;
    let mut out = listed;
    for k in &entity.keys {
        let Some(dt) = schema.get(k.as_str()) else {
            continue;
        };
        let c = out
            .column(k)
            .map_err(|e| SampleError::Other(e.to_string()))?;
        let cast = c.cast(dt).map_err(|e| SampleError::Other(e.to_string()))?;
        if cast.null_count() > c.null_count() {
            let bad = c
                .str()
                .ok()
                .and_then(|s| {
                    s.iter()
                        .zip(cast.as_materialized_series().iter())
                        .find(|(a, b)| a.is_some() && b.is_null())
                        .and_then(|(a, _)| a.map(|x| x.to_string()))
                })
                .unwrap_or_default();
            return Err(SampleError::KeysFile {
                path: path.to_path_buf(),
                message: format!(
                    "key '{bad}' does not convert to column '{k}' ({dt}) of source '{}'",
                    src.name
                ),
            });
        }
        out.with_column(cast)
            .map_err(|e| SampleError::Other(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_length_prefixed() {
        assert_eq!(canonical_key_bytes(&["42"]), vec![2, 0, 0, 0, b'4', b'2']);
        assert_ne!(
            canonical_key_bytes(&["a", "bc"]),
            canonical_key_bytes(&["ab", "c"])
        );
    }

    #[test]
    fn rate_threshold_bounds() {
        assert_eq!(rate_threshold(0.0), 0);
        assert_eq!(rate_threshold(1.0), 1u128 << 64);
        assert_eq!(rate_threshold(0.5), 1u128 << 63);
    }

    #[test]
    fn xxh3_is_the_reference_function() {
        // xxh3-64 of the empty input with seed 0 (the algorithm's published test vector).
        assert_eq!(key_hash(b"", 0), 0x2D06800538D394C2);
    }
}
