//! insta snapshots: every exporter on a fixed report (the demo audit, volatile fields
//! normalised) and every command's `--help`. Review changes with `cargo insta review`.

use assert_cmd::Command;
use skewaudit::report;
use std::path::Path;

fn fixed_report() -> report::Report {
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    let reg = skewaudit::registry::Registry::load(&shop.join("features.toml")).unwrap();
    let typed = skewaudit::commands::snapshot::typed_features(&reg, &[]).unwrap();
    let features = typed.iter().map(|(f, d)| (f.name.clone(), *d)).collect();
    let plan = skewaudit::audit::AuditPlan {
        entity: reg.entities["user"].clone(),
        features,
        sampling: skewaudit::sample::Sampling::Count(200),
        seed: 1,
        universe: Default::default(),
        as_of: skewaudit::registry::parse_time("2026-12-01T00:00:00Z").unwrap(),
        online: Some(skewaudit::commands::snapshot::OnlineSource::Snapshot(
            shop.join("online_snapshot.parquet"),
        )),
        logs: reg.logs.clone(),
        progress: skewaudit::progress::Progress::hidden(),
        registry: reg,
    };
    let mut r = skewaudit::audit::run(&plan).unwrap();
    let root = format!("{}/", env!("CARGO_MANIFEST_DIR"));
    r.run.duration_seconds = 0.0;
    r.run.registry_path = r.run.registry_path.replace(&root, "");
    r.run.online = r.run.online.map(|o| o.replace(&root, ""));
    r.run.log = r.run.log.map(|o| o.replace(&root, ""));
    r
}

#[test]
fn exporters() {
    let r = fixed_report();
    for name in report::FORMATS {
        let text = report::exporter(name).unwrap().render(&r).unwrap();
        insta::assert_snapshot!(format!("exporter_{name}"), text);
    }
}

#[test]
fn junit_parses_with_the_right_counts() {
    use quick_xml::events::Event;
    let r = fixed_report();
    let xml = report::exporter("junit").unwrap().render(&r).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut skipped, mut declared) =
        (0usize, 0usize, 0usize, None::<usize>);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuites" => {
                    let tests = e
                        .try_get_attribute("tests")
                        .unwrap()
                        .expect("tests attribute");
                    declared = Some(String::from_utf8_lossy(&tests.value).parse().unwrap());
                }
                b"testcase" => cases += 1,
                b"failure" => failures += 1,
                b"skipped" => skipped += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let all: Vec<_> = r
        .features
        .iter()
        .flat_map(|f| [&f.comparisons.online, &f.comparisons.log])
        .flatten()
        .collect();
    assert_eq!(cases, all.len());
    assert_eq!(declared, Some(all.len()));
    assert_eq!(failures, all.iter().filter(|c| c.verdict == "fail").count());
    assert_eq!(
        skipped,
        all.iter().filter(|c| c.verdict == "inconclusive").count()
    );
    assert!(failures > 0);
}

#[test]
fn help_texts() {
    for cmd in [
        vec![],
        vec!["audit"],
        vec!["explain"],
        vec!["completions"],
        vec!["validate"],
        vec!["snapshot"],
        vec!["recompute"],
        vec!["sample"],
        vec!["demo"],
    ] {
        let out = Command::cargo_bin("skewaudit")
            .unwrap()
            .args(&cmd)
            .arg("--help")
            .env_remove("SKEWAUDIT_REGISTRY")
            .env_remove("REDIS_URL")
            .env_remove("REDIS_PASSWORD")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(out.status.success());
        let name = if cmd.is_empty() {
            "help_main".to_string()
        } else {
            format!("help_{}", cmd[0])
        };
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
}

#[test]
fn table_colours_only_when_asked_and_stays_aligned() {
    let r = fixed_report();
    let plain = report::table::render_with(&r, false);
    let coloured = report::table::render_with(&r, true);
    assert!(!plain.contains('\u{1b}'));
    assert!(coloured.contains("\u{1b}[31m") && coloured.contains("\u{1b}[32m"));
    // Every table line of the coloured output has the same visible width.
    let strip = |l: &str| {
        let mut out = String::new();
        let mut esc = false;
        for c in l.chars() {
            match (esc, c) {
                (false, '\u{1b}') => esc = true,
                (true, 'm') => esc = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    };
    let widths: std::collections::BTreeSet<usize> = coloured
        .lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| strip(l).chars().count())
        .collect();
    assert_eq!(
        widths.len(),
        2,
        "the summary and the worst-rows tables: {widths:?}"
    );
    // Under the test harness stdout is no terminal: the exporter does not colour.
    assert!(!report::exporter("table")
        .unwrap()
        .render(&r)
        .unwrap()
        .contains('\u{1b}'));
}
