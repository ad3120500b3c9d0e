//! End-to-end recompute benchmark over generated data (see `benches/e2e.sh` and
//! `docs/performance.md`).
//!
//! `bench_recompute --data DIR --keys N --window 7d --mode skewaudit|bare` prints one JSON
//! line: the mode, sizes, wall seconds of the timed part and the process's peak RSS.
//! - `skewaudit`: `offline::recompute` of a count and a sum feature over the window, for N
//!   sampled keys (bottom-k, seed 0) as of the data's end.
//! - `bare`: the anchor, a hand-written Polars lazy scan of the same files filtered to the same
//!   keys and window, then `group_by(user_id).agg(count, sum)` — what the recompute does at
//!   least, with no generality.
//! - `bare_pruned`: the same plus the hive date-partition filter skewaudit derives from the
//!   window (the strictest anchor).
//!
//! The key sample is computed first and not timed in either mode.

use polars::prelude::*;
use skewaudit::offline::{self, AS_OF};
use skewaudit::registry::{Duration, Registry};
use skewaudit::sample::{self, Sampling};
use std::path::PathBuf;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(arg(&args, "--data").ok_or("--data DIR")?);
    let n_keys: usize = arg(&args, "--keys").ok_or("--keys N")?.parse()?;
    let window = arg(&args, "--window").unwrap_or_else(|| "7d".into());
    let mode = arg(&args, "--mode").unwrap_or_else(|| "skewaudit".into());
    let w = Duration::parse(&window)?.as_micros();

    let dir = tempfile::tempdir()?;
    let reg_path = dir.path().join("features.toml");
    std::fs::write(
        &reg_path,
        format!(
            "[project]\nname = \"bench\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.tx]\npath = \"{}\"\ntimestamp = \"event_ts\"\npartition_date = \"date\"\n\
             [features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\nwindow = \"{window}\"\n\
             [features.s]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\nwindow = \"{window}\"\ndefault = 0.0\n",
            data.display()
        ),
    )?;
    let reg = Registry::load(&reg_path)?;
    let feats: Vec<_> = reg.features.values().collect();
    let entity = &reg.entities["user"];
    let keys = sample::sample_keys(&reg, entity, &feats, &Sampling::Count(n_keys), 0)?;
    let as_of = offline::source_watermark(&reg.sources["tx"])?.ok_or("no data")?;

    let started = Instant::now();
    let rows = match mode.as_str() {
        "skewaudit" => {
            let mut q = keys.clone();
            let n = q.height();
            q.with_column(Column::new(AS_OF.into(), vec![as_of; n]))?;
            let out = offline::recompute(&reg, &feats, &q)?;
            out.frame.height()
        }
        "bare" | "bare_pruned" => {
            let ids = keys.column("user_id")?.as_materialized_series().clone();
            let ts = col("event_ts").dt().timestamp(TimeUnit::Microseconds);
            let mut lf = LazyFrame::scan_parquet(
                PlRefPath::new(data.to_string_lossy().as_ref()),
                Default::default(),
            )?;
            if mode == "bare_pruned" {
                // The same hive date pruning skewaudit derives from the window.
                let day = |us: i64| us.div_euclid(86_400_000_000) as i32;
                let d = col("date").cast(DataType::Date).cast(DataType::Int32);
                lf = lf.filter(
                    d.clone()
                        .gt_eq(lit(day(as_of - w)))
                        .and(d.lt_eq(lit(day(as_of)))),
                );
            }
            let lf = lf
                .filter(col("user_id").is_in(lit(ids).implode(false), false))
                .filter(ts.clone().gt(lit(as_of - w)).and(ts.lt_eq(lit(as_of))))
                .group_by([col("user_id")])
                .agg([len().alias("n"), col("amount").sum().alias("s")]);
            lf.collect()?.height()
        }
        other => return Err(format!("unknown --mode {other}").into()),
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"{mode}\",\"keys\":{n_keys},\"window\":\"{window}\",\"rows\":{rows},\"seconds\":{secs:.4},\"peak_rss_mib\":{:.1}}}",
        peak_rss_mib()
    );
    Ok(())
}
