//! Sampling: determinism across input order and files, exact N, rate within binomial bounds,
//! explicit key files.

use crate::common::*;
use polars::prelude::*;
use proptest::prelude::*;
use skewaudit::registry::Registry;
use skewaudit::sample::{self, Sampling};

fn keys_frame(ids: &[i64]) -> DataFrame {
    DataFrame::new(ids.len(), vec![Column::new("user_id".into(), ids.to_vec())]).expect("frame")
}

fn ids(df: &DataFrame) -> Vec<i64> {
    df.column("user_id")
        .expect("col")
        .i64()
        .expect("i64")
        .into_no_null_iter()
        .collect()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bottom_k_ignores_input_order(mut universe in proptest::collection::btree_set(any::<i64>(), 1..400), n in 1usize..50, seed in any::<u64>()) {
        let forward: Vec<i64> = universe.iter().copied().collect();
        let mut backward = forward.clone();
        backward.reverse();
        let keys = vec!["user_id".to_string()];
        let a = sample::sample_frame(&keys_frame(&forward), &keys, &Sampling::Count(n), seed).unwrap();
        let b = sample::sample_frame(&keys_frame(&backward), &keys, &Sampling::Count(n), seed).unwrap();
        prop_assert_eq!(ids(&a), ids(&b));
        prop_assert_eq!(a.height(), n.min(universe.len()));
        // Bottom-k: every picked key hashes no higher than every key left out.
        let h = |k: i64| sample::key_hash(&sample::canonical_key_bytes(&[k.to_string()]), seed);
        let picked: std::collections::BTreeSet<i64> = ids(&a).into_iter().collect();
        let max_in = picked.iter().map(|k| h(*k)).max().unwrap();
        universe.retain(|k| !picked.contains(k));
        prop_assert!(universe.iter().all(|k| h(*k) >= max_in));
    }

    #[test]
    fn rate_sample_is_the_same_from_any_order(universe in proptest::collection::btree_set(0i64..1_000_000, 1..300), seed in any::<u64>()) {
        let forward: Vec<i64> = universe.iter().copied().collect();
        let mut shuffled = forward.clone();
        shuffled.rotate_left(forward.len() / 3);
        let keys = vec!["user_id".to_string()];
        let a = sample::sample_frame(&keys_frame(&forward), &keys, &Sampling::Rate(0.3), seed).unwrap();
        let b = sample::sample_frame(&keys_frame(&shuffled), &keys, &Sampling::Rate(0.3), seed).unwrap();
        prop_assert_eq!(sorted(ids(&a)), sorted(ids(&b)));
    }
}

#[test]
fn duplicates_and_nulls_do_not_count() {
    let df = DataFrame::new(
        5,
        vec![Column::new(
            "user_id".into(),
            vec![Some(1i64), Some(1), None, Some(2), Some(3)],
        )],
    )
    .unwrap();
    let keys = vec!["user_id".to_string()];
    let all = sample::sample_frame(&df, &keys, &Sampling::Count(10), 0).unwrap();
    assert_eq!(sorted(ids(&all)), vec![1, 2, 3]);
}

#[test]
fn rate_is_within_binomial_bounds() {
    let n = 100_000i64;
    let universe: Vec<i64> = (0..n).collect();
    let keys = vec!["user_id".to_string()];
    for (rate, seed) in [(0.01, 0u64), (0.1, 7), (0.5, 42)] {
        let s = sample::sample_frame(&keys_frame(&universe), &keys, &Sampling::Rate(rate), seed)
            .unwrap();
        let expected = rate * n as f64;
        let sd = (n as f64 * rate * (1.0 - rate)).sqrt();
        let got = s.height() as f64;
        assert!(
            (got - expected).abs() <= 5.0 * sd,
            "rate {rate}: got {got}, expected {expected} ± {}",
            5.0 * sd
        );
    }
    // Nested: a smaller rate's sample is inside a larger one's (same seed).
    let small = sorted(ids(&sample::sample_frame(
        &keys_frame(&universe),
        &keys,
        &Sampling::Rate(0.05),
        3,
    )
    .unwrap()));
    let large: std::collections::BTreeSet<i64> =
        ids(&sample::sample_frame(&keys_frame(&universe), &keys, &Sampling::Rate(0.2), 3).unwrap())
            .into_iter()
            .collect();
    assert!(small.iter().all(|k| large.contains(k)));
}

