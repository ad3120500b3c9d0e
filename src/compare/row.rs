//! Per-row comparison and cause attribution (pure functions).
//!
//! A numeric pair matches when `|served - reference| <= abs + rel * |reference|` (the
//! reference is the offline recompute); NaN equals NaN; null equals null; null vs a value is
//! a mismatch; strings and booleans compare exactly.
//!
//! A row that does not match gets exactly one cause, tested in this order (`docs/audit.md`):
//! 1. `missing_online` — no value is stored (no key, field or logged column); these rows are
//!    counted apart, outside the mismatch rate;
//! 2. `version` — the stored version is neither the project version nor the definition
//!    hash (a finding even when the value agrees);
//! 3. `missing_offline` — the recompute has no value (null, no default) while one is served;
//!    counted apart like `missing_online`;
//! 4. `null_mismatch` — the served value is an explicit null while the recompute has one;
//! 5. `transform:<g>` — served = g(recompute) for g in: `float32` (rounded to f32, either
//!    side), `scale` (× 10^k, k = -3..3), `negate`, `log1p`, `expm1`, `round` (to 0..6
//!    digits), `truncate` (toward zero). Each is "g applied on the serving side"; a log1p
//!    applied offline only shows as `transform:expm1`;
//! 6. `stale` / `ahead` — the served value equals the recompute at an earlier / later time,
//!    searched over [`lag_grid`]; the feature's most common lag wins for every row that
//!    matches it, else the row's smallest lag;
//! 7. `default_filled` — the served value is the feature's default (or 0 / "" without one)
//!    while the recompute is not; when such a value also matches a lag, it is `stale`/`ahead`
//!    if most of the feature's other unexplained rows are, else `default_filled`;
//! 8. `type` — the same number in another spelling (e.g. "1" vs "1.0");
//! 9. `unexplained`.

use crate::registry::{Scalar, Tolerance};

/// A value on either side.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Num(f64),
    Str(String),
    Bool(bool),
    /// A list of numbers, compared element-wise.
    List(Vec<f64>),
}

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Num(x) => Some(*x),
            Val::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }
    /// JSON form for reports (NaN and infinities as strings).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Null => serde_json::Value::Null,
            Val::Num(x) if x.is_finite() => {
                if x.fract() == 0.0 && x.abs() < 9.0e15 {
                    serde_json::json!(*x as i64)
                } else {
                    serde_json::json!(x)
                }
            }
            Val::Num(x) => serde_json::json!(x.to_string()),
            Val::Str(s) => serde_json::json!(s),
            Val::Bool(b) => serde_json::json!(b),
            Val::List(v) => {
                serde_json::Value::Array(v.iter().map(|x| Val::Num(*x).to_json()).collect())
            }
        }
    }
}

/// Numeric closeness with the feature's tolerance; NaN equals NaN.
pub fn close(served: f64, reference: f64, tol: Tolerance) -> bool {
    if served.is_nan() || reference.is_nan() {
        return served.is_nan() && reference.is_nan();
    }
    if served == reference {
        return true;
    }
    (served - reference).abs() <= tol.abs + tol.rel * reference.abs()
}

/// Whether two values match.
pub fn matches(served: &Val, reference: &Val, tol: Tolerance) -> bool {
    match (served, reference) {
        (Val::Null, Val::Null) => true,
        (Val::Null, _) | (_, Val::Null) => false,
        (Val::Str(a), Val::Str(b)) => a == b,
        (Val::List(a), Val::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(*x, *y, tol))
        }
        (Val::List(_), _) | (_, Val::List(_)) => false,
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => close(x, y, tol),
            _ => false,
        },
    }
}

/// Why a row mismatched.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    MissingOnline,
    MissingOffline,
    Version(String),
    NullMismatch,
    /// The served value equals the recompute this many µs earlier.
    Stale(i64),
    /// The served value equals the recompute this many µs later.
    Ahead(i64),
    /// `transform:<name>`, with a detail (e.g. the scale factor or digits).
    Transform(&'static str, Option<String>),
    DefaultFilled,
    Type,
    Unexplained,
}

