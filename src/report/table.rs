//! The terminal summary (comfy-table): a headline, one line per feature x comparison — rows,
//! mismatch rate with its 95% interval, dominant cause, PSI, JS, adjusted KS / chi-square p,
//! value age p99, missing rows, verdict — the violated gates and the worst rows. Verdicts are
//! coloured on a terminal only, never with `NO_COLOR` (console's styles; comfy-table's own
//! `tty` styling would change a feature Polars shares and rebuild it).

use super::{ComparisonReport, Exporter, Report};
use comfy_table::{presets, Cell, CellAlignment, Table as CTable};

/// The terminal summary; `color` paints the verdicts (see [`color_wanted`]).
pub struct Table {
    pub color: bool,
}

/// Colours on stdout: only on a terminal, never with `NO_COLOR` or `TERM=dumb`.
pub fn color_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(false)
}

impl Exporter for Table {
    fn name(&self) -> &'static str {
        "table"
    }
    fn file_name(&self) -> Option<&'static str> {
        None
    }
    fn render(&self, report: &Report) -> Result<String, String> {
        Ok(render_with(report, self.color))
    }
}

/// A verdict, painted when `color`: every cell of the column gets escape codes of the same
/// length, so the table stays aligned.
fn verdict_text(v: &str, color: bool) -> String {
    if !color {
        return v.to_string();
    }
    let s = match v.to_ascii_lowercase().as_str() {
        "fail" => console::style(format!("{v:<12}")).red(),
        "pass" => console::style(format!("{v:<12}")).green(),
        "inconclusive" => console::style(format!("{v:<12}")).yellow(),
        _ => console::style(format!("{v:<12}")).white(),
    };
    s.force_styling(true).to_string()
}
use std::fmt::Write;

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn num(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

fn comparison_row(feature: &str, kind: &str, c: &ComparisonReport, color: bool) -> Vec<Cell> {
    let ci = c
        .rows
        .mismatch_rate_ci
        .map(|[a, b]| format!("{:.2}–{:.2}", a * 100.0, b * 100.0))
        .unwrap_or_else(|| "-".into());
    let cause = c.dominant_text().unwrap_or_else(|| "-".into());
    let d = c.distribution.as_ref();
    let ks = d.and_then(|d| d.ks_pvalue_adjusted.or(d.chi2_pvalue_adjusted));
    vec![
        Cell::new(feature),
        Cell::new(kind),
        Cell::new(c.rows.compared).set_alignment(CellAlignment::Right),
        Cell::new(pct(c.rows.mismatch_rate)).set_alignment(CellAlignment::Right),
        Cell::new(ci),
        Cell::new(cause),
        Cell::new(num(d.map(|d| d.psi), 3)).set_alignment(CellAlignment::Right),
        Cell::new(num(d.map(|d| d.js_divergence), 3)).set_alignment(CellAlignment::Right),
        Cell::new(
            ks.map(|p| {
                if p >= 0.01 {
                    format!("{p:.2}")
                } else {
                    format!("{p:.1e}")
                }
            })
            .unwrap_or_else(|| "-".into()),
        )
        .set_alignment(CellAlignment::Right),
        Cell::new(
            c.value_age_seconds
                .as_ref()
                .map(|a| format!("{:.0}s", a.p99))
                .unwrap_or_else(|| "-".into()),
        )
        .set_alignment(CellAlignment::Right),
        Cell::new(c.rows.missing_online + c.rows.missing_offline)
            .set_alignment(CellAlignment::Right),
        Cell::new(verdict_text(&c.verdict, color)),
    ]
}

/// The summary: a headline, one line per feature x comparison, the violated gates and the
/// worst rows of the failing comparisons.
pub fn render(r: &Report) -> String {
    render_with(r, false)
}

/// [`render`], verdicts painted when `color`.
pub fn render_with(r: &Report, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "skewaudit: {} — {} {} keys (seed {}), as of {}{}{}",
        if color {
            verdict_text(&r.verdict.to_uppercase(), true)
                .trim_end()
                .to_string()
        } else {
            r.verdict.to_uppercase()
        },
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
    let mut t = CTable::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    let verdict_header = if color {
        console::style(format!("{:<12}", "verdict"))
            .white()
            .force_styling(true)
            .to_string()
    } else {
        "verdict".to_string()
    };
    t.set_header(vec![
        "feature",
        "vs",
        "rows",
        "mismatch",
        "95% CI (%)",
        "dominant cause",
        "psi",
        "js",
        "ks/χ² p adj",
        "age p99",
        "missing",
        verdict_header.as_str(),
    ]);
    let mut worst = CTable::new();
    worst.load_style(presets::UTF8_FULL_CONDENSED);
    worst.set_header(vec![
        "feature", "vs", "key", "as of", "offline", "served", "cause",
    ]);
    let mut violations = Vec::new();
    let mut n_worst = 0;
    for f in &r.features {
        for (kind, c) in f.comparison_list() {
            t.add_row(comparison_row(&f.name, kind, c, color));
            for v in &c.violations {
                violations.push(format!("  FAIL {} ({kind}): {v}", f.name));
            }
            if c.verdict == "fail" && n_worst < 12 {
                if let Some(e) = c.examples.first() {
                    let (key, cause) = (e.key_text(), e.cause_text());
                    worst.add_row(vec![
                        f.name.clone(),
                        kind.to_string(),
                        key,
                        e.as_of.clone(),
                        e.offline.to_string(),
                        e.served.to_string(),
                        cause,
                    ]);
                    n_worst += 1;
                }
            }
        }
    }
    let _ = writeln!(out, "{t}");
    for v in violations {
        let _ = writeln!(out, "{v}");
    }
    if n_worst > 0 {
        let _ = writeln!(
            out,
            "worst rows (one per failing comparison; all in the JSON report):"
        );
        let _ = writeln!(out, "{worst}");
    }
    out
}
