//! Decoding stored online values into typed cells, by the feature's dtype.
//!
//! Text values (hash fields, string keys, JSON members rendered as text) decode as:
//! - `int64`: a decimal integer; a float with no fractional part (`"3.0"`) is accepted.
//! - `float64`: Rust's float syntax, which covers exponents (`1e-3`), `nan`/`NaN`, `inf`,
//!   `-inf`, `infinity` in any case.
//! - `bool`: `true`/`false`/`1`/`0` (any case).
//! - `string`: the UTF-8 text as is (invalid UTF-8 is a decode error).
//!
//! A value equal to one of `[online] null_markers` is an explicit null; for non-string
//! dtypes an empty value is an explicit null too. Anything else that does not parse is a
//! `decode_error` for that key and feature, never a crash.

use crate::registry::Dtype;

/// A decoded online value.
#[derive(Debug, Clone, PartialEq)]
pub enum OnlineValue {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// A list of numbers (an embedding).
    List(Vec<f64>),
}

/// One feature's online state for one key.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A value was read and decoded.
    Present(OnlineValue),
    /// The store holds an explicit null (a null marker, or an empty value).
    Null,
    /// No key, or no field.
    Missing,
    /// The bytes did not decode as the dtype; the message says why.
    DecodeError(String),
}

impl Cell {
    /// The snapshot's `<feature>__status` word.
    pub fn status(&self) -> &'static str {
        match self {
            Cell::Present(_) => "present",
            Cell::Null => "null",
            Cell::Missing => "missing",
            Cell::DecodeError(_) => "decode_error",
        }
    }
}

fn preview(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).to_string();
    if bytes.len() > 40 {
        format!("{s}…")
    } else {
        s
    }
}

/// Decodes stored bytes as text of the dtype.
pub fn decode_text(bytes: &[u8], dtype: Dtype, null_markers: &[String]) -> Cell {
    // The common case first: a plain number, parsed from the bytes (fast-float2, the parser
    // Polars uses; it accepts a subset of what Rust's `str::parse` does, with the same
    // values, which a test checks). Anything else takes the general path below.
    if dtype == Dtype::Float64 && !null_markers.iter().any(|m| m.as_bytes() == bytes) {
        if let Ok(f) = fast_float2::parse::<f64, _>(bytes) {
            return Cell::Present(OnlineValue::Float(f));
        }
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Cell::DecodeError(format!("not UTF-8 text: {:?}", preview(bytes)));
    };
    if null_markers.iter().any(|m| m == text) {
        return Cell::Null;
    }
    let t = text.trim();
    if t.is_empty() && dtype != Dtype::String {
        return Cell::Null;
    }
    match dtype {
        Dtype::String => Cell::Present(OnlineValue::Str(text.to_string())),
        Dtype::Int64 => match t.parse::<i64>() {
            Ok(i) => Cell::Present(OnlineValue::Int(i)),
            Err(_) => match t.parse::<f64>() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    Cell::Present(OnlineValue::Int(f as i64))
                }
                _ => Cell::DecodeError(format!("not an integer: {:?}", preview(bytes))),
            },
        },
        Dtype::Float64 => match t.parse::<f64>() {
            Ok(f) => Cell::Present(OnlineValue::Float(f)),
            Err(_) => Cell::DecodeError(format!("not a number: {:?}", preview(bytes))),
        },
        Dtype::FloatList => match serde_json::from_str::<serde_json::Value>(t) {
            Ok(v @ serde_json::Value::Array(_)) => decode_json(&v, dtype, null_markers),
            _ => Cell::DecodeError(format!("not a JSON array of numbers: {:?}", preview(bytes))),
        },
        Dtype::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Cell::Present(OnlineValue::Bool(true)),
            "false" | "0" => Cell::Present(OnlineValue::Bool(false)),
            _ => Cell::DecodeError(format!("not a boolean: {:?}", preview(bytes))),
        },
    }
}

