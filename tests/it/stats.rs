//! Distribution statistics (`compare::stats`): every field of every case of the scipy/numpy
//! reference vectors in `../shared/testvectors/` (tolerances from its README), property tests
//! against slow, obviously-correct references, and edge cases.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::Value;
use skewaudit::compare::stats::{self, *};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testvectors");

/// README default tolerance: 1e-9 relative, 1e-300 absolute.
const REL: f64 = 1e-9;
/// README note: the Kolmogorov asymptotic p-value is compared at 1e-6 relative.
const REL_KS_P: f64 = 1e-6;
const ABS: f64 = 1e-300;

fn load(name: &str) -> Value {
    let path = format!("{VECTORS}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn f64s(v: &Value, what: &str) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        .map(|x| {
            x.as_f64()
                .unwrap_or_else(|| panic!("{what}: not a number: {x}"))
        })
        .collect()
}

fn u64s(v: &Value, what: &str) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        .map(|x| {
            x.as_u64()
                .unwrap_or_else(|| panic!("{what}: not a count: {x}"))
        })
        .collect()
}

fn strs(v: &Value, what: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        .map(|x| {
            x.as_str()
                .unwrap_or_else(|| panic!("{what}: not a string: {x}"))
                .to_owned()
        })
        .collect()
}

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {v}"))
}

/// Counts the scalar comparisons made and records which `case.field`s were compared, so the
/// test cannot pass vacuously or skip a field.
#[derive(Default)]
struct Checker {
    scalars: usize,
    fields: BTreeSet<String>,
}

impl Checker {
    fn record(&mut self, what: &str) {
        self.scalars += 1;
        let field = what.split(['[', ' ']).next().unwrap_or(what);
        self.fields.insert(field.to_owned());
    }

    /// Every `case.key` of the file was compared at least once.
    fn assert_covered(&self, case: &str, expected: &Value) {
        let exp = expected
            .as_object()
            .unwrap_or_else(|| panic!("{case}: expected not an object"));
        for key in exp.keys() {
            let field = format!("{case}.{key}");
            assert!(self.fields.contains(&field), "{field} was never compared");
        }
    }

    fn close(&mut self, what: &str, got: f64, want: f64, rel: f64) {
        self.record(what);
        let ok = got == want || (got - want).abs() <= (rel * want.abs()).max(ABS);
        assert!(ok, "{what}: got {got:e}, want {want:e} (rel tol {rel:e})");
    }

    fn close_all(&mut self, what: &str, got: &[f64], want: &[f64], rel: f64) {
        assert_eq!(got.len(), want.len(), "{what}: length {got:?} vs {want:?}");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            self.close(&format!("{what}[{i}]"), g, w, rel);
        }
    }

    fn exact<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        self.record(what);
        assert_eq!(got, want, "{what}");
    }
}

const NUMERIC_KEYS: [&str; 15] = [
    "psi_bin_edges",
    "reference_bin_counts",
    "current_bin_counts",
    "psi",
    "js_divergence_base2",
    "ks_statistic",
    "ks_pvalue_kolmogorov_asymptotic",
    "ks_pvalue_scipy_asymp",
    "wasserstein",
    "wasserstein_normalized",
    "mean_reference",
    "mean_current",
    "std_reference_ddof0",
    "std_current_ddof0",
    "quantiles_reference_p01_p50_p99",
];

const CATEGORICAL_KEYS: [&str; 7] = [
    "categories",
    "l_infinity",
    "js_divergence_base2",
    "psi",
    "chi2_statistic",
    "chi2_dof",
    "chi2_pvalue",
];

/// Fails on any expected key this test does not know how to check.
fn assert_known_keys(name: &str, expected: &serde_json::Map<String, Value>, known: &[&str]) {
    let known: BTreeSet<&str> = known.iter().copied().collect();
    let have: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(
        have, known,
        "{name}: expected keys differ from the ones this test checks"
    );
}

