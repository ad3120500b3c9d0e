//! `skewaudit validate`: one test per error class (message and exit code 2), and a valid
//! registry exiting 0. Runs the real binary over real Parquet files.

use crate::common::*;
use assert_cmd::Command;
use predicates::prelude::*;
use skewaudit::registry::Registry;

const ROWS: &[(i64, i64, Option<f64>, &str, &str)] = &[
    (1, 10 * MIN, Some(5.0), "settled", "books"),
    (1, 20 * MIN, Some(7.0), "pending", "games"),
    (2, 30 * MIN, None, "settled", "books"),
];

const GOOD: &str = r#"
[features.spend_7d]
entity = "user"
source = "tx"
expr = "amount"
filter = "status = 'settled'"
aggregation = "sum"
window = "7d"
transform = "ln(value + 1)"
default = 0.0
dtype = "float64"
"#;

fn validate(reg: &std::path::Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("skewaudit")
        .expect("binary")
        .args(["validate", "--registry"])
        .arg(reg)
        .assert()
}

/// Asserts exit code 2, no panic, and every stderr line naming the registry file.
fn fails_with(features: &str, needle: &str) {
    let (_p, reg) = project_with(ROWS, features);
    let out = validate(&reg)
        .code(2)
        .stderr(predicate::str::contains(needle));
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    for line in stderr.lines() {
        assert!(
            line.starts_with("error: ") && line.contains("features.toml"),
            "line without file: {line}"
        );
    }
}

#[test]
fn valid_registry_exits_0() {
    let (_p, reg) = project_with(ROWS, GOOD);
    validate(&reg)
        .code(0)
        .stdout(predicate::str::contains("ok — 1 feature(s)"));
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    fails_with(
        "[features.x]\nentity = \"user\nsource = 1\n",
        "features.toml:14:15:",
    );
}

#[test]
fn unknown_key_is_rejected_with_its_line() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindw = \"7d\"\n",
        "unknown field `windw`",
    );
    let (_p, reg) = project_with(ROWS, "[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindw = \"7d\"\n");
    validate(&reg)
        .code(2)
        .stderr(predicate::str::contains("features.toml:17:1:"));
}

#[test]
fn unknown_entity_and_source_suggest_names() {
    fails_with(
        "[features.x]\nentity = \"usr\"\nsource = \"tx\"\naggregation = \"count\"\n",
        "feature 'x': unknown entity 'usr' (did you mean 'user'?)",
    );
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"txs\"\naggregation = \"count\"\n",
        "feature 'x': unknown source 'txs' (did you mean 'tx'?)",
    );
}

#[test]
fn unknown_column_suggests_the_closest() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amout * 2\"\naggregation = \"sum\"\n",
        "feature 'x': expr \"amout * 2\": column 'amout' not found in source 'tx' (did you mean 'amount'?)",
    );
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nfilter = \"stauts = 'settled'\"\naggregation = \"count\"\n",
        "column 'stauts' not found in source 'tx' (did you mean 'status'?)",
    );
}

#[test]
fn timestamp_and_key_columns_are_checked() {
    let p = Project::new();
    p.parquet("tx.parquet", &mut transactions(ROWS));
    let reg = p.write(
        "features.toml",
        "[project]\nname = \"t\"\n[entities.user]\nkeys = [\"userid\"]\n[sources.tx]\npath = \"tx.parquet\"\ntimestamp = \"event_time\"\n[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n",
    );
    validate(&reg)
        .code(2)
        .stderr(predicate::str::contains(
            "timestamp column 'event_time' not found",
        ))
        .stderr(predicate::str::contains("(did you mean 'event_ts'?)"))
        .stderr(predicate::str::contains(
            "key column 'userid' not found (did you mean 'user_id'?)",
        ));
}

#[test]
fn bad_sql_names_the_feature() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount +* )\"\naggregation = \"sum\"\n",
        "feature 'x': expr \"amount +* )\" is not valid SQL",
    );
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\ntransform = \"ln(amount)\"\n",
        "feature 'x': transform \"ln(amount)\" reads 'amount'; a transform may only use `value`",
    );
}

#[test]
fn numeric_aggregation_on_a_string_column() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"category\"\naggregation = \"mean\"\n",
        "feature 'x': aggregation 'mean' needs a numeric expr, but \"category\" is str",
    );
}

#[test]
fn filter_must_be_boolean() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nfilter = \"amount + 1\"\naggregation = \"count\"\n",
        "feature 'x': filter \"amount + 1\" gives f64, not a boolean predicate",
    );
}

#[test]
fn bad_durations() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"7 days\"\n",
        "feature 'x': window: bad duration \"7 days\"",
    );
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"0d\"\n",
        "must be greater than zero",
    );
}

#[test]
fn duplicate_names() {
    // The same table twice is a TOML error with its line.
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n",
        "duplicate key",
    );
    // Names differing only in case collide as columns.
    fails_with(
        "[features.Spend]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n[features.spend]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n",
        "duplicate name: 'Spend' differs only in case",
    );
    // A feature named like a key column.
    fails_with(
        "[features.user_id]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n",
        "duplicate name: 'user_id' is also an entity key column",
    );
}