/// Decodes a JSON member by dtype: numbers, strings, booleans and null as themselves;
/// a string holding a number is accepted for numeric dtypes (decoded as text).
pub fn decode_json(v: &serde_json::Value, dtype: Dtype, null_markers: &[String]) -> Cell {
    use serde_json::Value as J;
    match (v, dtype) {
        (J::Null, _) => Cell::Null,
        (J::String(s), _) => decode_text(s.as_bytes(), dtype, null_markers),
        (J::Number(n), Dtype::Int64) => match n.as_i64() {
            Some(i) => Cell::Present(OnlineValue::Int(i)),
            None => decode_text(n.to_string().as_bytes(), dtype, null_markers),
        },
        (J::Number(n), Dtype::Float64) => match n.as_f64() {
            Some(f) => Cell::Present(OnlineValue::Float(f)),
            None => Cell::DecodeError(format!("not a float: {n}")),
        },
        (J::Bool(b), Dtype::Bool) => Cell::Present(OnlineValue::Bool(*b)),
        (J::Array(items), Dtype::FloatList) => {
            let nums: Option<Vec<f64>> = items
                .iter()
                .map(|x| match x {
                    J::Number(n) => n.as_f64(),
                    J::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                })
                .collect();
            match nums {
                Some(v) => Cell::Present(OnlineValue::List(v)),
                None => Cell::DecodeError("a list element is not a number".into()),
            }
        }
        (J::Number(n), Dtype::String) => Cell::Present(OnlineValue::Str(n.to_string())),
        (J::Bool(b), Dtype::String) => Cell::Present(OnlineValue::Str(b.to_string())),
        (J::Bool(b), Dtype::Int64) => Cell::Present(OnlineValue::Int(*b as i64)),
        (other, d) => Cell::DecodeError(format!(
            "JSON {} does not decode as {}",
            match other {
                J::Array(_) => "array".to_string(),
                J::Object(_) => "object".to_string(),
                x => x.to_string(),
            },
            d.name()
        )),
    }
}

