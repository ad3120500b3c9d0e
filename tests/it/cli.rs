//! The binary end to end: recompute, sample, usage errors and exit codes.

use crate::common::*;
use assert_cmd::Command;
use predicates::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("skewaudit").expect("binary")
}

const FEATURES: &str = "[features.spend]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\nwindow = \"1h\"\ndefault = 0.0\n[features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"1h\"\n";

fn rows() -> Vec<(i64, i64, Option<f64>, &'static str, &'static str)> {
    (0..50)
        .map(|i| (i % 10, i * MIN, Some(i as f64), "settled", "a"))
        .collect()
}

#[test]
fn recompute_writes_ndjson_with_as_of() {
    let (_p, reg) = project_with(&rows(), FEATURES);
    let out = bin()
        .args(["recompute", "--keys"])
        .arg(_p.write("keys.txt", "user_id\n3\n"))
        .args(["--as-of", "1970-01-01T00:45:00Z", "--registry"])
        .arg(&reg)
        .assert()
        .code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let row: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    // user 3 bought at minutes 3, 13, 23, 33, 43: in (45-60, 45] -> all five.
    assert_eq!(row["user_id"], 3);
    assert_eq!(row["spend"], 3.0 + 13.0 + 23.0 + 33.0 + 43.0);
    assert_eq!(row["n"], 5);
    assert!(
        row["as_of"]
            .as_str()
            .unwrap_or("")
            .starts_with("1970-01-01T00:45:00"),
        "{row}"
    );
}

#[test]
fn recompute_to_parquet_and_default_as_of_is_the_watermark() {
    let (p, reg) = project_with(&rows(), FEATURES);
    let out = p.path("out/values.parquet");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    bin()
        .args(["recompute", "--sample", "4", "--counts", "--registry"])
        .arg(&reg)
        .arg("--output")
        .arg(&out)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "wrote 4 row(s) as of 1970-01-01T00:49:00Z",
        ));
    let df = polars::prelude::LazyFrame::scan_parquet(
        polars::prelude::PlRefPath::new(out.to_string_lossy().as_ref()),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(df.height(), 4);
    assert!(df.column("spend__n").is_ok());
    // No temporary file is left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".skewaudit-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn sample_command_is_deterministic() {
    let (_p, reg) = project_with(&rows(), FEATURES);
    let run = |seed: &str| {
        let a = bin()
            .args(["sample", "--sample", "3", "--seed", seed, "--registry"])
            .arg(&reg)
            .assert()
            .code(0);
        String::from_utf8_lossy(&a.get_output().stdout).to_string()
    };
    let a = run("11");
    assert_eq!(a, run("11"));
    assert_eq!(a.lines().count(), 4, "header + 3 keys: {a}");
    assert!(a.starts_with("user_id\n"));
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let (_p, reg) = project_with(&rows(), FEATURES);
    for args in [
        vec!["recompute", "--sample-rate", "1.5"],
        vec!["recompute", "--as-of", "yesterday"],
        vec!["recompute", "--features", "spnd"],
        vec!["recompute", "--output", "x.csv"],
        vec!["recompute", "--sample", "0"],
    ] {
        let a = bin()
            .args(&args)
            .arg("--registry")
            .arg(&reg)
            .assert()
            .code(2);
        let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    bin()
        .args(["recompute", "--features", "spnd", "--registry"])
        .arg(&reg)
        .assert()
        .stderr(predicate::str::contains(
            "unknown feature 'spnd' (did you mean 'spend'?)",
        ));
    // clap's own errors use exit code 2 as well.
    bin()
        .args([
            "recompute",
            "--sample",
            "3",
            "--sample-rate",
            "0.1",
            "--registry",
        ])
        .arg(&reg)
        .assert()
        .code(2);
    bin()
        .args(["validate"])
        .env_remove("SKEWAUDIT_REGISTRY")
        .assert()
        .code(2);
}

#[test]
fn missing_source_data_exits_3() {
    let (p, reg) = project_with(&rows(), FEATURES);
    std::fs::remove_file(p.path("tx.parquet")).unwrap();
    bin()
        .args(["recompute", "--sample", "3", "--registry"])
        .arg(&reg)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("source 'tx'"));
}

#[test]
fn registry_from_environment() {
    let (_p, reg) = project_with(&rows(), FEATURES);
    bin()
        .args(["validate"])
        .env("SKEWAUDIT_REGISTRY", &reg)
        .assert()
        .code(0);
}