fn check_numeric_case(c: &mut Checker, name: &str, reference: &[f64], current: &[f64], e: &Value) {
    let exp = e
        .as_object()
        .unwrap_or_else(|| panic!("{name}: expected not an object"));
    assert_known_keys(name, exp, &NUMERIC_KEYS);
    let g = |k: &str| &exp[k];
    let w = |k: &str| num(&exp[k], &format!("{name}.{k}"));
    let n = |k: &str| format!("{name}.{k}");

    // Individual functions.
    let edges = psi_bin_edges(reference);
    c.close_all(
        &n("psi_bin_edges"),
        &edges,
        &f64s(g("psi_bin_edges"), name),
        REL,
    );
    let rc = bin_counts(reference, &edges);
    let cc = bin_counts(current, &edges);
    c.exact(
        &n("reference_bin_counts"),
        &rc,
        &u64s(g("reference_bin_counts"), name),
    );
    c.exact(
        &n("current_bin_counts"),
        &cc,
        &u64s(g("current_bin_counts"), name),
    );
    c.close(&n("psi"), stats::psi(&rc, &cc), w("psi"), REL);
    c.close(
        &n("js_divergence_base2"),
        js_divergence_base2(&rc, &cc),
        w("js_divergence_base2"),
        REL,
    );
    let d = ks_statistic(reference, current);
    c.close(&n("ks_statistic"), d, w("ks_statistic"), REL);
    let (m_, n_) = (reference.len() as u64, current.len() as u64);
    let p = ks_pvalue_asymptotic(d, m_, n_);
    c.close(
        &n("ks_pvalue_kolmogorov_asymptotic"),
        p,
        w("ks_pvalue_kolmogorov_asymptotic"),
        REL_KS_P,
    );
    // `ks_pvalue_scipy_asymp` is scipy's finite-n `kstwo.sf(D, round(en))`, "for information
    // only" per the README: skewaudit does not implement it, so only check it is a probability
    // (the field is still accounted for, so a new key in the file cannot go unnoticed).
    let scipy_p = w("ks_pvalue_scipy_asymp");
    c.exact(
        &n("ks_pvalue_scipy_asymp"),
        (0.0..=1.0).contains(&scipy_p),
        true,
    );
    c.close(
        &n("wasserstein"),
        wasserstein(reference, current),
        w("wasserstein"),
        REL,
    );
    c.close(
        &n("wasserstein_normalized"),
        wasserstein_normalized(reference, current),
        w("wasserstein_normalized"),
        REL,
    );
    c.close(
        &n("mean_reference"),
        mean(reference),
        w("mean_reference"),
        REL,
    );
    c.close(&n("mean_current"), mean(current), w("mean_current"), REL);
    c.close(
        &n("std_reference_ddof0"),
        std_ddof0(reference),
        w("std_reference_ddof0"),
        REL,
    );
    c.close(
        &n("std_current_ddof0"),
        std_ddof0(current),
        w("std_current_ddof0"),
        REL,
    );
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let qs: Vec<f64> = [0.01, 0.5, 0.99]
        .iter()
        .map(|&q| quantile_linear(&sorted, q))
        .collect();
    let want_q = f64s(g("quantiles_reference_p01_p50_p99"), name);
    c.close_all(&n("quantiles_reference_p01_p50_p99"), &qs, &want_q, REL);

    // The aggregate gives the same numbers.
    let agg = numeric(reference, current).unwrap_or_else(|| panic!("{name}: numeric() None"));
    c.close_all(
        &n("numeric.bin_edges"),
        &agg.bin_edges,
        &f64s(g("psi_bin_edges"), name),
        REL,
    );
    c.exact(
        &n("numeric.reference_bin_counts"),
        &agg.reference_bin_counts,
        &rc,
    );
    c.exact(
        &n("numeric.current_bin_counts"),
        &agg.current_bin_counts,
        &cc,
    );
    c.close(&n("numeric.psi"), agg.psi, w("psi"), REL);
    c.close(
        &n("numeric.js"),
        agg.js_divergence_base2,
        w("js_divergence_base2"),
        REL,
    );
    c.close(
        &n("numeric.ks_statistic"),
        agg.ks_statistic,
        w("ks_statistic"),
        REL,
    );
    c.close(
        &n("numeric.ks_pvalue"),
        agg.ks_pvalue,
        w("ks_pvalue_kolmogorov_asymptotic"),
        REL_KS_P,
    );
    c.close(
        &n("numeric.wasserstein"),
        agg.wasserstein,
        w("wasserstein"),
        REL,
    );
    c.close(
        &n("numeric.wasserstein_normalized"),
        agg.wasserstein_normalized,
        w("wasserstein_normalized"),
        REL,
    );
    c.exact(&n("numeric.reference.n"), agg.reference.n, m_);
    c.exact(&n("numeric.current.n"), agg.current.n, n_);
    c.close(
        &n("numeric.reference.mean"),
        agg.reference.mean,
        w("mean_reference"),
        REL,
    );
    c.close(
        &n("numeric.current.mean"),
        agg.current.mean,
        w("mean_current"),
        REL,
    );
    c.close(
        &n("numeric.reference.std"),
        agg.reference.std,
        w("std_reference_ddof0"),
        REL,
    );
    c.close(
        &n("numeric.current.std"),
        agg.current.std,
        w("std_current_ddof0"),
        REL,
    );
    let agg_q = [agg.reference.p01, agg.reference.p50, agg.reference.p99];
    c.close_all(&n("numeric.reference quantiles"), &agg_q, &want_q, REL);
}