#[test]
fn seeds_change_the_sample() {
    let universe: Vec<i64> = (0..1000).collect();
    let keys = vec!["user_id".to_string()];
    let a =
        ids(&sample::sample_frame(&keys_frame(&universe), &keys, &Sampling::Count(20), 1).unwrap());
    let b =
        ids(&sample::sample_frame(&keys_frame(&universe), &keys, &Sampling::Count(20), 2).unwrap());
    assert_ne!(sorted(a), sorted(b));
}

#[test]
fn int_and_string_keys_hash_alike() {
    let strs = DataFrame::new(
        3,
        vec![Column::new("user_id".into(), vec!["10", "20", "30"])],
    )
    .unwrap();
    let keys = vec!["user_id".to_string()];
    let a =
        sample::sample_frame(&keys_frame(&[10, 20, 30]), &keys, &Sampling::Count(2), 5).unwrap();
    let b = sample::sample_frame(&strs, &keys, &Sampling::Count(2), 5).unwrap();
    let b_ids: Vec<i64> = b
        .column("user_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ids(&a), b_ids);
}

#[test]
fn universe_spans_files_and_is_order_independent() {
    // The same keys split over two files in two different ways give the same sample.
    let rows_a: Vec<(i64, i64, Option<f64>, &str, &str)> = (0..300)
        .map(|i| (i, i * MIN, Some(1.0), "settled", "x"))
        .collect();
    let features = "[features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n";
    let mk = |split: usize| {
        let p = Project::new();
        let mut r = rows_a.clone();
        r.rotate_left(split);
        p.parquet("tx/part-0.parquet", &mut transactions(&r[..150]));
        p.parquet("tx/part-1.parquet", &mut transactions(&r[150..]));
        let reg = p.write(
            "features.toml",
            &format!(
                "{}\n{features}",
                BASE_REGISTRY.replace("tx.parquet", "tx/*.parquet")
            ),
        );
        let r = Registry::load(&reg).unwrap();
        let feats: Vec<_> = r.features.values().collect();
        let e = r.entities.get("user").unwrap();
        let s = sample::sample_keys(&r, e, &feats, &Sampling::Count(25), 9).unwrap();
        (p, ids(&s))
    };
    let (_p1, a) = mk(0);
    let (_p2, b) = mk(77);
    assert_eq!(a.len(), 25);
    assert_eq!(a, b);
}

#[test]
fn keys_file_with_header_composite_and_errors() {
    let p = Project::new();
    let entity = skewaudit::registry::Entity {
        name: "pair".into(),
        keys: vec!["driver_id".into(), "city".into()],
    };
    let f = p.write(
        "keys.csv",
        "# on-call list\ncity,driver_id\nBerlin,5\nZürich,7\nBerlin,5\n",
    );
    let df = sample::read_keys_file(&f, &entity).unwrap();
    assert_eq!(df.height(), 2, "duplicates dropped");
    assert_eq!(
        df.column("driver_id").unwrap().str().unwrap().get(1),
        Some("7")
    );
    assert_eq!(
        df.column("city").unwrap().str().unwrap().get(1),
        Some("Zürich")
    );
    let bad = p.write("bad.csv", "city,driver_id\nBerlin\n");
    let e = sample::read_keys_file(&bad, &entity)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.csv: line 2: expected 2 value(s)"), "{e}");
    let single = skewaudit::registry::Entity {
        name: "user".into(),
        keys: vec!["user_id".into()],
    };
    let f = p.write("ids.txt", "3\n1\n2\n");
    assert_eq!(sample::read_keys_file(&f, &single).unwrap().height(), 3);
}

#[test]
fn the_serving_log_can_be_the_universe() {
    // The demo log holds 600 users; a log-universe sample only picks among them.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    let reg = Registry::load(&dir.join("features.toml")).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let e = &reg.entities["user"];
    let all =
        sample::sample_keys_in(&reg, e, &feats, &Sampling::All, 0, sample::Universe::Log).unwrap();
    assert_eq!(all.height(), 600);
    let logged: std::collections::HashSet<i64> = all
        .column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    let s = sample::sample_keys_in(
        &reg,
        e,
        &feats,
        &Sampling::Count(50),
        4,
        sample::Universe::Log,
    )
    .unwrap();
    assert_eq!(s.height(), 50);
    assert!(ids(&s).iter().all(|k| logged.contains(k)));
    // The same keys as bottom-k over the logged keys directly.
    let direct =
        sample::sample_frame(&all, &["user_id".to_string()], &Sampling::Count(50), 4).unwrap();
    assert_eq!(ids(&s), ids(&direct));
}
