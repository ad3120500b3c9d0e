//! One comparison (offline vs online, or offline vs log) over all features: recompute at
//! each row's as-of time, classify every row, search lags for the unexplained, and build the
//! comparison reports with distributions and gates.

use super::{other, recompute_at, AuditError};
use crate::compare::row::{self, Cause, Val};
use crate::compare::stats;
use crate::online::frame::{STATUS, TS, VERSION};
use crate::registry::{format_time, hash::version_is_current, Dtype, Feature, Gate, Registry};
use crate::report::{
    ComparisonReport, Distribution, DominantCause, Example, Quantiles, RowCounts, Spread, Summary,
};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A comparison's, feature's or run's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
        })
    }
}

impl Verdict {
    /// Fail if any fails; else inconclusive if any is; else pass (also for none).
    pub fn combine(parts: &[&str]) -> Verdict {
        if parts.contains(&"fail") {
            Verdict::Fail
        } else if parts.contains(&"inconclusive") {
            Verdict::Inconclusive
        } else {
            Verdict::Pass
        }
    }
}

/// One feature's served side, row by row.
pub struct FeatureRows {
    pub served: Vec<Val>,
    pub status: Vec<String>,
    /// The as-of time of each row's recompute (µs).
    pub as_of: Vec<i64>,
    /// The stored timestamp, when there is one.
    pub stored_ts: Vec<Option<i64>>,
    pub version: Vec<Option<String>>,
}

/// The served side of a comparison: rows (sampled keys, or logged requests) x features.
pub struct Rows {
    pub n: usize,
    pub features: HashMap<String, FeatureRows>,
    pub request_id: Vec<Option<String>>,
}

impl Rows {
    /// From an online frame (as-of = each value's stored timestamp, else `default_as_of`)
    /// or a log frame (`ts_column` = the request time).
    pub fn from_frame(
        frame: &DataFrame,
        feats: &[(&Feature, Dtype)],
        ts_column: Option<&str>,
        default_as_of: i64,
    ) -> Result<Rows, AuditError> {
        let n = frame.height();
        let request_ts = match ts_column {
            Some(c) => Some(super::column_opt_i64(frame, c)?),
            None => None,
        };
        let request_id = match frame.column(crate::logs::REQUEST_ID) {
            Ok(_) => super::column_opt_str(frame, crate::logs::REQUEST_ID)?,
            Err(_) => vec![None; n],
        };
        let mut features = HashMap::new();
        for (f, _) in feats {
            let served = super::column_vals(frame, &f.name)?;
            let status: Vec<String> = super::column_opt_str(frame, &format!("{}{STATUS}", f.name))?
                .into_iter()
                .map(|s| s.unwrap_or_else(|| "missing".into()))
                .collect();
            let stored_ts = super::column_opt_i64(frame, &format!("{}{TS}", f.name))?;
            let version = super::column_opt_str(frame, &format!("{}{VERSION}", f.name))?;
            let as_of: Vec<i64> = match &request_ts {
                Some(rt) => rt.iter().map(|t| t.unwrap_or(default_as_of)).collect(),
                None => stored_ts
                    .iter()
                    .map(|t| t.unwrap_or(default_as_of))
                    .collect(),
            };
            features.insert(
                f.name.clone(),
                FeatureRows {
                    served,
                    status,
                    as_of,
                    stored_ts,
                    version,
                },
            );
        }
        Ok(Rows {
            n,
            features,
            request_id,
        })
    }
}

/// Per-row result.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Match,
    Mismatch(Cause),
    Beyond,
    Decode,
    /// Mismatched, cause still to find (lag search).
    Pending,
}

/// Rows whose lags are searched, at most (per comparison, shared fairly by its features); the
/// rest stay `unexplained`.
pub const MAX_LAG_SEARCH_ROWS: usize = 20_000;
/// Examples kept per comparison.
pub const MAX_EXAMPLES: usize = 10;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    stats::quantile_linear(sorted, q)
}

fn spread(mut v: Vec<f64>) -> Option<Spread> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(Spread {
        p50: quantile(&v, 0.5),
        p99: quantile(&v, 0.99),
        max: *v.last().unwrap_or(&0.0),
    })
}

