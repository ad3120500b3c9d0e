//! Pure distribution statistics for comparing a *reference* sample (usually offline / training)
//! with a *current* sample (online store or serving log), per SPEC §4 "Distribution".
//!
//! Every number here is defined exactly as in `../shared/testvectors/README.md` and is
//! checked against the scipy / numpy reference vectors in that directory
//! (`tests/it/stats.rs`). This module does no I/O and holds no state.
//!
//! # Input conventions
//!
//! * Nulls are removed by the caller before calling in here.
//! * **Non-finite values** (`NaN`, `+inf`, `-inf`) are *ignored* by every function that takes a
//!   raw sample (`&[f64]`): they are treated as if the caller had removed them. Callers should
//!   count them separately ([`count_non_finite`]) and report them as a data issue; the
//!   [`NumericSummary::non_finite`] field carries that count. The only function that does not
//!   filter is [`quantile_linear`], which takes an already sorted, already clean slice.
//! * A sample that is empty (after removing non-finite values) never panics: scalar functions
//!   return `NaN`, the aggregate constructors [`numeric`] / [`categorical`] return `None`.
//! * No function loops for an input-dependent number of iterations without a hard bound, so
//!   nothing hangs (in particular the Kolmogorov p-value of `D = 0` is exactly `1.0`).
//!
//! # Definitions (summary; the README is authoritative)
//!
//! * PSI bins: interior cut points at the reference quantiles 0.1, ..., 0.9 (numpy
//!   `method="linear"`), duplicates removed; bins closed on the left
//!   `(-inf, e1), [e1, e2), ..., [ek, +inf)`.
//! * PSI = `sum (c - r) * ln(c / r)` over bins/categories, proportions floored at
//!   [`PSI_EPSILON`] = `1e-4`.
//! * Jensen-Shannon *divergence* in base 2 (not the distance), no floor, `0 * log 0 = 0`.
//! * Two-sample KS statistic `D`; its p-value is the limiting Kolmogorov distribution
//!   `Q(D * sqrt(m n / (m + n)))` (scipy `kstwobign.sf`).
//! * 1-Wasserstein distance of the empirical distributions, normalised by
//!   `max(std_ddof0(reference), 0.001)` (Evidently's convention).
//! * Categorical: L-infinity of proportions, PSI and JS over the sorted union of categories,
//!   chi-square test of homogeneity on the 2 x k table (no continuity correction).
//! * Wilson 95% score interval, Benjamini-Hochberg adjusted p-values.

