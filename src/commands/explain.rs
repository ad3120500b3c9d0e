//! `skewaudit explain`: one entity, on call. For each feature: the source rows in its window
//! (the first N, with the count), the aggregate, the transform step, the default, the offline
//! value; the online value with its timestamp, version and status; the logged values of the
//! entity's recent requests with the recompute as of each request time; and the verdict with
//! its cause (the audit's own classification of that row).

use super::snapshot::{override_log_path, typed_features, OnlineSource};
use super::{CommandError, CommandResult};
use crate::audit::{self, AuditPlan};
use crate::cli::ExplainArgs;
use crate::exit;
use crate::offline::{self, scan, AS_OF};
use crate::registry::{format_time, parse_sql, parse_time, Feature, Registry};
use crate::sample::Sampling;
use polars::prelude::*;
use std::fmt::Write;

fn usage(e: impl std::fmt::Display) -> CommandError {
    CommandError::usage(e.to_string())
}

/// The source rows of `key` that fall in the feature's window at `as_of` (all, then cut).
fn window_rows(
    reg: &Registry,
    f: &Feature,
    key: &DataFrame,
    as_of: i64,
) -> Result<DataFrame, CommandError> {
    let src = &reg.sources[&f.source];
    let mut lf = scan::scan_source(src).map_err(|e| CommandError::unavailable(e.to_string()))?;
    let schema = lf.collect_schema().map_err(usage)?;
    let ts_dt = schema.get(src.timestamp.as_str()).ok_or_else(|| {
        usage(format!(
            "source '{}': no column '{}'",
            src.name, src.timestamp
        ))
    })?;
    let ts = scan::ts_micros(&src.timestamp, ts_dt).map_err(usage)?;
    let entity = &reg.entities[&f.entity];
    for k in &entity.keys {
        let dt = schema.get(k.as_str()).cloned().unwrap_or(DataType::String);
        let v = key
            .column(k)
            .and_then(|c| c.strict_cast(&dt))
            .map_err(|_| usage(format!("--entity {k}: not a valid {dt}")))?;
        lf = lf.filter(col(k.as_str()).eq(lit(v.as_materialized_series().clone()).first()));
    }
    let mut mask = ts.clone().lt_eq(lit(as_of));
    if !f.closed.includes_end() {
        mask = ts.clone().lt(lit(as_of));
    }
    if let Some(w) = f.window {
        let start = as_of - w.as_micros();
        mask = mask.and(if f.closed.includes_start() {
            ts.clone().gt_eq(lit(start))
        } else {
            ts.clone().gt(lit(start))
        });
    }
    let mut cols = vec![ts.clone().alias("__ts"), col(src.timestamp.as_str())];
    if let Some(e) = &f.expr {
        cols.push(parse_sql(e).map_err(usage)?.alias("value"));
    }
    if let Some(p) = &f.filter {
        cols.push(parse_sql(p).map_err(usage)?.alias("passes_filter"));
    }
    for tb in &src.tiebreak {
        cols.push(col(tb.as_str()));
    }
    lf.filter(mask)
        .select(cols)
        .sort(["__ts"], Default::default())
        .collect()
        .map_err(usage)
}

