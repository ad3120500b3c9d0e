//! Redis read benchmark (see `benches/redis.sh` and `docs/performance.md`).
//!
//! `bench_redis --url redis://127.0.0.1:PORT --keys N --fields F [--batch B] [--concurrency C]`
//! reads `user:000000000000..` hashes (ids zero-padded to 12 digits, as redis-benchmark's
//! `__rand_int__` renders them, so both read the same existing keys) with fields `f00..f{F-1}` through skewaudit's reader (plan,
//! pipelined HMGET, decode, online frame) and prints one JSON line: seconds, keys/s, peak RSS.

use polars::prelude::*;
use skewaudit::online::redis::{read, RedisOptions};
use skewaudit::registry::{Dtype, Feature, Registry};
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--url").ok_or("--url")?;
    let n: i64 = arg(&args, "--keys").ok_or("--keys")?.parse()?;
    let fields: usize = arg(&args, "--fields")
        .unwrap_or_else(|| "20".into())
        .parse()?;
    let dir = tempfile::tempdir()?;
    let mut text = String::from("[project]\nname = \"bench\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.tx]\npath = \"tx.parquet\"\ntimestamp = \"ts\"\n[online]\nlayout = \"hash\"\nkey = \"user:{user_id}\"\n");
    for i in 0..fields {
        text.push_str(&format!("[features.f{i:02}]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"x\"\naggregation = \"sum\"\ndtype = \"float64\"\n"));
    }
    let path = dir.path().join("features.toml");
    std::fs::write(&path, text)?;
    let reg = Registry::load(&path)?;
    let feats: Vec<(&Feature, Dtype)> =
        reg.features.values().map(|f| (f, Dtype::Float64)).collect();
    let keys = DataFrame::new(
        n as usize,
        vec![Column::new(
            "user_id".into(),
            (0..n).map(|k| format!("{k:012}")).collect::<Vec<String>>(),
        )],
    )?;
    let mut opts = RedisOptions::new(&url);
    opts.batch = arg(&args, "--batch")
        .unwrap_or_else(|| "512".into())
        .parse()?;
    opts.concurrency = arg(&args, "--concurrency")
        .unwrap_or_else(|| "4".into())
        .parse()?;
    opts.timeout = std::time::Duration::from_secs(30);
    let started = Instant::now();
    let frame = if std::env::var("BENCH_PHASES").is_ok() {
        use skewaudit::online::redis::{decode_replies, execute, key_texts, plan};
        let names = ["user_id".to_string()];
        let online = reg.online.as_ref().ok_or("online")?;
        let rows = key_texts(&keys, &names)?;
        let plain: Vec<&Feature> = feats.iter().map(|(f, _)| *f).collect();
        let p = plan(online, &plain, &names, &rows, false)?;
        eprintln!("plan {:.2}s", started.elapsed().as_secs_f64());
        let replies = execute(&opts, &p)?;
        eprintln!("execute {:.2}s", started.elapsed().as_secs_f64());
        let f = decode_replies(online, &feats, &keys, &p, &replies)?;
        eprintln!("decode {:.2}s", started.elapsed().as_secs_f64());
        f
    } else {
        read(
            &opts,
            reg.online.as_ref().ok_or("online")?,
            &feats,
            &keys,
            &["user_id".to_string()],
        )?
    };
    let secs = started.elapsed().as_secs_f64();
    let present = frame
        .column("f00__status")?
        .str()?
        .iter()
        .filter(|s| *s == Some("present"))
        .count();
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .unwrap_or(f64::NAN)
        / 1024.0;
    println!("{{\"keys\":{n},\"fields\":{fields},\"present\":{present},\"seconds\":{secs:.3},\"keys_per_sec\":{:.0},\"peak_rss_mib\":{rss:.1}}}", n as f64 / secs);
    Ok(())
}