use std::collections::BTreeMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Floor applied to each bin / category proportion before computing PSI (the README's
/// documented epsilon). A proportion `p` becomes `max(p, 1e-4)`.
pub const PSI_EPSILON: f64 = 1e-4;

/// Floor applied to the reference standard deviation when normalising the Wasserstein
/// distance (Evidently's convention), so a constant reference does not divide by zero.
pub const WASSERSTEIN_STD_FLOOR: f64 = 0.001;

/// The quantile levels whose reference values are the interior PSI cut points.
pub const PSI_QUANTILES: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Two-sided 95% normal critical value used by [`wilson_interval`].
pub const Z_95: f64 = 1.959963984540054;

/// Hard bound on the number of terms of any series evaluated here.
const MAX_SERIES_TERMS: usize = 200;

/// Below this argument scipy (cephes `kolmogorov`) evaluates the CDF with the dual
/// (Jacobi theta) series and returns `sf = 1 - cdf`; above it, the alternating series for the
/// survival function. We use the same cut-over so both sides agree to rounding.
const KOLMOGOROV_CUTOVER: f64 = 0.82;

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// Neumaier (improved Kahan) compensated sum; keeps means/std/integrals within a few ulps of
/// the exact value regardless of summation order.
fn compensated_sum<I: IntoIterator<Item = f64>>(values: I) -> f64 {
    let mut sum = 0.0_f64;
    let mut comp = 0.0_f64;
    for v in values {
        let t = sum + v;
        if sum.abs() >= v.abs() {
            comp += (sum - t) + v;
        } else {
            comp += (v - t) + sum;
        }
        sum = t;
    }
    sum + comp
}

/// The finite values of `sample`, sorted ascending.
fn sorted_finite(sample: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = sample.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// `count / total` as f64 (`NaN` when `total == 0`).
fn proportion(count: u64, total: u64) -> f64 {
    count as f64 / total as f64
}

/// Number of values in `sample` that are `NaN` or infinite (and therefore ignored by the
/// functions of this module).
pub fn count_non_finite(sample: &[f64]) -> usize {
    sample.iter().filter(|x| !x.is_finite()).count()
}

// ---------------------------------------------------------------------------------------------
// Moments and quantiles
// ---------------------------------------------------------------------------------------------

/// Arithmetic mean of the finite values of `sample`; `NaN` if there are none.
pub fn mean(sample: &[f64]) -> f64 {
    let n = sample.iter().filter(|x| x.is_finite()).count();
    if n == 0 {
        return f64::NAN;
    }
    compensated_sum(sample.iter().copied().filter(|x| x.is_finite())) / n as f64
}

/// Population standard deviation (`ddof = 0`, numpy's default) of the finite values of
/// `sample`, computed in two passes like numpy; `NaN` if there are none, `0.0` for one value.
pub fn std_ddof0(sample: &[f64]) -> f64 {
    let n = sample.iter().filter(|x| x.is_finite()).count();
    if n == 0 {
        return f64::NAN;
    }
    let m = mean(sample);
    let ss = compensated_sum(
        sample
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .map(|x| (x - m) * (x - m)),
    );
    (ss / n as f64).sqrt()
}

/// Quantile `q` (in `[0, 1]`) of an **already sorted** slice, numpy `method="linear"`
/// (type 7): virtual index `h = (n - 1) q`, interpolated between the neighbouring order
/// statistics with numpy's monotone `lerp` (so results match numpy bit for bit on finite data).
///
/// Returns `NaN` for an empty slice or a `q` outside `[0, 1]` (including `NaN`). The slice is
/// not checked for sortedness or finiteness (garbage in, garbage out, but no panic).
pub fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let last = n - 1;
    let virtual_index = last as f64 * q;
    if virtual_index >= last as f64 {
        return sorted[last];
    }
    let lower = virtual_index.floor();
    // 0 <= lower < last, so both indices are in bounds.
    let i = (lower as usize).min(last.saturating_sub(1));
    let gamma = virtual_index - lower;
    let a = sorted[i];
    let b = sorted[(i + 1).min(last)];
    if gamma == 0.0 {
        return a;
    }
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Location and spread of one sample: count, mean, `ddof = 0` standard deviation and the
/// 1st / 50th / 99th linear quantiles, all over the finite values.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericSummary {
    /// Number of finite values summarised.
    pub n: u64,
    /// Number of ignored values (`NaN` / infinite).
    pub non_finite: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (`ddof = 0`).
    pub std: f64,
    /// 1st percentile (numpy linear).
    pub p01: f64,
    /// Median (numpy linear).
    pub p50: f64,
    /// 99th percentile (numpy linear).
    pub p99: f64,
}

/// Summarise one sample; `None` when it has no finite value.
pub fn summary(sample: &[f64]) -> Option<NumericSummary> {
    let sorted = sorted_finite(sample);
    summary_sorted(&sorted, count_non_finite(sample))
}

fn summary_sorted(sorted: &[f64], non_finite: usize) -> Option<NumericSummary> {
    if sorted.is_empty() {
        return None;
    }
    Some(NumericSummary {
        n: sorted.len() as u64,
        non_finite: non_finite as u64,
        mean: mean(sorted),
        std: std_ddof0(sorted),
        p01: quantile_linear(sorted, 0.01),
        p50: quantile_linear(sorted, 0.5),
        p99: quantile_linear(sorted, 0.99),
    })
}

// ---------------------------------------------------------------------------------------------
// Binning, PSI, Jensen-Shannon
// ---------------------------------------------------------------------------------------------

/// Interior PSI cut points of `reference`: its linear quantiles at 0.1, 0.2, ..., 0.9, sorted,
/// exact duplicates removed (numpy `unique`). Between 0 and 9 edges, i.e. 1 to 10 bins.
/// Non-finite values are ignored; an empty reference gives no edges (a single bin).
pub fn psi_bin_edges(reference: &[f64]) -> Vec<f64> {
    edges_from_sorted(&sorted_finite(reference))
}

fn edges_from_sorted(sorted: &[f64]) -> Vec<f64> {
    if sorted.is_empty() {
        return Vec::new();
    }
    let mut edges: Vec<f64> = PSI_QUANTILES
        .iter()
        .map(|&q| quantile_linear(sorted, q))
        .collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// Count the finite values of `sample` per bin, with bins closed on the left:
/// `(-inf, e1), [e1, e2), ..., [ek, +inf)` (numpy `searchsorted(edges, v, side="right")`).
/// Returns `edges.len() + 1` counts. `edges` must be sorted ascending (as returned by
/// [`psi_bin_edges`]).
pub fn bin_counts(sample: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut counts = vec![0_u64; edges.len() + 1];
    for &v in sample.iter().filter(|x| x.is_finite()) {
        let idx = edges.partition_point(|&e| e <= v);
        if let Some(c) = counts.get_mut(idx) {
            *c += 1;
        }
    }
    counts
}

/// Population Stability Index of two aligned count vectors (bins or categories):
/// `sum (c - r) * ln(c / r)`, where `r = ref_counts[i] / sum(ref_counts)` and
/// `c = cur_counts[i] / sum(cur_counts)`, each floored at [`PSI_EPSILON`] (`max(p, 1e-4)`).
///
/// Symmetric in its two arguments and `>= 0`. Returns `NaN` if the vectors have different
/// lengths or either total is zero (which includes two empty vectors).
pub fn psi(ref_counts: &[u64], cur_counts: &[u64]) -> f64 {
    let (Some(rt), Some(ct)) = (checked_total(ref_counts), checked_total(cur_counts)) else {
        return f64::NAN;
    };
    if ref_counts.len() != cur_counts.len() || rt == 0 || ct == 0 {
        return f64::NAN;
    }
    compensated_sum(ref_counts.iter().zip(cur_counts).map(|(&r, &c)| {
        let r = proportion(r, rt).max(PSI_EPSILON);
        let c = proportion(c, ct).max(PSI_EPSILON);
        (c - r) * (c / r).ln()
    }))
}

/// Jensen-Shannon **divergence** in base 2 of the proportions of two aligned count vectors
/// (no floor; `0 * log 0 = 0`): `JS = (KL(P || M) + KL(Q || M)) / 2` with `M = (P + Q) / 2`,
/// computed like scipy's `jensenshannon(p, q, base=2) ** 2`. In `[0, 1]`; the JS *distance* is
/// its square root. Returns `NaN` if the lengths differ or either total is zero.
pub fn js_divergence_base2(ref_counts: &[u64], cur_counts: &[u64]) -> f64 {
    let (Some(rt), Some(ct)) = (checked_total(ref_counts), checked_total(cur_counts)) else {
        return f64::NAN;
    };
    if ref_counts.len() != cur_counts.len() || rt == 0 || ct == 0 {
        return f64::NAN;
    }
    fn rel_entr(x: f64, y: f64) -> f64 {
        if x > 0.0 && y > 0.0 {
            x * (x / y).ln()
        } else {
            0.0
        }
    }
    let mut left = Vec::with_capacity(ref_counts.len());
    let mut right = Vec::with_capacity(ref_counts.len());
    for (&r, &c) in ref_counts.iter().zip(cur_counts) {
        let p = proportion(r, rt);
        let q = proportion(c, ct);
        let m = (p + q) / 2.0;
        left.push(rel_entr(p, m));
        right.push(rel_entr(q, m));
    }
    let js = (compensated_sum(left) + compensated_sum(right)) / std::f64::consts::LN_2 / 2.0;
    js.clamp(0.0, 1.0)
}

/// Sum of counts, `None` on (absurd) u64 overflow.
fn checked_total(counts: &[u64]) -> Option<u64> {
    counts.iter().try_fold(0_u64, |acc, &c| acc.checked_add(c))
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov-Smirnov
// ---------------------------------------------------------------------------------------------

/// Walk the merged support of two sorted samples. At every distinct value `x` (in increasing
/// order) calls `f(x, next, F(x), G(x))`, where `F`, `G` are the right-continuous empirical
/// CDFs (`count(<= x) / n`, computed as `i as f64 / n as f64` like scipy) and `next` is the
/// next distinct value of the merged support (`None` at the last one).
/// Every iteration consumes at least one element, so the loop is bounded by `a.len() + b.len()`.
fn walk_merged(a: &[f64], b: &[f64], mut f: impl FnMut(f64, Option<f64>, f64, f64)) {
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0_usize, 0_usize);
    loop {
        let x = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => break,
        };
        let (i0, j0) = (i, j);
        while a.get(i).is_some_and(|&u| u <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
        if i == i0 && j == j0 {
            // Only possible with unordered input (e.g. NaN); never loop forever.
            i += 1;
        }
        let next = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => Some(u.min(v)),
            (Some(&u), None) => Some(u),
            (None, Some(&v)) => Some(v),
            (None, None) => None,
        };
        f(x, next, i as f64 / na, j as f64 / nb);
    }
}

/// Two-sample Kolmogorov-Smirnov statistic `D = sup |F_ref(x) - F_cur(x)|` over the finite
/// values (exactly scipy `ks_2samp(...).statistic`). `NaN` if either sample is empty; `0.0`
/// for identical samples.
pub fn ks_statistic(reference: &[f64], current: &[f64]) -> f64 {
    ks_statistic_sorted(&sorted_finite(reference), &sorted_finite(current))
}

fn ks_statistic_sorted(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let mut d = 0.0_f64;
    walk_merged(a, b, |_, _, f, g| d = d.max((f - g).abs()));
    d
}

/// Survival function of the limiting Kolmogorov distribution (scipy `kstwobign.sf`):
/// `Q(x) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 x^2)`.
///
/// For `x <= 0.82` the alternating series converges slowly, so (like scipy/cephes) the CDF is
/// evaluated with the dual series `sqrt(2 pi) / x * sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 x^2))`
/// and `Q = 1 - CDF`. Returns `1.0` for `x <= 0`, `0.0` for `x = +inf`, `NaN` for `NaN`.
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    if x <= KOLMOGOROV_CUTOVER {
        let a = -std::f64::consts::PI * std::f64::consts::PI / (8.0 * x * x);
        let mut sum = 0.0_f64;
        for k in 1..=MAX_SERIES_TERMS {
            let odd = (2 * k - 1) as f64;
            let term = (odd * odd * a).exp();
            sum += term;
            if term <= sum * 1e-17 || term == 0.0 {
                break;
            }
        }
        let cdf = (2.0 * std::f64::consts::PI).sqrt() / x * sum;
        (1.0 - cdf).clamp(0.0, 1.0)
    } else {
        let a = -2.0 * x * x;
        // Terms are alternating and decreasing in magnitude; sum from the largest down and
        // stop when the next term no longer changes the result.
        let mut sum = 0.0_f64;
        for k in 1..=MAX_SERIES_TERMS {
            let kf = k as f64;
            let term = (kf * kf * a).exp();
            if term == 0.0 || (k > 1 && term <= sum.abs() * 1e-17) {
                break;
            }
            if k % 2 == 1 {
                sum += term;
            } else {
                sum -= term;
            }
        }
        (2.0 * sum).clamp(0.0, 1.0)
    }
}

