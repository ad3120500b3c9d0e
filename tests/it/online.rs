//! The Redis reader against real `redis-server` processes: every layout and dtype, missing
//! keys and fields, garbage values, WRONGTYPE, Cluster, an ACL user restricted to reads, a
//! server killed mid-read, and snapshots.

use crate::redis_server::{RedisCluster, RedisServer};
use polars::prelude::*;
use skewaudit::online::{self, redis::RedisOptions, OnlineError};
use skewaudit::registry::{Dtype, Feature, Registry};
use std::time::{Duration, Instant};

fn registry(online: &str) -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.toml");
    std::fs::write(
        &path,
        format!(
            "[project]\nname = \"t\"\nversion = \"v1\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.tx]\npath = \"tx.parquet\"\ntimestamp = \"ts\"\n\
             [features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\ndtype = \"int64\"\n\
             [features.s]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\ndtype = \"float64\"\n\
             [features.city]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"city\"\naggregation = \"last\"\ndtype = \"string\"\n\
             [features.flag]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"flag\"\naggregation = \"last\"\ndtype = \"bool\"\n\
             {online}"
        ),
    )
    .unwrap();
    let reg = Registry::load(&path).unwrap();
    (dir, reg)
}

fn keys(ids: &[i64]) -> DataFrame {
    DataFrame::new(ids.len(), vec![Column::new("user_id".into(), ids.to_vec())]).unwrap()
}

fn read(url: &str, reg: &Registry, ids: &[i64]) -> Result<DataFrame, OnlineError> {
    let feats: Vec<(&Feature, Dtype)> = reg
        .features
        .values()
        .map(|f| (f, f.dtype.unwrap()))
        .collect();
    let o = reg.online.as_ref().unwrap();
    let mut opts = RedisOptions::new(url);
    opts.batch = 2; // several batches even for small tests
    online::redis::read(&opts, o, &feats, &keys(ids), &["user_id".to_string()])
}

fn status(df: &DataFrame, f: &str, row: usize) -> String {
    df.column(&format!("{f}__status"))
        .unwrap()
        .str()
        .unwrap()
        .get(row)
        .unwrap_or("")
        .to_string()
}

fn hset(c: &mut redis::Connection, key: &str, pairs: &[(&str, &str)]) {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key);
    for (k, v) in pairs {
        cmd.arg(*k).arg(*v);
    }
    let _: i64 = cmd.query(c).unwrap();
}

const HASH: &str = "[online]\nlayout = \"hash\"\nkey = \"user:{user_id}\"\nfield = \"{feature}\"\ntimestamp_field = \"_ts\"\nversion_field = \"_v\"\nnull_markers = [\"None\"]\n";