fn quantiles(mut v: Vec<f64>) -> Option<Quantiles> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(Quantiles {
        p50: quantile(&v, 0.5),
        p90: quantile(&v, 0.9),
        p99: quantile(&v, 0.99),
        max: *v.last().unwrap_or(&0.0),
    })
}

/// Compares every feature; returns a report per feature and the sources' watermarks.
pub fn compare_all(
    reg: &Registry,
    feats: &[(&Feature, Dtype)],
    keys: &DataFrame,
    key_names: &[String],
    rows: &Rows,
    audit_as_of: i64,
    online: bool,
) -> Result<
    (
        BTreeMap<String, ComparisonReport>,
        BTreeMap<String, Option<i64>>,
    ),
    AuditError,
> {
    // 1. Recompute every feature at every distinct (row, as_of).
    let mut point_of: HashMap<(usize, i64), usize> = HashMap::new();
    let mut points: Vec<(usize, i64)> = Vec::new();
    for (f, _) in feats {
        let fr = &rows.features[&f.name];
        for r in 0..rows.n {
            point_of.entry((r, fr.as_of[r])).or_insert_with(|| {
                points.push((r, fr.as_of[r]));
                points.len() - 1
            });
        }
    }
    let plain: Vec<&Feature> = feats.iter().map(|(f, _)| *f).collect();
    let (offline, watermarks) = recompute_at(reg, &plain, keys, &points)?;

    // 2. Classify.
    let mut states: HashMap<String, Vec<State>> = HashMap::new();
    let mut lag_points: Vec<(usize, i64)> = Vec::new();
    let mut lag_point_of: HashMap<(usize, i64), usize> = HashMap::new();
    let grid = row::lag_grid();
    for (f, _) in feats {
        let fr = &rows.features[&f.name];
        let off = &offline[&f.name];
        let wm = watermarks.get(&f.source).copied().flatten();
        let mut st = Vec::with_capacity(rows.n);
        for r in 0..rows.n {
            let t = fr.as_of[r];
            let o = &off[point_of[&(r, t)]];
            let s = &fr.served[r];
            let state = if fr.status[r] == "decode_error" {
                State::Decode
            } else if fr.status[r] == "missing" {
                State::Mismatch(Cause::MissingOnline)
            } else if wm.is_none_or(|w| t > w) {
                State::Beyond
            } else if let Some(v) = fr.version[r].as_ref().filter(|v| {
                !version_is_current(v, reg.project.version.as_deref(), &f.definition_hash)
            }) {
                // Written by another definition: a finding even when the value agrees.
                State::Mismatch(Cause::Version(v.clone()))
            } else if row::matches(s, o, f.tolerance) {
                State::Match
            } else if o.is_null() {
                State::Mismatch(Cause::MissingOffline)
            } else if s.is_null() {
                State::Mismatch(Cause::NullMismatch)
            } else if let Some(c) = match (s.as_f64(), o.as_f64()) {
                (Some(a), Some(b)) => row::transform_cause(a, b, f.tolerance),
                _ => None,
            } {
                State::Mismatch(c)
            } else {
                State::Pending
            };
            st.push(state);
        }
        states.insert(f.name.clone(), st);
    }
    // The lag search's budget is shared fairly: each feature gets an equal share, and what a
    // feature does not need goes to the others (water-filling); rows beyond it stay
    // `unexplained`.
    let pending: Vec<(String, Vec<usize>)> = feats
        .iter()
        .map(|(f, _)| {
            let rs = states
                .get(&f.name)
                .map(|st| (0..st.len()).filter(|&r| st[r] == State::Pending).collect())
                .unwrap_or_default();
            (f.name.clone(), rs)
        })
        .collect();
    let counts: Vec<usize> = pending.iter().map(|(_, rs)| rs.len()).collect();
    let quota = fair_quotas(&counts, MAX_LAG_SEARCH_ROWS);
    for (i, (name, rs)) in pending.iter().enumerate() {
        let fr = &rows.features[name];
        let st = states.get_mut(name).ok_or_else(|| other("state"))?;
        for (j, &r) in rs.iter().enumerate() {
            if j >= quota[i] {
                st[r] = State::Mismatch(Cause::Unexplained);
                continue;
            }
            let t = fr.as_of[r];
            for lag in &grid {
                for p in [(r, t - lag), (r, t + lag)] {
                    lag_point_of.entry(p).or_insert_with(|| {
                        lag_points.push(p);
                        lag_points.len() - 1
                    });
                }
            }
        }
    }

    // 3. Lag search for the pending rows: the served value equals the recompute at an
    // earlier (stale) or later (ahead) time; the smallest lag wins, stale before ahead.
    let pending_feats: Vec<&Feature> = plain
        .iter()
        .copied()
        .filter(|f| states[&f.name].contains(&State::Pending))
        .collect();
    let (lagged, _) = recompute_at(reg, &pending_feats, keys, &lag_points)?;
    for f in &pending_feats {
        let fr = &rows.features[&f.name];
        let lv = &lagged[&f.name];
        let off = &offline[&f.name];
        let st = states.get_mut(&f.name).ok_or_else(|| other("state"))?;
        // Every (direction, lag) each pending row matches; the feature's most common one
        // (a systematic delay, or a timezone offset) wins for every row that matches it,
        // else the row's smallest lag (stale before ahead).
        let mut matches_of: Vec<Vec<Cause>> = vec![Vec::new(); rows.n];
        let mut tally: HashMap<(bool, i64), usize> = HashMap::new();
        for r in 0..rows.n {
            if st[r] != State::Pending {
                continue;
            }
            let t = fr.as_of[r];
            for lag in &grid {
                if row::matches(&fr.served[r], &lv[lag_point_of[&(r, t - lag)]], f.tolerance) {
                    matches_of[r].push(Cause::Stale(*lag));
                    *tally.entry((false, *lag)).or_default() += 1;
                }
                if row::matches(&fr.served[r], &lv[lag_point_of[&(r, t + lag)]], f.tolerance) {
                    matches_of[r].push(Cause::Ahead(*lag));
                    *tally.entry((true, *lag)).or_default() += 1;
                }
            }
        }
        let dominant = tally
            .iter()
            .max_by(|a, b| {
                a.1.cmp(b.1)
                    .then_with(|| (b.0 .1, b.0 .0).cmp(&(a.0 .1, a.0 .0)))
            })
            .map(|((ahead, lag), _)| {
                if *ahead {
                    Cause::Ahead(*lag)
                } else {
                    Cause::Stale(*lag)
                }
            });
        let found: Vec<Option<Cause>> = matches_of
            .iter()
            .map(|m| match &dominant {
                Some(d) if m.contains(d) => Some(d.clone()),
                _ => m.first().cloned(),
            })
            .collect();
        // A served default that also equals an earlier/later value is ambiguous: it is
        // stale/ahead when most unambiguous rows of the feature are, else default-filled.
        let mut unambiguous = 0usize;
        let mut lagged_unambiguous = 0usize;
        for r in 0..rows.n {
            if st[r] == State::Pending && !row::is_default(&fr.served[r], f.default.as_ref()) {
                unambiguous += 1;
                lagged_unambiguous += found[r].is_some() as usize;
            }
        }
        let lag_dominant = unambiguous > 0 && lagged_unambiguous * 2 >= unambiguous;
        for r in 0..rows.n {
            if st[r] != State::Pending {
                continue;
            }
            let o = &off[point_of[&(r, fr.as_of[r])]];
            let s = &fr.served[r];
            let served_default =
                row::is_default(s, f.default.as_ref()) && !row::is_default(o, f.default.as_ref());
            st[r] = State::Mismatch(match (&found[r], served_default) {
                (Some(c), false) => c.clone(),
                (Some(c), true) if lag_dominant => c.clone(),
                (_, true) => Cause::DefaultFilled,
                (None, false) if row::is_type_difference(s, o) => Cause::Type,
                (None, false) => Cause::Unexplained,
            });
        }
    }

    // 4. Reports.
    let mut reports = BTreeMap::new();
    for (f, dtype) in feats {
        let fr = &rows.features[&f.name];
        let off = &offline[&f.name];
        let st = &states[&f.name];
        let mut counts = RowCounts {
            total: rows.n as u64,
            ..Default::default()
        };
        let mut causes: BTreeMap<String, u64> = BTreeMap::new();
        let (mut lags, mut abs_err, mut rel_err, mut ages) = (vec![], vec![], vec![], vec![]);
        let (mut ref_num, mut cur_num, mut ref_cat, mut cur_cat) = (vec![], vec![], vec![], vec![]);
        let (mut ref_null, mut cur_null) = (0u64, 0u64);
        let mut examples: Vec<(f64, Example)> = Vec::new();
        let mut example_causes: BTreeMap<String, usize> = BTreeMap::new();
        for r in 0..rows.n {
            let o = &off[point_of[&(r, fr.as_of[r])]];
            let s = &fr.served[r];
            if online {
                if let Some(ts) = fr.stored_ts[r] {
                    if fr.status[r] == "present" || fr.status[r] == "null" {
                        ages.push((audit_as_of - ts) as f64 / 1e6);
                    }
                }
            }
            match &st[r] {
                State::Beyond => {
                    counts.beyond_watermark += 1;
                    continue;
                }
                State::Decode => {
                    counts.decode_errors += 1;
                    continue;
                }
                _ => {}
            }
            // Missing on either side: counted apart, outside the mismatch rate.
            if let State::Mismatch(c @ (Cause::MissingOnline | Cause::MissingOffline)) = &st[r] {
                if *c == Cause::MissingOnline {
                    counts.missing_online += 1;
                } else {
                    counts.missing_offline += 1;
                }
                *causes.entry(c.name()).or_default() += 1;
                continue;
            }
            counts.compared += 1;
            if o.is_null() {
                ref_null += 1
            } else {
                match o {
                    Val::Str(x) => ref_cat.push(x.clone()),
                    Val::Bool(b) => ref_cat.push(b.to_string()),
                    v => {
                        if let Some(x) = v.as_f64() {
                            ref_num.push(x)
                        }
                    }
                }
            }
            if s.is_null() {
                cur_null += 1
            } else {
                match s {
                    Val::Str(x) => cur_cat.push(x.clone()),
                    Val::Bool(b) => cur_cat.push(b.to_string()),
                    v => {
                        if let Some(x) = v.as_f64() {
                            cur_num.push(x)
                        }
                    }
                }
            }
            let State::Mismatch(cause) = &st[r] else {
                counts.matched += 1;
                continue;
            };
            counts.mismatched += 1;
            let name = cause.name();
            *causes.entry(name.clone()).or_default() += 1;
            if let Some(l) = cause.lag_us() {
                lags.push(l as f64 / 1e6);
            }
            let err = match (s.as_f64(), o.as_f64()) {
                (Some(a), Some(b)) if a.is_finite() && b.is_finite() => {
                    abs_err.push((a - b).abs());
                    if b != 0.0 {
                        rel_err.push((a - b).abs() / b.abs());
                    }
                    Some((a - b).abs())
                }
                _ => None,
            };
            // Examples: the first of each cause, then the largest errors.
            let seen = example_causes.entry(name.clone()).or_default();
            *seen += 1;
            let score = if *seen == 1 {
                f64::INFINITY
            } else {
                err.unwrap_or(0.0)
            };
            if examples.len() < MAX_EXAMPLES || examples.iter().any(|(sc, _)| *sc < score) {
                let key = key_json(keys, key_names, r);
                let ex = Example {
                    key,
                    as_of: format_time(fr.as_of[r]),
                    request_id: rows.request_id[r].clone(),
                    offline: o.to_json(),
                    served: s.to_json(),
                    cause: name,
                    detail: match cause {
                        Cause::Transform(_, d) => d.clone(),
                        Cause::Version(v) => Some(format!("stored version {v}")),
                        _ => None,
                    },
                    lag_seconds: cause.lag_us().map(|l| l as f64 / 1e6),
                    abs_error: err,
                };
                examples.push((score, ex));
                examples.sort_by(|a, b| b.0.total_cmp(&a.0));
                examples.truncate(MAX_EXAMPLES);
            }
        }
        if counts.compared > 0 {
            let rate = counts.mismatched as f64 / counts.compared as f64;
            let (lo, hi) = stats::wilson_interval(counts.mismatched, counts.compared);
            counts.mismatch_rate = Some(rate);
            counts.mismatch_rate_ci = Some([lo, hi]);
        }
        if counts.total > 0 {
            let missing = counts.missing_online + counts.missing_offline;
            let (lo, hi) = stats::wilson_interval(missing, counts.total);
            counts.missing_rate = Some(missing as f64 / counts.total as f64);
            counts.missing_rate_ci = Some([lo, hi]);
        }
        // The dominant cause of the mismatches (missing rows are counted apart).
        let dominant_cause = causes
            .iter()
            .filter(|(c, _)| !c.starts_with("missing_"))
            .max_by_key(|(_, n)| **n)
            .map(|(c, n)| DominantCause {
                cause: c.clone(),
                share: *n as f64 / counts.mismatched.max(1) as f64,
            });
        let compared = counts.compared.max(1) as f64;
        let mut distribution = if *dtype == Dtype::FloatList {
            None // lists: per-row, element-wise comparison only
        } else if *dtype == Dtype::String || *dtype == Dtype::Bool {
            stats::categorical(&ref_cat, &cur_cat).map(|c| Distribution {
                kind: "categorical".into(),
                n_reference: c.n_reference,
                n_current: c.n_current,
                psi: c.psi,
                js_divergence: c.js_divergence_base2,
                l_infinity: Some(c.l_infinity),
                chi2_pvalue: Some(c.chi2_pvalue),
                categories: c.categories,
                reference_counts: c.reference_counts,
                current_counts: c.current_counts,
                ..Default::default()
            })
        } else {
            stats::numeric(&ref_num, &cur_num).map(|d| Distribution {
                kind: "numeric".into(),
                n_reference: d.reference.n,
                n_current: d.current.n,
                psi: d.psi,
                js_divergence: d.js_divergence_base2,
                ks_statistic: Some(d.ks_statistic),
                ks_pvalue: Some(d.ks_pvalue),
                wasserstein_normalized: Some(d.wasserstein_normalized),
                reference: Some(Summary {
                    mean: d.reference.mean,
                    std: d.reference.std,
                    p01: d.reference.p01,
                    p50: d.reference.p50,
                    p99: d.reference.p99,
                }),
                current: Some(Summary {
                    mean: d.current.mean,
                    std: d.current.std,
                    p01: d.current.p01,
                    p50: d.current.p50,
                    p99: d.current.p99,
                }),
                bin_edges: d.bin_edges,
                reference_counts: d.reference_bin_counts,
                current_counts: d.current_bin_counts,
                ..Default::default()
            })
        };
        if let Some(d) = distribution.as_mut() {
            d.null_rate_reference = ref_null as f64 / compared;
            d.null_rate_current = cur_null as f64 / compared;
            let n = counts.compared.max(1);
            let ci = |k: u64| {
                let (lo, hi) = stats::wilson_interval(k, n);
                Some([lo, hi])
            };
            d.null_rate_reference_ci = ci(ref_null as u64);
            d.null_rate_current_ci = ci(cur_null as u64);
        }
        let value_age_seconds = if online { spread(ages) } else { None };
        let (verdict, violations) = gate(
            &f.gate,
            &counts,
            distribution.as_ref(),
            value_age_seconds.as_ref(),
        );
        reports.insert(
            f.name.clone(),
            ComparisonReport {
                rows: counts,
                causes,
                dominant_cause,
                lag_seconds: spread(lags),
                abs_error: quantiles(abs_err),
                rel_error: quantiles(rel_err),
                value_age_seconds,
                distribution,
                verdict: verdict.to_string(),
                violations,
                examples: examples.into_iter().map(|(_, e)| e).collect(),
            },
        );
    }
    Ok((reports, watermarks))
}

