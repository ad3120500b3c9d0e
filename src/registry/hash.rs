//! The definition hash: a stable fingerprint of what a feature computes.
//!
//! Canonical form (documented in `docs/registry.md`): a JSON object with sorted keys holding
//! the feature's resolved fields that change its values — `aggregation`, `closed`, `default`
//! (typed by `dtype`), `dtype`, `expr`, `filter`, `transform`, `window_us` — and what it
//! depends on: `entity_keys` (in declared order), `source_timestamp` and `source_tiebreak`
//! (the source's timestamp and tiebreak columns). SQL text is whitespace-normalised outside quotes. Not included: the feature's
//! name, descriptions, tolerance, gates, online/log settings and data locations (moving data
//! or renaming a feature does not change what it computes). The hash is the sha256 of the
//! compact JSON, in hex; reports show it in full, and a version string matches it by any
//! prefix of at least 8 hex digits.

use super::{Feature, Source};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Collapses runs of whitespace outside single/double quotes to one space and trims.
pub fn normalize_sql(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    let mut pending_space = false;
    for c in s.trim().chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => pending_space = true,
            None => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// The canonical JSON of a feature's definition (see the module docs).
pub fn canonical(feature: &Feature, entity_keys: &[String], source: &Source) -> Value {
    let opt = |s: &Option<String>| match s {
        Some(s) => Value::String(normalize_sql(s)),
        None => Value::Null,
    };
    let mut m = Map::new();
    m.insert("aggregation".into(), json!(feature.aggregation.name()));
    m.insert("closed".into(), json!(feature.closed.name()));
    m.insert(
        "default".into(),
        feature
            .default
            .as_ref()
            .map(|d| d.to_json())
            .unwrap_or(Value::Null),
    );
    m.insert(
        "dtype".into(),
        feature
            .dtype
            .map(|d| json!(d.name()))
            .unwrap_or(Value::Null),
    );
    m.insert("entity_keys".into(), json!(entity_keys));
    m.insert("expr".into(), opt(&feature.expr));
    m.insert("filter".into(), opt(&feature.filter));
    m.insert("source_tiebreak".into(), json!(source.tiebreak));
    m.insert("source_timestamp".into(), json!(source.timestamp));
    m.insert("transform".into(), opt(&feature.transform));
    m.insert(
        "window_us".into(),
        feature
            .window
            .map(|w| json!(w.as_micros()))
            .unwrap_or(Value::Null),
    );
    Value::Object(m)
}

pub fn definition_hash(feature: &Feature, entity_keys: &[String], source: &Source) -> String {
    // serde_json's Map is ordered by key (no preserve_order feature): the text is canonical.
    let text = canonical(feature, entity_keys, source).to_string();
    sha256_hex(text.as_bytes())
}

/// Whether a stored version string names this definition: the project version, or the
/// definition hash in full or as a hex prefix of at least 8 characters.
pub fn version_is_current(
    version: &str,
    project_version: Option<&str>,
    definition_hash: &str,
) -> bool {
    let v = version.trim();
    if project_version.is_some_and(|p| p == v) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    lower.len() >= 8
        && lower.len() <= definition_hash.len()
        && lower.chars().all(|c| c.is_ascii_hexdigit())
        && definition_hash.starts_with(&lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_whitespace_is_normalised_outside_quotes() {
        assert_eq!(normalize_sql("  ln( value  +\n 1) "), "ln( value + 1)");
        assert_eq!(normalize_sql("status = 'a  b'"), "status = 'a  b'");
    }

    #[test]
    fn version_matching() {
        let h = "0123456789abcdef0123";
        assert!(version_is_current("2026-12-01", Some("2026-12-01"), h));
        assert!(version_is_current("01234567", None, h));
        assert!(version_is_current("0123456789ABCDEF", None, h));
        assert!(
            !version_is_current("0123456", None, h),
            "prefix shorter than 8"
        );
        assert!(!version_is_current("2026-11-01", Some("2026-12-01"), h));
        assert!(!version_is_current("12345678", None, h));
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