/// Asymptotic two-sided KS p-value: [`kolmogorov_sf`]`(d * sqrt(m n / (m + n)))` (the README's
/// `ks_pvalue_kolmogorov_asymptotic`). Exactly `1.0` for `d = 0`. `NaN` if `m` or `n` is zero
/// or `d` is `NaN`.
pub fn ks_pvalue_asymptotic(d: f64, m: u64, n: u64) -> f64 {
    if m == 0 || n == 0 || d.is_nan() {
        return f64::NAN;
    }
    let en = (m as u128 * n as u128) as f64 / (m as u128 + n as u128) as f64;
    kolmogorov_sf(d * en.sqrt())
}

// ---------------------------------------------------------------------------------------------
// Wasserstein
// ---------------------------------------------------------------------------------------------

/// 1-Wasserstein (earth mover's) distance between the empirical distributions of the finite
/// values of the two samples, computed exactly as `integral |F_ref - F_cur| dx` over the merged
/// sorted support (scipy `wasserstein_distance` with unit weights). `NaN` if either is empty.
pub fn wasserstein(reference: &[f64], current: &[f64]) -> f64 {
    wasserstein_sorted(&sorted_finite(reference), &sorted_finite(current))
}

fn wasserstein_sorted(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let mut terms = Vec::with_capacity(a.len() + b.len());
    walk_merged(a, b, |x, next, f, g| {
        if let Some(next) = next {
            terms.push((f - g).abs() * (next - x));
        }
    });
    compensated_sum(terms)
}