#[test]
fn hash_layout_every_dtype_and_failure() {
    let srv = RedisServer::start(&[]);
    let mut c = srv.conn();
    hset(
        &mut c,
        "user:1",
        &[
            ("n", "5"),
            ("s", "2.5e1"),
            ("city", "Zürich"),
            ("flag", "true"),
            ("_ts", "1796392800000"),
            ("_v", "v1"),
        ],
    );
    hset(
        &mut c,
        "user:2",
        &[
            ("n", "abc"),
            ("s", "nan"),
            ("city", ""),
            ("flag", "maybe"),
            ("_ts", "2026-11-30T00:00:00Z"),
        ],
    );
    hset(&mut c, "user:4", &[("s", "None"), ("n", "-inf")]);
    let _: () = redis::cmd("SET")
        .arg("user:5")
        .arg("a string")
        .query(&mut c)
        .unwrap();
    let (_d, reg) = registry(HASH);
    let df = read(&srv.url(), &reg, &[1, 2, 3, 4, 5]).unwrap();
    assert_eq!(df.height(), 5);
    // user 1: every dtype decoded, timestamp in ms, version.
    assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(5));
    assert_eq!(df.column("s").unwrap().f64().unwrap().get(0), Some(25.0));
    assert_eq!(
        df.column("city").unwrap().str().unwrap().get(0),
        Some("Zürich")
    );
    assert_eq!(
        df.column("flag").unwrap().bool().unwrap().get(0),
        Some(true)
    );
    let ts = df.column("n__ts").unwrap().cast(&DataType::Int64).unwrap();
    assert_eq!(ts.i64().unwrap().get(0), Some(1_796_392_800_000_000));
    assert_eq!(
        df.column("s__version").unwrap().str().unwrap().get(0),
        Some("v1")
    );
    // user 2: garbage is a decode error per feature; NaN is a value; "" a string.
    assert_eq!(status(&df, "n", 1), "decode_error");
    assert_eq!(status(&df, "flag", 1), "decode_error");
    assert!(df
        .column("s")
        .unwrap()
        .f64()
        .unwrap()
        .get(1)
        .unwrap()
        .is_nan());
    assert_eq!(df.column("city").unwrap().str().unwrap().get(1), Some(""));
    let ts2 = df.column("n__ts").unwrap().cast(&DataType::Int64).unwrap();
    assert_eq!(
        ts2.i64().unwrap().get(1),
        Some(skewaudit::registry::parse_time("2026-11-30T00:00:00Z").unwrap())
    );
    // user 3: no key.
    for f in ["n", "s", "city", "flag"] {
        assert_eq!(status(&df, f, 2), "missing");
    }
    assert_eq!(
        df.column("__key_present").unwrap().bool().unwrap().get(2),
        Some(false)
    );
    // user 4: a null marker, a float in an int field, missing fields.
    assert_eq!(status(&df, "s", 3), "null");
    assert_eq!(status(&df, "n", 3), "decode_error");
    assert_eq!(status(&df, "city", 3), "missing");
    // user 5: WRONGTYPE is a decode error, not a crash.
    assert_eq!(status(&df, "n", 4), "decode_error");
}

#[test]
fn json_layout() {
    let srv = RedisServer::start(&[]);
    let mut c = srv.conn();
    let set = |c: &mut redis::Connection, k: &str, v: &str| {
        let _: () = redis::cmd("SET").arg(k).arg(v).query(c).unwrap();
    };
    set(
        &mut c,
        "u:1",
        r#"{"n": 7, "s": 1.5, "city": "Kraków", "flag": false, "ts": 1796392800, "v": "abcdef12"}"#,
    );
    set(&mut c, "u:2", r#"{"n": "8", "s": null, "city": 3}"#);
    set(&mut c, "u:3", "not json");
    hset(&mut c, "u:4", &[("n", "1")]);
    let (_d, reg) = registry("[online]\nlayout = \"json\"\nkey = \"u:{user_id}\"\ntimestamp_field = \"ts\"\nversion_field = \"v\"\n");
    let df = read(&srv.url(), &reg, &[1, 2, 3, 4, 5]).unwrap();
    assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(7));
    assert_eq!(
        df.column("city").unwrap().str().unwrap().get(0),
        Some("Kraków")
    );
    assert_eq!(
        df.column("flag").unwrap().bool().unwrap().get(0),
        Some(false)
    );
    assert_eq!(
        df.column("n__version").unwrap().str().unwrap().get(0),
        Some("abcdef12")
    );
    assert_eq!(
        df.column("n").unwrap().i64().unwrap().get(1),
        Some(8),
        "a numeric string decodes"
    );
    assert_eq!(status(&df, "s", 1), "null");
    assert_eq!(status(&df, "flag", 1), "missing");
    assert_eq!(
        status(&df, "city", 1),
        "present",
        "a JSON number read as a string feature is its text"
    );
    assert_eq!(status(&df, "n", 2), "decode_error", "not JSON");
    assert_eq!(status(&df, "n", 3), "decode_error", "WRONGTYPE");
    assert_eq!(status(&df, "n", 4), "missing");
}

