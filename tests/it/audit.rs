//! The audit on the demo fixtures against their ground truth (`fixtures/shop/GROUND_TRUTH.md`):
//! each injected skew is found on the right feature and comparison, the mismatched row count
//! equals the ground truth for the sampled keys, >= 90% of those rows get the injected cause,
//! and the clean features pass. Plus exit codes through the binary.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

fn shop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop")
}

fn audit_json(args: &[&str]) -> (Value, i32) {
    let all: Vec<&str> = ["--as-of", "2026-12-01T00:00:00Z", "--format", "json"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    let out = shop_audit(&all);
    let code = out.status.code().unwrap_or(-1);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (v, code)
}

/// The demo audit of 300 sampled users (as of the snapshot), report files into `dir`.
fn audit_to(dir: &Path, formats: &str) -> assert_cmd::assert::Assert {
    Command::cargo_bin("skewaudit")
        .unwrap()
        .args(["audit", "--registry"])
        .arg(shop().join("features.toml"))
        .args([
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--sample",
            "300",
            "--format",
            formats,
            "--output",
        ])
        .arg(dir)
        .assert()
}

/// The binary's audit of the demo registry with `args`.
fn shop_audit(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("skewaudit")
        .unwrap()
        .args(["audit", "--registry"])
        .arg(shop().join("features.toml"))
        .args(args)
        .output()
        .unwrap()
}

fn sampled_ids(n: usize, seed: u64) -> HashSet<i64> {
    let reg = skewaudit::registry::Registry::load(&shop().join("features.toml")).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let keys = skewaudit::sample::sample_keys(
        &reg,
        &reg.entities["user"],
        &feats,
        &skewaudit::sample::Sampling::Count(n),
        seed,
    )
    .unwrap();
    keys.column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .flatten()
        .collect()
}

#[test]
fn demo_audit_finds_every_injected_skew() {
    let (report, code) = audit_json(&["--sample", "600", "--seed", "3"]);
    assert_eq!(code, 1, "skew found -> exit 1");
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["exit_code"], 1);
    let sampled = sampled_ids(600, 3);
    assert_eq!(report["run"]["sample_size"], 600);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(shop().join("ground_truth.json")).unwrap())
            .unwrap();
    let feature = |name: &str| {
        report["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    let missing: HashSet<i64> = truth["injected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["cause"] == "missing_online")
        .unwrap()["user_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .filter(|id| sampled.contains(id))
        .collect();
    assert!(!missing.is_empty());

    // Log rows of the sampled users: request ids.
    let log_ids: HashSet<String> = {
        let reg = skewaudit::registry::Registry::load(&shop().join("features.toml")).unwrap();
        let feats: Vec<_> = reg
            .features
            .values()
            .map(|f| (f, f.dtype.unwrap_or(skewaudit::registry::Dtype::Float64)))
            .collect();
        let lf = skewaudit::logs::read(
            reg.logs.as_ref().unwrap(),
            &feats,
            &["user_id".to_string()],
            None,
            0.01,
        )
        .unwrap();
        let ids = lf.frame.column("user_id").unwrap().i64().unwrap().clone();
        let rid = lf
            .frame
            .column(skewaudit::logs::REQUEST_ID)
            .unwrap()
            .str()
            .unwrap()
            .clone();
        (0..lf.frame.height())
            .filter(|r| sampled.contains(&ids.get(*r).unwrap()))
            .map(|r| rid.get(r).unwrap().to_string())
            .collect()
    };

    let mut skewed: BTreeMap<(String, String), bool> = BTreeMap::new();
    for inj in truth["injected"].as_array().unwrap() {
        let (name, comparison, cause) = (
            inj["feature"].as_str().unwrap(),
            inj["comparison"].as_str().unwrap(),
            inj["cause"].as_str().unwrap(),
        );
        if name == "*" {
            // Missing keys: every online comparison counts them apart.
            for f in report["features"].as_array().unwrap() {
                let c = &f["comparisons"]["online"];
                assert_eq!(
                    c["rows"]["missing_online"].as_u64().unwrap() as usize,
                    missing.len(),
                    "{}",
                    f["name"]
                );
            }
            continue;
        }
        let affected: usize = if comparison == "online" {
            inj["user_ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| sampled.contains(&v.as_i64().unwrap()))
                .count()
        } else {
            inj["request_ids"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| log_ids.contains(v.as_str().unwrap()))
                .count()
        };
        assert!(
            affected > 5,
            "{name}/{comparison}: only {affected} affected rows in the sample"
        );
        let c = &feature(name)["comparisons"][comparison];
        let mismatched = c["rows"]["mismatched"].as_u64().unwrap() as usize;
        assert_eq!(
            mismatched, affected,
            "{name}/{comparison}: mismatched rows vs ground truth; causes {}",
            c["causes"]
        );
        let with_cause = c["causes"][cause].as_u64().unwrap_or(0) as usize;
        assert!(
            with_cause * 10 >= affected * 9,
            "{name}/{comparison}: {with_cause} of {affected} rows have cause {cause}: {}",
            c["causes"]
        );
        assert_eq!(c["verdict"], "fail", "{name}/{comparison}");
        if let Some(lag) = inj.get("lag_seconds").and_then(|l| l.as_f64()) {
            assert_eq!(
                c["lag_seconds"]["p50"].as_f64(),
                Some(lag),
                "{name}: the injected lag"
            );
        }
        skewed.insert((name.to_string(), comparison.to_string()), true);
    }
    // Everything else is clean and passes.
    for f in report["features"].as_array().unwrap() {
        for comparison in ["online", "log"] {
            let name = f["name"].as_str().unwrap().to_string();
            if skewed.contains_key(&(name.clone(), comparison.to_string())) {
                continue;
            }
            let c = &f["comparisons"][comparison];
            assert_eq!(
                c["rows"]["mismatched"], 0,
                "{name}/{comparison} should be clean: {}",
                c["causes"]
            );
            assert_eq!(
                c["verdict"], "pass",
                "{name}/{comparison}: {}",
                c["violations"]
            );
        }
    }
}

#[test]
fn clean_features_exit_0_and_nothing_to_compare_exits_4() {
    let (report, code) = audit_json(&[
        "--sample",
        "200",
        "--features",
        "txn_count_7d,spend_7d_log,country,tier",
        "--no-log",
    ]);
    assert_eq!(code, 0, "{}", report["features"]);
    assert_eq!(report["verdict"], "pass");
    // Keys that no side knows: nothing is compared -> exit 4.
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "user_id\n999991\n999992\n").unwrap();
    let out = Command::cargo_bin("skewaudit")
        .unwrap()
        .args([
            "audit",
            "--no-log",
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--registry",
        ])
        .arg(shop().join("features.toml"))
        .arg("--keys")
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A log file without the log's columns is an input error: exit 2.
    let not_a_log = shop().join("transactions/date=2026-11-01/part-0.parquet");
    let out = shop_audit(&[
        "--no-online",
        "--sample",
        "5",
        "--log",
        &not_a_log.to_string_lossy(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unavailable_online_store_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = shop_audit(&[
        "--online",
        &format!("redis://127.0.0.1:{port}"),
        "--timeout-ms",
        "300",
        "--sample",
        "10",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn markdown_and_json_files_and_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = shop_audit(&[
        "--as-of",
        "2026-12-01T00:00:00Z",
        "--sample",
        "300",
        "--format",
        "table,json,markdown",
        "--output",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("## ❌ skewaudit: FAIL"), "{md}");
    let row = md
        .lines()
        .find(|l| l.starts_with("| `spend_30d` | online |"))
        .expect("a row per feature and comparison");
    assert!(
        row.contains("`transform:log1p` 100%") && row.ends_with("| fail |"),
        "{row}"
    );
    assert!(md.contains("### Violations") && md.contains("- `spend_30d` (online): mismatch rate"));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["verdict"], "fail");
    // The table went to stdout; the files were announced on stderr.
    assert!(String::from_utf8_lossy(&out.stdout).contains("dominant cause"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("report.md"));
    // Several formats need --output; unknown formats are named.
    for (args, needle) in [
        (vec!["--format", "json,markdown"], "need --output"),
        (
            vec!["--format", "pdf"],
            "--format pdf: one of table, json, markdown, junit",
        ),
    ] {
        let o = shop_audit(&args);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn html_report_is_one_self_contained_file_with_an_svg_per_feature() {
    let dir = tempfile::tempdir().unwrap();
    audit_to(dir.path(), "html,json").code(1);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 12, "one SVG per feature");
    assert_eq!(html.matches("</svg>").count(), 12);
    assert_eq!(
        html.matches("<section").count(),
        html.matches("</section>").count()
    );
    // Self-contained: no script, no stylesheet link, no external URL.
    for banned in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
    assert!(html.contains("transform:log1p") && html.contains("class=\"fail\""));
    // Optional: a real browser renders it (Debian's chromium, when installed).
    if let Ok(chromium) = which_chromium() {
        let shot = dir.path().join("report.png");
        let status = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1200,2000",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!(
                "file://{}",
                dir.path().join("report.html").display()
            ))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(
            std::fs::metadata(&shot).unwrap().len() > 10_000,
            "a non-trivial screenshot"
        );
    }
}

fn which_chromium() -> Result<std::path::PathBuf, ()> {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).is_file() {
            return Ok(p.into());
        }
    }
    Err(())
}

/// The JSON report of a real run validates against `docs/report.schema.json` (Python's
/// `jsonschema`, Draft 2020-12; `.ci/run` installs it when missing).
#[test]
fn json_report_validates_against_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    audit_to(dir.path(), "json").code(1);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let check = |report: &Path| {
        std::process::Command::new("python3")
            .args(["-c", "import json,sys,jsonschema; jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))"])
            .arg(&schema)
            .arg(report)
            .output()
            .expect("python3 with jsonschema (.ci/run installs it)")
    };
    let out = check(&dir.path().join("report.json"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The schema is strict enough to catch drift: an unknown field fails.
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    v["features"][0]["comparisons"]["online"]["rows"]["surprise"] = serde_json::json!(1);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    assert!(!check(&bad).status.success());
}

#[test]
fn output_dir_without_format_writes_every_file_and_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = shop_audit(&[
        "--as-of",
        "2026-12-01T00:00:00Z",
        "--sample",
        "100",
        "--output",
        &dir.path().to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    for f in ["report.json", "report.md", "junit.xml", "report.html"] {
        let len = std::fs::metadata(dir.path().join(f))
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .len();
        assert!(len > 100, "{f} is {len} bytes");
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("dominant cause"));
}

/// Data that is not there is a source unavailable (exit 3) for the features that read it;
/// features that do not read it are audited as usual.
#[test]
fn missing_parquet_exits_3_only_for_the_features_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("shop");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(shop())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let reg = skewaudit::registry::Registry::load(&copy.join("features.toml")).unwrap();
    let reads = |src: &str| {
        reg.features
            .values()
            .find(|f| f.source == src)
            .map(|f| f.name.clone())
            .expect("a feature reads the source")
    };
    let (hit, safe) = (reads("profiles"), reads("transactions"));
    let gone = "profiles";
    std::fs::remove_file(copy.join("profiles.parquet")).unwrap();
    let run = |feature: &str| {
        Command::cargo_bin("skewaudit")
            .unwrap()
            .args(["audit", "--registry"])
            .arg(copy.join("features.toml"))
            .args([
                "--as-of",
                "2026-12-01T00:00:00Z",
                "--sample",
                "50",
                "--format",
                "json",
                "--features",
                feature,
            ])
            .output()
            .unwrap()
    };
    let out = run(&hit);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("source '{gone}'")), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = run(&safe);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Without --as-of, a snapshot is judged as of the time it was taken (its Parquet metadata).
#[test]
fn a_snapshot_is_audited_as_of_when_it_was_taken() {
    let snap = shop().join("online_snapshot.parquet");
    let taken = skewaudit::online::snapshot::taken_at(&snap).expect("the fixture has taken_at");
    let out = shop_audit(&[
        "--no-log",
        "--sample",
        "50",
        "--format",
        "json",
        "--online",
        &snap.to_string_lossy(),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        v["run"]["as_of"]
            .as_str()
            .map(|t| skewaudit::registry::parse_time(t).unwrap()),
        Some(taken)
    );
    // --as-of still wins.
    let (v, _) = audit_json(&["--no-log", "--sample", "50"]);
    assert_eq!(v["run"]["as_of"], "2026-12-01T00:00:00Z");
}