/// [`wasserstein`] divided by `max(std_ddof0(reference), 0.001)` (Evidently's convention):
/// a scale-free distance in "reference standard deviations". `NaN` if either sample is empty.
pub fn wasserstein_normalized(reference: &[f64], current: &[f64]) -> f64 {
    wasserstein(reference, current) / std_ddof0(reference).max(WASSERSTEIN_STD_FLOOR)
}

// ---------------------------------------------------------------------------------------------
// Numeric aggregate
// ---------------------------------------------------------------------------------------------

/// All distribution statistics of one numeric feature pair (reference vs current).
#[derive(Debug, Clone, PartialEq)]
pub struct NumericDistribution {
    /// Summary of the reference sample.
    pub reference: NumericSummary,
    /// Summary of the current sample.
    pub current: NumericSummary,
    /// Interior PSI cut points (reference deciles, deduplicated).
    pub bin_edges: Vec<f64>,
    /// Reference counts per bin (`bin_edges.len() + 1` entries).
    pub reference_bin_counts: Vec<u64>,
    /// Current counts per bin (`bin_edges.len() + 1` entries).
    pub current_bin_counts: Vec<u64>,
    /// Population Stability Index over the bins (1e-4 floor).
    pub psi: f64,
    /// Jensen-Shannon divergence, base 2, over the bins.
    pub js_divergence_base2: f64,
    /// Two-sample KS statistic.
    pub ks_statistic: f64,
    /// Asymptotic Kolmogorov p-value of `ks_statistic`.
    pub ks_pvalue: f64,
    /// 1-Wasserstein distance.
    pub wasserstein: f64,
    /// Wasserstein / max(reference std, 0.001).
    pub wasserstein_normalized: f64,
}