fn key_json(
    keys: &DataFrame,
    key_names: &[String],
    r: usize,
) -> BTreeMap<String, serde_json::Value> {
    key_names
        .iter()
        .map(|k| {
            let v = keys
                .column(k)
                .ok()
                .and_then(|c| c.get(r).ok())
                .map(super::val)
                .unwrap_or(Val::Null);
            (k.clone(), v.to_json())
        })
        .collect()
}

/// The comparison's verdict and the violated gates (one line each).
fn gate(
    g: &Gate,
    rows: &RowCounts,
    dist: Option<&Distribution>,
    age: Option<&Spread>,
) -> (Verdict, Vec<String>) {
    if rows.compared < g.min_rows {
        return (Verdict::Inconclusive, vec![]);
    }
    let mut v = Vec::new();
    if let (Some(max), Some(rate)) = (g.max_mismatch_rate, rows.mismatch_rate) {
        let (value, what) = if g.use_ci_upper_bound {
            (
                rows.mismatch_rate_ci.map(|c| c[1]).unwrap_or(rate),
                "mismatch rate (95% upper bound)",
            )
        } else {
            (rate, "mismatch rate")
        };
        if value > max {
            v.push(format!("{what} {value:.4} > max_mismatch_rate {max}"));
        }
    }
    if let (Some(max), Some(rate)) = (g.max_missing_rate, rows.missing_rate) {
        if rate > max {
            v.push(format!("missing rate {rate:.4} > max_missing_rate {max}"));
        }
    }
    if let Some(d) = dist {
        if let Some(max) = g.max_psi {
            if d.psi > max {
                v.push(format!("psi {:.4} > max_psi {max}", d.psi));
            }
        }
        if let Some(max) = g.max_js {
            if d.js_divergence > max {
                v.push(format!(
                    "js_divergence {:.4} > max_js {max}",
                    d.js_divergence
                ));
            }
        }
    }
    if let (Some(max), Some(a)) = (g.max_age, age) {
        if a.p99 > max.as_secs_f64() {
            v.push(format!("value age p99 {:.0}s > max_age {}", a.p99, max));
        }
    }
    (
        if v.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        v,
    )
}

