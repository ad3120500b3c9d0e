//! The offline engine against a slow, obviously-correct row-by-row reference (property tests
//! on random events, windows, `closed` modes, as-of times, nulls and duplicate timestamps),
//! plus targeted cases: hive partitions, lookups with max_age, tiebreak columns, watermarks.

use crate::common::*;
use polars::prelude::*;
use proptest::prelude::*;
use skewaudit::offline::{self, AS_OF};
use skewaudit::registry::Registry;

#[derive(Debug, Clone)]
struct Event {
    key: i64,
    ts: i64,
    amount: Option<f64>,
    settled: bool,
    category: &'static str,
}

fn event() -> impl Strategy<Value = Event> {
    (
        0i64..4,
        0i64..40,
        proptest::option::weighted(0.85, 0u32..400),
        proptest::bool::weighted(0.7),
        prop_oneof![Just("a"), Just("b"), Just("c")],
    )
        .prop_map(|(key, t, amount, settled, category)| Event {
            key,
            ts: t * MIN,
            amount: amount.map(|a| a as f64 / 4.0),
            settled,
            category,
        })
}

fn in_window(ts: i64, t: i64, w: Option<i64>, closed: &str) -> bool {
    let end_ok = match closed {
        "right" | "both" => ts <= t,
        _ => ts < t,
    };
    let start_ok = match w {
        None => true,
        Some(w) => match closed {
            "left" | "both" => ts >= t - w,
            _ => ts > t - w,
        },
    };
    end_ok && start_ok
}

/// Reference value of every feature (see `registry_text`) for one query.
fn reference(
    events: &[Event],
    key: i64,
    t: i64,
    w: i64,
    closed: &str,
) -> Vec<(String, Option<f64>)> {
    let rows: Vec<&Event> = events
        .iter()
        .filter(|e| e.key == key && in_window(e.ts, t, Some(w), closed))
        .collect();
    let settled: Vec<&Event> = rows.iter().copied().filter(|e| e.settled).collect();
    let vals: Vec<f64> = settled.iter().filter_map(|e| e.amount).collect();
    let n = vals.len();
    let sum: f64 = vals.iter().sum();
    let mean = if n > 0 { Some(sum / n as f64) } else { None };
    let sd = if n >= 2 {
        let m = sum / n as f64;
        Some((vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n as f64 - 1.0)).sqrt())
    } else {
        None
    };
    let min = vals.iter().copied().reduce(f64::min);
    let max = vals.iter().copied().reduce(f64::max);
    let mut cats: Vec<&str> = rows.iter().map(|e| e.category).collect();
    cats.sort();
    cats.dedup();
    // Lookups: order by (ts, value) with nulls first; first/last row's value, null or not.
    let order = |a: &&Event, b: &&Event| {
        a.ts.cmp(&b.ts).then_with(|| match (a.amount, b.amount) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.total_cmp(&y),
        })
    };
    let mut all_rows = rows.clone();
    all_rows.sort_by(order);
    let first = all_rows.first().map(|e| e.amount);
    let last = all_rows.last().map(|e| e.amount);
    let mut history: Vec<&Event> = events
        .iter()
        .filter(|e| e.key == key && e.ts <= t)
        .collect();
    history.sort_by(order);
    let last_ever = history.last().map(|e| e.amount);
    vec![
        ("n_rows".into(), Some(settled.len() as f64)),
        ("n_amount".into(), Some(n as f64)),
        ("s".into(), Some(if n > 0 { sum } else { 0.0 })),
        (
            "s_log".into(),
            Some(if n > 0 { (sum + 1.0).ln() } else { -1.0 }),
        ),
        ("m".into(), mean),
        ("mn".into(), min),
        ("mx".into(), max),
        ("sd".into(), sd),
        ("cd".into(), Some(cats.len() as f64)),
        ("fi".into(), first.flatten()),
        ("la".into(), last.flatten()),
        ("la_ever".into(), last_ever.flatten()),
    ]
}