/// Compute every numeric distribution statistic in one pass (each sample is sorted once).
/// Non-finite values are ignored (and counted in the summaries). `None` when either sample has
/// no finite value.
pub fn numeric(reference: &[f64], current: &[f64]) -> Option<NumericDistribution> {
    let a = sorted_finite(reference);
    let b = sorted_finite(current);
    let ref_summary = summary_sorted(&a, count_non_finite(reference))?;
    let cur_summary = summary_sorted(&b, count_non_finite(current))?;
    let bin_edges = edges_from_sorted(&a);
    let reference_bin_counts = bin_counts(&a, &bin_edges);
    let current_bin_counts = bin_counts(&b, &bin_edges);
    let ks = ks_statistic_sorted(&a, &b);
    let w = wasserstein_sorted(&a, &b);
    Some(NumericDistribution {
        psi: psi(&reference_bin_counts, &current_bin_counts),
        js_divergence_base2: js_divergence_base2(&reference_bin_counts, &current_bin_counts),
        ks_statistic: ks,
        ks_pvalue: ks_pvalue_asymptotic(ks, a.len() as u64, b.len() as u64),
        wasserstein: w,
        wasserstein_normalized: w / ref_summary.std.max(WASSERSTEIN_STD_FLOOR),
        reference: ref_summary,
        current: cur_summary,
        bin_edges,
        reference_bin_counts,
        current_bin_counts,
    })
}

// ---------------------------------------------------------------------------------------------
// Categorical
// ---------------------------------------------------------------------------------------------

/// Count occurrences of each category (sorted by byte order, which for UTF-8 equals code-point
/// order, i.e. Python's `sorted`).
pub fn category_counts<S: AsRef<str>>(values: &[S]) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for v in values {
        let v = v.as_ref();
        match counts.get_mut(v) {
            Some(c) => *c += 1,
            None => {
                counts.insert(v.to_owned(), 1);
            }
        }
    }
    counts
}

/// Align two count maps on the sorted union of their categories. Categories whose count is
/// zero on both sides are dropped. Returns `(categories, ref_counts, cur_counts)`.
pub fn align_categories(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
) -> (Vec<String>, Vec<u64>, Vec<u64>) {
    let mut union: Vec<&String> = reference.keys().chain(current.keys()).collect();
    union.sort();
    union.dedup();
    let mut cats = Vec::with_capacity(union.len());
    let mut rc = Vec::with_capacity(union.len());
    let mut cc = Vec::with_capacity(union.len());
    for k in union {
        let r = reference.get(k).copied().unwrap_or(0);
        let c = current.get(k).copied().unwrap_or(0);
        if r == 0 && c == 0 {
            continue;
        }
        cats.push(k.clone());
        rc.push(r);
        cc.push(c);
    }
    (cats, rc, cc)
}

/// L-infinity distance of the proportions of two aligned count vectors,
/// `max_i |p_ref,i - p_cur,i|` (TFDV's convention). `NaN` if the lengths differ or either total
/// is zero; `0.0` for two identical distributions.
pub fn l_infinity(ref_counts: &[u64], cur_counts: &[u64]) -> f64 {
    let (Some(rt), Some(ct)) = (checked_total(ref_counts), checked_total(cur_counts)) else {
        return f64::NAN;
    };
    if ref_counts.len() != cur_counts.len() || rt == 0 || ct == 0 {
        return f64::NAN;
    }
    ref_counts
        .iter()
        .zip(cur_counts)
        .map(|(&r, &c)| (proportion(r, rt) - proportion(c, ct)).abs())
        .fold(0.0, f64::max)
}