#[test]
fn unknown_aggregation_and_dtype_and_default() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"summ\"\n",
        "unknown aggregation 'summ' (did you mean 'sum'?)",
    );
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\ndtype = \"int64\"\ndefault = \"zero\"\n",
        "default \"zero\" does not fit dtype int64",
    );
}

#[test]
fn dtype_must_fit_the_computed_value() {
    fails_with(
        "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\ndtype = \"string\"\n",
        "dtype string does not fit the computed value's type f64",
    );
}

#[test]
fn missing_data_is_an_error_naming_the_path() {
    let p = Project::new();
    let reg = p.write("features.toml", &format!("{BASE_REGISTRY}\n{GOOD}"));
    validate(&reg)
        .code(2)
        .stderr(predicate::str::contains("source 'tx'"))
        .stderr(predicate::str::contains("no such file or directory"));
    // --no-data checks the registry alone.
    Command::cargo_bin("skewaudit")
        .expect("binary")
        .args(["validate", "--no-data", "--registry"])
        .arg(&reg)
        .assert()
        .code(0);
}

#[test]
fn unset_environment_variable_is_an_error() {
    let p = Project::new();
    p.parquet("tx.parquet", &mut transactions(ROWS));
    let reg = p.write(
        "features.toml",
        &format!(
            "{}\n{GOOD}",
            BASE_REGISTRY.replace("tx.parquet", "${SKEWAUDIT_IT_UNSET_DIR}/tx.parquet")
        ),
    );
    validate(&reg).code(2).stderr(predicate::str::contains(
        "key 'sources.tx.path': environment variable ${SKEWAUDIT_IT_UNSET_DIR} is not set",
    ));
    Command::cargo_bin("skewaudit")
        .expect("binary")
        .env("SKEWAUDIT_IT_UNSET_DIR", p.dir.path())
        .args(["validate", "--registry"])
        .arg(&reg)
        .assert()
        .code(0);
}

#[test]
fn relative_paths_resolve_against_the_registry_dir() {
    let (p, reg) = project_with(ROWS, GOOD);
    let r = Registry::load(&reg).expect("load");
    match &r.sources["tx"].location {
        skewaudit::registry::Location::Local(path) => assert_eq!(path, &p.path("tx.parquet")),
        other => panic!("unexpected {other:?}"),
    }
    // Validating from another working directory still finds the data.
    Command::cargo_bin("skewaudit")
        .expect("binary")
        .current_dir(std::env::temp_dir())
        .args(["validate", "--registry"])
        .arg(&reg)
        .assert()
        .code(0);
}

#[test]
fn definition_hash_is_stable_and_ignores_key_order_and_names() {
    let a = "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\nwindow = \"7d\"\n";
    let b = "[features.x]\nwindow = \"168h\"\naggregation = \"sum\"\nexpr = \"  amount \"\nsource = \"tx\"\nentity = \"user\"\ndescription = \"renamed and reordered\"\n";
    let c = "[features.x]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\nwindow = \"8d\"\n";
    let (_p1, r1) = project_with(ROWS, a);
    let (_p2, r2) = project_with(ROWS, b);
    let (_p3, r3) = project_with(ROWS, c);
    let h = |r: &std::path::Path| {
        Registry::load(r).expect("load").features["x"]
            .definition_hash
            .clone()
    };
    assert_eq!(h(&r1), h(&r2));
    assert_ne!(h(&r1), h(&r3));
    assert_eq!(h(&r1).len(), 64);
    // Pinned: the canonical form is a contract (docs/registry.md); a change here is a
    // breaking change for every stored version string.
    let expected = skewaudit::registry::hash::sha256_hex(
        br#"{"aggregation":"sum","closed":"right","default":null,"dtype":null,"entity_keys":["user_id"],"expr":"amount","filter":null,"source_tiebreak":[],"source_timestamp":"event_ts","transform":null,"window_us":604800000000}"#,
    );
    assert_eq!(h(&r1), expected);
}

#[test]
fn demo_registry_is_valid() {
    let reg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop/features.toml");
    validate(&reg).code(0);
}

/// `validate` checks the serving log against `[logs]` too (pre-launch: a wrong column shows
/// before the first audit), and a log that is not there.
#[test]
fn validate_checks_the_serving_log() {
    let shop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    validate(&shop.join("features.toml")).code(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("shop");
    assert!(std::process::Command::new("cp")
        .arg("-r")
        .arg(&shop)
        .arg(&copy)
        .status()
        .expect("cp")
        .success());
    let text = std::fs::read_to_string(copy.join("features.toml")).expect("read");
    let reg = copy.join("features.toml");
    std::fs::write(
        &reg,
        text.replace("timestamp = \"request_ts\"", "timestamp = \"request_time\""),
    )
    .expect("write");
    validate(&reg)
        .code(2)
        .stderr(
            predicate::str::contains("[logs]: ").and(predicate::str::contains(
                "timestamp column 'request_time' not found (did you mean 'request_ts'?)",
            )),
        );
    std::fs::write(&reg, &text).expect("write");
    validate(&reg).code(0);
    std::fs::remove_file(copy.join("serving_log.parquet")).expect("rm");
    validate(&reg).code(2).stderr(
        predicate::str::contains("[logs]: ").and(predicate::str::contains("serving_log.parquet")),
    );
}
