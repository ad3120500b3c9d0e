//! Criterion micro-benchmarks: sampling (bottom-k over 100k keys) and the offline recompute
//! of every demo feature for 500 users over `fixtures/shop`. The end-to-end benchmark over
//! >= 10M events is `benches/e2e.sh` (see docs/performance.md).

use criterion::{criterion_group, criterion_main, Criterion};
use polars::prelude::*;
use skewaudit::offline::{self, AS_OF};
use skewaudit::registry::Registry;
use skewaudit::sample::{self, Sampling};
use std::path::Path;

fn bench_sampling(c: &mut Criterion) {
    let ids: Vec<i64> = (0..100_000).collect();
    let df = DataFrame::new(ids.len(), vec![Column::new("user_id".into(), ids)]).expect("frame");
    let keys = vec!["user_id".to_string()];
    c.bench_function("sample bottom-k 1000 of 100k", |b| {
        b.iter(|| sample::sample_frame(&df, &keys, &Sampling::Count(1000), 0).expect("sample"))
    });
}

fn bench_recompute(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop/features.toml");
    let reg = Registry::load(&path).expect("demo registry");
    let feats: Vec<_> = reg.features.values().collect();
    let entity = &reg.entities["user"];
    let keys = sample::sample_keys(&reg, entity, &feats, &Sampling::Count(500), 0).expect("keys");
    let mut q = keys.clone();
    let n = q.height();
    q.with_column(Column::new(AS_OF.into(), vec![1_796_083_200_000_000i64; n]))
        .expect("as_of");
    c.bench_function("recompute 12 demo features x 500 users", |b| {
        b.iter(|| offline::recompute(&reg, &feats, &q).expect("recompute"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_sampling, bench_recompute
}
criterion_main!(benches);