/// Pearson chi-square test of homogeneity on the 2 x k contingency table whose rows are the two
/// aligned count vectors (scipy `chi2_contingency(..., correction=False)`).
///
/// Columns (categories) with a zero total are dropped first; `k` is the number that remain and
/// `dof = k - 1`; the p-value is the chi-square survival function (statrs). Returns
/// `(statistic, dof, pvalue)`:
/// * `k < 2` (nothing to compare) → `(0.0, 0, 1.0)`;
/// * lengths differ or a row total is zero (the test is undefined) → `(NaN, 0, NaN)`.
pub fn chi2_homogeneity(ref_counts: &[u64], cur_counts: &[u64]) -> (f64, u64, f64) {
    const UNDEFINED: (f64, u64, f64) = (f64::NAN, 0, f64::NAN);
    if ref_counts.len() != cur_counts.len() {
        return UNDEFINED;
    }
    let cols: Vec<(u64, u64)> = ref_counts
        .iter()
        .zip(cur_counts)
        .map(|(&r, &c)| (r, c))
        .filter(|&(r, c)| r > 0 || c > 0)
        .collect();
    if cols.len() < 2 {
        return (0.0, 0, 1.0);
    }
    let rows = [
        cols.iter().map(|c| c.0 as u128).sum::<u128>(),
        cols.iter().map(|c| c.1 as u128).sum::<u128>(),
    ];
    if rows[0] == 0 || rows[1] == 0 {
        return UNDEFINED;
    }
    let total = (rows[0] + rows[1]) as f64;
    let mut terms = Vec::with_capacity(2 * cols.len());
    for &(r, c) in &cols {
        let col = r as u128 + c as u128;
        for (obs, row) in [(r, rows[0]), (c, rows[1])] {
            let expected = (row * col) as f64 / total;
            let d = obs as f64 - expected;
            terms.push(d * d / expected);
        }
    }
    let stat = compensated_sum(terms);
    let dof = (cols.len() - 1) as u64;
    let p = match ChiSquared::new(dof as f64) {
        Ok(dist) if stat.is_finite() => dist.sf(stat),
        _ => f64::NAN,
    };
    (stat, dof, p)
}

/// All distribution statistics of one categorical feature pair.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalDistribution {
    /// Sorted union of the categories seen (with a non-zero count) on either side.
    pub categories: Vec<String>,
    /// Reference counts, aligned with `categories`.
    pub reference_counts: Vec<u64>,
    /// Current counts, aligned with `categories`.
    pub current_counts: Vec<u64>,
    /// Total reference count.
    pub n_reference: u64,
    /// Total current count.
    pub n_current: u64,
    /// max |p_ref - p_cur|.
    pub l_infinity: f64,
    /// PSI over categories (1e-4 floor).
    pub psi: f64,
    /// Jensen-Shannon divergence, base 2, over categories.
    pub js_divergence_base2: f64,
    /// Chi-square homogeneity statistic.
    pub chi2_statistic: f64,
    /// Its degrees of freedom (`k - 1`).
    pub chi2_dof: u64,
    /// Its p-value.
    pub chi2_pvalue: f64,
}

/// Categorical statistics from raw values. `None` when either side is empty.
pub fn categorical<R: AsRef<str>, C: AsRef<str>>(
    reference: &[R],
    current: &[C],
) -> Option<CategoricalDistribution> {
    categorical_from_counts(&category_counts(reference), &category_counts(current))
}

/// Categorical statistics from count maps. `None` when either side's total count is zero.
pub fn categorical_from_counts(
    reference: &BTreeMap<String, u64>,
    current: &BTreeMap<String, u64>,
) -> Option<CategoricalDistribution> {
    let (categories, rc, cc) = align_categories(reference, current);
    let n_reference = checked_total(&rc)?;
    let n_current = checked_total(&cc)?;
    if n_reference == 0 || n_current == 0 {
        return None;
    }
    let (chi2_statistic, chi2_dof, chi2_pvalue) = chi2_homogeneity(&rc, &cc);
    Some(CategoricalDistribution {
        l_infinity: l_infinity(&rc, &cc),
        psi: psi(&rc, &cc),
        js_divergence_base2: js_divergence_base2(&rc, &cc),
        chi2_statistic,
        chi2_dof,
        chi2_pvalue,
        categories,
        reference_counts: rc,
        current_counts: cc,
        n_reference,
        n_current,
    })
}

// ---------------------------------------------------------------------------------------------
// Intervals and multiple testing
// ---------------------------------------------------------------------------------------------

