//! Markdown: a PR or ticket comment — the headline, one table row per feature x comparison,
//! the violated gates, and per failing comparison its causes and worst rows.

use super::{ComparisonReport, Exporter, Report};
use std::fmt::Write;

pub struct Markdown;

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn comparisons(r: &Report) -> Vec<(&str, &'static str, &ComparisonReport)> {
    r.features
        .iter()
        .flat_map(|f| {
            f.comparison_list()
                .into_iter()
                .map(move |(k, c)| (f.name.as_str(), k, c))
        })
        .collect()
}

impl Exporter for Markdown {
    fn name(&self) -> &'static str {
        "markdown"
    }
    fn file_name(&self) -> Option<&'static str> {
        Some("report.md")
    }
    fn render(&self, r: &Report) -> Result<String, String> {
        let mut o = String::new();
        let icon = match r.verdict.as_str() {
            "pass" => "✅",
            "fail" => "❌",
            _ => "⚠️",
        };
        let _ = writeln!(o, "## {icon} skewaudit: {}\n", r.verdict.to_uppercase());
        let _ = writeln!(
            o,
            "{} `{}` keys (sample `{}`, seed {}) as of {}; registry `{}` (project {}{}).\n",
            r.run.sample_size,
            r.run.entity,
            r.run.sampling,
            r.run.seed,
            r.run.as_of,
            r.run.registry_path,
            r.run.project,
            r.run
                .project_version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default()
        );
        if let Some(online) = &r.run.online {
            let _ = writeln!(o, "- online: `{}`", online);
        }
        if let Some(log) = &r.run.log {
            let _ = writeln!(o, "- serving log: `{}`", log);
        }
        let _ = writeln!(o);
        let _ = writeln!(o, "| feature | vs | rows | mismatch (95% CI) | dominant cause | PSI | missing | verdict |");
        let _ = writeln!(o, "|---|---|---:|---|---|---:|---:|---|");
        for (name, kind, c) in comparisons(r) {
            let ci = c
                .rows
                .mismatch_rate_ci
                .map(|[a, b]| format!(" ({:.2}–{:.2}%)", a * 100.0, b * 100.0))
                .unwrap_or_default();
            let cause = c
                .dominant_cause
                .as_ref()
                .map(|d| format!("`{}` {:.0}%", d.cause, d.share * 100.0))
                .unwrap_or_else(|| "–".into());
            let psi = c.psi_text().unwrap_or_else(|| "–".into());
            let _ = writeln!(
                o,
                "| `{}` | {kind} | {} | {}{ci} | {cause} | {psi} | {} | {} |",
                cell(name),
                c.rows.compared,
                pct(c.rows.mismatch_rate),
                c.rows.missing_online + c.rows.missing_offline,
                c.verdict
            );
        }
        let failing: Vec<_> = comparisons(r)
            .into_iter()
            .filter(|(_, _, c)| c.verdict == "fail")
            .collect();
        if !failing.is_empty() {
            let _ = writeln!(o, "\n### Violations\n");
            for (name, kind, c) in &failing {
                for v in &c.violations {
                    let _ = writeln!(o, "- `{}` ({kind}): {}", cell(name), cell(v));
                }
            }
            for (name, kind, c) in &failing {
                let _ = writeln!(o, "\n<details><summary><code>{}</code> ({kind}): causes and worst rows</summary>\n", cell(name));
                let causes: Vec<String> =
                    c.causes.iter().map(|(k, n)| format!("`{k}` {n}")).collect();
                let _ = writeln!(o, "Causes: {}\n", causes.join(", "));
                if let Some(l) = &c.lag_seconds {
                    let _ = writeln!(o, "Lag: p50 {:.0}s, max {:.0}s\n", l.p50, l.max);
                }
                let _ = writeln!(o, "| key | as of | offline | served | cause |");
                let _ = writeln!(o, "|---|---|---|---|---|");
                for e in c.examples.iter().take(5) {
                    let (key, cause) = (e.key_text(), e.cause_text());
                    let _ = writeln!(
                        o,
                        "| {} | {} | `{}` | `{}` | {} |",
                        cell(&key),
                        e.as_of,
                        cell(&e.offline.to_string()),
                        cell(&e.served.to_string()),
                        cell(&cause)
                    );
                }
                let _ = writeln!(o, "\n</details>");
            }
        }
        Ok(o)
    }
}