/// Parses a stored timestamp to microseconds since the epoch (UTC).
///
/// Numbers are epoch times whose unit is told by magnitude: |x| < 1e11 seconds (up to the
/// year 5138), < 1e14 milliseconds, < 1e17 microseconds, else nanoseconds; fractions are
/// kept to the microsecond. Anything else must be RFC 3339 (or a naive date-time, read as
/// UTC).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(x) = t.parse::<f64>() {
        if !x.is_finite() {
            return None;
        }
        let a = x.abs();
        let us = if a < 1e11 {
            x * 1e6
        } else if a < 1e14 {
            x * 1e3
        } else if a < 1e17 {
            x
        } else {
            x / 1e3
        };
        return Some(us.round() as i64);
    }
    crate::registry::parse_time(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str, dt: Dtype) -> Cell {
        decode_text(s.as_bytes(), dt, &["None".to_string()])
    }

    #[test]
    fn numbers_and_specials() {
        assert_eq!(d("42", Dtype::Int64), Cell::Present(OnlineValue::Int(42)));
        assert_eq!(d(" -7 ", Dtype::Int64), Cell::Present(OnlineValue::Int(-7)));
        assert_eq!(d("3.0", Dtype::Int64), Cell::Present(OnlineValue::Int(3)));
        assert!(matches!(d("3.5", Dtype::Int64), Cell::DecodeError(_)));
        assert_eq!(
            d("1e-3", Dtype::Float64),
            Cell::Present(OnlineValue::Float(0.001))
        );
        assert_eq!(
            d("-inf", Dtype::Float64),
            Cell::Present(OnlineValue::Float(f64::NEG_INFINITY))
        );
        assert_eq!(
            d("Infinity", Dtype::Float64),
            Cell::Present(OnlineValue::Float(f64::INFINITY))
        );
        match d("NaN", Dtype::Float64) {
            Cell::Present(OnlineValue::Float(f)) => assert!(f.is_nan()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(d("abc", Dtype::Float64), Cell::DecodeError(_)));
    }

    #[test]
    fn nulls_strings_bools() {
        assert_eq!(d("None", Dtype::Float64), Cell::Null);
        assert_eq!(d("", Dtype::Int64), Cell::Null);
        assert_eq!(
            d("", Dtype::String),
            Cell::Present(OnlineValue::Str(String::new()))
        );
        assert_eq!(
            d("Zürich", Dtype::String),
            Cell::Present(OnlineValue::Str("Zürich".into()))
        );
        assert_eq!(
            d("TRUE", Dtype::Bool),
            Cell::Present(OnlineValue::Bool(true))
        );
        assert_eq!(d("0", Dtype::Bool), Cell::Present(OnlineValue::Bool(false)));
        assert!(matches!(d("yes", Dtype::Bool), Cell::DecodeError(_)));
        assert!(matches!(
            decode_text(&[0xff, 0xfe], Dtype::String, &[]),
            Cell::DecodeError(_)
        ));
    }

    proptest::proptest! {
        /// Whatever the fast float parser accepts, Rust's parser accepts with the same value,
        /// so the fast path never changes a decoded value.
        #[test]
        fn fast_float_path_agrees_with_str_parse(t in "[-+ ]?[0-9]{0,6}[.]?[0-9]{0,6}([eE][-+]?[0-9]{0,3})?|[-+]?(nan|NaN|inf|Infinity|INF|infinity)[ ]?|[0-9a-fx._ ]{0,8}") {
            if let Ok(f) = fast_float2::parse::<f64, _>(t.as_bytes()) {
                let g: f64 = t.parse().map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{t:?}: {e}")))?;
                proptest::prop_assert!(f.to_bits() == g.to_bits() || (f.is_nan() && g.is_nan()), "{t:?}: {f} vs {g}");
            }
            // And the fast path decodes as the general path would have.
            let fast = decode_text(t.as_bytes(), Dtype::Float64, &[]);
            let slow = match t.trim().parse::<f64>() {
                _ if t.trim().is_empty() => Cell::Null,
                Ok(f) => Cell::Present(OnlineValue::Float(f)),
                Err(_) => Cell::DecodeError(String::new()),
            };
            match (&fast, &slow) {
                (Cell::Present(OnlineValue::Float(a)), Cell::Present(OnlineValue::Float(b))) => {
                    proptest::prop_assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{t:?}")
                }
                _ => proptest::prop_assert_eq!(fast.status(), slow.status(), "{:?}", t),
            }
        }
    }

    #[test]
    fn json_members() {
        use serde_json::json;
        assert_eq!(
            decode_json(&json!(5), Dtype::Float64, &[]),
            Cell::Present(OnlineValue::Float(5.0))
        );
        assert_eq!(
            decode_json(&json!("5"), Dtype::Int64, &[]),
            Cell::Present(OnlineValue::Int(5))
        );
        assert_eq!(decode_json(&json!(null), Dtype::Int64, &[]), Cell::Null);
        assert!(matches!(
            decode_json(&json!([1, 2]), Dtype::Float64, &[]),
            Cell::DecodeError(_)
        ));
    }

    #[test]
    fn timestamp_units_by_magnitude() {
        let s = 1_796_392_800i64;
        assert_eq!(parse_timestamp("1796392800"), Some(s * 1_000_000));
        assert_eq!(parse_timestamp("1796392800000"), Some(s * 1_000_000));
        assert_eq!(parse_timestamp("1796392800000000"), Some(s * 1_000_000));
        assert_eq!(parse_timestamp("1796392800000000000"), Some(s * 1_000_000));
        assert_eq!(
            parse_timestamp("1796392800.5"),
            Some(s * 1_000_000 + 500_000)
        );
        assert_eq!(
            parse_timestamp("2026-12-03T00:00:00Z"),
            crate::registry::parse_time("2026-12-03T00:00:00Z").ok()
        );
        assert_eq!(parse_timestamp("soon"), None);
        assert_eq!(parse_timestamp(""), None);
    }
}