/// 95% Wilson score interval for `k` successes out of `n` trials (z = 1.959963984540054),
/// clamped to `[0, 1]`; the lower bound is exactly `0` when `k = 0` and the upper exactly `1`
/// when `k = n`. `n = 0` → `(0.0, 1.0)` (no information); `k > n` → `(NaN, NaN)`.
pub fn wilson_interval(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    if k > n {
        return (f64::NAN, f64::NAN);
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = Z_95 * Z_95;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = Z_95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let lo = if k == 0 {
        0.0
    } else {
        (center - half).clamp(0.0, 1.0)
    };
    let hi = if k == n {
        1.0
    } else {
        (center + half).clamp(0.0, 1.0)
    };
    (lo, hi)
}

/// Benjamini-Hochberg adjusted p-values (scipy `false_discovery_control(ps, method="bh")`),
/// in the input order: sort ascending, `p_(i) * (m / i)`, running minimum from the largest
/// rank down, capped at 1.
///
/// `NaN` inputs are returned as `NaN` and do not count towards `m`; values are otherwise used
/// as given (callers pass p-values in `[0, 1]`). Empty input → empty output.
pub fn benjamini_hochberg(pvalues: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; pvalues.len()];
    let mut order: Vec<usize> = (0..pvalues.len())
        .filter(|&i| !pvalues[i].is_nan())
        .collect();
    order.sort_by(|&i, &j| pvalues[i].total_cmp(&pvalues[j]));
    let m = order.len() as f64;
    let mut running = f64::INFINITY;
    for (rank0, &idx) in order.iter().enumerate().rev() {
        let adjusted = pvalues[idx] * (m / (rank0 + 1) as f64);
        running = running.min(adjusted);
        out[idx] = running.clamp(0.0, 1.0);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Unit tests: edge cases (vectors and properties live in tests/it/stats.rs)
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_samples_do_not_panic() {
        let e: [f64; 0] = [];
        assert!(mean(&e).is_nan());
        assert!(std_ddof0(&e).is_nan());
        assert!(quantile_linear(&e, 0.5).is_nan());
        assert!(psi_bin_edges(&e).is_empty());
        assert_eq!(bin_counts(&e, &[1.0, 2.0]), vec![0, 0, 0]);
        assert!(psi(&[0, 0], &[1, 2]).is_nan());
        assert!(js_divergence_base2(&[], &[]).is_nan());
        assert!(ks_statistic(&e, &[1.0]).is_nan());
        assert!(ks_pvalue_asymptotic(0.5, 0, 3).is_nan());
        assert!(wasserstein(&[1.0], &e).is_nan());
        assert!(wasserstein_normalized(&e, &e).is_nan());
        assert!(summary(&e).is_none());
        assert!(numeric(&e, &[1.0]).is_none());
        assert!(numeric(&[1.0], &e).is_none());
        let none: [&str; 0] = [];
        assert!(categorical(&none, &["a"]).is_none());
        assert!(categorical(&["a"], &none).is_none());
        assert!(l_infinity(&[], &[]).is_nan());
        assert_eq!(chi2_homogeneity(&[], &[]), (0.0, 0, 1.0));
        assert!(benjamini_hochberg(&[]).is_empty());
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let x = [1.0, f64::NAN, 2.0, f64::INFINITY, 3.0, f64::NEG_INFINITY];
        assert_eq!(count_non_finite(&x), 3);
        assert_eq!(mean(&x), 2.0);
        let s = summary(&x).expect("summary");
        assert_eq!((s.n, s.non_finite, s.p50), (3, 3, 2.0));
        assert_eq!(ks_statistic(&x, &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(wasserstein(&x, &[1.0, 2.0, 3.0]), 0.0);
        assert!(numeric(&[f64::NAN], &[1.0]).is_none());
        let d = numeric(&x, &[f64::NAN, 5.0]).expect("numeric");
        assert_eq!(d.current.non_finite, 1);
        assert_eq!(d.ks_statistic, 1.0);
        // Unsorted/NaN input to the raw quantile and KS functions must not hang or panic.
        let _ = quantile_linear(&[f64::NAN, 1.0, f64::NAN], 0.3);
        assert!(kolmogorov_sf(f64::NAN).is_nan());
        assert!(ks_pvalue_asymptotic(f64::NAN, 3, 3).is_nan());
        let bh = benjamini_hochberg(&[0.01, f64::NAN, 0.04]);
        assert!(bh[1].is_nan());
        assert_eq!(bh[0], 0.02);
        assert_eq!(bh[2], 0.04);
    }

    #[test]
    fn one_value() {
        let d = numeric(&[3.0], &[3.0]).expect("numeric");
        assert_eq!(d.bin_edges, vec![3.0]);
        assert_eq!(d.reference_bin_counts, vec![0, 1]);
        assert_eq!(d.psi, 0.0);
        assert_eq!(d.js_divergence_base2, 0.0);
        assert_eq!(d.ks_statistic, 0.0);
        assert_eq!(d.ks_pvalue, 1.0);
        assert_eq!(d.wasserstein, 0.0);
        assert_eq!(d.reference.std, 0.0);
        let d = numeric(&[3.0], &[5.0]).expect("numeric");
        assert_eq!(d.ks_statistic, 1.0);
        assert_eq!(d.wasserstein, 2.0);
        assert_eq!(d.wasserstein_normalized, 2000.0);
        assert_eq!(quantile_linear(&[7.0], 0.0), 7.0);
        assert_eq!(quantile_linear(&[7.0], 1.0), 7.0);
    }

    #[test]
    fn all_equal_samples_d_zero_p_one() {
        let a = vec![1.5; 1000];
        let b = vec![1.5; 700];
        let d = numeric(&a, &b).expect("numeric");
        assert_eq!(d.ks_statistic, 0.0);
        assert_eq!(d.ks_pvalue, 1.0);
        assert_eq!(d.wasserstein, 0.0);
        assert_eq!(d.wasserstein_normalized, 0.0);
        assert_eq!(d.psi, 0.0);
        assert_eq!(d.bin_edges, vec![1.5]);
        assert_eq!(kolmogorov_sf(0.0), 1.0);
        assert_eq!(kolmogorov_sf(1e-300), 1.0);
        assert_eq!(kolmogorov_sf(f64::INFINITY), 0.0);
        assert_eq!(kolmogorov_sf(100.0), 0.0);
    }

    #[test]
    fn constant_reference_uses_std_floor() {
        let a = vec![2.0; 10];
        let b = vec![2.5; 10];
        assert_eq!(std_ddof0(&a), 0.0);
        assert_eq!(wasserstein(&a, &b), 0.5);
        assert_eq!(wasserstein_normalized(&a, &b), 500.0);
    }

    #[test]
    fn kolmogorov_known_values() {
        // The defining series summed in 40-digit arithmetic (mpmath).
        let cases = [
            (0.05, 1.0),
            (0.2, 0.999_999_999_999_495),
            (0.3, 0.999_990_694_198_665_4),
            (0.5, 0.963_945_243_664_875_1),
            (0.82, 0.511_971_705_298_497_3),
            (1.0, 0.269_999_671_677_354_5),
            (1.36, 0.049_485_876_755_377_88),
        ];
        for (x, want) in cases {
            let got = kolmogorov_sf(x);
            assert!(((got - want) / want).abs() < 1e-9, "x={x}: {got} vs {want}");
        }
        // Continuity across the series cut-over.
        let lo = kolmogorov_sf(KOLMOGOROV_CUTOVER);
        let hi = kolmogorov_sf(KOLMOGOROV_CUTOVER + 1e-12);
        assert!((lo - hi).abs() < 1e-11);
    }

    #[test]
    fn chi2_degenerate_tables() {
        assert_eq!(chi2_homogeneity(&[5], &[7]), (0.0, 0, 1.0));
        assert_eq!(chi2_homogeneity(&[5, 0], &[7, 0]), (0.0, 0, 1.0));
        let (s, dof, p) = chi2_homogeneity(&[5, 0, 5], &[10, 0, 10]);
        assert_eq!(dof, 1);
        assert!(s.abs() < 1e-12);
        assert!((p - 1.0).abs() < 1e-12);
        let (s, _, p) = chi2_homogeneity(&[0, 0], &[3, 4]);
        assert!(s.is_nan() && p.is_nan());
        let (s, _, _) = chi2_homogeneity(&[1, 2], &[1]);
        assert!(s.is_nan());
    }

    #[test]
    fn wilson_edges() {
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
        let (lo, hi) = wilson_interval(7, 3);
        assert!(lo.is_nan() && hi.is_nan());
        let (lo, hi) = wilson_interval(1, 1);
        assert!(lo > 0.0 && hi == 1.0);
    }

    #[test]
    fn categorical_drops_zero_categories() {
        let r: BTreeMap<String, u64> = [("a".to_string(), 3), ("z".to_string(), 0)].into();
        let c: BTreeMap<String, u64> = [("a".to_string(), 1), ("b".to_string(), 1)].into();
        let d = categorical_from_counts(&r, &c).expect("categorical");
        assert_eq!(d.categories, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(d.reference_counts, vec![3, 0]);
        assert_eq!(d.current_counts, vec![1, 1]);
        assert_eq!(d.chi2_dof, 1);
        assert_eq!(d.l_infinity, 0.5);
    }
}
