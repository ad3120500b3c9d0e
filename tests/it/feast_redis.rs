//! The Feast layout end to end: the real bytes Feast 0.67 wrote (`shared/feast`) loaded into a
//! real redis-server, read by skewaudit's Redis reader, compared with what Feast's own
//! `get_online_features` returned; then the offline recompute of the same registry over the
//! Parquet Feast materialized from, which must equal the online values (the property in
//! `shared/feast/README.md`: newest row as of the materialization end, ties by `created`;
//! a NaN offline reads as null online).

use crate::redis_server::{shared_dir, RedisServer};
use polars::prelude::*;
use serde_json::Value;
use skewaudit::offline::{self, AS_OF};
use skewaudit::online::{self, redis::RedisOptions};
use skewaudit::registry::{Dtype, Feature, Registry};

const END: i64 = 1_795_996_800_000_000; // 2026-11-30T00:00:00Z, the materialization end

fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let data = shared_dir().join("feast/data");
    let text = format!(
        r#"[project]
name = "skewdemo"
[entities.driver]
keys = ["driver_id"]
[entities.driver_city]
keys = ["driver_id", "city"]
[sources.driver_stats]
path = "{d}/driver_stats.parquet"
timestamp = "event_timestamp"
tiebreak = ["created"]
[sources.driver_city_stats]
path = "{d}/driver_city_stats.parquet"
timestamp = "event_timestamp"
tiebreak = ["created"]
[online]
layout = "feast"
project = "skewdemo"
key_types = {{ driver_id = "int64", city = "string" }}
{driver}
[features.trips_today]
entity = "driver_city"
source = "driver_city_stats"
expr = "trips_today"
aggregation = "last"
dtype = "int64"
online = {{ feature_view = "driver_city_stats" }}
[features.surge]
entity = "driver_city"
source = "driver_city_stats"
expr = "surge"
aggregation = "last"
dtype = "float64"
online = {{ feature_view = "driver_city_stats" }}
"#,
        d = data.display(),
        driver = [("conv_rate", "float64", ""), ("acc_rate", "float64", ""), ("avg_daily_trips", "int64", ""), ("rating", "float64", ""), ("driver_city", "string", "city")]
            .iter()
            .map(|(name, dtype, field)| {
                let expr = if field.is_empty() { name } else { field };
                let field = if field.is_empty() { String::new() } else { format!(", field = \"{field}\"") };
                format!("[features.{name}]\nentity = \"driver\"\nsource = \"driver_stats\"\nexpr = \"{expr}\"\naggregation = \"last\"\ndtype = \"{dtype}\"\nonline = {{ feature_view = \"driver_hourly_stats\"{field} }}\n")
            })
            .collect::<String>()
    );
    let path = dir.path().join("features.toml");
    std::fs::write(&path, text).unwrap();
    let reg = Registry::load(&path).unwrap();
    (dir, reg)
}

fn load_dump(srv: &RedisServer) -> usize {
    let dump: Value = serde_json::from_str(
        &std::fs::read_to_string(shared_dir().join("feast/online_dump.json")).unwrap(),
    )
    .unwrap();
    let mut c = srv.conn();
    let mut n = 0;
    for e in dump["entries"].as_array().unwrap() {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(hex::decode(e["key_hex"].as_str().unwrap()).unwrap());
        for (f, v) in e["fields"].as_object().unwrap() {
            cmd.arg(hex::decode(f).unwrap())
                .arg(hex::decode(v.as_str().unwrap()).unwrap());
        }
        let _: i64 = cmd.query(&mut c).unwrap();
        n += 1;
    }
    n
}

/// Rows of expected_online.json for one view: (entity key columns, features map, in_redis, ts seconds).
fn expected(view: &str) -> Vec<Value> {
    let e: Value = serde_json::from_str(
        &std::fs::read_to_string(shared_dir().join("feast/expected_online.json")).unwrap(),
    )
    .unwrap();
    e["feature_views"][view]["rows"].as_array().unwrap().clone()
}

