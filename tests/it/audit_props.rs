//! Property tests of the whole audit on random data:
//! - online values identical to the offline recompute -> 0 mismatches, PSI < 1e-9, verdict
//!   pass, exit code 0;
//! - a random transform of the family applied to a random subset of rows -> exactly that
//!   subset mismatches, every one with that transform as its cause.

use crate::common::*;
use polars::prelude::*;
use proptest::prelude::*;
use skewaudit::audit::{self, AuditPlan};
use skewaudit::commands::snapshot::OnlineSource;
use skewaudit::offline::{self, AS_OF};
use skewaudit::online::{Cell, OnlineFrameBuilder, OnlineValue};
use skewaudit::registry::{Dtype, Registry};
use skewaudit::sample::Sampling;

const AS_OF_US: i64 = 2 * 86_400_000_000;

fn registry(p: &Project) -> Registry {
    let text = format!(
        "{}\n[features.s]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\nwindow = \"1d\"\ndefault = 0.0\ndtype = \"float64\"\n\
         [features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"1d\"\ndtype = \"int64\"\n\
         [online]\nlayout = \"hash\"\nkey = \"user:{{user_id}}\"\ntimestamp_field = \"_ts\"\nversion_field = \"_v\"\n[gate]\nmax_mismatch_rate = 0.0\nmax_psi = 0.1\nmin_rows = 1\n",
        BASE_REGISTRY.replace("timestamp = \"event_ts\"", "timestamp = \"event_ts\"\nwatermark = \"1970-01-10T00:00:00Z\"")
    );
    Registry::load(&p.write("features.toml", &text)).unwrap()
}

/// The transform family, as the served value of `x`, or None when it would not change `x`
/// distinguishably (then the row is left alone).
fn apply(g: usize, k: i32, x: f64) -> Option<(f64, &'static str)> {
    let y = match g {
        0 => ((x as f32) as f64, "transform:float32"),
        1 if x != 0.0 => (x * 10f64.powi(k), "transform:scale"),
        2 if x != 0.0 => (-x, "transform:negate"),
        3 if x != 0.0 => (x.ln_1p(), "transform:log1p"),
        4 if x != 0.0 && x < 300.0 => (x.exp_m1(), "transform:expm1"),
        5 => (
            (x * 10f64.powi(k.abs())).round() / 10f64.powi(k.abs()),
            "transform:round",
        ),
        6 if x.fract() >= 0.5 => (x.trunc(), "transform:truncate"),
        _ => return None,
    };
    let differs = (y.0 - x).abs() > 1e-9 + 1e-9 * x.abs()
        && (y.0 as f32) as f64 != x
        && (x as f32) as f64 != y.0;
    differs.then_some(y)
}

fn run(
    events: &[(i64, i64, Option<f64>, &str, &str)],
    transform: Option<(usize, i32, Vec<bool>)>,
) -> (serde_json::Value, usize, &'static str) {
    let p = Project::new();
    p.parquet("tx.parquet", &mut transactions(events));
    let reg = registry(&p);
    let keys: Vec<i64> = (0..20).collect();
    let mut q = DataFrame::new(
        keys.len(),
        vec![Column::new("user_id".into(), keys.clone())],
    )
    .unwrap();
    q.with_column(Column::new(AS_OF.into(), vec![AS_OF_US; keys.len()]))
        .unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let off = offline::recompute(&reg, &feats, &q).unwrap().frame;
    let s = off.column("s").unwrap().f64().unwrap().clone();
    let n = off.column("n").unwrap().i64().unwrap().clone();
    let mut b = OnlineFrameBuilder::new(
        keys.len(),
        &[("n".into(), Dtype::Int64), ("s".into(), Dtype::Float64)],
    );
    let (mut changed, mut cause) = (0usize, "");
    for r in 0..keys.len() {
        let mut x = s.get(r).unwrap();
        if let Some((g, k, mask)) = &transform {
            if mask[r] {
                if let Some((y, c)) = apply(*g, *k, x) {
                    x = y;
                    changed += 1;
                    cause = c;
                }
            }
        }
        b.set(
            0,
            r,
            Cell::Present(OnlineValue::Int(n.get(r).unwrap())),
            Some(AS_OF_US),
            Some("v1".into()),
        );
        b.set(
            1,
            r,
            Cell::Present(OnlineValue::Float(x)),
            Some(AS_OF_US),
            Some("v1".into()),
        );
        b.set_key_present(r, true);
    }
    let mut frame = b.finish(&q.select(["user_id"]).unwrap()).unwrap();
    let snap = p.path("online.parquet");
    skewaudit::online::snapshot::write(&mut frame, &snap, AS_OF_US).unwrap();
    let entity = reg.entities["user"].clone();
    let plan = AuditPlan {
        features: vec![("n".into(), Dtype::Int64), ("s".into(), Dtype::Float64)],
        registry: reg,
        entity,
        sampling: Sampling::Keys(p.write(
            "keys.txt",
            &format!(
                    "user_id\n{}\n",
                    keys.iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
        )),
        seed: 0,
        universe: Default::default(),
        as_of: AS_OF_US,
        online: Some(OnlineSource::Snapshot(snap)),
        logs: None,
        progress: skewaudit::progress::Progress::hidden(),
    };
    let report = audit::run(&plan).unwrap();
    (serde_json::to_value(&report).unwrap(), changed, cause)
}

fn events() -> impl Strategy<Value = Vec<(i64, i64, Option<f64>, &'static str, &'static str)>> {
    proptest::collection::vec(
        (
            0i64..20,
            0i64..(2 * 24 * 60),
            1u32..100_000,
            proptest::bool::weighted(0.9),
        ),
        20..120,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(k, m, a, ok)| {
                (
                    k,
                    m * MIN,
                    Some(a as f64 / 7.0),
                    if ok { "settled" } else { "pending" },
                    "c",
                )
            })
            .collect()
    })
}

fn comparison<'a>(r: &'a serde_json::Value, f: &str) -> &'a serde_json::Value {
    &r["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == f)
        .unwrap()["comparisons"]["online"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn identical_sides_pass(ev in events()) {
        let (r, _, _) = run(&ev, None);
        prop_assert_eq!(&r["verdict"], "pass");
        prop_assert_eq!(&r["exit_code"], 0);
        for f in ["n", "s"] {
            let c = comparison(&r, f);
            prop_assert_eq!(&c["rows"]["mismatched"], 0);
            prop_assert_eq!(&c["rows"]["compared"], 20);
            prop_assert!(c["distribution"]["psi"].as_f64().unwrap() < 1e-9);
        }
    }

    #[test]
    fn a_transform_on_a_subset_is_found_exactly(ev in events(), g in 0usize..7, k in prop_oneof![-3i32..=-1, 1i32..=3], mask in proptest::collection::vec(any::<bool>(), 20)) {
        let (r, changed, cause) = run(&ev, Some((g, k, mask)));
        prop_assert_eq!(&comparison(&r, "n")["rows"]["mismatched"], 0);
        let c = comparison(&r, "s");
        prop_assert_eq!(c["rows"]["mismatched"].as_u64().unwrap() as usize, changed, "causes {}", c["causes"]);
        if changed > 0 {
            prop_assert_eq!(c["causes"][cause].as_u64().unwrap_or(0) as usize, changed, "causes {}", c["causes"]);
            prop_assert_eq!(&r["exit_code"], 1);
        }
    }
}