fn check_categorical_case(
    c: &mut Checker,
    name: &str,
    reference: &[String],
    current: &[String],
    e: &Value,
) {
    let exp = e
        .as_object()
        .unwrap_or_else(|| panic!("{name}: expected not an object"));
    assert_known_keys(name, exp, &CATEGORICAL_KEYS);
    let w = |k: &str| num(&exp[k], &format!("{name}.{k}"));
    let n = |k: &str| format!("{name}.{k}");

    let (cats, rc, cc) = align_categories(&category_counts(reference), &category_counts(current));
    c.exact(&n("categories"), &cats, &strs(&exp["categories"], name));
    c.close(&n("l_infinity"), l_infinity(&rc, &cc), w("l_infinity"), REL);
    c.close(
        &n("js_divergence_base2"),
        js_divergence_base2(&rc, &cc),
        w("js_divergence_base2"),
        REL,
    );
    c.close(&n("psi"), stats::psi(&rc, &cc), w("psi"), REL);
    let (stat, dof, p) = chi2_homogeneity(&rc, &cc);
    c.close(&n("chi2_statistic"), stat, w("chi2_statistic"), REL);
    let want_dof = exp["chi2_dof"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name}.chi2_dof"));
    c.exact(&n("chi2_dof"), dof, want_dof);
    c.close(&n("chi2_pvalue"), p, w("chi2_pvalue"), REL);

    let agg =
        categorical(reference, current).unwrap_or_else(|| panic!("{name}: categorical() None"));
    c.exact(&n("categorical.categories"), &agg.categories, &cats);
    c.exact(
        &n("categorical.n_reference"),
        agg.n_reference,
        reference.len() as u64,
    );
    c.exact(
        &n("categorical.n_current"),
        agg.n_current,
        current.len() as u64,
    );
    c.close(
        &n("categorical.l_infinity"),
        agg.l_infinity,
        w("l_infinity"),
        REL,
    );
    c.close(
        &n("categorical.js"),
        agg.js_divergence_base2,
        w("js_divergence_base2"),
        REL,
    );
    c.close(&n("categorical.psi"), agg.psi, w("psi"), REL);
    c.close(
        &n("categorical.chi2_statistic"),
        agg.chi2_statistic,
        w("chi2_statistic"),
        REL,
    );
    c.exact(&n("categorical.chi2_dof"), agg.chi2_dof, want_dof);
    c.close(
        &n("categorical.chi2_pvalue"),
        agg.chi2_pvalue,
        w("chi2_pvalue"),
        REL,
    );
}

#[test]
fn distribution_vectors_match_scipy() {
    let doc = load("distribution.json");
    let top = doc.as_object().expect("distribution.json: object");
    assert_eq!(
        top.keys().collect::<Vec<_>>(),
        vec!["cases"],
        "distribution.json top-level keys"
    );
    let cases = doc["cases"].as_array().expect("cases array");
    let mut c = Checker::default();
    let (mut numeric_cases, mut categorical_cases) = (0, 0);
    for case in cases {
        let obj = case.as_object().expect("case object");
        let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["name", "kind", "reference", "current", "expected"])
        );
        let name = case["name"].as_str().expect("name");
        match case["kind"].as_str().expect("kind") {
            "numeric" => {
                let r = f64s(&case["reference"], name);
                let cur = f64s(&case["current"], name);
                check_numeric_case(&mut c, name, &r, &cur, &case["expected"]);
                numeric_cases += 1;
            }
            "categorical" => {
                let r = strs(&case["reference"], name);
                let cur = strs(&case["current"], name);
                check_categorical_case(&mut c, name, &r, &cur, &case["expected"]);
                categorical_cases += 1;
            }
            other => panic!("{name}: unknown kind {other}"),
        }
        c.assert_covered(name, &case["expected"]);
    }
    assert_eq!(numeric_cases + categorical_cases, cases.len());
    assert!(
        numeric_cases >= 7,
        "only {numeric_cases} numeric cases checked"
    );
    assert!(
        categorical_cases >= 2,
        "only {categorical_cases} categorical cases checked"
    );
    // 365 scalar comparisons on the vectors as shipped (array elements counted one by one).
    assert!(c.scalars >= 365, "only {} comparisons made", c.scalars);
}