#[test]
fn demo_runs_the_audit_on_the_bundled_fixtures() {
    let out = tempfile::tempdir().unwrap();
    let a = bin()
        .args(["demo", "--output"])
        .arg(out.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(1) // the demo data has injected skews
        .stdout(predicate::str::contains("skewaudit: FAIL — 500 user keys"))
        .stdout(predicate::str::contains("reports in "));
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        stdout.contains("spend_30d") && stdout.contains("transform:log1p"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["verdict"], "fail");
    assert_eq!(report["run"]["as_of"], "2026-12-01T00:00:00Z");
    for f in ["report.md", "junit.xml", "report.html"] {
        assert!(out.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn explain_shows_the_steps_and_the_cause_for_one_entity() {
    // User 6's spend_30d has log1p applied online (fixtures/shop/ground_truth.json).
    let a = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "explain",
            "--registry",
            "fixtures/shop/features.toml",
            "--entity",
            "user_id=6",
            "--feature",
            "spend_30d",
            "--as-of",
            "2026-12-01T00:00:00Z",
        ])
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(out.contains("■ spend_30d"), "{out}");
    assert!(
        out.contains("sum(amount) over 30d of source 'transactions' where status = 'settled'"),
        "{out}"
    );
    assert!(out.contains("source rows in the window: "), "{out}");
    assert!(
        out.contains("verdict vs online: MISMATCH — cause transform:log1p"),
        "{out}"
    );
    // The offline value printed is ln-inverse of the served one: served = ln(1 + offline).
    let num = |prefix: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap();
        line.trim_start()
            .trim_start_matches(prefix)
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (off, on) = (num("offline value: "), num("online value: "));
    assert!((off.ln_1p() - on).abs() < 1e-9, "{off} {on}");
    // A bad entity is a usage error naming the key.
    bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "explain",
            "--registry",
            "fixtures/shop/features.toml",
            "--entity",
            "usr_id=6",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing key column 'user_id'"));
    // --log without a [logs] section to read it by is a usage error, not ignored.
    let (_p, reg) = project_with(&rows(), FEATURES);
    bin()
        .args([
            "explain",
            "--entity",
            "user_id=1",
            "--log",
            "x.parquet",
            "--registry",
        ])
        .arg(&reg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--log needs a [logs] section"));
}

/// Logged requests that matched are shown too, and a mismatched one never as a match.
#[test]
fn explain_shows_matching_logged_requests() {
    let a = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "explain",
            "--registry",
            "fixtures/shop/features.toml",
            "--entity",
            "user_id=300",
            "--as-of",
            "2026-12-01T00:00:00Z",
        ])
        .assert()
        .code(0);
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    let section = |name: &str| {
        out.split("■ ")
            .find(|s| s.starts_with(name))
            .unwrap_or_else(|| panic!("no section {name}:\n{out}"))
            .to_string()
    };
    let country = section("country ");
    assert!(country.contains("verdict vs log: match"), "{country}");
    assert!(
        country.contains("req-000125: served DE -> match"),
        "{country}"
    );
    let last = section("last_txn_amount ");
    assert!(
        last.contains("req-000707: offline 20.01 vs served 0 -> default_filled"),
        "{last}"
    );
    assert!(!last.contains("req-000707: served"), "{last}");
    assert!(last.contains("req-000125: served 20.01 -> match"), "{last}");
}

#[test]
fn shell_completions() {
    for shell in ["bash", "zsh", "fish"] {
        let a = bin().args(["completions", shell]).assert().code(0);
        let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert!(
            out.contains("skewaudit") && out.contains("audit") && out.contains("registry"),
            "{shell}"
        );
    }
    bin().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn progress_is_hidden_when_stderr_is_not_a_terminal() {
    let (_p, reg) = project_with(&rows(), FEATURES);
    // Under the test harness stderr is a pipe: no progress lines, only the result.
    let a = bin()
        .args(["sample", "--sample", "2", "--registry"])
        .arg(&reg)
        .assert()
        .code(0);
    assert!(a.get_output().stderr.is_empty());
}

#[test]
fn verbose_logs_one_line_per_stage_off_a_terminal() {
    let a = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "audit",
            "-v",
            "--registry",
            "fixtures/shop/features.toml",
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--sample",
            "50",
            "--format",
            "json",
            "--no-log",
        ])
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.lines()
            .any(|l| l.starts_with("skewaudit: sampling keys 50 keys (")),
        "{err}"
    );
    assert!(err.contains("comparing with online"), "{err}");
    // Quiet wins; and without -v nothing is printed off a terminal.
    let q = bin()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .args([
            "audit",
            "--registry",
            "fixtures/shop/features.toml",
            "--as-of",
            "2026-12-01T00:00:00Z",
            "--sample",
            "50",
            "--format",
            "json",
            "--no-log",
        ])
        .assert()
        .code(1);
    assert!(q.get_output().stderr.is_empty());
}