fn registry_text(window_min: i64, closed: &str) -> String {
    let w = format!("window = \"{window_min}m\"\nclosed = \"{closed}\"");
    let settled = "filter = \"status = 'settled'\"";
    format!(
        "{BASE_REGISTRY}
[features.n_rows]
entity = \"user\"
source = \"tx\"
aggregation = \"count\"
{settled}
{w}
[features.n_amount]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"count\"
{settled}
{w}
[features.s]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"sum\"
default = 0.0
{settled}
{w}
[features.s_log]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"sum\"
transform = \"ln(value + 1)\"
default = -1.0
{settled}
{w}
[features.m]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"mean\"
{settled}
{w}
[features.mn]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"min\"
{settled}
{w}
[features.mx]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"max\"
{settled}
{w}
[features.sd]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"stddev\"
{settled}
{w}
[features.cd]
entity = \"user\"
source = \"tx\"
expr = \"category\"
aggregation = \"count_distinct\"
{w}
[features.fi]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"first\"
{w}
[features.la]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"last\"
{w}
[features.la_ever]
entity = \"user\"
source = \"tx\"
expr = \"amount\"
aggregation = \"last\"
"
    )
}

fn value_at(df: &DataFrame, name: &str, row: usize) -> Option<f64> {
    let c = df.column(name).expect("feature column");
    match c.get(row).expect("row") {
        AnyValue::Null => None,
        v => Some(v.extract::<f64>().expect("numeric")),
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

fn frame(events: &[Event]) -> DataFrame {
    let rows: Vec<(i64, i64, Option<f64>, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e.key,
                e.ts,
                e.amount,
                if e.settled { "settled" } else { "pending" },
                e.category,
            )
        })
        .collect();
    transactions(&rows)
}

fn queries(qs: &[(i64, i64)]) -> DataFrame {
    DataFrame::new(
        qs.len(),
        vec![
            Column::new("user_id".into(), qs.iter().map(|q| q.0).collect::<Vec<_>>()),
            Column::new(AS_OF.into(), qs.iter().map(|q| q.1).collect::<Vec<_>>()),
        ],
    )
    .expect("queries")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn engine_equals_row_by_row_reference(
        events in proptest::collection::vec(event(), 1..60),
        window_min in 1i64..25,
        closed in prop_oneof![Just("right"), Just("left"), Just("both"), Just("none")],
        qs in proptest::collection::vec((0i64..5, 0i64..45), 1..25),
    ) {
        let p = Project::new();
        p.parquet("tx.parquet", &mut frame(&events));
        let reg_path = p.write("features.toml", &registry_text(window_min, closed));
        let reg = Registry::load(&reg_path).expect("registry");
        let feats: Vec<_> = reg.features.values().collect();
        // As-of times on whole minutes hit the window boundaries often; key 4 has no rows.
        let qs: Vec<(i64, i64)> = qs.iter().map(|(k, t)| (*k, t * MIN)).collect();
        let out = offline::recompute(&reg, &feats, &queries(&qs)).expect("recompute");
        prop_assert_eq!(out.frame.height(), qs.len());
        for (row, (k, t)) in qs.iter().enumerate() {
            prop_assert_eq!(value_at(&out.frame, "user_id", row), Some(*k as f64));
            for (name, want) in reference(&events, *k, *t, window_min * MIN, closed) {
                let got = value_at(&out.frame, &name, row);
                let ok = match (got, want) {
                    (None, None) => true,
                    (Some(a), Some(b)) => close(a, b),
                    _ => false,
                };
                prop_assert!(ok, "feature {} key {} as_of {}min window {}m closed {}: engine {:?}, reference {:?}", name, k, t / MIN, window_min, closed, got, want);
            }
        }
        let max_ts = events.iter().map(|e| e.ts).max();
        prop_assert_eq!(out.watermarks.get("tx").copied().flatten(), max_ts);
    }
}

#[test]
fn integer_features_are_exact_and_typed() {
    let (_p, reg) = project_with(
        &[(1, MIN, Some(1.0), "settled", "a"), (1, 2 * MIN, Some(2.0), "settled", "b")],
        "[features.c]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"1h\"\ndtype = \"int64\"\n",
    );
    let reg = Registry::load(&reg).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let out =
        offline::recompute(&reg, &feats, &queries(&[(1, 2 * MIN), (1, MIN), (2, MIN)])).unwrap();
    let c = out.frame.column("c").unwrap();
    assert_eq!(c.dtype(), &DataType::Int64);
    assert_eq!(
        c.i64().unwrap().iter().collect::<Vec<_>>(),
        vec![Some(2), Some(1), Some(0)]
    );
    assert_eq!(
        out.frame
            .column("c__n")
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        vec![Some(2), Some(1), Some(0)]
    );
}

