//! HTML: one self-contained file (inline CSS and SVG, no script, no external reference) that
//! reads at a glance on call: the verdict, the summary table, the violated gates, and per
//! feature one SVG (plotters) with the histogram overlay of both sides (offline vs served), the
//! breakdown of the mismatch causes and the per-row differences (|served − offline| quantiles of
//! the mismatched rows), followed by the worst rows.

use super::{ComparisonReport, Distribution, Exporter, FeatureReport, Report};
use plotters::prelude::*;
use std::fmt::Write;

pub struct Html;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2}%", v * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// Labels of the histogram bins: categories, or the interior edges as ranges.
fn bin_labels(d: &Distribution) -> Vec<String> {
    if !d.categories.is_empty() {
        return d.categories.clone();
    }
    let e = &d.bin_edges;
    (0..d.reference_counts.len())
        .map(
            |i| match (i.checked_sub(1).and_then(|j| e.get(j)), e.get(i)) {
                (None, Some(hi)) => format!("<{hi:.3}"),
                (Some(lo), None) => format!("≥{lo:.3}"),
                (Some(lo), Some(_)) => format!("≥{lo:.3}"),
                (None, None) => "all".into(),
            },
        )
        .collect()
}

/// One SVG per feature: histogram overlay (left) and the causes of the mismatches (right).
fn feature_svg(f: &FeatureReport) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1040, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (left, rest) = root.split_horizontally(520);
        let (right, errors_area) = rest.split_horizontally(300);
        // The failing comparison's distribution first, else online, else log.
        let dist = f
            .comparison_list()
            .into_iter()
            .filter(|(_, c)| c.distribution.is_some())
            .max_by_key(|(k, c)| (c.verdict == "fail", *k == "online"))
            .and_then(|(k, c)| c.distribution.as_ref().map(|d| (k, d)));
        match dist {
            Some((kind, d)) if !d.reference_counts.is_empty() => {
                let n = d.reference_counts.len();
                let tot = |v: &[u64]| v.iter().sum::<u64>().max(1) as f64;
                let (rt, ct) = (tot(&d.reference_counts), tot(&d.current_counts));
                let ymax = d
                    .reference_counts
                    .iter()
                    .map(|c| *c as f64 / rt)
                    .chain(d.current_counts.iter().map(|c| *c as f64 / ct))
                    .fold(0.0f64, f64::max)
                    .max(1e-9)
                    * 1.1;
                let labels = bin_labels(d);
                let mut chart = ChartBuilder::on(&left)
                    .caption(
                        format!("{} ({kind}): offline vs served", f.name),
                        ("sans-serif", 16),
                    )
                    .margin(8)
                    .x_label_area_size(30)
                    .y_label_area_size(44)
                    .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(n.min(10))
                    .x_label_formatter(&|x| labels.get(*x as usize).cloned().unwrap_or_default())
                    .y_desc("share")
                    .draw()
                    .map_err(|e| e.to_string())?;
                let bars = |counts: &[u64], total: f64, off: f64, color: RGBColor| {
                    counts
                        .iter()
                        .enumerate()
                        .map(move |(i, c)| {
                            let x = i as f64 + off;
                            Rectangle::new(
                                [(x, 0.0), (x + 0.42, *c as f64 / total)],
                                color.mix(0.75).filled(),
                            )
                        })
                        .collect::<Vec<_>>()
                };
                chart
                    .draw_series(bars(&d.reference_counts, rt, 0.08, RGBColor(70, 110, 180)))
                    .map_err(|e| e.to_string())?
                    .label("offline")
                    .legend(|(x, y)| {
                        Rectangle::new(
                            [(x, y - 5), (x + 10, y + 5)],
                            RGBColor(70, 110, 180).filled(),
                        )
                    });
                chart
                    .draw_series(bars(&d.current_counts, ct, 0.5, RGBColor(220, 120, 50)))
                    .map_err(|e| e.to_string())?
                    .label("served")
                    .legend(|(x, y)| {
                        Rectangle::new(
                            [(x, y - 5), (x + 10, y + 5)],
                            RGBColor(220, 120, 50).filled(),
                        )
                    });
                chart
                    .configure_series_labels()
                    .border_style(BLACK)
                    .background_style(WHITE.mix(0.8))
                    .draw()
                    .map_err(|e| e.to_string())?;
            }
            _ => {
                left.draw(&Text::new(
                    format!("{}: no distribution (lists, or nothing compared)", f.name),
                    (10, 120),
                    ("sans-serif", 14),
                ))
                .map_err(|e| e.to_string())?;
            }
        }
        // Causes of the non-matching rows, both comparisons.
        let mut causes: Vec<(String, u64)> = Vec::new();
        for (kind, c) in f.comparison_list() {
            for (k, n) in &c.causes {
                causes.push((format!("{kind}: {k}"), *n));
            }
        }
        if causes.is_empty() {
            right
                .draw(&Text::new("no mismatches", (20, 120), ("sans-serif", 14)))
                .map_err(|e| e.to_string())?;
        } else {
            let max = causes.iter().map(|c| c.1).max().unwrap_or(1) as f64 * 1.15;
            let m = causes.len();
            let mut chart = ChartBuilder::on(&right)
                .caption("non-matching rows by cause", ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(20)
                .y_label_area_size(10)
                .build_cartesian_2d(0f64..max, 0f64..m as f64)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(causes.iter().enumerate().map(|(i, (_, n))| {
                    Rectangle::new(
                        [(0.0, i as f64 + 0.15), (*n as f64, i as f64 + 0.85)],
                        RGBColor(200, 60, 60).mix(0.7).filled(),
                    )
                }))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(causes.iter().enumerate().map(|(i, (k, n))| {
                    Text::new(
                        format!("{k} ({n})"),
                        (0.0, i as f64 + 0.75),
                        ("sans-serif", 12),
                    )
                }))
                .map_err(|e| e.to_string())?;
        }
        // Per-row differences of the mismatched numeric rows: |served - offline| quantiles.
        let err = f
            .comparison_list()
            .into_iter()
            .find_map(|(k, c)| c.abs_error.as_ref().map(|q| (k, q)));
        match err {
            Some((kind, q)) => {
                let vals = [
                    ("p50", q.p50),
                    ("p90", q.p90),
                    ("p99", q.p99),
                    ("max", q.max),
                ];
                let top = vals.iter().map(|v| v.1).fold(0.0f64, f64::max).max(1e-12) * 1.15;
                let mut chart = ChartBuilder::on(&errors_area)
                    .caption(format!("|served − offline| ({kind})"), ("sans-serif", 14))
                    .margin(8)
                    .x_label_area_size(20)
                    .y_label_area_size(50)
                    .build_cartesian_2d(0f64..4.0, 0f64..top)
                    .map_err(|e| e.to_string())?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_labels(4)
                    .x_label_formatter(&|x| {
                        vals.get(*x as usize)
                            .map(|v| v.0.to_string())
                            .unwrap_or_default()
                    })
                    .draw()
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series(vals.iter().enumerate().map(|(i, (_, v))| {
                        Rectangle::new(
                            [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, *v)],
                            RGBColor(120, 120, 120).mix(0.8).filled(),
                        )
                    }))
                    .map_err(|e| e.to_string())?;
            }
            None => {
                errors_area
                    .draw(&Text::new(
                        "no numeric differences",
                        (10, 120),
                        ("sans-serif", 13),
                    ))
                    .map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

fn summary_rows(o: &mut String, f: &FeatureReport) {
    for (kind, c) in f.comparison_list() {
        let cause = c.dominant_text().unwrap_or_else(|| "–".into());
        let psi = c.psi_text().unwrap_or_else(|| "–".into());
        let _ = writeln!(
            o,
            "<tr class=\"{v}\"><td><a href=\"#f-{id}\">{name}</a></td><td>{kind}</td><td class=n>{rows}</td><td class=n>{rate}</td><td>{cause}</td><td class=n>{psi}</td><td class=n>{miss}</td><td>{v}</td></tr>",
            v = esc(&c.verdict),
            id = esc(&f.name),
            name = esc(&f.name),
            rows = c.rows.compared,
            rate = pct(c.rows.mismatch_rate),
            cause = esc(&cause),
            miss = c.rows.missing_online + c.rows.missing_offline
        );
    }
}

fn examples(o: &mut String, kind: &str, c: &ComparisonReport) {
    if c.examples.is_empty() {
        return;
    }
    let _ = writeln!(o, "<table><tr><th>{kind}: key</th><th>as of</th><th>offline</th><th>served</th><th>cause</th></tr>");
    for e in &c.examples {
        let (key, cause) = (e.key_text(), e.cause_text());
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&key),
            esc(&e.as_of),
            esc(&e.offline.to_string()),
            esc(&e.served.to_string()),
            esc(&cause)
        );
    }
    let _ = writeln!(o, "</table>");
}

