//! The audit end to end through the binary against a real redis-server loaded with the demo's
//! online values (hash layout, as `[online]` in `fixtures/shop/features.toml` describes), and
//! compared with the same audit over the snapshot file: exit codes 0, 1, 3, 4.

use crate::redis_server::RedisServer;
use assert_cmd::Command;
use polars::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop")
}

/// Loads every present online value of the demo snapshot into `user:{id}` hashes: the value
/// as text under the feature's name, `_ts` (epoch seconds) and `_v:{feature}`. Each key gets
/// the `_ts` of its first feature (a hash has one timestamp field). Explicit nulls of numeric
/// features are stored empty.
fn load_demo(srv: &RedisServer) -> usize {
    let snap = LazyFrame::scan_parquet(
        PlRefPath::new(
            shop()
                .join("online_snapshot.parquet")
                .to_string_lossy()
                .as_ref(),
        ),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    let reg = skewaudit::registry::Registry::load(&shop().join("features.toml")).unwrap();
    let mut c = srv.conn();
    let mut pipe = redis::pipe();
    let ids = snap.column("user_id").unwrap().i64().unwrap().clone();
    let mut loaded = 0;
    for r in 0..snap.height() {
        if snap.column("__key_present").unwrap().bool().unwrap().get(r) != Some(true) {
            continue;
        }
        let mut cmd = redis::cmd("HSET");
        cmd.arg(format!("user:{}", ids.get(r).unwrap()));
        let mut ts_set = false;
        for f in reg.features.keys() {
            let status = snap
                .column(&format!("{f}__status"))
                .unwrap()
                .str()
                .unwrap()
                .get(r)
                .unwrap()
                .to_string();
            let v = snap.column(f).unwrap().get(r).unwrap();
            let is_string = matches!(v, AnyValue::String(_))
                || reg.features[f].dtype == Some(skewaudit::registry::Dtype::String);
            if status == "null" && !is_string {
                // An explicit null: an empty value (decoded as null for non-string dtypes).
                cmd.arg(f.as_str()).arg("");
            } else if status != "present" {
                continue;
            }
            let text = match v {
                AnyValue::Float64(x) => format!("{x}"),
                AnyValue::String(s) => s.to_string(),
                other => other.str_value().to_string(),
            };
            if status == "present" {
                cmd.arg(f.as_str()).arg(text);
            }
            if let Ok(AnyValue::String(ver)) = snap.column(&format!("{f}__version")).unwrap().get(r)
            {
                cmd.arg(format!("_v:{f}")).arg(ver.to_string());
            }
            if !ts_set {
                if let Ok(ts) = snap
                    .column(&format!("{f}__ts"))
                    .unwrap()
                    .cast(&DataType::Int64)
                    .unwrap()
                    .get(r)
                    .map(|v| v.extract::<i64>())
                {
                    if let Some(us) = ts {
                        cmd.arg("_ts").arg(us / 1_000_000);
                        ts_set = true;
                    }
                }
            }
        }
        pipe.add_command(cmd).ignore();
        loaded += 1;
    }
    let _: () = pipe.query(&mut c).unwrap();
    loaded
}

fn audit(online: &str, extra: &[&str]) -> (Value, i32) {
    let out = Command::cargo_bin("skewaudit")
        .unwrap()
        .args([
            "audit",
            "--no-log",
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--format",
            "json",
            "--online",
            online,
            "--registry",
        ])
        .arg(shop().join("features.toml"))
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, code)
}

#[test]
fn audit_against_live_redis_matches_the_snapshot_audit() {
    let srv = RedisServer::start(&[]);
    assert_eq!(load_demo(&srv), 1960);
    let (live, code) = audit(&srv.url(), &["--sample", "400"]);
    assert_eq!(code, 1, "injected skews -> exit 1");
    let (snap, _) = audit(
        &shop().join("online_snapshot.parquet").to_string_lossy(),
        &["--sample", "400"],
    );
    assert_eq!(live["run"]["online"], srv.url());
    // Features whose timestamps agree per key in both paths give identical findings.
    for name in [
        "spend_30d",
        "avg_basket_30d",
        "stddev_amount_30d",
        "spend_24h",
        "txn_count_7d",
        "max_item_price_30d",
    ] {
        let get = |r: &Value| {
            r["features"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name)
                .unwrap()["comparisons"]["online"]
                .clone()
        };
        let (a, b) = (get(&live), get(&snap));
        assert_eq!(a["rows"], b["rows"], "{name}");
        assert_eq!(a["causes"], b["causes"], "{name}");
    }
    // Clean features only -> exit 0; keys nobody has -> nothing compared -> exit 4.
    let (_, code) = audit(
        &srv.url(),
        &[
            "--sample",
            "200",
            "--features",
            "txn_count_7d,spend_7d_log,max_item_price_30d",
        ],
    );
    assert_eq!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "user_id\n999991\n").unwrap();
    let (_, code) = audit(&srv.url(), &["--keys", keys.to_str().unwrap()]);
    assert_eq!(code, 4);
    // The server goes away -> exit 3.
    let url = srv.url();
    drop(srv);
    let (_, code) = audit(&url, &["--sample", "10", "--timeout-ms", "300"]);
    assert_eq!(code, 3);
}