impl Cause {
    /// The cause's name in reports (`stale`, `transform:log1p`, ...).
    pub fn name(&self) -> String {
        match self {
            Cause::MissingOnline => "missing_online".into(),
            Cause::MissingOffline => "missing_offline".into(),
            Cause::Version(_) => "version".into(),
            Cause::NullMismatch => "null_mismatch".into(),
            Cause::Stale(_) => "stale".into(),
            Cause::Ahead(_) => "ahead".into(),
            Cause::Transform(g, _) => format!("transform:{g}"),
            Cause::DefaultFilled => "default_filled".into(),
            Cause::Type => "type".into(),
            Cause::Unexplained => "unexplained".into(),
        }
    }
    pub fn lag_us(&self) -> Option<i64> {
        match self {
            Cause::Stale(l) | Cause::Ahead(l) => Some(*l),
            _ => None,
        }
    }
}

/// The serving-side transform that explains `served` from `reference`, if any.
pub fn transform_cause(served: f64, reference: f64, tol: Tolerance) -> Option<Cause> {
    if !served.is_finite() || !reference.is_finite() {
        return None;
    }
    // Tolerances for the transform tests: the feature's, but at least 1e-9 relative so a
    // recomputation's last-bit noise does not hide the transform.
    let t = Tolerance {
        abs: tol.abs.max(1e-12),
        rel: tol.rel.max(1e-9),
    };
    let eq = |a: f64, b: f64| a == b || (a - b).abs() <= t.abs + t.rel * b.abs();
    if (reference as f32) as f64 == served || (served as f32) as f64 == reference {
        return Some(Cause::Transform("float32", None));
    }
    if reference != 0.0 {
        for k in [-3i32, -2, -1, 1, 2, 3] {
            if eq(served, reference * 10f64.powi(k)) {
                return Some(Cause::Transform("scale", Some(format!("x1e{k}"))));
            }
        }
        if eq(served, -reference) {
            return Some(Cause::Transform("negate", None));
        }
    }
    if reference > -1.0 && eq(served, reference.ln_1p()) {
        return Some(Cause::Transform("log1p", None));
    }
    if reference < 700.0 && eq(served, reference.exp_m1()) {
        return Some(Cause::Transform("expm1", None));
    }
    for n in 0..=6 {
        let p = 10f64.powi(n);
        if served == (reference * p).round() / p {
            return Some(Cause::Transform("round", Some(format!("{n} digits"))));
        }
    }
    if served == reference.trunc() {
        return Some(Cause::Transform("truncate", None));
    }
    // The reverse (SPEC §4): the offline side is the rounded or truncated one.
    for n in 0..=6 {
        let p = 10f64.powi(n);
        if reference == (served * p).round() / p {
            return Some(Cause::Transform(
                "round",
                Some(format!("{n} digits, offline side")),
            ));
        }
    }
    if reference == served.trunc() {
        return Some(Cause::Transform("truncate", Some("offline side".into())));
    }
    None
}

/// Whether a served value is a filled-in default: the feature's default, or the zero / empty
/// sentinel when it has none.
pub fn is_default(served: &Val, default: Option<&Scalar>) -> bool {
    match default {
        Some(Scalar::Int(i)) => served.as_f64() == Some(*i as f64),
        Some(Scalar::Float(f)) => served.as_f64() == Some(*f),
        Some(Scalar::Str(s)) => matches!(served, Val::Str(v) if v == s),
        Some(Scalar::Bool(b)) => matches!(served, Val::Bool(v) if v == b),
        None => match served {
            Val::Num(x) => *x == 0.0,
            Val::Str(s) => s.is_empty(),
            _ => false,
        },
    }
}

/// Same value in another type or spelling: both sides read as the same number.
pub fn is_type_difference(served: &Val, reference: &Val) -> bool {
    let num = |v: &Val| match v {
        Val::Str(s) => s.trim().parse::<f64>().ok(),
        other => other.as_f64(),
    };
    match (num(served), num(reference)) {
        (Some(a), Some(b)) => a == b && served != reference,
        _ => false,
    }
}