#[test]
fn lookup_with_max_age_and_tiebreak_column() {
    // profiles: two rows at the same time for user 1; `created` decides (later wins).
    let p = Project::new();
    let n = 4;
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("user_id".into(), vec![1i64, 1, 1, 2]),
            ts_column("updated_at", vec![0, 10 * MIN, 10 * MIN, 0]),
            Column::new("created".into(), vec![0i64, 5, 3, 0]),
            Column::new("country".into(), vec!["de", "fr", "zz", "it"]),
        ],
    )
    .unwrap();
    p.parquet("profiles.parquet", &mut df);
    let reg = p.write(
        "features.toml",
        "[project]\nname = \"t\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.profiles]\npath = \"profiles.parquet\"\ntimestamp = \"updated_at\"\ntiebreak = [\"created\"]\n[features.country]\nentity = \"user\"\nsource = \"profiles\"\nexpr = \"upper(country)\"\naggregation = \"last\"\nmax_age = \"30m\"\ndtype = \"string\"\n",
    );
    let reg = Registry::load(&reg).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let out = offline::recompute(
        &reg,
        &feats,
        &queries(&[
            (1, 10 * MIN),
            (1, 5 * MIN),
            (2, 29 * MIN),
            (2, 30 * MIN),
            (1, 9 * MIN),
        ]),
    )
    .unwrap();
    let c: Vec<Option<String>> = out
        .frame
        .column("country")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(String::from))
        .collect();
    assert_eq!(
        c,
        vec![
            Some("FR".into()),
            Some("DE".into()),
            Some("IT".into()),
            None,
            Some("DE".into())
        ],
        "tiebreak by created, max_age excludes rows exactly 30m old"
    );
}

#[test]
fn hive_partitioned_directory_with_date_pruning() {
    let p = Project::new();
    let day = 86_400_000_000i64;
    // Three daily partitions; user 1 buys once a day.
    for d in 0..3i64 {
        let mut df = transactions(&[
            (
                1,
                d * day + 60 * MIN,
                Some(10.0 * (d + 1) as f64),
                "settled",
                "a",
            ),
            (2, d * day, Some(1.0), "settled", "a"),
        ]);
        p.parquet(
            &format!("tx/date=1970-01-0{}/part-0.parquet", d + 1),
            &mut df,
        );
    }
    let reg = p.write(
        "features.toml",
        "[project]\nname = \"t\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.tx]\npath = \"tx\"\ntimestamp = \"event_ts\"\npartition_date = \"date\"\n[features.s]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\nwindow = \"1d\"\ndefault = 0.0\n[features.total]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\n",
    );
    let reg = Registry::load(&reg).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let out = offline::recompute(
        &reg,
        &feats,
        &queries(&[
            (1, 2 * day + 60 * MIN),
            (1, 2 * day + 59 * MIN),
            (1, 3 * day),
        ]),
    )
    .unwrap();
    let s: Vec<Option<f64>> = out
        .frame
        .column("s")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(s, vec![Some(30.0), Some(20.0), Some(30.0)]);
    let total: Vec<Option<f64>> = out
        .frame
        .column("total")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(total, vec![Some(60.0), Some(30.0), Some(60.0)]);
}

#[test]
fn composite_keys_and_string_typed_queries() {
    let p = Project::new();
    let mut df = DataFrame::new(
        4,
        vec![
            Column::new("driver_id".into(), vec![1i64, 1, 2, 1]),
            Column::new("city".into(), vec!["Zürich", "Berlin", "Zürich", "Zürich"]),
            ts_column("ts", vec![0, MIN, 2 * MIN, 3 * MIN]),
            Column::new("trips".into(), vec![1i32, 2, 3, 4]),
        ],
    )
    .unwrap();
    p.parquet("trips.parquet", &mut df);
    let reg = p.write(
        "features.toml",
        "[project]\nname = \"t\"\n[entities.dc]\nkeys = [\"driver_id\", \"city\"]\n[sources.trips]\npath = \"trips.parquet\"\ntimestamp = \"ts\"\n[features.trips_sum]\nentity = \"dc\"\nsource = \"trips\"\nexpr = \"trips\"\naggregation = \"sum\"\ndtype = \"int64\"\ndefault = 0\n",
    );
    let reg = Registry::load(&reg).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    // Keys as strings (as read from a keys file) are cast to the source's types.
    let q = DataFrame::new(
        3,
        vec![
            Column::new("driver_id".into(), vec!["1", "2", "1"]),
            Column::new("city".into(), vec!["Zürich", "Zürich", "Paris"]),
            Column::new(AS_OF.into(), vec![10 * MIN, 10 * MIN, 10 * MIN]),
        ],
    )
    .unwrap();
    let out = offline::recompute(&reg, &feats, &q).unwrap();
    let v: Vec<Option<i64>> = out
        .frame
        .column("trips_sum")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(v, vec![Some(5), Some(3), Some(0)]);
}