#[test]
fn string_layout_one_key_per_feature() {
    let srv = RedisServer::start(&[]);
    let mut c = srv.conn();
    for (k, v) in [
        ("f:n:1", "3"),
        ("f:s:1", "0.25"),
        ("f:city:1", "Oslo"),
        ("f:flag:1", "1"),
        ("ts:1", "1796392800"),
        ("f:n:2", "x"),
    ] {
        let _: () = redis::cmd("SET").arg(k).arg(v).query(&mut c).unwrap();
    }
    let (_d, reg) = registry("[online]\nlayout = \"string\"\nkey = \"f:{feature}:{user_id}\"\ntimestamp_field = \"ts:{user_id}\"\n");
    let df = read(&srv.url(), &reg, &[1, 2]).unwrap();
    assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(3));
    assert_eq!(df.column("s").unwrap().f64().unwrap().get(0), Some(0.25));
    assert_eq!(
        df.column("flag").unwrap().bool().unwrap().get(0),
        Some(true)
    );
    let ts = df
        .column("city__ts")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap();
    assert_eq!(ts.i64().unwrap().get(0), Some(1_796_392_800_000_000));
    assert_eq!(status(&df, "n", 1), "decode_error");
    assert_eq!(status(&df, "s", 1), "missing");
}

#[test]
fn cluster_reads_keys_spread_over_slots() {
    let cluster = RedisCluster::start();
    let client = cluster.client();
    let mut c = client.get_connection().unwrap();
    let ids: Vec<i64> = (1..=300).collect();
    for id in &ids {
        let _: i64 = redis::cmd("HSET")
            .arg(format!("user:{id}"))
            .arg("n")
            .arg(id * 2)
            .arg("s")
            .arg(*id as f64 / 4.0)
            .query(&mut c)
            .unwrap();
    }
    // The keys really are spread over the three masters.
    let per_node: Vec<i64> = cluster
        .nodes
        .iter()
        .map(|n| n.cli(&["DBSIZE"]).unwrap().trim().parse().unwrap())
        .collect();
    assert!(per_node.iter().all(|&k| k > 50), "{per_node:?}");
    let (_d, reg) = registry(HASH);
    let df = read(&cluster.url(), &reg, &ids).unwrap();
    let n = df.column("n").unwrap().i64().unwrap();
    let s = df.column("s").unwrap().f64().unwrap();
    for (row, id) in ids.iter().enumerate() {
        assert_eq!(n.get(row), Some(id * 2));
        assert_eq!(s.get(row), Some(*id as f64 / 4.0));
    }
}

fn write_commands_run(srv: &RedisServer) -> Vec<String> {
    let mut c = srv.conn();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .unwrap();
    let mut writes = Vec::new();
    for line in info.lines().filter(|l| l.starts_with("cmdstat_")) {
        let name = line
            .trim_start_matches("cmdstat_")
            .split(':')
            .next()
            .unwrap()
            .to_string();
        let v: redis::Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg(&name)
            .query(&mut c)
            .unwrap();
        let text = format!("{v:?}").to_lowercase();
        if text.contains("\"write\"") || text.contains("write") && !text.contains("readonly") {
            writes.push(name);
        }
    }
    writes
}

#[test]
fn read_only_acl_user_runs_a_full_read_and_nothing_is_written() {
    let srv = RedisServer::start(&[]);
    let mut c = srv.conn();
    for id in 1..=50 {
        hset(
            &mut c,
            &format!("user:{id}"),
            &[("n", &id.to_string()), ("s", "1.5"), ("_ts", "1796392800")],
        );
    }
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "auditor",
            "on",
            ">s3cr3t-pw",
            "~*",
            "&*",
            "-@all",
            "+@read",
            "+@connection",
        ])
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    let (_d, reg) = registry(HASH);
    let url = format!("redis://auditor:s3cr3t-pw@127.0.0.1:{}", srv.port);
    let ids: Vec<i64> = (1..=50).collect();
    let df = read(&url, &reg, &ids).unwrap();
    assert_eq!(df.column("n").unwrap().i64().unwrap().get(49), Some(50));
    // The ACL user cannot write: the server enforces it.
    let auditor = redis::Client::open(url.as_str()).unwrap();
    let denied: redis::RedisResult<()> = redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query(&mut auditor.get_connection().unwrap());
    assert!(denied.is_err());
    // Nothing skewaudit sent was a write command.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    read(&url, &reg, &ids).unwrap();
    assert!(
        write_commands_run(&srv).is_empty(),
        "{:?}",
        write_commands_run(&srv)
    );
    // A wrong password is an unavailable source whose message does not show it.
    let bad = format!("redis://auditor:wrong-pw@127.0.0.1:{}", srv.port);
    let e = read(&bad, &reg, &ids).unwrap_err().to_string();
    assert!(!e.contains("wrong-pw") && e.contains("auditor:***@"), "{e}");
}

