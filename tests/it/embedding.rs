//! List (embedding) features end to end: a Parquet list column recomputed with `last`, served
//! from Redis as JSON-array text (hash) and as a JSON array (json layout), compared
//! element-wise; a snapshot keeps the list column.

use crate::common::*;
use crate::redis_server::RedisServer;
use polars::prelude::*;
use skewaudit::audit::{self, AuditPlan};
use skewaudit::commands::snapshot::OnlineSource;
use skewaudit::online::redis::RedisOptions;
use skewaudit::registry::{Dtype, Registry};
use skewaudit::sample::Sampling;

fn project(layout: &str) -> (Project, Registry) {
    let p = Project::new();
    let embs: Vec<Series> = [
        vec![0.1, 0.2, 0.3],
        vec![1.0, 2.0],
        vec![5.0, 5.0, 5.0],
        vec![0.5],
    ]
    .into_iter()
    .map(|v| Series::new("".into(), v))
    .collect();
    let mut emb: ListChunked = embs.into_iter().map(Some).collect();
    emb.rename("emb".into());
    let mut df = DataFrame::new(
        4,
        vec![
            Column::new("user_id".into(), vec![1i64, 2, 3, 4]),
            ts_column("ts", vec![MIN, MIN, MIN, MIN]),
            emb.into_series().into(),
        ],
    )
    .unwrap();
    p.parquet("emb.parquet", &mut df);
    let reg = p.write(
        "features.toml",
        &format!(
            "[project]\nname = \"e\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.e]\npath = \"emb.parquet\"\ntimestamp = \"ts\"\nwatermark = \"1970-01-02T00:00:00Z\"\n\
             [features.emb]\nentity = \"user\"\nsource = \"e\"\nexpr = \"emb\"\naggregation = \"last\"\ndtype = \"list<float64>\"\ntolerance = {{ abs = 1e-9 }}\n\
             [gate]\nmin_rows = 1\nmax_mismatch_rate = 0.0\n{layout}"
        ),
    );
    let reg = Registry::load(&reg).unwrap();
    (p, reg)
}

fn plan(p: &Project, reg: Registry, online: OnlineSource) -> AuditPlan {
    let entity = reg.entities["user"].clone();
    AuditPlan {
        features: vec![("emb".into(), Dtype::FloatList)],
        registry: reg,
        entity,
        sampling: Sampling::Keys(p.write("keys.txt", "user_id\n1\n2\n3\n4\n")),
        seed: 0,
        universe: Default::default(),
        as_of: 10 * MIN,
        online: Some(online),
        logs: None,
        progress: skewaudit::progress::Progress::hidden(),
    }
}

#[test]
fn embeddings_compare_element_wise() {
    let srv = RedisServer::start(&[]);
    let mut conn = srv.conn();
    for (k, v) in [
        ("user:1", "[0.1, 0.2, 0.3]"),
        ("user:2", "[1.0, 2.5]"),
        ("user:3", "[5, 5]"),
        ("user:4", "not a list"),
    ] {
        let _: i64 = redis::cmd("HSET")
            .arg(k)
            .arg("emb")
            .arg(v)
            .query(&mut conn)
            .unwrap();
    }
    let (p, reg) = project("[online]\nlayout = \"hash\"\nkey = \"user:{user_id}\"\n");
    let report = audit::run(&plan(
        &p,
        reg,
        OnlineSource::Redis(RedisOptions::new(&srv.url())),
    ))
    .unwrap();
    let c = report.features[0].comparisons.online.as_ref().unwrap();
    assert_eq!(
        (
            c.rows.compared,
            c.rows.matched,
            c.rows.mismatched,
            c.rows.decode_errors
        ),
        (3, 1, 2, 1)
    );
    assert!(c.distribution.is_none());
    let ex = c.examples.iter().find(|e| e.key["user_id"] == 2).unwrap();
    assert_eq!(ex.offline, serde_json::json!([1, 2]));
    assert_eq!(ex.served, serde_json::json!([1, 2.5]));
    assert_eq!(report.exit_code, 1);

    // JSON layout: a real array; and a snapshot of it keeps the list.
    let _: () = redis::cmd("SET")
        .arg("j:1")
        .arg(r#"{"emb": [0.1, 0.2, 0.3]}"#)
        .query(&mut conn)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("j:4")
        .arg(r#"{"emb": [0.5]}"#)
        .query(&mut conn)
        .unwrap();
    let (p2, reg2) = project("[online]\nlayout = \"json\"\nkey = \"j:{user_id}\"\n");
    let feats: Vec<(&skewaudit::registry::Feature, Dtype)> =
        vec![(&reg2.features["emb"], Dtype::FloatList)];
    let keys = DataFrame::new(4, vec![Column::new("user_id".into(), vec![1i64, 2, 3, 4])]).unwrap();
    let mut frame = skewaudit::online::redis::read(
        &RedisOptions::new(&srv.url()),
        reg2.online.as_ref().unwrap(),
        &feats,
        &keys,
        &["user_id".to_string()],
    )
    .unwrap();
    let snap = p2.path("snap.parquet");
    skewaudit::online::snapshot::write(&mut frame, &snap, 0).unwrap();
    let report = audit::run(&plan(&p2, reg2, OnlineSource::Snapshot(snap))).unwrap();
    let c = report.features[0].comparisons.online.as_ref().unwrap();
    assert_eq!(
        (c.rows.compared, c.rows.matched, c.rows.missing_online),
        (2, 2, 2)
    );
}