#[test]
fn declared_watermark_wins_and_bad_keys_are_clear_errors() {
    let (_p, reg) = project_with(
        &[(1, MIN, Some(1.0), "settled", "a")],
        "[features.c]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\n",
    );
    let text = std::fs::read_to_string(&reg).unwrap().replace(
        "timestamp = \"event_ts\"",
        "timestamp = \"event_ts\"\nwatermark = \"1970-01-01T00:30:00Z\"",
    );
    std::fs::write(&reg, text).unwrap();
    let reg = Registry::load(&reg).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let out = offline::recompute(&reg, &feats, &queries(&[(1, MIN)])).unwrap();
    assert_eq!(out.watermarks["tx"], Some(30 * MIN));
    let q = DataFrame::new(
        1,
        vec![
            Column::new("user_id".into(), vec!["not-a-number"]),
            Column::new(AS_OF.into(), vec![MIN]),
        ],
    )
    .unwrap();
    let e = offline::recompute(&reg, &feats, &q)
        .unwrap_err()
        .to_string();
    assert!(e.contains("source 'tx'") && e.contains("user_id"), "{e}");
}

#[test]
fn partitions_outside_every_window_are_not_read() {
    // The newest partition is not Parquet at all: a scan that touched it would fail. With
    // `partition_date` and a declared watermark, queries that end before that day never
    // open it.
    let p = Project::new();
    let day = 86_400_000_000i64;
    for d in 0..3i64 {
        let mut df = transactions(&[(1, d * day + MIN, Some(1.0), "settled", "a")]);
        p.parquet(
            &format!("tx/date=1970-01-0{}/part-0.parquet", d + 1),
            &mut df,
        );
    }
    p.write("tx/date=1970-01-09/part-0.parquet", "this is not parquet");
    let reg = p.write(
        "features.toml",
        "[project]\nname = \"t\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.tx]\npath = \"tx\"\ntimestamp = \"event_ts\"\npartition_date = \"date\"\nwatermark = \"1970-01-03T12:00:00Z\"\n[features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"2d\"\n",
    );
    let reg = Registry::load(&reg).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let out = offline::recompute(&reg, &feats, &queries(&[(1, 2 * day + 2 * MIN)])).unwrap();
    assert_eq!(
        out.frame.column("n").unwrap().i64().unwrap().get(0),
        Some(2)
    );
}

/// The engine against the fixture generator's own row-by-row values (an independent
/// implementation in `examples/make_fixtures.rs`): all 12 demo features at 5,000
/// `(user, as_of)` points, over the hive-partitioned demo data.
#[test]
fn demo_fixtures_match_the_generators_values() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    let reg = Registry::load(&dir.join("features.toml")).unwrap();
    let feats: Vec<_> = reg.features.values().collect();
    let expected = LazyFrame::scan_parquet(
        PlRefPath::new(
            dir.join("expected_offline.parquet")
                .to_string_lossy()
                .as_ref(),
        ),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    let q = expected
        .clone()
        .lazy()
        .select([
            col("user_id"),
            col("as_of")
                .dt()
                .timestamp(TimeUnit::Microseconds)
                .alias(AS_OF),
        ])
        .collect()
        .unwrap();
    let out = offline::recompute(&reg, &feats, &q).unwrap();
    assert_eq!(out.frame.height(), 5000);
    let mut checked = 0;
    for f in &feats {
        let got = out.frame.column(&f.name).unwrap();
        let want = expected.column(&f.name).unwrap();
        for row in 0..5000 {
            let (g, w) = (got.get(row).unwrap(), want.get(row).unwrap());
            let ok = match (&g, &w) {
                (AnyValue::Null, AnyValue::Null) => true,
                (AnyValue::Float64(a), AnyValue::Float64(b)) => {
                    close(*a, *b) || (a - b).abs() <= 1e-9
                }
                (AnyValue::Int64(a), AnyValue::Int64(b)) => a == b,
                _ => g.str_value() == w.str_value() && !g.is_null() && !w.is_null(),
            };
            assert!(
                ok,
                "feature {} row {row}: engine {g:?}, generator {w:?}",
                f.name
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12 * 5000);
}