/// The lags searched for stale / ahead values, in µs, smallest first: 1, 5, 10, 15, 30
/// minutes, every whole hour up to 24 h (a timezone bug shows as a whole-hour lag), 2, 3 and
/// 7 days.
pub fn lag_grid() -> Vec<i64> {
    let m = 60_000_000i64;
    let h = 60 * m;
    let mut v = vec![m, 5 * m, 10 * m, 15 * m, 30 * m];
    v.extend((1..=24).map(|i| i * h));
    v.extend([48 * h, 72 * h, 168 * h]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Tolerance = Tolerance {
        abs: 1e-9,
        rel: 1e-9,
    };

    #[test]
    fn matching_rules() {
        assert!(matches(&Val::Num(1.0 + 1e-12), &Val::Num(1.0), T));
        assert!(!matches(&Val::Num(1.001), &Val::Num(1.0), T));
        assert!(matches(&Val::Num(f64::NAN), &Val::Num(f64::NAN), T));
        assert!(!matches(&Val::Num(f64::NAN), &Val::Num(1.0), T));
        assert!(matches(&Val::Null, &Val::Null, T));
        assert!(!matches(&Val::Null, &Val::Num(0.0), T));
        assert!(!matches(&Val::Str("a".into()), &Val::Str("A".into()), T));
        let loose = Tolerance {
            abs: 0.0,
            rel: 0.01,
        };
        assert!(matches(&Val::Num(101.0), &Val::Num(100.0), loose));
        assert!(!matches(&Val::Num(102.0), &Val::Num(100.0), loose));
    }

    #[test]
    fn each_transform_is_recognised() {
        let x = 123.456789;
        assert_eq!(
            transform_cause((x as f32) as f64, x, T),
            Some(Cause::Transform("float32", None))
        );
        assert_eq!(
            transform_cause(x * 100.0, x, T),
            Some(Cause::Transform("scale", Some("x1e2".into())))
        );
        assert_eq!(
            transform_cause(x / 1000.0, x, T),
            Some(Cause::Transform("scale", Some("x1e-3".into())))
        );
        assert_eq!(
            transform_cause(-x, x, T),
            Some(Cause::Transform("negate", None))
        );
        assert_eq!(
            transform_cause(x.ln_1p(), x, T),
            Some(Cause::Transform("log1p", None))
        );
        assert_eq!(
            transform_cause(2.5f64.exp_m1(), 2.5, T),
            Some(Cause::Transform("expm1", None))
        );
        assert_eq!(
            transform_cause(123.46, x, T),
            Some(Cause::Transform("round", Some("2 digits".into())))
        );
        assert_eq!(
            transform_cause(-7.0, -7.9, T),
            Some(Cause::Transform("truncate", None))
        );
        assert_eq!(transform_cause(5.0, x, T), None);
        // The reverse: the offline side rounded or truncated, the served value not.
        assert_eq!(
            transform_cause(x, 123.46, T),
            Some(Cause::Transform(
                "round",
                Some("2 digits, offline side".into())
            ))
        );
        assert_eq!(
            transform_cause(-7.9, -7.0, T),
            Some(Cause::Transform("truncate", Some("offline side".into())))
        );
        assert_eq!(transform_cause(x, 5.0, T), None);
    }

    #[test]
    fn defaults_and_types() {
        assert!(is_default(&Val::Num(0.0), Some(&Scalar::Float(0.0))));
        assert!(is_default(&Val::Num(-1.0), Some(&Scalar::Int(-1))));
        assert!(!is_default(&Val::Num(0.0), Some(&Scalar::Int(-1))));
        assert!(is_default(&Val::Num(0.0), None));
        assert!(is_default(&Val::Str(String::new()), None));
        assert!(is_type_difference(
            &Val::Str("1.0".into()),
            &Val::Str("1".into())
        ));
        assert!(!is_type_difference(
            &Val::Str("2".into()),
            &Val::Str("1".into())
        ));
    }

    #[test]
    fn lag_grid_has_whole_hours() {
        let g = lag_grid();
        assert!(g.windows(2).all(|w| w[0] < w[1]));
        for h in 1..=24 {
            assert!(g.contains(&(h * 3_600_000_000)));
        }
    }
}