/// Shares `budget` among claims of `counts` (water-filling): the smallest claims are met in
/// full, the rest get equal shares of what is left.
fn fair_quotas(counts: &[usize], budget: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| counts[i]);
    let mut left = budget;
    let mut quota = vec![0usize; counts.len()];
    for (k, &i) in order.iter().enumerate() {
        quota[i] = counts[i].min(left / (order.len() - k));
        left -= quota[i];
    }
    quota
}

/// Benjamini-Hochberg adjustment of the KS / chi-square p-values across the features of one
/// comparison.
pub fn adjust_pvalues(reports: &mut BTreeMap<String, ComparisonReport>) {
    let mut names = Vec::new();
    let mut ps = Vec::new();
    for (n, r) in reports.iter() {
        if let Some(d) = &r.distribution {
            if let Some(p) = d.ks_pvalue.or(d.chi2_pvalue) {
                names.push(n.clone());
                ps.push(p);
            }
        }
    }
    let adj = stats::benjamini_hochberg(&ps);
    for (n, a) in names.iter().zip(adj) {
        if let Some(d) = reports.get_mut(n).and_then(|r| r.distribution.as_mut()) {
            if d.ks_pvalue.is_some() {
                d.ks_pvalue_adjusted = Some(a);
            } else {
                d.chi2_pvalue_adjusted = Some(a);
            }
        }
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;
    use crate::registry::Duration as RegDuration;

    fn rows(compared: u64, mismatched: u64, missing: u64) -> RowCounts {
        let rate = mismatched as f64 / compared as f64;
        RowCounts {
            total: compared + missing,
            compared,
            matched: compared - mismatched,
            mismatched,
            missing_online: missing,
            mismatch_rate: Some(rate),
            mismatch_rate_ci: Some([rate / 2.0, rate * 2.0]),
            missing_rate: Some(missing as f64 / (compared + missing) as f64),
            ..RowCounts::default()
        }
    }

    /// Each threshold fails just above its value and passes at it; an ungated run passes.
    #[test]
    fn every_gate_fails_above_and_passes_at_its_threshold() {
        let r = rows(1000, 20, 0); // mismatch rate 0.02, CI [0.01, 0.04]
        let none = Gate::default();
        assert_eq!(gate(&none, &r, None, None), (Verdict::Pass, vec![]));
        let mm = |max: f64, ci: bool| Gate {
            max_mismatch_rate: Some(max),
            use_ci_upper_bound: ci,
            ..Gate::default()
        };
        assert_eq!(gate(&mm(0.02, false), &r, None, None).0, Verdict::Pass);
        let (v, why) = gate(&mm(0.019, false), &r, None, None);
        assert_eq!(v, Verdict::Fail);
        assert_eq!(
            why,
            vec!["mismatch rate 0.0200 > max_mismatch_rate 0.019".to_string()]
        );
        // The upper bound is stricter than the rate.
        let (v, why) = gate(&mm(0.03, true), &r, None, None);
        assert_eq!(v, Verdict::Fail);
        assert!(
            why[0].contains("95% upper bound") && why[0].contains("0.0400"),
            "{why:?}"
        );

        let missing = rows(900, 0, 100); // missing rate 0.1
        let g = Gate {
            max_missing_rate: Some(0.1),
            ..Gate::default()
        };
        assert_eq!(gate(&g, &missing, None, None).0, Verdict::Pass);
        let g = Gate {
            max_missing_rate: Some(0.09),
            ..Gate::default()
        };
        assert_eq!(gate(&g, &missing, None, None).0, Verdict::Fail);

        let d = Distribution {
            psi: 0.25,
            js_divergence: 0.1,
            ..Distribution::default()
        };
        let psi = |max: f64| Gate {
            max_psi: Some(max),
            ..Gate::default()
        };
        assert_eq!(gate(&psi(0.25), &r, Some(&d), None).0, Verdict::Pass);
        assert_eq!(gate(&psi(0.2), &r, Some(&d), None).0, Verdict::Fail);
        let js = |max: f64| Gate {
            max_js: Some(max),
            ..Gate::default()
        };
        assert_eq!(gate(&js(0.1), &r, Some(&d), None).0, Verdict::Pass);
        let (v, why) = gate(&js(0.05), &r, Some(&d), None);
        assert_eq!(v, Verdict::Fail);
        assert!(
            why[0].starts_with("js_divergence 0.1000 > max_js"),
            "{why:?}"
        );
        // Without a distribution, the distribution gates do not apply.
        assert_eq!(gate(&psi(0.0), &r, None, None).0, Verdict::Pass);

        let age = Spread {
            p50: 60.0,
            p99: 3600.0,
            max: 7200.0,
        };
        let old = |secs: i64| Gate {
            max_age: Some(RegDuration::from_micros(secs * 1_000_000)),
            ..Gate::default()
        };
        assert_eq!(gate(&old(3600), &r, None, Some(&age)).0, Verdict::Pass);
        assert_eq!(gate(&old(3599), &r, None, Some(&age)).0, Verdict::Fail);

        // Several violations are all listed.
        let all = Gate {
            max_mismatch_rate: Some(0.0),
            max_psi: Some(0.0),
            max_js: Some(0.0),
            ..Gate::default()
        };
        assert_eq!(gate(&all, &r, Some(&d), None).1.len(), 3);
    }

    #[test]
    fn lag_search_budget_is_shared_fairly() {
        assert_eq!(
            fair_quotas(&[10, 50_000, 50_000], 20_000),
            vec![10, 9_995, 9_995]
        );
        assert_eq!(fair_quotas(&[100, 200], 20_000), vec![100, 200]);
        assert_eq!(fair_quotas(&[30_000], 20_000), vec![20_000]);
        assert_eq!(fair_quotas(&[], 20_000), Vec::<usize>::new());
        proptest::proptest!(|(counts in proptest::collection::vec(0usize..50_000, 0..12), budget in 0usize..60_000)| {
            let q = fair_quotas(&counts, budget);
            proptest::prop_assert!(q.iter().sum::<usize>() <= budget);
            proptest::prop_assert!(q.iter().zip(&counts).all(|(q, c)| q <= c));
            // Nothing left unused while a claim is unmet beyond rounding.
            if counts.iter().sum::<usize>() > budget {
                proptest::prop_assert!(budget - q.iter().sum::<usize>() < counts.len().max(1));
            }
            // No unmet claim gets less than a met or larger one (fairness).
            for i in 0..counts.len() {
                for j in 0..counts.len() {
                    if q[i] < counts[i] {
                        proptest::prop_assert!(q[i] + 1 >= q[j], "{:?} -> {:?}", counts, q);
                    }
                }
            }
        });
    }

    /// Too few compared rows: inconclusive, whatever the gates say.
    #[test]
    fn below_min_rows_is_inconclusive() {
        let r = rows(10, 10, 0);
        let g = Gate {
            max_mismatch_rate: Some(0.0),
            min_rows: 11,
            ..Gate::default()
        };
        assert_eq!(gate(&g, &r, None, None), (Verdict::Inconclusive, vec![]));
        let g = Gate { min_rows: 10, ..g };
        assert_eq!(gate(&g, &r, None, None).0, Verdict::Fail);
    }
}