fn keys_frame(rows: &[Value], composite: bool) -> DataFrame {
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r["entity"]["driver_id"].as_i64().unwrap())
        .collect();
    let mut cols = vec![Column::new("driver_id".into(), ids)];
    if composite {
        cols.push(Column::new(
            "city".into(),
            rows.iter()
                .map(|r| r["entity"]["city"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
        ));
    }
    DataFrame::new(rows.len(), cols).unwrap()
}

fn check_view(
    srv: &RedisServer,
    reg: &Registry,
    view: &str,
    composite: bool,
    features: &[(&str, &str)],
) -> (usize, DataFrame, DataFrame) {
    let rows = expected(view);
    let keys = keys_frame(&rows, composite);
    let key_names: Vec<String> = if composite {
        vec!["driver_id".into(), "city".into()]
    } else {
        vec!["driver_id".into()]
    };
    let feats: Vec<(&Feature, Dtype)> = features
        .iter()
        .map(|(n, _)| {
            let f = &reg.features[*n];
            (f, f.dtype.unwrap())
        })
        .collect();
    let df = online::redis::read(
        &RedisOptions::new(&srv.url()),
        reg.online.as_ref().unwrap(),
        &feats,
        &keys,
        &key_names,
    )
    .unwrap();
    let mut checked = 0;
    for (row, r) in rows.iter().enumerate() {
        let in_redis = r["in_redis"].as_bool().unwrap();
        assert_eq!(
            df.column("__key_present").unwrap().bool().unwrap().get(row),
            Some(in_redis),
            "row {row}"
        );
        for (name, feast_name) in features {
            let want = &r["features"][*feast_name]["value"];
            let status = df
                .column(&format!("{name}__status"))
                .unwrap()
                .str()
                .unwrap()
                .get(row)
                .unwrap()
                .to_string();
            let got = df.column(name).unwrap().get(row).unwrap();
            if !in_redis {
                assert_eq!(status, "missing", "{name} row {row}");
            } else if want.is_null() {
                assert_eq!(status, "null", "{name} row {row}");
            } else {
                assert_eq!(status, "present", "{name} row {row}");
                match got {
                    AnyValue::Float64(x) => {
                        // float_val: Feast widens the stored f32; the JSON text is that double.
                        let w = want.as_f64().unwrap();
                        let w = if r["features"][*feast_name]["kind"] == "float_val" {
                            w as f32 as f64
                        } else {
                            w
                        };
                        assert_eq!(x, w, "{name} row {row}")
                    }
                    AnyValue::Int64(x) => assert_eq!(x, want.as_i64().unwrap(), "{name} row {row}"),
                    AnyValue::String(s) => assert_eq!(s, want.as_str().unwrap()),
                    other => panic!("{name} row {row}: {other:?}"),
                }
            }
            if in_redis {
                let ts = df
                    .column(&format!("{name}__ts"))
                    .unwrap()
                    .cast(&DataType::Int64)
                    .unwrap();
                assert_eq!(
                    ts.i64().unwrap().get(row),
                    Some(r["event_timestamp"]["seconds"].as_i64().unwrap() * 1_000_000)
                );
            }
            checked += 1;
        }
    }
    (checked, keys, df)
}

#[test]
fn feast_bytes_read_like_feast_and_agree_with_the_offline_recompute() {
    let srv = RedisServer::start(&[]);
    assert_eq!(load_dump(&srv), 400);
    let (_d, reg) = registry();
    let driver = [
        ("conv_rate", "conv_rate"),
        ("acc_rate", "acc_rate"),
        ("avg_daily_trips", "avg_daily_trips"),
        ("rating", "rating"),
        ("driver_city", "city"),
    ];
    let (n1, keys, online_df) = check_view(&srv, &reg, "driver_hourly_stats", false, &driver);
    let (n2, pair_keys, pair_df) = check_view(
        &srv,
        &reg,
        "driver_city_stats",
        true,
        &[("trips_today", "trips_today"), ("surge", "surge")],
    );
    assert_eq!(
        n1 + n2,
        1_714,
        "every value Feast returned, probes included"
    );

    // Offline, as of the materialization end, through the canonical definitions.
    let mut compared = 0;
    let mut nan_to_null = 0;
    for (keys, online_df, names) in [
        (
            keys,
            online_df,
            driver.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ),
        (pair_keys, pair_df, vec!["trips_today", "surge"]),
    ] {
        let feats: Vec<&Feature> = names.iter().map(|n| &reg.features[*n]).collect();
        let mut q = keys.clone();
        let h = q.height();
        q.with_column(Column::new(AS_OF.into(), vec![END; h]))
            .unwrap();
        let off = offline::recompute(&reg, &feats, &q).unwrap().frame;
        for name in &names {
            for row in 0..h {
                let present = online_df
                    .column("__key_present")
                    .unwrap()
                    .bool()
                    .unwrap()
                    .get(row)
                    .unwrap();
                if !present {
                    continue; // probes: not in Redis, and no offline rows either
                }
                let on = online_df.column(name).unwrap().get(row).unwrap();
                let of = off.column(name).unwrap().get(row).unwrap();
                let same = match (&of, &on) {
                    (AnyValue::Float64(a), AnyValue::Null) if a.is_nan() => {
                        nan_to_null += 1;
                        true
                    }
                    _ => of == on,
                };
                assert!(same, "{name} row {row}: offline {of:?}, online {on:?}");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 1_700);
    assert_eq!(nan_to_null, 2, "conv_rate NaN for drivers 5066 and 5170");
}