#[test]
fn password_when_the_url_has_none() {
    let srv = RedisServer::start(&["--requirepass", "envpw"]);
    let (_d, reg) = registry(HASH);
    // Without the password: refused, exit-3 kind of error.
    let e = read(&srv.url(), &reg, &[1]).unwrap_err();
    assert!(matches!(e, OnlineError::Unavailable { .. }), "{e}");
    // The CLI passes REDIS_PASSWORD as the options' password.
    let feats: Vec<(&Feature, Dtype)> = reg
        .features
        .values()
        .map(|f| (f, f.dtype.unwrap()))
        .collect();
    let mut opts = RedisOptions::new(&srv.url());
    opts.password = Some("envpw".into());
    let ok = online::redis::read(
        &opts,
        reg.online.as_ref().unwrap(),
        &feats,
        &keys(&[1]),
        &["user_id".to_string()],
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn server_killed_mid_read_ends_quickly_with_a_clear_error() {
    let mut srv = RedisServer::start(&[]);
    let mut c = srv.conn();
    let mut p = redis::pipe();
    for id in 0..20_000 {
        p.cmd("HSET")
            .arg(format!("user:{id}"))
            .arg("n")
            .arg(id)
            .ignore();
    }
    let _: () = p.query(&mut c).unwrap();
    let (_d, reg) = registry(HASH);
    let o = reg.online.clone().unwrap();
    let mut opts = RedisOptions::new(&srv.url());
    opts.timeout = Duration::from_secs(1);
    opts.batch = 100;
    opts.max_ops_per_sec = Some(10_000.0); // ~2 s for 20k keys: the kill lands mid-read
    let ids: Vec<i64> = (0..20_000).collect();
    let k = keys(&ids);
    let handle = std::thread::spawn(move || {
        let feats: Vec<(&Feature, Dtype)> = reg
            .features
            .values()
            .map(|f| (f, f.dtype.unwrap()))
            .collect();
        let started = Instant::now();
        let r = online::redis::read(&opts, &o, &feats, &k, &["user_id".to_string()]);
        (r.map(|_| ()), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    let killed_at = Instant::now();
    srv.stop();
    let (result, _) = handle.join().expect("no panic");
    let after_kill = killed_at.elapsed();
    let e = result.expect_err("the read cannot succeed");
    assert!(matches!(e, OnlineError::Unavailable { .. }), "{e}");
    assert!(
        after_kill <= Duration::from_secs(2) + Duration::from_millis(300),
        "took {after_kill:?} after the kill"
    );
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
}

#[test]
fn unreachable_server_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_d, reg) = registry(HASH);
    let started = Instant::now();
    let e = read(&format!("redis://127.0.0.1:{port}"), &reg, &[1]).unwrap_err();
    assert!(matches!(e, OnlineError::Unavailable { .. }));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn snapshot_round_trip() {
    let srv = RedisServer::start(&[]);
    let mut c = srv.conn();
    hset(
        &mut c,
        "user:1",
        &[
            ("n", "5"),
            ("s", "2.5"),
            ("city", "Zürich"),
            ("flag", "true"),
            ("_ts", "1796392800"),
            ("_v", "v1"),
        ],
    );
    hset(&mut c, "user:2", &[("n", "bad")]);
    let (dir, reg) = registry(HASH);
    let mut df = read(&srv.url(), &reg, &[1, 2, 3]).unwrap();
    let path = dir.path().join("snap.parquet");
    online::snapshot::write(&mut df, &path, 1_796_400_000_000_000).unwrap();
    let feats: Vec<(&Feature, Dtype)> = reg
        .features
        .values()
        .map(|f| (f, f.dtype.unwrap()))
        .collect();
    let back = online::snapshot::read(&path, &feats, &["user_id".to_string()]).unwrap();
    assert!(back.equals_missing(&df), "{back:?}\n{df:?}");
    // A snapshot of other features is a clear error naming the column.
    let mut partial = df.drop("city__status").unwrap();
    let p2 = dir.path().join("partial.parquet");
    online::snapshot::write(&mut partial, &p2, 0).unwrap();
    let e = online::snapshot::read(&p2, &feats, &["user_id".to_string()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("partial.parquet") && e.contains("'city__status' not found"),
        "{e}"
    );
}

mod snapshot_command {
    use crate::common::*;
    use crate::redis_server::RedisServer;
    use assert_cmd::Command;
    use predicates::prelude::*;

    fn project() -> (Project, std::path::PathBuf) {
        let rows: Vec<(i64, i64, Option<f64>, &str, &str)> = (1..=20)
            .map(|i| (i, i * MIN, Some(i as f64), "settled", "a"))
            .collect();
        project_with(
            &rows,
            "[features.spend]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\n\
             [features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n\
             [online]\nlayout = \"hash\"\nkey = \"user:{user_id}\"\ntimestamp_field = \"_ts\"\n",
        )
    }

    #[test]
    fn saves_a_sample_and_never_prints_the_password() {
        let srv = RedisServer::start(&["--requirepass", "hunter2"]);
        let mut c = redis::Client::open(format!("redis://:hunter2@127.0.0.1:{}", srv.port))
            .unwrap()
            .get_connection()
            .unwrap();
        for i in 1..=20 {
            let _: i64 = redis::cmd("HSET")
                .arg(format!("user:{i}"))
                .arg("spend")
                .arg(i * 2)
                .arg("n")
                .arg(1)
                .arg("_ts")
                .arg(1_796_392_800)
                .query(&mut c)
                .unwrap();
        }
        let (p, reg) = project();
        let out = p.path("snap.parquet");
        let a = Command::cargo_bin("skewaudit")
            .unwrap()
            .args(["snapshot", "--sample", "7", "--registry"])
            .arg(&reg)
            .args([
                "--online",
                &format!("redis://:hunter2@127.0.0.1:{}", srv.port),
            ])
            .arg("--out")
            .arg(&out)
            .assert()
            .code(0)
            .stderr(predicate::str::contains("saved 7 key(s) x 2 feature(s)"));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&a.get_output().stdout),
            String::from_utf8_lossy(&a.get_output().stderr)
        );
        assert!(!all.contains("hunter2"), "{all}");
        let df = polars::prelude::LazyFrame::scan_parquet(
            polars::prelude::PlRefPath::new(out.to_string_lossy().as_ref()),
            Default::default(),
        )
        .unwrap()
        .collect()
        .unwrap();
        assert_eq!(df.height(), 7);
        let ids = df.column("user_id").unwrap().i64().unwrap().clone();
        let spend = df.column("spend").unwrap().f64().unwrap().clone();
        for r in 0..7 {
            assert_eq!(spend.get(r), Some(ids.get(r).unwrap() as f64 * 2.0));
        }
        // The password can come from REDIS_PASSWORD instead.
        Command::cargo_bin("skewaudit")
            .unwrap()
            .env("REDIS_PASSWORD", "hunter2")
            .args(["snapshot", "--sample", "3", "--registry"])
            .arg(&reg)
            .args(["--online", &srv.url(), "--out"])
            .arg(p.path("snap2.parquet"))
            .assert()
            .code(0);
    }

    #[test]
    fn unreachable_store_exits_3_and_bad_urls_exit_2() {
        let (p, reg) = project();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Command::cargo_bin("skewaudit")
            .unwrap()
            .args([
                "snapshot",
                "--sample",
                "3",
                "--timeout-ms",
                "500",
                "--registry",
            ])
            .arg(&reg)
            .args([
                "--online",
                &format!("redis://u:pw123@127.0.0.1:{port}"),
                "--out",
            ])
            .arg(p.path("x.parquet"))
            .assert()
            .code(3)
            .stderr(
                predicate::str::contains("redis://u:***@127.0.0.1")
                    .and(predicate::str::contains("pw123").not()),
            );
        assert!(!p.path("x.parquet").exists(), "nothing half-written");
        Command::cargo_bin("skewaudit")
            .unwrap()
            .args(["snapshot", "--registry"])
            .arg(&reg)
            .args(["--online", "http://cache:6379", "--out"])
            .arg(p.path("x.parquet"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("use redis://"));
    }
}

#[test]
fn tls_with_a_private_ca() {
    let srv = RedisServer::start_tls();
    assert_eq!(
        srv.cli(&["HSET", "user:1", "n", "41", "s", "0.5"])
            .unwrap()
            .trim(),
        "2"
    );
    let (_d, reg) = registry(HASH);
    let feats: Vec<(&Feature, Dtype)> = reg
        .features
        .values()
        .map(|f| (f, f.dtype.unwrap()))
        .collect();
    let url = format!("rediss://127.0.0.1:{}", srv.port);
    let mut opts = RedisOptions::new(&url);
    opts.timeout = Duration::from_secs(2);
    opts.ca_file = srv.tls_ca.clone();
    let df = online::redis::read(
        &opts,
        reg.online.as_ref().unwrap(),
        &feats,
        &keys(&[1]),
        &["user_id".to_string()],
    )
    .unwrap();
    assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(41));
    // Without the CA the server's certificate is not trusted: unavailable, not a crash.
    opts.ca_file = None;
    let e = online::redis::read(
        &opts,
        reg.online.as_ref().unwrap(),
        &feats,
        &keys(&[1]),
        &["user_id".to_string()],
    )
    .unwrap_err();
    assert!(matches!(e, OnlineError::Unavailable { .. }), "{e}");
    // Plain redis:// to a TLS port fails cleanly too.
    let e = read(&format!("redis://127.0.0.1:{}", srv.port), &reg, &[1]).unwrap_err();
    assert!(matches!(e, OnlineError::Unavailable { .. }), "{e}");
}

#[test]
fn cluster_read_as_a_read_only_acl_user() {
    let cluster = RedisCluster::start();
    let client = cluster.client();
    let mut c = client.get_connection().unwrap();
    for id in 1..=60i64 {
        let _: i64 = redis::cmd("HSET")
            .arg(format!("user:{id}"))
            .arg("n")
            .arg(id)
            .query(&mut c)
            .unwrap();
    }
    let (_d, reg) = registry(HASH);
    let url = format!(
        "redis+cluster://auditor:pw@127.0.0.1:{}",
        cluster.nodes[0].port
    );
    let ids: Vec<i64> = (1..=60).collect();
    // Reads alone are not enough in Cluster mode: the client asks for the topology, and the
    // error says which right is missing.
    for node in &cluster.nodes {
        assert_eq!(
            node.cli(&[
                "ACL",
                "SETUSER",
                "auditor",
                "on",
                ">pw",
                "~*",
                "&*",
                "-@all",
                "+@read",
                "+@connection"
            ])
            .unwrap()
            .trim(),
            "OK"
        );
    }
    let e = read(&url, &reg, &ids).unwrap_err().to_string();
    assert!(e.contains("cluster|slots") && !e.contains(":pw@"), "{e}");
    // The documented rights, on every node.
    for node in &cluster.nodes {
        assert_eq!(
            node.cli(&[
                "ACL",
                "SETUSER",
                "auditor",
                "+cluster|slots",
                "+cluster|shards"
            ])
            .unwrap()
            .trim(),
            "OK"
        );
    }
    let df = read(&url, &reg, &ids).unwrap();
    let n = df.column("n").unwrap().i64().unwrap();
    assert!((0..60).all(|r| n.get(r) == Some(r as i64 + 1)));
}

/// The direct connections (redis-protocol frames, `redis://`) read exactly what the `redis`
/// crate's client reads (`?protocol=resp3` keeps that client), for every layout, with every
/// kind of stored value, from a database other than 0 (`SELECT`).
#[test]
fn direct_connections_read_what_the_redis_client_reads() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let srv = RedisServer::start(&[]);
    let client = redis::Client::open(format!("{}/2", srv.url())).unwrap();
    let cell = prop_oneof![
        Just(None),
        (-1_000_000i64..1_000_000).prop_map(|i| Some(i.to_string())),
        (-1e9f64..1e9).prop_map(|f| Some(format!("{f:e}"))),
        Just(Some("None".to_string())),
        Just(Some(String::new())),
        Just(Some("true".to_string())),
        "[a-zé ]{0,12}".prop_map(Some),
    ];
    let row = (prop::collection::vec(cell, 4), 0u8..4);
    let mut runner = TestRunner::new(Config {
        cases: 4,
        ..Config::default()
    });
    let layouts = [
        HASH.to_string(),
        "[online]\nlayout = \"json\"\nkey = \"j:{user_id}\"\ntimestamp_field = \"ts\"\n"
            .to_string(),
        "[online]\nlayout = \"string\"\nkey = \"s:{feature}:{user_id}\"\n".to_string(),
    ];
    runner
        .run(&prop::collection::vec(row, 1..150), |rows| {
            let mut c = client.get_connection().unwrap();
            let _: () = redis::cmd("FLUSHDB").query(&mut c).unwrap();
            let names = ["n", "s", "city", "flag"];
            for (id, (cells, kind)) in rows.iter().enumerate() {
                let present: Vec<(&str, &str)> = names
                    .iter()
                    .zip(cells)
                    .filter_map(|(n, v)| v.as_deref().map(|v| (*n, v)))
                    .collect();
                match kind {
                    0 => {} // no key at all
                    3 => {
                        // The wrong type for every layout: a list.
                        for k in [format!("user:{id}"), format!("j:{id}")] {
                            let _: i64 = redis::cmd("RPUSH").arg(k).arg("x").query(&mut c).unwrap();
                        }
                    }
                    _ => {
                        let mut fields = present.clone();
                        fields.push(("_ts", "1796392800"));
                        hset(&mut c, &format!("user:{id}"), &fields);
                        let obj: serde_json::Map<String, serde_json::Value> = present
                            .iter()
                            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                            .chain([("ts".to_string(), serde_json::json!(1796392800))])
                            .collect();
                        let _: () = redis::cmd("SET")
                            .arg(format!("j:{id}"))
                            .arg(serde_json::Value::Object(obj).to_string())
                            .query(&mut c)
                            .unwrap();
                        for (k, v) in &present {
                            let _: () = redis::cmd("SET")
                                .arg(format!("s:{k}:{id}"))
                                .arg(*v)
                                .query(&mut c)
                                .unwrap();
                        }
                    }
                }
            }
            let ids: Vec<i64> = (0..rows.len() as i64).collect();
            for layout in &layouts {
                let (_d, reg) = registry(layout);
                let direct = read(&format!("{}/2", srv.url()), &reg, &ids).unwrap();
                let client = read(&format!("{}/2?protocol=resp3", srv.url()), &reg, &ids).unwrap();
                prop_assert!(
                    direct.equals_missing(&client),
                    "{layout}\ndirect:\n{direct}\nredis client:\n{client}"
                );
                // Something was read (not two empty frames).
                let present = direct
                    .column("__key_present")
                    .unwrap()
                    .bool()
                    .unwrap()
                    .sum()
                    .unwrap_or(0);
                let expected = rows.iter().filter(|(_, k)| *k != 0).count() as u32;
                if !layout.contains("string") {
                    prop_assert_eq!(present, expected, "{}", layout);
                }
            }
            Ok(())
        })
        .unwrap();
}