impl Exporter for Html {
    fn name(&self) -> &'static str {
        "html"
    }
    fn file_name(&self) -> Option<&'static str> {
        Some("report.html")
    }
    fn render(&self, r: &Report) -> Result<String, String> {
        let mut o = String::new();
        let _ = writeln!(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>skewaudit: {}</title>", esc(&r.verdict));
        let _ = writeln!(
            o,
            "<style>body{{font-family:sans-serif;margin:1.5em;color:#222}}h1.fail{{color:#b00}}h1.pass{{color:#070}}h1.inconclusive{{color:#a60}}\
             table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}}td.n{{text-align:right}}\
             tr.fail td{{background:#fde8e8}}tr.inconclusive td{{background:#fff6e0}}section{{margin-top:1.5em}}code{{font-size:12px}}</style></head><body>"
        );
        let _ = writeln!(
            o,
            "<h1 class=\"{v}\">skewaudit: {V}</h1>",
            v = esc(&r.verdict),
            V = esc(&r.verdict.to_uppercase())
        );
        let _ = writeln!(
            o,
            "<p>{} <b>{}</b> keys (sample {}, seed {}) as of {}; registry <code>{}</code> ({}).<br>online: <code>{}</code> · log: <code>{}</code></p>",
            r.run.sample_size,
            esc(&r.run.entity),
            esc(&r.run.sampling),
            r.run.seed,
            esc(&r.run.as_of),
            esc(&r.run.registry_path),
            esc(&r.run.project),
            esc(r.run.online.as_deref().unwrap_or("–")),
            esc(r.run.log.as_deref().unwrap_or("–"))
        );
        let _ = writeln!(o, "<table><tr><th>feature</th><th>vs</th><th>rows</th><th>mismatch</th><th>dominant cause</th><th>PSI</th><th>missing</th><th>verdict</th></tr>");
        for f in &r.features {
            summary_rows(&mut o, f);
        }
        let _ = writeln!(o, "</table>");
        let violations: Vec<String> = r
            .features
            .iter()
            .flat_map(|f| {
                f.comparison_list().into_iter().flat_map(move |(k, c)| {
                    c.violations
                        .iter()
                        .map(move |v| format!("<li><b>{}</b> ({k}): {}</li>", esc(&f.name), esc(v)))
                })
            })
            .collect();
        if !violations.is_empty() {
            let _ = writeln!(o, "<h2>Violated gates</h2><ul>{}</ul>", violations.join(""));
        }
        for f in &r.features {
            let _ = writeln!(
                o,
                "<section id=\"f-{}\"><h2>{} <small>({}, definition {})</small></h2>",
                esc(&f.name),
                esc(&f.name),
                esc(&f.verdict),
                esc(&f.definition_hash[..12.min(f.definition_hash.len())])
            );
            o.push_str(&feature_svg(f)?);
            for (kind, c) in f.comparison_list() {
                examples(&mut o, kind, c);
            }
            let _ = writeln!(o, "</section>");
        }
        let _ = writeln!(o, "</body></html>");
        Ok(o)
    }
}
