//! The plain terminal summary (the coloured comfy-table view comes with the reports issue).

use super::{ComparisonReport, Exporter, Report};

/// The terminal summary.
pub struct Table;

impl Exporter for Table {
    fn name(&self) -> &'static str {
        "table"
    }
    fn file_name(&self) -> Option<&'static str> {
        None
    }
    fn render(&self, report: &Report) -> Result<String, String> {
        Ok(render(report))
    }
}
use std::fmt::Write;

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn row(out: &mut String, feature: &str, kind: &str, c: &ComparisonReport) {
    let ci = c
        .rows
        .mismatch_rate_ci
        .map(|[a, b]| format!("[{:.2}, {:.2}]", a * 100.0, b * 100.0))
        .unwrap_or_default();
    let cause = c
        .dominant_cause
        .as_ref()
        .map(|d| format!("{} {:.0}%", d.cause, d.share * 100.0))
        .unwrap_or_else(|| "-".into());
    let psi = c
        .distribution
        .as_ref()
        .map(|d| format!("{:.3}", d.psi))
        .unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "{feature:<26} {kind:<6} {:>7} {:>8} {ci:<16} {cause:<28} {psi:>7} {:>8}  {}",
        c.rows.compared,
        pct(c.rows.mismatch_rate),
        c.rows.missing_online + c.rows.missing_offline,
        c.verdict
    );
}

/// The summary: headline, one line per feature x comparison, violations.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "skewaudit: {} — {} {} keys (seed {}), as of {}{}{}",
        r.verdict.to_uppercase(),
        r.run.sample_size,
        r.run.entity,
        r.run.seed,
        r.run.as_of,
        r.run
            .online
            .as_ref()
            .map(|o| format!(", online {o}"))
            .unwrap_or_default(),
        r.run
            .log
            .as_ref()
            .map(|l| format!(", log {l}"))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        out,
        "{:<26} {:<6} {:>7} {:>8} {:<16} {:<28} {:>7} {:>8}  verdict",
        "feature", "vs", "rows", "mismatch", "95% CI (%)", "dominant cause", "psi", "missing"
    );
    for f in &r.features {
        if let Some(c) = &f.comparisons.online {
            row(&mut out, &f.name, "online", c);
        }
        if let Some(c) = &f.comparisons.log {
            row(&mut out, &f.name, "log", c);
        }
    }
    for f in &r.features {
        for (kind, c) in [
            ("online", &f.comparisons.online),
            ("log", &f.comparisons.log),
        ] {
            if let Some(c) = c {
                for v in &c.violations {
                    let _ = writeln!(out, "  FAIL {} ({kind}): {v}", f.name);
                }
            }
        }
    }
    out
}