#[test]
fn interval_vectors_match_scipy() {
    let doc = load("intervals.json");
    let top: BTreeSet<&str> = doc
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, BTreeSet::from(["wilson", "benjamini_hochberg"]));
    let mut c = Checker::default();

    let wilson = doc["wilson"].as_array().expect("wilson array");
    for w in wilson {
        let keys: BTreeSet<&str> = w
            .as_object()
            .expect("obj")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["k", "n", "wilson95"]));
        let (k, n) = (w["k"].as_u64().expect("k"), w["n"].as_u64().expect("n"));
        let want = f64s(&w["wilson95"], "wilson95");
        let (lo, hi) = wilson_interval(k, n);
        c.close_all(&format!("wilson({k},{n})"), &[lo, hi], &want, REL);
    }
    assert!(wilson.len() >= 7, "only {} Wilson cases", wilson.len());

    let bh = &doc["benjamini_hochberg"];
    let keys: BTreeSet<&str> = bh
        .as_object()
        .expect("obj")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["pvalues", "adjusted"]));
    let p = f64s(&bh["pvalues"], "pvalues");
    let want = f64s(&bh["adjusted"], "adjusted");
    c.close_all("benjamini_hochberg", &benjamini_hochberg(&p), &want, REL);
    // Order is preserved: the same on a reversed input.
    let mut rp = p.clone();
    rp.reverse();
    let mut rwant = want.clone();
    rwant.reverse();
    c.close_all(
        "benjamini_hochberg reversed",
        &benjamini_hochberg(&rp),
        &rwant,
        REL,
    );
    assert!(p.len() >= 8, "only {} BH p-values", p.len());
    assert_eq!(c.scalars, 2 * wilson.len() + 2 * p.len());
}

// ---------------------------------------------------------------------------------------------
// Slow, obviously-correct references
// ---------------------------------------------------------------------------------------------

fn ecdf(sample: &[f64], t: f64) -> f64 {
    sample.iter().filter(|&&x| x <= t).count() as f64 / sample.len() as f64
}

fn support(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = a.iter().chain(b).copied().collect();
    s.sort_by(f64::total_cmp);
    s.dedup();
    s
}

/// KS D by brute force: the sup is attained at a sample point.
fn ks_brute(a: &[f64], b: &[f64]) -> f64 {
    support(a, b)
        .iter()
        .map(|&t| (ecdf(a, t) - ecdf(b, t)).abs())
        .fold(0.0, f64::max)
}

/// W1 = integral |F - G| dx, integrating the step functions piece by piece over the merged
/// support (F, G recounted from scratch on every piece).
fn wasserstein_cdf_integral(a: &[f64], b: &[f64]) -> f64 {
    let s = support(a, b);
    s.windows(2)
        .map(|w| (ecdf(a, w[0]) - ecdf(b, w[0])).abs() * (w[1] - w[0]))
        .sum()
}

/// W1 = integral_0^1 |F^-1(u) - G^-1(u)| du (quantile-function form), exact on the pieces
/// between the breakpoints i/n and j/m.
fn wasserstein_quantile_integral(a: &[f64], b: &[f64]) -> f64 {
    let mut sa = a.to_vec();
    sa.sort_by(f64::total_cmp);
    let mut sb = b.to_vec();
    sb.sort_by(f64::total_cmp);
    let (n, m) = (sa.len(), sb.len());
    let mut breaks: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
    breaks.extend((0..=m).map(|j| j as f64 / m as f64));
    breaks.sort_by(f64::total_cmp);
    breaks.dedup();
    let inv = |s: &[f64], u: f64| {
        let len = s.len();
        let idx = ((u * len as f64).ceil() as usize).clamp(1, len) - 1;
        s[idx]
    };
    breaks
        .windows(2)
        .map(|w| {
            let mid = (w[0] + w[1]) / 2.0;
            (inv(&sa, mid) - inv(&sb, mid)).abs() * (w[1] - w[0])
        })
        .sum()
}