fn cell(df: &DataFrame, c: &str, r: usize) -> String {
    df.column(c)
        .ok()
        .and_then(|c| c.get(r).ok())
        .map(|v| audit::val(v).to_json().to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn run(args: &ExplainArgs) -> CommandResult {
    let reg = Registry::load(&args.registry.registry)?;
    let names: Vec<String> = args.feature.iter().cloned().collect();
    let typed = typed_features(&reg, &names)?;
    let plain: Vec<&Feature> = typed.iter().map(|(f, _)| *f).collect();
    let entity = reg
        .single_entity(&plain)
        .map_err(CommandError::usage)?
        .clone();
    // --entity k=v[,k2=v2]: every key column, once.
    let mut pairs = Vec::new();
    for part in args.entity.split(',') {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            usage(format!(
                "--entity {part}: write column=value, e.g. --entity {}=42",
                entity.keys[0]
            ))
        })?;
        pairs.push((k.trim().to_string(), v.trim().to_string()));
    }
    for k in &entity.keys {
        if !pairs.iter().any(|(p, _)| p == k) {
            return Err(usage(format!(
                "--entity: missing key column '{k}' (entity '{}' has keys {})",
                entity.name,
                entity.keys.join(", ")
            )));
        }
    }
    if let Some((p, _)) = pairs.iter().find(|(p, _)| !entity.keys.contains(p)) {
        return Err(usage(format!(
            "--entity: '{p}' is not a key column of entity '{}'{}",
            entity.name,
            crate::registry::did_you_mean(p, entity.keys.iter().map(|s| s.as_str()))
        )));
    }
    let as_of_flag = match &args.as_of {
        Some(t) => Some(parse_time(t).map_err(|m| usage(format!("--as-of: {m}")))?),
        None => None,
    };
    let dir = tempfile::tempdir().map_err(usage)?;
    let keys_file = dir.path().join("key.csv");
    let header = entity.keys.join(",");
    let row: Vec<String> = entity
        .keys
        .iter()
        .map(|k| {
            pairs
                .iter()
                .find(|(p, _)| p == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    std::fs::write(&keys_file, format!("{header}\n{}\n", row.join(","))).map_err(usage)?;

    // The audit of this one key gives the verdicts and causes; its examples hold the row.
    let online =
        if args.online.online.is_some() || reg.online.as_ref().is_some_and(|o| o.url.is_some()) {
            Some(OnlineSource::from_args(&args.online, &reg)?)
        } else {
            None
        };
    let mut logs = reg.logs.clone();
    if let Some(glob) = &args.log {
        override_log_path(&mut logs, &reg.path, glob)?;
    }
    let plan = AuditPlan {
        registry: reg.clone(),
        features: typed.iter().map(|(f, d)| (f.name.clone(), *d)).collect(),
        entity: entity.clone(),
        sampling: Sampling::Keys(keys_file.clone()),
        seed: 0,
        universe: Default::default(),
        as_of: as_of_flag.unwrap_or_else(|| OnlineSource::default_as_of(online.as_ref())),
        online,
        logs,
        progress: crate::progress::Progress::hidden(),
    };
    let report = audit::run(&plan)?;
    let key = crate::sample::read_keys_file(&keys_file, &entity)?;

    // This key's logged requests, to show the logged values that matched too (the audit's
    // examples hold the mismatched ones).
    let log_frame = match &plan.logs {
        Some(l) => Some(
            crate::logs::read(
                l,
                &typed,
                &entity.keys,
                Some(&key_typed(&reg, &plain, &key)?),
                l.max_malformed_rate,
            )
            .map_err(crate::audit::AuditError::from)?
            .frame,
        ),
        None => None,
    };

    // Online values of this key, for their timestamps.
    let online_frame = match &plan.online {
        Some(OnlineSource::Redis(opts)) => Some(crate::online::redis::read(
            opts,
            reg.online.as_ref().ok_or_else(|| usage("no [online]"))?,
            &typed,
            &key_typed(&reg, &plain, &key)?,
            &entity.keys,
        )?),
        Some(OnlineSource::Snapshot(p)) => {
            let snap = crate::online::snapshot::read(p, &typed, &entity.keys)?;
            let k = key_typed(&reg, &plain, &key)?;
            Some(
                k.lazy()
                    .join(
                        snap.lazy(),
                        entity
                            .keys
                            .iter()
                            .map(|c| col(c.as_str()))
                            .collect::<Vec<_>>(),
                        entity
                            .keys
                            .iter()
                            .map(|c| col(c.as_str()))
                            .collect::<Vec<_>>(),
                        JoinArgs::new(JoinType::Left),
                    )
                    .collect()
                    .map_err(usage)?,
            )
        }
        None => None,
    };

    let mut out = String::new();
    let _ = writeln!(
        out,
        "skewaudit explain — {} {} (registry {})",
        entity.name,
        args.entity,
        reg.path.display()
    );
    for (f, _) in &typed {
        let fr = report.features.iter().find(|x| x.name == f.name);
        let _ = writeln!(
            out,
            "\n■ {}  (definition {})",
            f.name,
            &f.definition_hash[..12]
        );
        let window = f
            .window
            .map(|w| w.to_string())
            .unwrap_or_else(|| "all history".into());
        let _ = writeln!(
            out,
            "  {}({}) over {} of source '{}'{}{}",
            f.aggregation.name(),
            f.expr.as_deref().unwrap_or("*"),
            window,
            f.source,
            f.filter
                .as_ref()
                .map(|p| format!(" where {p}"))
                .unwrap_or_default(),
            f.transform
                .as_ref()
                .map(|t| format!(", then {t}"))
                .unwrap_or_default()
        );
        let ts = online_frame.as_ref().and_then(|o| {
            o.column(&format!("{}__ts", f.name))
                .ok()
                .and_then(|c| c.cast(&DataType::Int64).ok())
                .and_then(|c| c.get(0).ok().and_then(|v| v.extract::<i64>()))
        });
        let t = ts.or(as_of_flag).unwrap_or(plan.as_of);
        let _ = writeln!(
            out,
            "  as of {} ({})",
            format_time(t),
            if ts.is_some() {
                "the online value's timestamp"
            } else {
                "--as-of / now"
            }
        );
        let rows = window_rows(&reg, f, &key, t)?;
        let _ = writeln!(out, "  source rows in the window: {}", rows.height());
        for r in 0..rows.height().min(args.rows) {
            let at = rows
                .column("__ts")
                .ok()
                .and_then(|c| c.get(r).ok())
                .and_then(|v| v.extract::<i64>())
                .map(format_time)
                .unwrap_or_default();
            let mut line = format!("    {at}");
            for c in ["value", "passes_filter"] {
                if rows.column(c).is_ok() {
                    let _ = write!(line, "  {c}={}", cell(&rows, c, r));
                }
            }
            let _ = writeln!(out, "{line}");
        }
        if rows.height() > args.rows {
            let _ = writeln!(out, "    … {} more", rows.height() - args.rows);
        }
        // The aggregate before the transform and the default, then the feature's value.
        let mut bare = (*f).clone();
        bare.transform = None;
        bare.default = None;
        let mut q = key_typed(&reg, &plain, &key)?;
        q.with_column(Column::new(AS_OF.into(), vec![t]))
            .map_err(usage)?;
        let mut tmp = reg.clone();
        tmp.features.insert(bare.name.clone(), bare.clone());
        let agg = offline::recompute(&tmp, &[&bare], &q)?.frame;
        let val = offline::recompute(&reg, &[f], &q)?.frame;
        let _ = writeln!(out, "  aggregate: {}", cell(&agg, &f.name, 0));
        if let Some(tr) = &f.transform {
            let _ = writeln!(out, "  transform {tr}: {}", cell(&val, &f.name, 0));
        }
        if cell(&val, &format!("{}__n", f.name), 0) == "0" && f.default.is_some() {
            let _ = writeln!(out, "  empty window -> default");
        }
        let _ = writeln!(out, "  offline value: {}", cell(&val, &f.name, 0));
        if let Some(o) = &online_frame {
            let _ = writeln!(
                out,
                "  online value: {}  (status {}, stored at {}, version {})",
                cell(o, &f.name, 0),
                cell(o, &format!("{}__status", f.name), 0).trim_matches('"'),
                ts.map(format_time).unwrap_or_else(|| "-".into()),
                cell(o, &format!("{}__version", f.name), 0).trim_matches('"')
            );
        }
        for (kind, c) in [
            ("online", fr.and_then(|x| x.comparisons.online.as_ref())),
            ("log", fr.and_then(|x| x.comparisons.log.as_ref())),
        ] {
            let Some(c) = c else { continue };
            if c.rows.total == 0 {
                continue;
            }
            let summary = if c.rows.mismatched + c.rows.missing_online + c.rows.missing_offline == 0
            {
                format!("match ({} row(s))", c.rows.compared)
            } else {
                let causes: Vec<String> =
                    c.causes.iter().map(|(k, n)| format!("{k} x{n}")).collect();
                format!("MISMATCH — cause {}", causes.join(", "))
            };
            let _ = writeln!(out, "  verdict vs {kind}: {summary}");
            for e in c.examples.iter().take(args.rows) {
                let detail = match (&e.detail, e.lag_seconds) {
                    (Some(d), _) => format!(" ({d})"),
                    (None, Some(l)) => format!(" (lag {l:.0}s)"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "    {}{}: offline {} vs served {} -> {}{detail}",
                    e.as_of,
                    e.request_id
                        .as_ref()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default(),
                    e.offline,
                    e.served,
                    e.cause
                );
            }
            // The logged requests that matched (served = offline at the request time): shown
            // only when every other row is accounted for (all compared, every mismatch among
            // the examples), so a row shown as a match is one.
            if kind == "log"
                && c.rows.matched > 0
                && c.rows.compared == c.rows.total
                && c.rows.mismatched as usize <= c.examples.len()
            {
                if let Some(lf) = &log_frame {
                    let shown = logged_matches(lf, &f.name, &c.examples, args.rows);
                    for line in &shown {
                        let _ = writeln!(out, "    {line}");
                    }
                    if (shown.len() as u64) < c.rows.matched {
                        let _ =
                            writeln!(out, "    ... {} matching request(s) in all", c.rows.matched);
                    }
                }
            }
        }
    }
    crate::output::stdout(&out);
    Ok(exit::OK)
}

/// Up to `limit` logged requests of the feature that are not among the audit's (mismatched)
/// examples and hold a value: `<request time> [<request id>]: served <v> -> match`.
fn logged_matches(
    frame: &DataFrame,
    feature: &str,
    examples: &[crate::report::Example],
    limit: usize,
) -> Vec<String> {
    let text = |name: &str, row: usize| {
        frame
            .column(name)
            .ok()
            .and_then(|c| c.get(row).ok())
            .filter(|v| !v.is_null())
            .map(|v| v.str_value().to_string())
    };
    let status = format!("{feature}{}", crate::online::frame::STATUS);
    let mut out = Vec::new();
    for row in 0..frame.height() {
        if out.len() >= limit {
            break;
        }
        if text(&status, row).as_deref() != Some("present") {
            continue;
        }
        let rid = text(crate::logs::REQUEST_ID, row);
        if rid.is_some() && examples.iter().any(|e| e.request_id == rid) {
            continue;
        }
        let ts = frame
            .column(crate::logs::REQUEST_TS)
            .ok()
            .and_then(|c| c.cast(&DataType::Int64).ok())
            .and_then(|c| c.get(row).ok().and_then(|v| v.extract::<i64>()));
        if rid.is_none() && ts.is_some_and(|t| examples.iter().any(|e| e.as_of == format_time(t))) {
            continue;
        }
        out.push(format!(
            "{}{}: served {} -> match",
            ts.map(format_time).unwrap_or_else(|| "-".into()),
            rid.map(|r| format!(" {r}")).unwrap_or_default(),
            text(feature, row).unwrap_or_else(|| "null".into())
        ));
    }
    out
}

/// The key typed like the entity's first source.
fn key_typed(
    reg: &Registry,
    feats: &[&Feature],
    key: &DataFrame,
) -> Result<DataFrame, CommandError> {
    let Some(src) = crate::sample::entity_sources(reg, feats).into_iter().next() else {
        return Ok(key.clone());
    };
    let schema = scan::source_schema(src).map_err(|e| CommandError::unavailable(e.to_string()))?;
    let mut k = key.clone();
    for name in k.get_column_names_owned() {
        if let Some(dt) = schema.get(name.as_str()) {
            let c = k
                .column(name.as_str())
                .and_then(|c| c.strict_cast(dt))
                .map_err(|_| usage(format!("--entity {name}: not a valid {dt}")))?;
            k.with_column(c).map_err(usage)?;
        }
    }
    Ok(k)
}
