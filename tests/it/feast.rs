//! Feast's Redis layout against real bytes: every key, field, value and `_ts` that Feast
//! 0.67.0 wrote (`shared/feast/online_dump.json`) must decode, through
//! `skewaudit::online::feast`, to what Feast's own `get_online_features` returned
//! (`shared/feast/expected_online.json`). See `shared/feast/README.md`.

use serde_json::Value as Json;
use skewaudit::online::feast::{
    decode_timestamp, decode_value, field_name, parse_entity_key, serialize_entity_key,
    timestamp_to_micros, ts_field_name, FeastValue, KeyValue,
};
use std::collections::{BTreeMap, BTreeSet};

const FEAST_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/feast");

type Fields = BTreeMap<Vec<u8>, Vec<u8>>;

fn load(name: &str) -> Json {
    let path = format!("{FEAST_DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// `online_dump.json` as raw bytes: key -> (field -> value).
struct Dump {
    project: String,
    entries: BTreeMap<Vec<u8>, Fields>,
}

fn load_dump() -> Dump {
    let dump = load("online_dump.json");
    let project = dump["project"].as_str().expect("project").to_owned();
    let mut entries = BTreeMap::new();
    for e in dump["entries"].as_array().expect("entries") {
        let fields: Fields = e["fields"]
            .as_object()
            .expect("fields")
            .iter()
            .map(|(f, v)| (unhex(f), unhex(v.as_str().expect("value hex"))))
            .collect();
        let key = unhex(e["key_hex"].as_str().expect("key_hex"));
        assert!(
            entries.insert(key, fields).is_none(),
            "duplicate key in dump"
        );
    }
    assert_eq!(
        entries.len() as u64,
        dump["key_count"].as_u64().expect("key_count")
    );
    Dump { project, entries }
}

/// The declared Feast type of each join key (`features.py`): it decides the key bytes.
fn key_value(join_key: &str, v: &Json) -> KeyValue {
    match join_key {
        "driver_id" => KeyValue::Int64(v.as_i64().expect("driver_id is an integer")),
        "city" => KeyValue::Str(v.as_str().expect("city is a string").to_owned()),
        other => panic!("join key {other} not declared in features.py"),
    }
}

fn entity_key(project: &str, join_keys: &[String], entity: &Json) -> Vec<u8> {
    let pairs: Vec<(&str, KeyValue)> = join_keys
        .iter()
        .map(|k| (k.as_str(), key_value(k, &entity[k.as_str()])))
        .collect();
    serialize_entity_key(&pairs, project)
}

/// How a decoded value compared with one `{value, kind}` of `expected_online.json`.
#[derive(Debug, PartialEq)]
enum Match {
    /// Equal; floats bit for bit (a float32 widened to f64 is exactly what Feast returns).
    Exact,
    /// A float one f64 ULP away from the JSON number: serde_json's default float parser is
    /// not correctly rounded (enable its `float_roundtrip` feature for exact parsing); a
    /// float32 must still be equal after narrowing.
    JsonUlp,
    Differs,
}

/// Whether serde_json parses floats correctly rounded (feature `float_roundtrip`): this
/// literal, a value Feast returned, is one ULP off with the default parser.
fn json_floats_exact() -> bool {
    let text = "0.24140000343322754";
    serde_json::from_str::<f64>(text).ok() == text.parse::<f64>().ok()
}

fn ulps(a: f64, b: f64) -> u64 {
    (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
}

fn compare(decoded: &FeastValue, expected: &Json) -> Match {
    let value = &expected["value"];
    if decoded.kind() != expected["kind"].as_str() {
        return Match::Differs;
    }
    let float = |got: f64, narrowed_ok: bool| match value.as_f64() {
        Some(want) if want.to_bits() == got.to_bits() => Match::Exact,
        Some(want) if narrowed_ok && ulps(want, got) == 1 => Match::JsonUlp,
        _ => Match::Differs,
    };
    let exact = |ok: bool| if ok { Match::Exact } else { Match::Differs };
    match decoded {
        FeastValue::Null => exact(value.is_null()),
        FeastValue::Float(f) => float(f64::from(*f), value.as_f64().map(|v| v as f32) == Some(*f)),
        FeastValue::Double(d) => float(*d, true),
        FeastValue::Int64(i) => exact(value.as_i64() == Some(*i)),
        FeastValue::Int32(i) => exact(value.as_i64() == Some(i64::from(*i))),
        FeastValue::Str(s) => exact(value.as_str() == Some(s.as_str())),
        _ => Match::Differs,
    }
}

#[test]
fn dump_field_labels_match_field_names() {
    let dump = load("online_dump.json");
    assert_eq!(dump["entity_key_serialization_version"], 3);
    let labels = dump["field_labels"].as_object().expect("field_labels");
    assert_eq!(labels.len(), 9);
    for (field_hex, label) in labels {
        let label = label.as_str().expect("label");
        let computed = match label.strip_prefix("_ts:") {
            Some(view) => ts_field_name(view),
            None => {
                let (view, feature) = label.split_once(':').expect("view:feature");
                field_name(view, feature).to_vec()
            }
        };
        assert_eq!(hex::encode(computed), *field_hex, "{label}");
    }
}

#[test]
fn dump_keys_parse_and_reserialize() {
    let dump = load_dump();
    let (mut single, mut composite) = (0, 0);
    for (key, fields) in &dump.entries {
        let parsed = parse_entity_key(key, &dump.project)
            .unwrap_or_else(|e| panic!("{}: {e}", hex::encode(key)));
        let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
        match names.as_slice() {
            ["driver_id"] => {
                single += 1;
                assert_eq!(fields.len(), 6);
            }
            ["city", "driver_id"] => {
                composite += 1;
                assert_eq!(fields.len(), 3);
            }
            other => panic!("unexpected join keys {other:?}"),
        }
        assert!(matches!(parsed.last(), Some((_, KeyValue::Int64(_)))));
        let pairs: Vec<(&str, KeyValue)> = parsed
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        assert_eq!(&serialize_entity_key(&pairs, &dump.project), key);
        assert!(parse_entity_key(key, "skewdemo2").is_err());
    }
    assert_eq!((single, composite), (300, 100));
}

#[test]
fn online_values_match_get_online_features() {
    let dump = load_dump();
    let expected = load("expected_online.json");
    assert_eq!(expected["project"].as_str(), Some(dump.project.as_str()));

    let mut seen_keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut mismatches: Vec<String> = Vec::new();
    let (mut values, mut nulls, mut probe_values, mut timestamps, mut probes) = (0, 0, 0, 0, 0);
    let mut json_ulp = 0;
    let mut per_view: BTreeMap<String, usize> = BTreeMap::new();

    let views = expected["feature_views"]
        .as_object()
        .expect("feature_views");
    for (view, spec) in views {
        let join_keys: Vec<String> = spec["join_keys"]
            .as_array()
            .expect("join_keys")
            .iter()
            .map(|k| k.as_str().expect("join key").to_owned())
            .collect();
        let ts_field = ts_field_name(view);
        for row in spec["rows"].as_array().expect("rows") {
            let key = entity_key(&dump.project, &join_keys, &row["entity"]);
            let in_redis = row["in_redis"].as_bool().expect("in_redis");
            assert_eq!(row["probe"].as_bool(), Some(!in_redis), "{}", row["entity"]);
            let Some(fields) = dump.entries.get(&key) else {
                if in_redis {
                    mismatches.push(format!("{view} {}: key not found in dump", row["entity"]));
                    continue;
                }
                // A probe: Feast reports nulls and epoch 0 for a key that does not exist.
                probes += 1;
                assert_eq!(row["event_timestamp"]["seconds"], 0);
                for (feature, exp) in row["features"].as_object().expect("features") {
                    probe_values += 1;
                    if compare(&FeastValue::Null, exp) != Match::Exact {
                        mismatches.push(format!(
                            "{view} {} {feature}: probe not null",
                            row["entity"]
                        ));
                    }
                }
                continue;
            };
            if !in_redis {
                mismatches.push(format!(
                    "{view} {}: probe key exists in dump",
                    row["entity"]
                ));
                continue;
            }
            seen_keys.insert(key.clone());

            let features = row["features"].as_object().expect("features");
            let mut expected_fields: BTreeSet<Vec<u8>> = BTreeSet::new();
            expected_fields.insert(ts_field.clone());
            for (feature, exp) in features {
                let field = field_name(view, feature);
                expected_fields.insert(field.to_vec());
                let Some(raw) = fields.get(field.as_slice()) else {
                    mismatches.push(format!("{view} {} {feature}: field missing", row["entity"]));
                    continue;
                };
                values += 1;
                *per_view.entry(view.clone()).or_default() += 1;
                match decode_value(raw) {
                    Ok(decoded) => {
                        nulls += usize::from(decoded.is_null());
                        let m = compare(&decoded, exp);
                        json_ulp += usize::from(m == Match::JsonUlp);
                        if m == Match::Differs {
                            mismatches.push(format!(
                                "{view} {} {feature}: decoded {decoded:?}, Feast returned {exp}",
                                row["entity"]
                            ));
                        }
                    }
                    Err(e) => mismatches.push(format!("{view} {} {feature}: {e}", row["entity"])),
                }
            }
            let actual_fields: BTreeSet<Vec<u8>> = fields.keys().cloned().collect();
            if actual_fields != expected_fields {
                mismatches.push(format!("{view} {}: field set differs", row["entity"]));
            }

            let exp_ts = &row["event_timestamp"];
            let want = (
                exp_ts["seconds"].as_i64().expect("seconds"),
                exp_ts["nanos"].as_i64().expect("nanos"),
            );
            match fields.get(&ts_field).map(|raw| decode_timestamp(raw)) {
                Some(Ok(Some((s, n)))) if (s, i64::from(n)) == want => {
                    timestamps += 1;
                    assert_eq!(
                        timestamp_to_micros(s, n),
                        Some(want.0 * 1_000_000 + want.1 / 1_000)
                    );
                }
                other => mismatches.push(format!(
                    "{view} {}: _ts {other:?}, expected {want:?}",
                    row["entity"]
                )),
            }
        }
    }

    assert!(
        mismatches.is_empty(),
        "{} mismatches, first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    if json_floats_exact() {
        assert_eq!(
            json_ulp, 0,
            "with exact JSON parsing every float matches bit for bit"
        );
    } else {
        eprintln!("{json_ulp} floats matched within serde_json's parsing error (1 ULP)");
    }
    // README: 1,500 + 200 stored values (8 of them null), 400 keys, 4 probes; 1,714 in all.
    assert_eq!(per_view.get("driver_hourly_stats"), Some(&1_500));
    assert_eq!(per_view.get("driver_city_stats"), Some(&200));
    assert_eq!(values, 1_700);
    assert_eq!(nulls, 8);
    assert_eq!((probes, probe_values), (4, 14));
    assert_eq!(values + probe_values, 1_714);
    assert_eq!(timestamps, 400);
    // Every key Feast wrote is one of the expected entities.
    assert_eq!(seen_keys.len(), dump.entries.len());
}

#[test]
fn planted_cases_decode_as_planted() {
    let dump = load_dump();
    let planted = load("planted_cases.json");
    let view = "driver_hourly_stats";
    let driver_value = |driver: i64, feature: &str| -> FeastValue {
        let key = serialize_entity_key(&[("driver_id", KeyValue::Int64(driver))], &dump.project);
        let fields = dump
            .entries
            .get(&key)
            .unwrap_or_else(|| panic!("driver {driver} not in dump"));
        let raw = fields
            .get(field_name(view, feature).as_slice())
            .expect("field present");
        decode_value(raw).expect("decodes")
    };
    let ids = |name: &str| -> Vec<i64> {
        planted[name]
            .as_array()
            .expect(name)
            .iter()
            .map(|v| v.as_i64().expect("id"))
            .collect()
    };

    // Null and NaN are both stored as empty bytes, which decode to Null (not zero).
    for d in ids("driver_newest_rating_null").into_iter().chain([5101]) {
        assert_eq!(
            driver_value(d, "rating"),
            FeastValue::Null,
            "driver {d} rating"
        );
    }
    for d in ids("driver_newest_conv_rate_nan") {
        assert_eq!(
            driver_value(d, "conv_rate"),
            FeastValue::Null,
            "driver {d} conv_rate"
        );
    }
    for d in ids("driver_newest_city_null") {
        assert_eq!(driver_value(d, "city"), FeastValue::Null, "driver {d} city");
    }
    // An empty string is a value, distinct from null.
    for d in ids("driver_newest_city_empty_string") {
        assert_eq!(
            driver_value(d, "city"),
            FeastValue::Str(String::new()),
            "driver {d} city"
        );
    }
    // Drivers that moved: the online city is the newest row's.
    for (d, mv) in planted["driver_moves_city"].as_object().expect("moves") {
        let d: i64 = d.parse().expect("driver id");
        let to = mv["to"].as_str().expect("to").to_owned();
        assert_eq!(driver_value(d, "city"), FeastValue::Str(to), "driver {d}");
    }
    // Non-ASCII cities in composite keys: (5190, "Kraków") and (5224, "Zürich") exist,
    // their case- or accent-mangled variants do not.
    for (pair, present) in [
        ((5190, "Kraków"), true),
        ((5224, "Zürich"), true),
        ((5190, "Krakow"), false),
        ((5224, "zürich"), false),
    ] {
        let key = serialize_entity_key(
            &[
                ("driver_id", KeyValue::Int64(pair.0)),
                ("city", KeyValue::Str(pair.1.into())),
            ],
            &dump.project,
        );
        assert_eq!(dump.entries.contains_key(&key), present, "{pair:?}");
    }
}
