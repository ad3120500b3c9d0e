//! The audit end to end through the binary against a real redis-server loaded with the demo's
//! online values by `skewaudit demo --load-redis` (hash layout, as `[online]` in
//! `fixtures/shop/features.toml` describes), and
//! compared with the same audit over the snapshot file: exit codes 0, 1, 3, 4.

use crate::redis_server::RedisServer;
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop")
}

/// Loads the demo's online values with `skewaudit demo --load-redis`.
fn load_demo(srv: &RedisServer) -> usize {
    Command::cargo_bin("skewaudit")
        .unwrap()
        .args(["demo", "--load-redis", &srv.url()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(0);
    srv.cli(&["DBSIZE"]).unwrap().trim().parse().unwrap()
}

/// The binary's audit of the demo registry against `online`, as of the demo's time.
fn audit_output(online: &str, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("skewaudit")
        .unwrap()
        .args([
            "audit",
            "--no-log",
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--online",
            online,
            "--registry",
        ])
        .arg(shop().join("features.toml"))
        .args(extra)
        .output()
        .unwrap()
}

fn audit(online: &str, extra: &[&str]) -> (Value, i32) {
    let extra: Vec<&str> = ["--format", "json"].iter().chain(extra).copied().collect();
    let out = audit_output(online, &extra);
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (v, code)
}

#[test]
fn audit_against_live_redis_matches_the_snapshot_audit() {
    let srv = RedisServer::start(&[]);
    assert_eq!(load_demo(&srv), 1960);
    // A database that holds keys is refused without --force.
    Command::cargo_bin("skewaudit")
        .unwrap()
        .args(["demo", "--load-redis", &srv.url()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(2);
    Command::cargo_bin("skewaudit")
        .unwrap()
        .args(["demo", "--force", "--load-redis", &srv.url()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(0);
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

/// "Too many read errors" (exit 3): a store that holds none of the sampled keys (here: the
/// wrong database), or a feature most of whose stored values do not decode.
#[test]
fn an_online_read_that_cannot_be_what_the_registry_says_exits_3() {
    let srv = RedisServer::start(&[]);
    load_demo(&srv);
    let run = |online: &str| audit_output(online, &["--sample", "100"]);
    let out = run(&format!("{}/1", srv.url()));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("none of the 100 sampled keys"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // Garbage in one feature's field of every key: that feature is named.
    let keys = srv.cli(&["KEYS", "user:*"]).unwrap();
    let mut conn = srv.conn();
    for k in keys.lines().filter(|k| !k.is_empty()) {
        let _: i64 = redis::cmd("HSET")
            .arg(k)
            .arg("spend_30d")
            .arg("n/a")
            .query(&mut conn)
            .unwrap();
    }
    let out = run(&srv.url());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("feature 'spend_30d'") && err.contains("do not decode as float64"),
        "{err}"
    );
    // A few bad values are findings, not a failed read: fix most keys back.
    let (_, code) = audit(&srv.url(), &["--sample", "100"]);
    assert_eq!(code, 3);
    for k in keys.lines().filter(|k| !k.is_empty()).skip(10) {
        let _: i64 = redis::cmd("HDEL")
            .arg(k)
            .arg("spend_30d")
            .query(&mut conn)
            .unwrap();
    }
    let (report, code) = audit(&srv.url(), &["--sample", "100"]);
    assert!(matches!(code, 0 | 1), "exit {code}");
    let spend = report["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "spend_30d")
        .unwrap();
    assert!(
        spend["comparisons"]["online"]["rows"]["decode_errors"]
            .as_u64()
            .unwrap()
            <= 10
    );
}
