//! Durations as written in the registry: `90s`, `15m`, `24h`, `7d`, `2w`, or compounds such
//! as `1h30m`. Stored as whole microseconds (the engine's time unit).

use std::fmt;

/// Microseconds per unit.
const UNITS: [(char, i64); 5] = [
    ('w', 7 * 86_400_000_000),
    ('d', 86_400_000_000),
    ('h', 3_600_000_000),
    ('m', 60_000_000),
    ('s', 1_000_000),
];

/// A positive duration in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(i64);

impl Duration {
    pub fn from_micros(us: i64) -> Self {
        Duration(us)
    }
    pub fn as_micros(self) -> i64 {
        self.0
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Parses `7d`, `24h`, `1h30m`, ... Zero, negative, fractional or unit-less values are
    /// rejected with a message saying what is accepted.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let help =
            "expected a positive whole number with a unit s, m, h, d or w (e.g. \"7d\", \"1h30m\")";
        if t.is_empty() {
            return Err(format!("empty duration: {help}"));
        }
        let mut total: i64 = 0;
        let mut digits = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let Some(&(_, per)) = UNITS.iter().find(|(u, _)| *u == c) else {
                return Err(format!("bad duration \"{s}\": unexpected '{c}'; {help}"));
            };
            if digits.is_empty() {
                return Err(format!(
                    "bad duration \"{s}\": unit '{c}' without a number; {help}"
                ));
            }
            let n: i64 = digits
                .parse()
                .map_err(|_| format!("bad duration \"{s}\": number too large"))?;
            total = n
                .checked_mul(per)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| format!("bad duration \"{s}\": too large"))?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(format!(
                "bad duration \"{s}\": number without a unit; {help}"
            ));
        }
        if total <= 0 {
            return Err(format!("bad duration \"{s}\": must be greater than zero"));
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    /// The canonical spelling: largest units first, e.g. `1d6h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest % 1_000_000 != 0 {
            return write!(f, "{}us", rest);
        }
        for (u, per) in UNITS {
            // Weeks only when the whole duration is whole weeks: "30d", not "4w2d".
            if u == 'w' && self.0 % per != 0 {
                continue;
            }
            if rest >= per {
                write!(f, "{}{}", rest / per, u)?;
                rest %= per;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(
            Duration::parse("7d").unwrap().as_micros(),
            7 * 86_400_000_000
        );
        assert_eq!(Duration::parse("1h30m").unwrap().as_micros(), 5_400_000_000);
        assert_eq!(
            Duration::parse("2w").unwrap(),
            Duration::parse("14d").unwrap()
        );
        assert_eq!(Duration::parse(" 90s ").unwrap().as_micros(), 90_000_000);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "7",
            "d",
            "7x",
            "-1d",
            "0d",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(Duration::parse("90m").unwrap().to_string(), "1h30m");
        assert_eq!(Duration::parse("168h").unwrap().to_string(), "1w");
        assert_eq!(Duration::parse("30d").unwrap().to_string(), "30d");
    }
}
