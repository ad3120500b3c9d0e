//! Serving logs: Parquet and NDJSON, top-level, nested (struct / JSON string / object) and
//! Feast logging columns, malformed lines, and the demo log checked against its ground truth.

use crate::common::*;
use polars::prelude::*;
use serde_json::Value;
use skewaudit::logs::{self, REQUEST_ID, REQUEST_TS};
use skewaudit::registry::{Dtype, Feature, Registry};
use std::collections::{HashMap, HashSet};

fn typed(reg: &Registry) -> Vec<(&Feature, Dtype)> {
    reg.features
        .values()
        .map(|f| (f, f.dtype.unwrap_or(Dtype::Float64)))
        .collect()
}

/// Every logged value of the demo equals the generator's true value at the request time,
/// except exactly the rows the ground truth lists for that feature.
#[test]
fn demo_log_matches_the_ground_truth() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    let reg = Registry::load(&dir.join("features.toml")).unwrap();
    let feats = typed(&reg);
    let lf = logs::read(
        reg.logs.as_ref().unwrap(),
        &feats,
        &["user_id".to_string()],
        None,
        0.01,
    )
    .unwrap();
    assert_eq!(lf.frame.height(), 3000);
    assert_eq!(lf.rows_read, 3000);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ground_truth.json")).unwrap())
            .unwrap();
    let mut injected: HashMap<String, HashSet<String>> = HashMap::new();
    for i in truth["injected"].as_array().unwrap() {
        if i["comparison"] == "log" {
            let ids = i["request_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            injected.insert(i["feature"].as_str().unwrap().to_string(), ids);
        }
    }
    let expected = LazyFrame::scan_parquet(
        PlRefPath::new(
            dir.join("expected_offline.parquet")
                .to_string_lossy()
                .as_ref(),
        ),
        Default::default(),
    )
    .unwrap()
    .filter(col("comparison").eq(lit("log")))
    .collect()
    .unwrap();
    let exp_row: HashMap<String, usize> = expected
        .column("request_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.unwrap().to_string(), i))
        .collect();
    let rid = lf.frame.column(REQUEST_ID).unwrap().str().unwrap().clone();
    let ts = lf.frame.column(REQUEST_TS).unwrap().i64().unwrap().clone();
    let exp_ts = expected
        .column("as_of")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    for (name, _) in reg.features.iter() {
        let got = lf.frame.column(name).unwrap();
        let want = expected.column(name).unwrap();
        let mut differing = HashSet::new();
        for row in 0..3000 {
            let id = rid.get(row).unwrap().to_string();
            let e = exp_row[&id];
            assert_eq!(
                ts.get(row),
                exp_ts.i64().unwrap().get(e),
                "request time of {id}"
            );
            let (g, w) = (got.get(row).unwrap(), want.get(e).unwrap());
            let same = match (&g, &w) {
                (AnyValue::Float64(a), AnyValue::Float64(b)) => {
                    a == b || (a - b).abs() <= 1e-12 * b.abs()
                }
                _ => g == w,
            };
            if !same {
                differing.insert(id);
            }
        }
        let planted = injected.get(name.as_str()).cloned().unwrap_or_default();
        assert_eq!(differing, planted, "feature {name}");
    }
}

fn reg_with_logs(p: &Project, logs: &str) -> Registry {
    let path = p.write(
        "features.toml",
        &format!(
            "{BASE_REGISTRY}\n[features.spend]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\ndtype = \"float64\"\nonline = {{ feature_view = \"user_stats\" }}\n\
             [features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\ndtype = \"int64\"\nonline = {{ feature_view = \"user_stats\" }}\n{logs}"
        ),
    );
    Registry::load(&path).unwrap()
}

fn cells(lf: &logs::LogFrame, f: &str) -> Vec<String> {
    let s = lf
        .frame
        .column(&format!("{f}__status"))
        .unwrap()
        .str()
        .unwrap()
        .clone();
    let v = lf.frame.column(f).unwrap().clone();
    (0..lf.frame.height())
        .map(|r| format!("{}:{}", s.get(r).unwrap(), v.get(r).unwrap().str_value()))
        .collect()
}

#[test]
fn ndjson_top_level_nested_feast_and_malformed_lines() {
    let p = Project::new();
    p.write(
        "log.ndjson",
        concat!(
            r#"{"user_id": 1, "ts": "2026-11-30T00:00:00Z", "rid": "a", "spend": 2.5, "n": 3}"#,
            "\n",
            r#"{"user_id": 2, "ts": 1796392800, "rid": "b", "spend": null}"#,
            "\n",
            r#"{"user_id": 3, "ts": 1796392800000, "rid": "c", "spend": "oops", "n": "4"}"#,
            "\n",
            r#"{"user_id": 1, "ts": "2026-11-30T01:00:00Z", "rid": "d", "spend": "NaN", "n": 1.0}"#,
            "\n",
        ),
    );
    let reg = reg_with_logs(
        &p,
        "[logs]\npath = \"log.ndjson\"\ntimestamp = \"ts\"\nrequest_id = \"rid\"\n",
    );
    let feats = typed(&reg);
    let keys = vec!["user_id".to_string()];
    let lf = logs::read(reg.logs.as_ref().unwrap(), &feats, &keys, None, 0.01).unwrap();
    assert_eq!(lf.frame.height(), 4);
    assert_eq!(
        cells(&lf, "spend"),
        vec![
            "present:2.5",
            "null:null",
            "decode_error:null",
            "present:NaN"
        ]
    );
    assert_eq!(
        cells(&lf, "n"),
        vec!["present:3", "missing:null", "present:4", "present:1"]
    );
    let ts = lf.frame.column(REQUEST_TS).unwrap().i64().unwrap().clone();
    assert_eq!(
        ts.get(1),
        ts.get(2),
        "epoch seconds and milliseconds read alike"
    );
    // Only the sampled keys.
    let only1 = DataFrame::new(1, vec![Column::new("user_id".into(), vec![1i64])]).unwrap();
    let lf1 = logs::read(
        reg.logs.as_ref().unwrap(),
        &feats,
        &keys,
        Some(&only1),
        0.01,
    )
    .unwrap();
    assert_eq!(lf1.frame.height(), 2);

    // Nested: an object member and a JSON string; Feast logging columns.
    p.write(
        "nested.ndjson",
        concat!(
            r#"{"user_id": 5, "ts": 1796392800, "features": {"spend": 1.0, "n": 2}}"#,
            "\n",
            r#"{"user_id": 6, "ts": 1796392800, "features": "{\"spend\": 7.5}"}"#,
            "\n",
        ),
    );
    let reg2 = reg_with_logs(
        &p,
        "[logs]\npath = \"nested.ndjson\"\ntimestamp = \"ts\"\nfeatures_column = \"features\"\n",
    );
    let lf2 = logs::read(
        reg2.logs.as_ref().unwrap(),
        &typed(&reg2),
        &keys,
        None,
        0.01,
    )
    .unwrap();
    assert_eq!(cells(&lf2, "spend"), vec!["present:1.0", "present:7.5"]);
    assert_eq!(cells(&lf2, "n"), vec!["present:2", "missing:null"]);
    p.write("feast.ndjson", concat!(r#"{"user_id": 9, "__log_timestamp": "2026-11-30T00:00:00Z", "__request_id": "r9", "user_stats__spend": 4.0, "user_stats__n": 8}"#, "\n"));
    let reg3 = reg_with_logs(
        &p,
        "[logs]\npath = \"feast.ndjson\"\ntimestamp = \"request_ts\"\n",
    );
    let lf3 = logs::read(
        reg3.logs.as_ref().unwrap(),
        &typed(&reg3),
        &keys,
        None,
        0.01,
    )
    .unwrap();
    assert_eq!(cells(&lf3, "spend"), vec!["present:4.0"]);
    assert_eq!(
        lf3.frame.column(REQUEST_ID).unwrap().str().unwrap().get(0),
        Some("r9")
    );

    // Malformed lines: counted; over the threshold, a clear error naming the first.
    p.write(
        "bad.ndjson",
        "{\"user_id\": 1, \"ts\": 1796392800, \"spend\": 1}\nnot json\n{\"ts\": 1}\n",
    );
    let reg4 = reg_with_logs(&p, "[logs]\npath = \"bad.ndjson\"\ntimestamp = \"ts\"\n");
    let e = logs::read(
        reg4.logs.as_ref().unwrap(),
        &typed(&reg4),
        &keys,
        None,
        0.01,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("2 of 3 lines are malformed") && e.contains("bad.ndjson:2"),
        "{e}"
    );
    let ok = logs::read(reg4.logs.as_ref().unwrap(), &typed(&reg4), &keys, None, 0.7).unwrap();
    assert_eq!((ok.frame.height(), ok.malformed, ok.rows_read), (1, 2, 3));
}

#[test]
fn parquet_struct_and_json_string_columns() {
    let p = Project::new();
    let spend = Series::new("spend".into(), vec![Some(1.5f64), None]);
    let n = Series::new("n".into(), vec![Some(2i64), Some(3)]);
    let st = StructChunked::from_series("features".into(), 2, [spend, n].iter())
        .unwrap()
        .into_series();
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("user_id".into(), vec![1i64, 2]),
            ts_column("ts", vec![0, MIN]),
            st.into(),
            Column::new(
                "features_json".into(),
                vec![r#"{"spend": 9.0, "n": 1}"#, "not json"],
            ),
        ],
    )
    .unwrap();
    p.parquet("log.parquet", &mut df);
    let keys = vec!["user_id".to_string()];
    let reg = reg_with_logs(
        &p,
        "[logs]\npath = \"log.parquet\"\ntimestamp = \"ts\"\nfeatures_column = \"features\"\n",
    );
    let lf = logs::read(reg.logs.as_ref().unwrap(), &typed(&reg), &keys, None, 0.01).unwrap();
    assert_eq!(cells(&lf, "spend"), vec!["present:1.5", "null:null"]);
    assert_eq!(cells(&lf, "n"), vec!["present:2", "present:3"]);
    let reg2 = reg_with_logs(
        &p,
        "[logs]\npath = \"log.parquet\"\ntimestamp = \"ts\"\nfeatures_column = \"features_json\"\n",
    );
    let lf2 = logs::read(
        reg2.logs.as_ref().unwrap(),
        &typed(&reg2),
        &keys,
        None,
        0.01,
    )
    .unwrap();
    assert_eq!(
        cells(&lf2, "spend"),
        vec!["present:9.0", "decode_error:null"]
    );
    // A missing column is a clear error naming it.
    let reg3 = reg_with_logs(
        &p,
        "[logs]\npath = \"log.parquet\"\ntimestamp = \"request_ts\"\n",
    );
    let e = logs::read(
        reg3.logs.as_ref().unwrap(),
        &typed(&reg3),
        &keys,
        None,
        0.01,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("log.parquet") && e.contains("timestamp column 'request_ts' not found"),
        "{e}"
    );
}

#[test]
fn parquet_map_column() {
    let p = Project::new();
    let entry = |pairs: &[(&str, f64)]| {
        let k = Series::new("key".into(), pairs.iter().map(|x| x.0).collect::<Vec<_>>());
        let v = Series::new(
            "value".into(),
            pairs.iter().map(|x| x.1).collect::<Vec<_>>(),
        );
        StructChunked::from_series("".into(), pairs.len(), [k, v].iter())
            .unwrap()
            .into_series()
    };
    let mut map: ListChunked = vec![
        Some(entry(&[("spend", 3.5), ("n", 2.0)])),
        Some(entry(&[("n", 7.0)])),
    ]
    .into_iter()
    .collect();
    map.rename("fmap".into());
    let mut df = DataFrame::new(
        2,
        vec![
            Column::new("user_id".into(), vec![1i64, 2]),
            ts_column("ts", vec![0, MIN]),
            map.into_series().into(),
        ],
    )
    .unwrap();
    p.parquet("log.parquet", &mut df);
    let reg = reg_with_logs(
        &p,
        "[logs]\npath = \"log.parquet\"\ntimestamp = \"ts\"\nfeatures_column = \"fmap\"\n",
    );
    let lf = logs::read(
        reg.logs.as_ref().unwrap(),
        &typed(&reg),
        &["user_id".to_string()],
        None,
        0.01,
    )
    .unwrap();
    assert_eq!(cells(&lf, "spend"), vec!["present:3.5", "missing:null"]);
    assert_eq!(cells(&lf, "n"), vec!["present:2", "present:7"]);
}
