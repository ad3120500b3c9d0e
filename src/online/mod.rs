//! The online side: what serving holds for the sampled keys, as one frame in the snapshot
//! format (`docs/snapshot.md`): key columns, `__key_present`, and per feature its typed value,
//! `__status`, `__ts` and `__version`. A Redis read ([`redis`]) and a snapshot file
//! ([`snapshot`]) both produce it; the comparison reads only this frame.

pub mod decode;
pub mod frame;
pub mod redis;
pub mod snapshot;
pub mod template;
pub mod wire;

pub use decode::{Cell, OnlineValue};
pub use frame::{OnlineFrameBuilder, KEY_PRESENT};

/// Why online values could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    /// The store could not be reached or kept failing (exit 3).
    #[error("{url}: {message}")]
    Unavailable { url: String, message: String },
    /// A bad URL, option or snapshot file (exit 2).
    #[error("{what}: {message}")]
    Input { what: String, message: String },
}

/// `redis://user:***@host:port/db`: the password (and any query string) is never printed.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let rest = rest.split('?').next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            if user.is_empty() {
                format!("***@{host}")
            } else {
                format!("{user}:***@{host}")
            }
        }
        None => authority.to_string(),
    };
    format!("{scheme}://{authority}{path}")
}

/// Whether an online location is a snapshot file rather than a server URL.
pub fn is_snapshot(url: &str) -> bool {
    !url.contains("://") && url.ends_with(".parquet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("redis://auditor:s3cr3t@host:6379/0"),
            "redis://auditor:***@host:6379/0"
        );
        assert_eq!(redact_url("rediss://:s3cr3t@host"), "rediss://***@host");
        assert_eq!(
            redact_url("redis://host:6379?password=s3cr3t"),
            "redis://host:6379"
        );
        assert_eq!(redact_url("redis://a:b:c@h/1"), "redis://a:***@h/1");
        assert!(!redact_url("redis://u:p%40ss@h").contains("p%40ss"));
    }

    #[test]
    fn snapshot_or_url() {
        assert!(is_snapshot("online.parquet"));
        assert!(is_snapshot("/tmp/x/online.parquet"));
        assert!(!is_snapshot("redis://h:1"));
    }
}

pub mod feast;

use crate::registry::{Dtype, Online};

/// The Feast key of one entity row: join keys typed by `[online] key_types`.
pub fn feast_key(
    online: &Online,
    key_names: &[String],
    row: &[String],
) -> Result<Vec<u8>, OnlineError> {
    let project = online.project.as_deref().unwrap_or("");
    let mut parts = Vec::with_capacity(key_names.len());
    for (name, text) in key_names.iter().zip(row) {
        let bad = |t: &str| OnlineError::Input {
            what: format!("key '{name}'"),
            message: format!("value '{text}' is not a valid {t} (from [online] key_types)"),
        };
        let v = match online
            .key_types
            .get(name)
            .map(|s| s.as_str())
            .unwrap_or("string")
        {
            "int64" => feast::KeyValue::Int64(text.parse().map_err(|_| bad("int64"))?),
            "int32" => feast::KeyValue::Int32(text.parse().map_err(|_| bad("int32"))?),
            "unix_timestamp" => {
                feast::KeyValue::UnixTimestamp(text.parse().map_err(|_| bad("unix_timestamp"))?)
            }
            "bytes" => feast::KeyValue::Bytes(text.as_bytes().to_vec()),
            _ => feast::KeyValue::Str(text.clone()),
        };
        parts.push((name.as_str(), v));
    }
    Ok(feast::serialize_entity_key(&parts, project))
}

/// A Feast `ValueProto` as a cell of the feature's dtype. Feast stores null and NaN alike
/// as an empty value: both read as null.
pub fn feast_cell(bytes: &[u8], dtype: Dtype) -> Cell {
    use feast::FeastValue as F;
    let v = match feast::decode_value(bytes) {
        Ok(v) => v,
        Err(e) => return Cell::DecodeError(e.to_string()),
    };
    let value = match (v, dtype) {
        (F::Null, _) => return Cell::Null,
        (F::Double(x), Dtype::Float64) => OnlineValue::Float(x),
        (F::Float(x), Dtype::Float64) => OnlineValue::Float(x as f64),
        (F::Int64(x), Dtype::Float64) => OnlineValue::Float(x as f64),
        (F::Int32(x), Dtype::Float64) => OnlineValue::Float(x as f64),
        (F::Int64(x), Dtype::Int64) | (F::UnixTimestamp(x), Dtype::Int64) => OnlineValue::Int(x),
        (F::Int32(x), Dtype::Int64) => OnlineValue::Int(x as i64),
        (F::Bool(b), Dtype::Bool) => OnlineValue::Bool(b),
        (F::Str(s), Dtype::String) => OnlineValue::Str(s),
        (F::DoubleList(v), Dtype::FloatList) => OnlineValue::List(v),
        (F::FloatList(v), Dtype::FloatList) => {
            OnlineValue::List(v.into_iter().map(|x| x as f64).collect())
        }
        (F::Int64List(v), Dtype::FloatList) => {
            OnlineValue::List(v.into_iter().map(|x| x as f64).collect())
        }
        (F::Int32List(v), Dtype::FloatList) => {
            OnlineValue::List(v.into_iter().map(|x| x as f64).collect())
        }
        (F::Str(s), d) => return decode::decode_text(s.as_bytes(), d, &[]),
        (other, d) => {
            let mut shown = format!("{other:?}");
            shown.truncate(60);
            return Cell::DecodeError(format!(
                "Feast value {shown} does not decode as {}",
                d.name()
            ));
        }
    };
    Cell::Present(value)
}