/// numpy "linear" (type 7) quantile straight from the definition.
fn quantile_definition(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// BH straight from the definition: adj_(i) = min_{j >= i} min(1, p_(j) m / j).
fn bh_definition(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![0.0; m];
    for (r, &i) in order.iter().enumerate() {
        out[i] = order[r..]
            .iter()
            .enumerate()
            .map(|(s, &j)| (p[j] * m as f64 / (r + s + 1) as f64).min(1.0))
            .fold(f64::INFINITY, f64::min);
    }
    out
}

/// Pearson chi-square on a 2 x k table, textbook form.
fn chi2_definition(r: &[u64], c: &[u64]) -> f64 {
    let cols: Vec<(f64, f64)> = r
        .iter()
        .zip(c)
        .filter(|(a, b)| **a + **b > 0)
        .map(|(&a, &b)| (a as f64, b as f64))
        .collect();
    let r1: f64 = cols.iter().map(|x| x.0).sum();
    let r2: f64 = cols.iter().map(|x| x.1).sum();
    let t = r1 + r2;
    cols.iter()
        .map(|&(a, b)| {
            let col = a + b;
            let (e1, e2) = (r1 * col / t, r2 * col / t);
            (a - e1).powi(2) / e1 + (b - e2).powi(2) / e2
        })
        .sum()
}

fn approx(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// Samples with many ties (half-integers) mixed with arbitrary reals.
fn sample(max: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(
        prop_oneof![(-6i32..6).prop_map(|x| f64::from(x) / 2.0), -50.0f64..50.0],
        1..max,
    )
}

fn counts(len: usize) -> impl Strategy<Value = Vec<u64>> {
    proptest::collection::vec(0u64..50, len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ks_statistic_is_brute_force_sup(a in sample(60), b in sample(60)) {
        let d = ks_statistic(&a, &b);
        prop_assert!(approx(d, ks_brute(&a, &b), 1e-12), "{} vs {}", d, ks_brute(&a, &b));
        prop_assert_eq!(d, ks_statistic(&b, &a));
        let p = ks_pvalue_asymptotic(d, a.len() as u64, b.len() as u64);
        prop_assert!((0.0..=1.0).contains(&p));
    }

    #[test]
    fn wasserstein_is_integral_of_cdf_gap(a in sample(60), b in sample(60)) {
        let w = wasserstein(&a, &b);
        let by_cdf = wasserstein_cdf_integral(&a, &b);
        let by_quantile = wasserstein_quantile_integral(&a, &b);
        prop_assert!(approx(w, by_cdf, 1e-9), "{} vs cdf {}", w, by_cdf);
        prop_assert!(approx(w, by_quantile, 1e-9), "{} vs quantile {}", w, by_quantile);
        prop_assert!(approx(w, wasserstein(&b, &a), 1e-12));
        // A shift by s moves every point by s.
        let shifted: Vec<f64> = a.iter().map(|x| x + 3.0).collect();
        prop_assert!(approx(wasserstein(&a, &shifted), 3.0, 1e-9));
    }

    #[test]
    fn identical_samples_have_no_drift(a in sample(80), seed in any::<u64>()) {
        // A permuted copy is the same distribution.
        let mut b = a.clone();
        let len = b.len();
        let mut s = seed;
        for i in (1..len).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            b.swap(i, (s >> 33) as usize % (i + 1));
        }
        let d = numeric(&a, &b).expect("non-empty");
        prop_assert!(d.psi.abs() < 1e-12);
        prop_assert!(d.js_divergence_base2.abs() < 1e-12);
        prop_assert_eq!(d.ks_statistic, 0.0);
        prop_assert_eq!(d.ks_pvalue, 1.0);
        prop_assert!(d.wasserstein.abs() < 1e-12);
        prop_assert_eq!(&d.reference_bin_counts, &d.current_bin_counts);
        let ca: Vec<String> = a.iter().map(|x| format!("{}", x.round())).collect();
        let cb: Vec<String> = b.iter().map(|x| format!("{}", x.round())).collect();
        let cd = categorical(&ca, &cb).expect("non-empty");
        prop_assert_eq!(cd.l_infinity, 0.0);
        prop_assert!(cd.psi.abs() < 1e-12 && cd.js_divergence_base2.abs() < 1e-12);
        prop_assert!(cd.chi2_statistic.abs() < 1e-9);
    }

    #[test]
    fn psi_and_js_are_symmetric_and_bounded(
        (r, c) in (1usize..12).prop_flat_map(|k| (counts(k), counts(k)))
    ) {
        prop_assume!(r.iter().sum::<u64>() > 0 && c.iter().sum::<u64>() > 0);
        let (p1, p2) = (stats::psi(&r, &c), stats::psi(&c, &r));
        prop_assert!(p1 >= 0.0 && approx(p1, p2, 1e-12), "{} vs {}", p1, p2);
        let (j1, j2) = (js_divergence_base2(&r, &c), js_divergence_base2(&c, &r));
        prop_assert!((0.0..=1.0).contains(&j1) && approx(j1, j2, 1e-12), "{} vs {}", j1, j2);
        prop_assert_eq!(l_infinity(&r, &c), l_infinity(&c, &r));
        // JS reaches 1 only for disjoint supports; PSI is unchanged by scaling the counts.
        let r3: Vec<u64> = r.iter().map(|x| x * 3).collect();
        prop_assert!(approx(stats::psi(&r3, &c), p1, 1e-12));
    }

    #[test]
    fn chi2_matches_textbook_formula(
        (r, c) in (1usize..10).prop_flat_map(|k| (counts(k), counts(k)))
    ) {
        prop_assume!(r.iter().sum::<u64>() > 0 && c.iter().sum::<u64>() > 0);
        let (stat, dof, p) = chi2_homogeneity(&r, &c);
        let k = r.iter().zip(&c).filter(|(a, b)| **a + **b > 0).count() as u64;
        if k < 2 {
            prop_assert_eq!((stat, dof, p), (0.0, 0, 1.0));
        } else {
            prop_assert_eq!(dof, k - 1);
            prop_assert!(approx(stat, chi2_definition(&r, &c), 1e-9));
            prop_assert!((0.0..=1.0).contains(&p));
        }
    }

    #[test]
    fn quantiles_edges_and_bins_follow_definitions(a in sample(80), b in sample(80), q in 0.0f64..=1.0) {
        let mut s = a.clone();
        s.sort_by(f64::total_cmp);
        prop_assert!(approx(quantile_linear(&s, q), quantile_definition(&s, q), 1e-12));
        prop_assert!(quantile_linear(&s, q) >= s[0] && quantile_linear(&s, q) <= s[s.len() - 1]);
        let edges = psi_bin_edges(&a);
        prop_assert!(!edges.is_empty() && edges.len() <= 9);
        prop_assert!(edges.windows(2).all(|w| w[0] < w[1]));
        let cnt = bin_counts(&b, &edges);
        prop_assert_eq!(cnt.len(), edges.len() + 1);
        prop_assert_eq!(cnt.iter().sum::<u64>(), b.len() as u64);
        for (i, &n) in cnt.iter().enumerate() {
            let lo = if i == 0 { f64::NEG_INFINITY } else { edges[i - 1] };
            let hi = edges.get(i).copied().unwrap_or(f64::INFINITY);
            let brute = b.iter().filter(|&&x| lo <= x && x < hi).count() as u64;
            prop_assert_eq!(n, brute);
        }
    }

    #[test]
    fn bh_is_monotone_bounded_and_matches_definition(p in proptest::collection::vec(0.0f64..=1.0, 0..40)) {
        let adj = benjamini_hochberg(&p);
        prop_assert_eq!(adj.len(), p.len());
        let want = bh_definition(&p);
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
        for w in order.windows(2) {
            prop_assert!(adj[w[0]] <= adj[w[1]]);
        }
        for i in 0..p.len() {
            prop_assert!(adj[i] >= p[i] && adj[i] <= 1.0);
            prop_assert!(approx(adj[i], want[i], 1e-12), "{} vs {}", adj[i], want[i]);
        }
    }

    #[test]
    fn wilson_contains_the_proportion(n in 0u64..100_000, frac in 0.0f64..=1.0) {
        let k = (frac * n as f64).floor() as u64;
        let (lo, hi) = wilson_interval(k, n);
        prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo <= hi);
        if n > 0 {
            let p = k as f64 / n as f64;
            prop_assert!(lo <= p && p <= hi, "{} not in [{}, {}]", p, lo, hi);
            // Symmetry: the interval for failures mirrors the one for successes.
            let (lo2, hi2) = wilson_interval(n - k, n);
            prop_assert!(approx(lo, 1.0 - hi2, 1e-12) && approx(hi, 1.0 - lo2, 1e-12));
        }
    }

    #[test]
    fn kolmogorov_sf_is_a_decreasing_probability(x in 0.0f64..4.0, dx in 0.0f64..0.5) {
        let (a, b) = (kolmogorov_sf(x), kolmogorov_sf(x + dx));
        prop_assert!((0.0..=1.0).contains(&a) && b <= a + 1e-15);
        if x >= 0.6 {
            // The defining alternating series, summed naively with many terms.
            let naive: f64 = 2.0 * (1..200)
                .map(|k| {
                    let kf = f64::from(k);
                    let t = (-2.0 * kf * kf * x * x).exp();
                    if k % 2 == 1 { t } else { -t }
                })
                .sum::<f64>();
            prop_assert!(approx(a, naive, 1e-13), "{} vs {}", a, naive);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------------------------

#[test]
fn empty_samples_give_none_or_nan() {
    let e: [f64; 0] = [];
    assert!(numeric(&e, &[1.0]).is_none());
    assert!(numeric(&[1.0], &e).is_none());
    assert!(numeric(&[f64::NAN], &[1.0]).is_none());
    assert!(ks_statistic(&e, &e).is_nan());
    assert!(wasserstein(&e, &[1.0]).is_nan());
    assert!(mean(&e).is_nan() && std_ddof0(&e).is_nan());
    let none: [&str; 0] = [];
    assert!(categorical(&none, &["x"]).is_none());
    assert!(categorical_from_counts(&BTreeMap::new(), &BTreeMap::new()).is_none());
    assert!(benjamini_hochberg(&[]).is_empty());
    assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
}

#[test]
fn single_values() {
    let d = numeric(&[1.0], &[2.0]).expect("numeric");
    assert_eq!((d.ks_statistic, d.wasserstein), (1.0, 1.0));
    assert_eq!(d.bin_edges, vec![1.0]);
    assert_eq!(
        (d.reference_bin_counts.clone(), d.current_bin_counts.clone()),
        (vec![0, 1], vec![0, 1])
    );
    // Both values land in [1, +inf): same bin, PSI 0 even though the values differ.
    assert_eq!(d.psi, 0.0);
    let p = ks_pvalue_asymptotic(1.0, 1, 1);
    assert!((p - kolmogorov_sf(std::f64::consts::FRAC_1_SQRT_2)).abs() < 1e-15);
    let c = categorical(&["a"], &["b"]).expect("categorical");
    assert_eq!(c.l_infinity, 1.0);
    assert!((c.js_divergence_base2 - 1.0).abs() < 1e-15);
    assert_eq!(c.chi2_dof, 1);
    assert!((c.chi2_statistic - 2.0).abs() < 1e-12);
}

#[test]
fn all_equal_samples_terminate_with_p_one() {
    let a = vec![4.25; 50_000];
    let b = vec![4.25; 30_000];
    let d = numeric(&a, &b).expect("numeric");
    assert_eq!(d.ks_statistic, 0.0);
    assert_eq!(d.ks_pvalue, 1.0);
    assert_eq!(ks_pvalue_asymptotic(0.0, 50_000, 30_000), 1.0);
    assert_eq!(
        (d.psi, d.js_divergence_base2, d.wasserstein),
        (0.0, 0.0, 0.0)
    );
}

#[test]
fn constant_reference_floors_std() {
    let a = vec![2.0; 100];
    let b: Vec<f64> = (0..100).map(|i| 2.0 + f64::from(i) * 1e-3).collect();
    let d = numeric(&a, &b).expect("numeric");
    assert_eq!(d.reference.std, 0.0);
    assert!((d.wasserstein - 0.0495).abs() < 1e-12);
    assert!((d.wasserstein_normalized - d.wasserstein / 0.001).abs() < 1e-9);
    assert!(d.wasserstein_normalized.is_finite());
    assert_eq!(d.bin_edges, vec![2.0]);
}
