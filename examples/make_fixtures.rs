//! Deterministic fixture generator for `skewaudit`.
//!
//! ```text
//! # the committed demo data set (fixtures/shop): sources, online snapshot, serving log,
//! # injected skews and their ground truth
//! cargo run --release --example make_fixtures -- --scale small --out fixtures/shop
//! # (`--scale small` and `--out fixtures/shop` are the defaults, relative to the repo root)
//!
//! # a large transactions-only data set for benchmarks (hive-partitioned by day)
//! cargo run --release --example make_fixtures -- --scale bench --out /tmp/bench \
//!     [--users 1000000] [--events 10000000]
//! ```
//!
//! `--seed S` (default 20261201) changes the data; the same seed always produces the same
//! bytes. Randomness comes from a small SplitMix64 generator defined in this file (not
//! the `rand` crate) so that the committed fixtures do not change when a dependency's
//! sampling algorithms do. Every stage draws from its own named stream, so changing one
//! stage does not reshuffle the others.
//!
//! # `--scale small` writes (into `--out`, next to the registry `features.toml`)
//!
//! * `transactions/date=YYYY-MM-DD/part-0.parquet` — 30 days of events (November 2026),
//!   `user_id` int64, `event_ts` timestamp[us] (naive = UTC), `amount` float64 (~2% null),
//!   `status` string, `category` string (~1% null), `item_price` float64.
//! * `profiles.parquet` — `user_id`, `updated_at` timestamp[us, UTC], `country` (mixed
//!   case, ~1% null), `tier`.
//! * `online_snapshot.parquet` — the online store as `skewaudit snapshot` would save it
//!   (docs/snapshot.md), for all 2,000 users, with injected online skews.
//! * `serving_log.parquet` — ~3,000 requests with the feature values the model saw, with
//!   injected log skews.
//! * `expected_offline.parquet` — the true (skew-free) value of every feature at every
//!   as-of time used above (one row per snapshot key at its compute time `T_k`, one row per
//!   logged request at its `request_ts`), for cross-checking the library's engine.
//! * `ground_truth.json` (exact ids of every injected skew) and `GROUND_TRUTH.md`.
//!
//! This program is an independent second implementation of the feature semantics of
//! `fixtures/shop/features.toml`: it deliberately does not use the `skewaudit` library.
//! Values are computed row by row in plain Rust, as simply as possible.
//!
//! # Semantics implemented (the contract)
//!
//! For a key and an as-of time `T`, a feature with window `w` uses the key's source rows
//! with `T - w < ts <= T`. `count` counts rows; `sum`/`mean`/`max` ignore nulls; `stddev` is
//! the sample standard deviation (ddof = 1) and needs two non-null values; `count_distinct`
//! counts distinct non-null values; `last` picks the row with the greatest `(ts, value)`
//! (nulls smallest) within `(T - max_age, T]` (all rows `<= T` without `max_age`) and
//! returns its value even if null. An empty window gives the feature's default, else null.
//! A transform applies to the aggregate, never to the default.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use clap::{Parser, ValueEnum};
use polars::prelude::*;
use serde::Serialize;

// ---------------------------------------------------------------------------------------
// Time helpers: all timestamps are i64 microseconds since the Unix epoch, UTC.
// ---------------------------------------------------------------------------------------

const SEC: i64 = 1_000_000;
const HOUR: i64 = 3_600 * SEC;
const DAY: i64 = 24 * HOUR;

fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .expect("valid calendar constant")
        .and_utc()
        .timestamp_micros()
}

fn to_dt(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).expect("timestamp in chrono's range")
}

fn rfc3339(us: i64) -> String {
    to_dt(us).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn day_label(us: i64) -> String {
    to_dt(us).format("%Y-%m-%d").to_string()
}

/// First event time (inclusive).
fn data_start() -> i64 {
    utc(2026, 11, 1, 0, 0, 0)
}
/// End of the event time range (exclusive).
fn data_end() -> i64 {
    utc(2026, 12, 1, 0, 0, 0)
}
const DAYS: i64 = 30;

// ---------------------------------------------------------------------------------------
// Deterministic random numbers (SplitMix64).
// ---------------------------------------------------------------------------------------

struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for one named stream of one seed.
    fn new(seed: u64, stream: &str) -> Self {
        // FNV-1a of the stream name, mixed into the seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in stream.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let mut rng = Rng {
            state: seed ^ h.rotate_left(17),
        };
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform whole second in [lo, hi) (microsecond bounds, `hi - lo` >= 1 s).
    fn second_in(&mut self, lo: i64, hi: i64) -> i64 {
        let span_s = ((hi - lo) / SEC) as u64;
        lo + self.below(span_s) as i64 * SEC
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn choose<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    /// `k` distinct elements of `pool` (partial Fisher-Yates), returned sorted.
    fn sample<T: Copy + Ord>(&mut self, pool: &[T], k: usize) -> Vec<T> {
        let mut v = pool.to_vec();
        let k = k.min(v.len());
        for i in 0..k {
            let j = i + self.below((v.len() - i) as u64) as usize;
            v.swap(i, j);
        }
        v.truncate(k);
        v.sort();
        v
    }

    /// `round(p * |pool|)` distinct elements of `pool`, sorted.
    fn sample_frac<T: Copy + Ord>(&mut self, pool: &[T], p: f64) -> Vec<T> {
        let k = (p * pool.len() as f64).round() as usize;
        self.sample(pool, k)
    }
}

// ---------------------------------------------------------------------------------------
// Source rows and their random fields.
// ---------------------------------------------------------------------------------------

const CATEGORIES: [&str; 8] = [
    "electronics",
    "books",
    "grocery",
    "fashion",
    "home",
    "toys",
    "beauty",
    "sports",
];
const COUNTRIES: [&str; 8] = ["de", "fr", "us", "gb", "nl", "es", "it", "pl"];
const TIERS: [&str; 3] = ["bronze", "silver", "gold"];

#[derive(Clone, Debug)]
struct Txn {
    user_id: i64,
    ts: i64,
    amount: Option<f64>,
    status: &'static str,
    category: Option<&'static str>,
    item_price: f64,
}

#[derive(Clone, Debug)]
struct Profile {
    user_id: i64,
    updated_at: i64,
    country: Option<String>,
    tier: &'static str,
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One transaction's random fields. `favs` are the user's favourite categories (may be
/// empty: uniform categories).
fn make_txn(rng: &mut Rng, user_id: i64, ts: i64, favs: &[&'static str]) -> Txn {
    let amount = if rng.chance(0.02) {
        None
    } else {
        Some(cents((3.2 + 0.9 * rng.normal()).exp().clamp(0.5, 3_000.0)))
    };
    let status = rng.weighted(&[("settled", 0.80), ("pending", 0.12), ("refunded", 0.08)]);
    let category = if rng.chance(0.01) {
        None
    } else if !favs.is_empty() && rng.chance(0.75) {
        Some(rng.choose(favs))
    } else {
        Some(rng.choose(&CATEGORIES))
    };
    let item_price = cents((3.0 + 1.0 * rng.normal()).exp().clamp(1.0, 500.0));
    Txn {
        user_id,
        ts,
        amount,
        status,
        category,
        item_price,
    }
}

fn random_case(rng: &mut Rng, country: &str) -> String {
    match rng.weighted(&[(0u8, 0.4), (1, 0.4), (2, 0.2)]) {
        0 => country.to_lowercase(),
        1 => country.to_uppercase(),
        _ => {
            let mut c = country.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Features (registry order of fixtures/shop/features.toml) and their true values.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Dtype {
    Int64,
    Float64,
    Str,
}

const FEATURES: [(&str, Dtype); 12] = [
    ("txn_count_7d", Dtype::Int64),
    ("txn_count_24h", Dtype::Int64),
    ("spend_24h", Dtype::Float64),
    ("spend_30d", Dtype::Float64),
    ("spend_7d_log", Dtype::Float64),
    ("avg_basket_30d", Dtype::Float64),
    ("stddev_amount_30d", Dtype::Float64),
    ("max_item_price_30d", Dtype::Float64),
    ("distinct_categories_30d", Dtype::Int64),
    ("last_txn_amount", Dtype::Float64),
    ("country", Dtype::Str),
    ("tier", Dtype::Str),
];
const TXN_COUNT_7D: usize = 0;
const TXN_COUNT_24H: usize = 1;
const SPEND_24H: usize = 2;
const SPEND_30D: usize = 3;
const SPEND_7D_LOG: usize = 4;
const AVG_BASKET_30D: usize = 5;
const STDDEV_AMOUNT_30D: usize = 6;
const MAX_ITEM_PRICE_30D: usize = 7;
const DISTINCT_CATEGORIES_30D: usize = 8;
const LAST_TXN_AMOUNT: usize = 9;
const COUNTRY: usize = 10;
const TIER: usize = 11;

/// A feature value, typed like the feature.
#[derive(Clone, Debug, PartialEq)]
enum FVal {
    Int(Option<i64>),
    Float(Option<f64>),
    Str(Option<String>),
}

impl FVal {
    fn null_of(dtype: Dtype) -> FVal {
        match dtype {
            Dtype::Int64 => FVal::Int(None),
            Dtype::Float64 => FVal::Float(None),
            Dtype::Str => FVal::Str(None),
        }
    }
    fn is_null(&self) -> bool {
        match self {
            FVal::Int(v) => v.is_none(),
            FVal::Float(v) => v.is_none(),
            FVal::Str(v) => v.is_none(),
        }
    }
    fn float(&self) -> Option<f64> {
        match self {
            FVal::Float(v) => *v,
            _ => panic!("not a float feature value: {self:?}"),
        }
    }
    fn int(&self) -> Option<i64> {
        match self {
            FVal::Int(v) => *v,
            _ => panic!("not an int feature value: {self:?}"),
        }
    }
}

/// Source rows of one key inside `(t - w, t]`.
fn window(txns: &[Txn], t: i64, w: i64) -> impl Iterator<Item = &Txn> {
    txns.iter().filter(move |x| x.ts > t - w && x.ts <= t)
}

fn count(txns: &[Txn], t: i64, w: i64) -> i64 {
    window(txns, t, w).count() as i64
}

/// Sum of non-null settled amounts; `None` when there is no such value.
fn settled_sum(txns: &[Txn], t: i64, w: i64) -> Option<f64> {
    let vals: Vec<f64> = window(txns, t, w)
        .filter(|x| x.status == "settled")
        .filter_map(|x| x.amount)
        .collect();
    if vals.is_empty() {
        None
    } else {
        Some(vals.iter().sum())
    }
}

fn amounts(txns: &[Txn], t: i64, w: i64) -> Vec<f64> {
    window(txns, t, w).filter_map(|x| x.amount).collect()
}

fn mean_amount(txns: &[Txn], t: i64, w: i64) -> Option<f64> {
    let v = amounts(txns, t, w);
    if v.is_empty() {
        None
    } else {
        Some(v.iter().sum::<f64>() / v.len() as f64)
    }
}

/// Sample standard deviation (ddof = 1) of the non-null amounts; needs two values.
fn stddev_amount(txns: &[Txn], t: i64, w: i64) -> Option<f64> {
    let v = amounts(txns, t, w);
    if v.len() < 2 {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    Some((ss / (n - 1.0)).sqrt())
}

fn max_item_price(txns: &[Txn], t: i64, w: i64) -> Option<f64> {
    window(txns, t, w).map(|x| x.item_price).reduce(f64::max)
}

fn distinct_categories(txns: &[Txn], t: i64, w: i64) -> i64 {
    window(txns, t, w)
        .filter_map(|x| x.category)
        .collect::<BTreeSet<_>>()
        .len() as i64
}

/// `last` of `amount` with `max_age`: `None` when no row qualifies, else the chosen row's
/// amount (possibly null). Ties on `ts`: the greatest amount wins, nulls smallest.
fn last_amount(txns: &[Txn], t: i64, max_age: i64) -> Option<Option<f64>> {
    let key = |x: &Txn| (x.ts, x.amount.map(OrdF64));
    window(txns, t, max_age)
        .max_by_key(|x| key(x))
        .map(|x| x.amount)
}

/// Total order on (non-NaN) floats, for tie-breaking.
#[derive(Clone, Copy)]
struct OrdF64(f64);
impl PartialEq for OrdF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// `last` over profiles: the row with the greatest `(updated_at, value)` (nulls smallest)
/// among rows with `updated_at <= t` (and `> t - max_age` when given). `None` when no row
/// qualifies, else that row's value (possibly null).
fn profile_last(
    profiles: &[Profile],
    t: i64,
    max_age: Option<i64>,
    value: impl Fn(&Profile) -> Option<String>,
) -> Option<Option<String>> {
    profiles
        .iter()
        .filter(|p| p.updated_at <= t && max_age.is_none_or(|age| p.updated_at > t - age))
        .map(|p| (p.updated_at, value(p)))
        .max()
        .map(|(_, v)| v)
}

/// The true value of every feature for one key as of `t`.
fn truth(txns: &[Txn], profiles: &[Profile], t: i64) -> Vec<FVal> {
    let mut out = vec![FVal::Int(None); FEATURES.len()];
    out[TXN_COUNT_7D] = FVal::Int(Some(count(txns, t, 7 * DAY)));
    out[TXN_COUNT_24H] = FVal::Int(Some(count(txns, t, DAY)));
    out[SPEND_24H] = FVal::Float(Some(settled_sum(txns, t, DAY).unwrap_or(0.0)));
    out[SPEND_30D] = FVal::Float(Some(settled_sum(txns, t, 30 * DAY).unwrap_or(0.0)));
    // transform `ln(value + 1)` applies to the aggregate only; the default is 0.0.
    out[SPEND_7D_LOG] = FVal::Float(Some(
        settled_sum(txns, t, 7 * DAY).map_or(0.0, |s| (s + 1.0).ln()),
    ));
    out[AVG_BASKET_30D] = FVal::Float(mean_amount(txns, t, 30 * DAY));
    out[STDDEV_AMOUNT_30D] = FVal::Float(stddev_amount(txns, t, 30 * DAY));
    out[MAX_ITEM_PRICE_30D] = FVal::Float(max_item_price(txns, t, 30 * DAY));
    out[DISTINCT_CATEGORIES_30D] = FVal::Int(Some(distinct_categories(txns, t, 30 * DAY)));
    out[LAST_TXN_AMOUNT] = FVal::Float(last_amount(txns, t, 30 * DAY).unwrap_or(Some(0.0)));
    out[COUNTRY] = FVal::Str(
        profile_last(profiles, t, Some(365 * DAY), |p| {
            p.country.as_ref().map(|c| c.to_uppercase())
        })
        .flatten(),
    );
    out[TIER] = FVal::Str(profile_last(profiles, t, None, |p| Some(p.tier.to_string())).flatten());
    out
}

/// The registry's match rule `|a - b| <= abs + rel * |b|`.
fn within(a: f64, b: f64, abs: f64, rel: f64) -> bool {
    (a - b).abs() <= abs + rel * b.abs()
}

// ---------------------------------------------------------------------------------------
// Parquet writing.
// ---------------------------------------------------------------------------------------

fn ts_column(name: &str, values: Vec<Option<i64>>, tz_utc: bool) -> Column {
    let tz = if tz_utc { Some(TimeZone::UTC) } else { None };
    Column::from(Series::new(name.into(), values).into_datetime(TimeUnit::Microseconds, tz))
}

fn feature_column(name: &str, dtype: Dtype, values: &[&FVal]) -> Column {
    let series = match dtype {
        Dtype::Int64 => Series::new(
            name.into(),
            values.iter().map(|v| v.int()).collect::<Vec<_>>(),
        ),
        Dtype::Float64 => Series::new(
            name.into(),
            values.iter().map(|v| v.float()).collect::<Vec<_>>(),
        ),
        Dtype::Str => Series::new(
            name.into(),
            values
                .iter()
                .map(|v| match v {
                    FVal::Str(s) => s.clone(),
                    other => panic!("not a string feature value: {other:?}"),
                })
                .collect::<Vec<_>>(),
        ),
    };
    Column::from(series)
}

fn write_parquet(path: &Path, columns: Vec<Column>, metadata: Option<Vec<(String, String)>>) {
    let height = columns.first().map_or(0, |c| c.len());
    let mut df = DataFrame::new(height, columns).expect("columns of equal length");
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create output directory");
    }
    let file = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(metadata.map(KeyValueMetadata::from_static))
        .finish(&mut df)
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn txn_columns(rows: &[Txn]) -> Vec<Column> {
    vec![
        Column::from(Series::new(
            "user_id".into(),
            rows.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        )),
        ts_column("event_ts", rows.iter().map(|r| Some(r.ts)).collect(), false),
        Column::from(Series::new(
            "amount".into(),
            rows.iter().map(|r| r.amount).collect::<Vec<_>>(),
        )),
        Column::from(Series::new(
            "status".into(),
            rows.iter().map(|r| r.status).collect::<Vec<_>>(),
        )),
        Column::from(Series::new(
            "category".into(),
            rows.iter().map(|r| r.category).collect::<Vec<_>>(),
        )),
        Column::from(Series::new(
            "item_price".into(),
            rows.iter().map(|r| r.item_price).collect::<Vec<_>>(),
        )),
    ]
}

fn partition_path(out: &Path, day_start: i64) -> PathBuf {
    out.join("transactions")
        .join(format!("date={}", day_label(day_start)))
        .join("part-0.parquet")
}

// ---------------------------------------------------------------------------------------
// Command line.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Scale {
    /// The committed demo data set with injected skews and ground truth.
    Small,
    /// Transactions only, for benchmarks.
    Bench,
}

#[derive(Parser, Debug)]
#[command(about = "Generate skewaudit's deterministic fixtures (see the file's doc comment)")]
struct Args {
    #[arg(long, value_enum, default_value = "small")]
    scale: Scale,
    /// Output directory (created if needed). Default for `--scale small`: fixtures/shop
    /// (run from the repository root); required for `--scale bench`.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Bench only: number of users (default 1,000,000).
    #[arg(long)]
    users: Option<u64>,
    /// Bench only: number of events over the 30 days (default 10,000,000).
    #[arg(long)]
    events: Option<u64>,
}

const DEFAULT_SEED: u64 = 20_261_201;

fn main() {
    let args = Args::parse();
    match args.scale {
        Scale::Small => {
            if args.users.is_some() || args.events.is_some() {
                eprintln!("error: --users/--events only apply to --scale bench");
                std::process::exit(2);
            }
            let out = args.out.unwrap_or_else(|| PathBuf::from("fixtures/shop"));
            small(&out, args.seed);
        }
        Scale::Bench => {
            let Some(out) = args.out else {
                eprintln!("error: --scale bench needs --out DIR");
                std::process::exit(2);
            };
            bench(
                &out,
                args.seed,
                args.users.unwrap_or(1_000_000),
                args.events.unwrap_or(10_000_000),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// --scale bench: transactions only, written day by day in bounded chunks.
// ---------------------------------------------------------------------------------------

/// Rows per row group (and per in-memory chunk) in bench mode.
const BENCH_CHUNK: u64 = 500_000;

fn bench(out: &Path, seed: u64, users: u64, events: u64) {
    assert!(users > 0, "--users must be positive");
    let start = data_start();
    let mut total_bytes = 0u64;
    for d in 0..DAYS {
        let day_start = start + d * DAY;
        let n_day = events / DAYS as u64 + u64::from((d as u64) < events % DAYS as u64);
        let chunks = n_day.div_ceil(BENCH_CHUNK).max(1);
        let path = partition_path(out, day_start);
        fs::create_dir_all(path.parent().expect("partition has a parent"))
            .expect("create partition directory");
        let file = File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let schema = Schema::from_iter([
            Field::new("user_id".into(), DataType::Int64),
            Field::new(
                "event_ts".into(),
                DataType::Datetime(TimeUnit::Microseconds, None),
            ),
            Field::new("amount".into(), DataType::Float64),
            Field::new("status".into(), DataType::String),
            Field::new("category".into(), DataType::String),
            Field::new("item_price".into(), DataType::Float64),
        ]);
        let mut writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(&schema)
            .expect("open batched parquet writer");
        // Each chunk covers its own slice of the day, so the file is sorted by event_ts.
        for c in 0..chunks {
            let lo = day_start + (c as i64) * DAY / chunks as i64;
            let hi = day_start + (c as i64 + 1) * DAY / chunks as i64;
            let n = n_day / chunks + u64::from(c < n_day % chunks);
            let mut rng = Rng::new(seed, &format!("bench/day-{d}/chunk-{c}"));
            let mut rows: Vec<Txn> = (0..n)
                .map(|_| {
                    // Skewed activity: P(user_id <= k) = sqrt(k / users).
                    let u = rng.unit();
                    let user_id = 1 + ((users as f64 * u * u) as u64).min(users - 1) as i64;
                    let ts = rng.second_in(lo, hi);
                    make_txn(&mut rng, user_id, ts, &[])
                })
                .collect();
            rows.sort_by_key(|r| (r.ts, r.user_id));
            let height = rows.len();
            let df = DataFrame::new(height, txn_columns(&rows)).expect("bench chunk frame");
            writer.write_batch(&df).expect("write bench chunk");
        }
        total_bytes += writer.finish().expect("finish bench partition");
        eprintln!("wrote {} ({n_day} events)", path.display());
    }
    eprintln!(
        "bench: {events} events for up to {users} users over {DAYS} days, {:.1} MB in {}",
        total_bytes as f64 / 1e6,
        out.join("transactions").display()
    );
}

// ---------------------------------------------------------------------------------------
// --scale small: the demo data set.
// ---------------------------------------------------------------------------------------

const N_USERS: i64 = 2_000;
/// Events drawn before ties and planted boundary events are added (~60k in total).
const BASE_EVENTS: f64 = 58_000.0;
const N_LOG_USERS: usize = 600;
const N_LOG_ROWS: usize = 3_000;
const PROJECT_VERSION: &str = "2026-12-01";
const OLD_VERSION: &str = "2026-11-01";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Activity {
    /// No events at all in the 30 days.
    Inactive,
    /// Active from Nov 1 until some time before Nov 22 12:00: nothing in the last 7 days.
    Churned,
    /// First event between Nov 10 and Nov 28.
    New,
    /// Active over the whole month.
    Regular,
}

struct UserPlan {
    id: i64,
    activity: Activity,
    start: i64,
    end: i64,
    weight: f64,
    favs: Vec<&'static str>,
    /// When the online store computed this key's values.
    t_k: i64,
}

struct Request {
    request_id: String,
    user_id: i64,
    ts: i64,
    model_version: &'static str,
}

/// One cell group of the online snapshot: a feature of a key.
#[derive(Clone)]
struct OnlineCell {
    value: FVal,
    status: &'static str,
    ts: Option<i64>,
    version: Option<&'static str>,
}

#[derive(Serialize)]
struct GroundTruth {
    generator: String,
    seed: u64,
    project_version: &'static str,
    events_from: String,
    events_until_exclusive: String,
    snapshot_taken_at: String,
    users: i64,
    transactions: usize,
    profile_rows: usize,
    log_rows: usize,
    injected: Vec<Injected>,
    clean: Clean,
}

#[derive(Serialize, Clone)]
struct Injected {
    feature: String,
    comparison: &'static str,
    cause: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    served_version: Option<&'static str>,
    count: usize,
    how: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_ids: Option<Vec<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_ids: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Clean {
    online: Vec<&'static str>,
    log: Vec<&'static str>,
}

fn small(out: &Path, seed: u64) {
    let start = data_start();
    let end = data_end();
    let snapshot_base = utc(2026, 11, 30, 12, 0, 0);
    let snapshot_taken_at = end;

    // --- users -------------------------------------------------------------------------
    let mut rng = Rng::new(seed, "users");
    let all_ids: Vec<i64> = (1..=N_USERS).collect();
    // exactly 5% of the users have no event at all
    let inactive = rng.sample(&all_ids, (N_USERS / 20) as usize);
    let users: Vec<UserPlan> = (1..=N_USERS)
        .map(|id| {
            let activity = if inactive.binary_search(&id).is_ok() {
                Activity::Inactive
            } else {
                rng.weighted(&[
                    (Activity::Churned, 0.12),
                    (Activity::New, 0.08),
                    (Activity::Regular, 0.75),
                ])
            };
            let (u_start, u_end) = match activity {
                Activity::Churned => (
                    start,
                    rng.second_in(utc(2026, 11, 5, 0, 0, 0), utc(2026, 11, 22, 12, 0, 0)),
                ),
                Activity::New => (
                    rng.second_in(utc(2026, 11, 10, 0, 0, 0), utc(2026, 11, 28, 0, 0, 0)),
                    end,
                ),
                Activity::Inactive | Activity::Regular => (start, end),
            };
            let weight = (1.1 * rng.normal()).exp();
            let n_favs = 1 + rng.below(3) as usize;
            let favs = rng.sample(&CATEGORIES, n_favs);
            let t_k = snapshot_base + rng.below(12 * 3_600) as i64 * SEC;
            UserPlan {
                id,
                activity,
                start: u_start,
                end: u_end,
                weight,
                favs,
                t_k,
            }
        })
        .collect();
    let plan = |id: i64| &users[(id - 1) as usize];
    let regular: Vec<i64> = users
        .iter()
        .filter(|u| u.activity == Activity::Regular)
        .map(|u| u.id)
        .collect();

    // --- serving requests (drawn before transactions: some events are planted at
    // request-time window boundaries) ---------------------------------------------------
    let mut rng = Rng::new(seed, "log");
    let mut log_users = all_ids.clone();
    // a shuffled order of N_LOG_USERS users: earlier ones get more requests
    for i in 0..N_LOG_USERS {
        let j = i + rng.below((log_users.len() - i) as u64) as usize;
        log_users.swap(i, j);
    }
    log_users.truncate(N_LOG_USERS);
    let log_start = utc(2026, 11, 28, 0, 0, 0);
    let log_end = utc(2026, 11, 30, 23, 0, 0);
    let mut requests: Vec<Request> = (0..N_LOG_ROWS)
        .map(|i| {
            let user_id = if i < N_LOG_USERS {
                log_users[i]
            } else {
                let u = rng.unit();
                log_users[((N_LOG_USERS as f64 * u * u) as usize).min(N_LOG_USERS - 1)]
            };
            // uniform whole millisecond in [log_start, log_end]
            let ms = rng.below(((log_end - log_start) / 1_000 + 1) as u64) as i64;
            let model_version = if rng.chance(0.3) { "v2" } else { "v1" };
            Request {
                request_id: String::new(),
                user_id,
                ts: log_start + ms * 1_000,
                model_version,
            }
        })
        .collect();
    requests.sort_by_key(|r| (r.ts, r.user_id));
    for (i, r) in requests.iter_mut().enumerate() {
        r.request_id = format!("req-{:06}", i + 1);
    }

    // --- transactions ------------------------------------------------------------------
    let mut rng = Rng::new(seed, "transactions");
    let raw: Vec<f64> = users
        .iter()
        .map(|u| match u.activity {
            Activity::Inactive => 0.0,
            _ => u.weight * (u.end - u.start) as f64 / (end - start) as f64,
        })
        .collect();
    let scale = BASE_EVENTS / raw.iter().sum::<f64>();
    let mut by_user: Vec<Vec<Txn>> = vec![Vec::new(); N_USERS as usize];
    let mut n_ties = 0usize;
    for (u, r) in users.iter().zip(&raw) {
        if u.activity == Activity::Inactive {
            continue;
        }
        let n = ((r * scale).round() as usize).max(1);
        for _ in 0..n {
            let ts = rng.second_in(u.start, u.end);
            by_user[(u.id - 1) as usize].push(make_txn(&mut rng, u.id, ts, &u.favs));
            // ~3%: a second event of the same user at the same second (a tie)
            if rng.chance(0.03) {
                by_user[(u.id - 1) as usize].push(make_txn(&mut rng, u.id, ts, &u.favs));
                n_ties += 1;
            }
        }
    }
    // Window-boundary events: exactly at T_k (included), T_k - 24h and T_k - 7d (excluded
    // from the 24h / 7d windows at T_k; T_k - 24h is inside the 7d and 30d windows).
    let mut rng = Rng::new(seed, "boundaries");
    let boundary_users = rng.sample(&regular, 40);
    for &id in &boundary_users {
        let t_k = plan(id).t_k;
        for ts in [t_k, t_k - DAY, t_k - 7 * DAY] {
            let t = make_txn(&mut rng, id, ts, &plan(id).favs);
            by_user[(id - 1) as usize].push(t);
        }
    }
    let regular_requests: Vec<usize> = (0..requests.len())
        .filter(|&i| plan(requests[i].user_id).activity == Activity::Regular)
        .collect();
    let boundary_requests = rng.sample(&regular_requests, 30);
    for &i in &boundary_requests {
        let (id, t) = (requests[i].user_id, requests[i].ts);
        for ts in [t, t - DAY, t - 7 * DAY] {
            let txn = make_txn(&mut rng, id, ts, &plan(id).favs);
            by_user[(id - 1) as usize].push(txn);
        }
    }
    // The first and the last possible second of the range are used, so the default
    // watermark (max event_ts = 2026-11-30T23:59:59Z) covers every as-of time
    // (T_k <= 23:59:59, request_ts <= 23:00).
    for ts in [start, end - SEC] {
        let id = rng.choose(&regular);
        let txn = make_txn(&mut rng, id, ts, &plan(id).favs);
        by_user[(id - 1) as usize].push(txn);
    }
    for rows in &mut by_user {
        rows.sort_by_key(|r| r.ts); // stable: generation order among ties
    }

    // --- profiles ----------------------------------------------------------------------
    let mut rng = Rng::new(seed, "profiles");
    let prof_start = utc(2025, 6, 1, 0, 0, 0);
    let no_profile: Vec<i64> = rng.sample(&all_ids, 40);
    let with_profile: Vec<i64> = all_ids
        .iter()
        .copied()
        .filter(|id| no_profile.binary_search(id).is_err())
        .collect();
    let mut prof_by_user: Vec<Vec<Profile>> = vec![Vec::new(); N_USERS as usize];
    for &id in &with_profile {
        let home = rng.choose(&COUNTRIES);
        let base_tier = rng.weighted(&[("bronze", 0.6), ("silver", 0.3), ("gold", 0.1)]);
        let n = 1 + rng.below(4);
        for _ in 0..n {
            // skewed towards recent updates
            let u = rng.unit();
            let age_s = ((end - SEC - prof_start) / SEC) as f64 * u * u;
            let updated_at = end - SEC - (age_s as i64) * SEC;
            let country = if rng.chance(0.01) {
                None
            } else {
                let c = if rng.chance(0.08) {
                    rng.choose(&COUNTRIES)
                } else {
                    home
                };
                Some(random_case(&mut rng, c))
            };
            let tier = if rng.chance(0.8) {
                base_tier
            } else {
                rng.choose(&TIERS)
            };
            prof_by_user[(id - 1) as usize].push(Profile {
                user_id: id,
                updated_at,
                country,
                tier,
            });
        }
    }
    // Future rows (after some as-of times): a change between Nov 27 and the end of Nov.
    let future_users = rng.sample_frac(&with_profile, 0.05);
    for &id in &future_users {
        let rows = &mut prof_by_user[(id - 1) as usize];
        let home = rows[0].country.clone().unwrap_or_else(|| "de".to_string());
        let tier = rng.choose(&TIERS);
        let country = Some(random_case(&mut rng, &home.to_lowercase()));
        rows.push(Profile {
            user_id: id,
            updated_at: rng.second_in(utc(2026, 11, 27, 0, 0, 0), end),
            country,
            tier,
        });
    }
    // Ties: a second row at the same updated_at with another tier; its country is the
    // same country (any casing) or null, so the winner does not depend on whether ties
    // are broken on the raw or on the upper-cased value.
    let rest: Vec<i64> = with_profile
        .iter()
        .copied()
        .filter(|id| future_users.binary_search(id).is_err())
        .collect();
    let tie_users = rng.sample(&rest, 25);
    for &id in &tie_users {
        let rows = &mut prof_by_user[(id - 1) as usize];
        let k = rng.below(rows.len() as u64) as usize;
        let orig = rows[k].clone();
        let tier = *TIERS
            .iter()
            .filter(|t| **t != orig.tier)
            .collect::<Vec<_>>()[rng.below(2) as usize];
        let country = match &orig.country {
            Some(c) if rng.chance(0.8) => Some(random_case(&mut rng, &c.to_lowercase())),
            _ => None,
        };
        rows.push(Profile {
            user_id: id,
            updated_at: orig.updated_at,
            country,
            tier,
        });
    }
    // max_age boundary: newest row exactly 365 days before T_k (excluded: country is null
    // at T_k) or 365 days minus one second before T_k (included).
    let rest: Vec<i64> = rest
        .iter()
        .copied()
        .filter(|id| tie_users.binary_search(id).is_err())
        .collect();
    let age_users = rng.sample(&rest, 12);
    for (i, &id) in age_users.iter().enumerate() {
        let t_k = plan(id).t_k;
        let newest = if i % 2 == 0 {
            t_k - 365 * DAY
        } else {
            t_k - 365 * DAY + SEC
        };
        let home = rng.choose(&COUNTRIES);
        let rows = &mut prof_by_user[(id - 1) as usize];
        rows.clear();
        for (ts, tier) in [(t_k - 450 * DAY, "bronze"), (newest, "silver")] {
            let country = Some(random_case(&mut rng, home));
            rows.push(Profile {
                user_id: id,
                updated_at: ts,
                country,
                tier,
            });
        }
    }
    // The last possible second, so a max(updated_at) watermark covers every as-of time.
    {
        let pool: Vec<i64> = rest
            .iter()
            .copied()
            .filter(|id| age_users.binary_search(id).is_err())
            .collect();
        let id = rng.choose(&pool);
        let rows = &mut prof_by_user[(id - 1) as usize];
        let country = rows[0].country.clone();
        rows.push(Profile {
            user_id: id,
            updated_at: end - SEC,
            country,
            tier: "gold",
        });
    }
    for rows in &mut prof_by_user {
        rows.sort_by_key(|p| p.updated_at);
    }

    // --- true values ---------------------------------------------------------------------
    let truth_at = |id: i64, t: i64| {
        truth(
            &by_user[(id - 1) as usize],
            &prof_by_user[(id - 1) as usize],
            t,
        )
    };
    let online_truth: Vec<Vec<FVal>> = users.iter().map(|u| truth_at(u.id, u.t_k)).collect();
    let log_truth: Vec<Vec<FVal>> = requests.iter().map(|r| truth_at(r.user_id, r.ts)).collect();

    // --- online snapshot with injected skews --------------------------------------------
    let mut rng = Rng::new(seed, "online-skews");
    let mut injected: Vec<Injected> = Vec::new();
    let mut cells: Vec<Vec<OnlineCell>> = online_truth
        .iter()
        .zip(&users)
        .map(|(vals, u)| {
            vals.iter()
                .map(|v| OnlineCell {
                    value: v.clone(),
                    status: if v.is_null() { "null" } else { "present" },
                    ts: Some(u.t_k),
                    version: Some(PROJECT_VERSION),
                })
                .collect()
        })
        .collect();
    let idx = |id: i64| (id - 1) as usize;

    // 6. missing keys (chosen first; excluded from every other online skew)
    let missing = rng.sample_frac(&all_ids, 0.02);
    let present: Vec<i64> = all_ids
        .iter()
        .copied()
        .filter(|id| missing.binary_search(id).is_err())
        .collect();
    for &id in &missing {
        for (f, (_, dtype)) in FEATURES.iter().enumerate() {
            cells[idx(id)][f] = OnlineCell {
                value: FVal::null_of(*dtype),
                status: "missing",
                ts: None,
                version: None,
            };
        }
    }

    // 1. spend_30d: log1p applied online only
    let pool: Vec<i64> = present
        .iter()
        .copied()
        .filter(|&id| {
            online_truth[idx(id)][SPEND_30D]
                .float()
                .is_some_and(|v| v != 0.0)
        })
        .collect();
    let log1p_users = rng.sample_frac(&pool, 0.20);
    for &id in &log1p_users {
        let v = online_truth[idx(id)][SPEND_30D].float().expect("non-null");
        cells[idx(id)][SPEND_30D].value = FVal::Float(Some(v.ln_1p()));
    }
    injected.push(Injected {
        feature: "spend_30d".into(),
        comparison: "online",
        cause: "transform:log1p".into(),
        lag_seconds: None,
        factor: None,
        served_version: None,
        count: log1p_users.len(),
        how: format!(
            "online value = ln(1 + true value) for 20% of the {} present keys with a non-zero \
             true spend_30d",
            pool.len()
        ),
        user_ids: Some(log1p_users.clone()),
        request_ids: None,
    });

    // 2. spend_24h: stale by 6h (value as of T_k - 6h, __ts still T_k)
    let lag = 6 * HOUR;
    let pool: Vec<i64> = present
        .iter()
        .copied()
        .filter(|&id| {
            let now = online_truth[idx(id)][SPEND_24H]
                .float()
                .expect("has default");
            let then = truth_at(id, plan(id).t_k - lag)[SPEND_24H]
                .float()
                .expect("has default");
            !within(then, now, 1e-6, 1e-6)
        })
        .collect();
    let stale_users = rng.sample_frac(&pool, 0.15);
    for &id in &stale_users {
        let then = truth_at(id, plan(id).t_k - lag)[SPEND_24H].clone();
        cells[idx(id)][SPEND_24H].value = then;
    }
    injected.push(Injected {
        feature: "spend_24h".into(),
        comparison: "online",
        cause: "stale".into(),
        lag_seconds: Some(lag / SEC),
        factor: None,
        served_version: None,
        count: stale_users.len(),
        how: format!(
            "online value = true value as of T_k - 6h while spend_24h__ts says T_k, for 15% of \
             the {} present keys whose value changed in the last 6h",
            pool.len()
        ),
        user_ids: Some(stale_users.clone()),
        request_ids: None,
    });

    // 3. txn_count_24h: timezone bug in the writer's timestamp (__ts = T_k - 5h)
    let shift = 5 * HOUR;
    let pool: Vec<i64> = present
        .iter()
        .copied()
        .filter(|&id| {
            let now = online_truth[idx(id)][TXN_COUNT_24H].int();
            let stamped = truth_at(id, plan(id).t_k - shift)[TXN_COUNT_24H].int();
            now != stamped
        })
        .collect();
    let k = ((0.10 * present.len() as f64).round() as usize).min(pool.len());
    let tz_users = rng.sample(&pool, k);
    for &id in &tz_users {
        cells[idx(id)][TXN_COUNT_24H].ts = Some(plan(id).t_k - shift);
    }
    injected.push(Injected {
        feature: "txn_count_24h".into(),
        comparison: "online",
        cause: "ahead".into(),
        lag_seconds: Some(shift / SEC),
        factor: None,
        served_version: None,
        count: tz_users.len(),
        how: format!(
            "txn_count_24h__ts = T_k - 5h (timezone bug in the writer) while the value is the \
             true value as of T_k, for 10% of the present keys, drawn from the {} whose value \
             at T_k - 5h differs",
            pool.len()
        ),
        user_ids: Some(tz_users.clone()),
        request_ids: None,
    });

    // 4. avg_basket_30d: float32 precision for every non-null value
    let mut f32_users = Vec::new();
    let mut f32_total = 0usize;
    let mut f32_borderline = 0usize;
    for &id in &present {
        if let Some(v) = online_truth[idx(id)][AVG_BASKET_30D].float() {
            let served = f64::from(v as f32);
            cells[idx(id)][AVG_BASKET_30D].value = FVal::Float(Some(served));
            f32_total += 1;
            let tol = 1e-9 + 1e-9 * v.abs();
            let diff = (served - v).abs();
            if diff > tol {
                f32_users.push(id);
            }
            // another engine's mean may differ from this one in the last bits: make sure
            // no listed (or unlisted) key is that close to the tolerance
            if (diff - tol).abs() <= 1e-12 * (1.0 + v.abs()) {
                f32_borderline += 1;
            }
        }
    }
    if f32_borderline > 0 {
        eprintln!(
            "warning: {f32_borderline} float32 differences within rounding noise of the tolerance"
        );
    }
    injected.push(Injected {
        feature: "avg_basket_30d".into(),
        comparison: "online",
        cause: "transform:float32".into(),
        lag_seconds: None,
        factor: None,
        served_version: None,
        count: f32_users.len(),
        how: format!(
            "online value = (true value as f32) as f64 for all {f32_total} present keys with a \
             non-null value; listed are the {} that differ beyond the feature's tolerance \
             (abs 1e-9 + rel 1e-9); the other {} round-trip exactly or within tolerance",
            f32_users.len(),
            f32_total - f32_users.len()
        ),
        user_ids: Some(f32_users.clone()),
        request_ids: None,
    });

    // 5. stddev_amount_30d: written by an older definition (14d window)
    let version_users = rng.sample_frac(&present, 0.10);
    let mut version_value_differs = 0usize;
    for &id in &version_users {
        let old = FVal::Float(stddev_amount(&by_user[idx(id)], plan(id).t_k, 14 * DAY));
        if old != online_truth[idx(id)][STDDEV_AMOUNT_30D] {
            version_value_differs += 1;
        }
        let cell = &mut cells[idx(id)][STDDEV_AMOUNT_30D];
        cell.status = if old.is_null() { "null" } else { "present" };
        cell.value = old;
        cell.version = Some(OLD_VERSION);
    }
    injected.push(Injected {
        feature: "stddev_amount_30d".into(),
        comparison: "online",
        cause: "version".into(),
        lag_seconds: None,
        factor: None,
        served_version: Some(OLD_VERSION),
        count: version_users.len(),
        how: format!(
            "stddev_amount_30d__version = \"{OLD_VERSION}\" and the value computed with a 14d \
             window instead of 30d, for 10% of the present keys; all are listed (the value \
             also differs for {version_value_differs} of them)"
        ),
        user_ids: Some(version_users.clone()),
        request_ids: None,
    });

    injected.push(Injected {
        feature: "*".into(),
        comparison: "online",
        cause: "missing_online".into(),
        lag_seconds: None,
        factor: None,
        served_version: None,
        count: missing.len(),
        how: "2% of keys absent from the store: __key_present = false, every feature null \
              with status \"missing\", __ts and __version null"
            .into(),
        user_ids: Some(missing.clone()),
        request_ids: None,
    });

    // --- serving log with injected skews -------------------------------------------------
    let mut rng = Rng::new(seed, "log-skews");
    let mut logged: Vec<Vec<FVal>> = log_truth.clone();

    // 8. max_item_price_30d: cents instead of dollars in model v2
    let scale_rows: Vec<usize> = (0..requests.len())
        .filter(|&i| {
            requests[i].model_version == "v2"
                && log_truth[i][MAX_ITEM_PRICE_30D]
                    .float()
                    .is_some_and(|v| v != 0.0)
        })
        .collect();
    for &i in &scale_rows {
        let v = log_truth[i][MAX_ITEM_PRICE_30D].float().expect("non-null");
        logged[i][MAX_ITEM_PRICE_30D] = FVal::Float(Some(v * 100.0));
    }
    let n_v2 = requests.iter().filter(|r| r.model_version == "v2").count();

    // 9. last_txn_amount: default (0.0) filled in
    let pool: Vec<usize> = (0..requests.len())
        .filter(|&i| {
            log_truth[i][LAST_TXN_AMOUNT]
                .float()
                .is_some_and(|v| v != 0.0)
        })
        .collect();
    let default_rows = rng.sample_frac(&pool, 0.10);
    for &i in &default_rows {
        logged[i][LAST_TXN_AMOUNT] = FVal::Float(Some(0.0));
    }
    let default_pool = pool.len();

    // 10. txn_count_7d: null logged where the truth is not null
    let pool: Vec<usize> = (0..requests.len())
        .filter(|&i| !log_truth[i][TXN_COUNT_7D].is_null())
        .collect();
    let null_rows = rng.sample_frac(&pool, 0.05);
    for &i in &null_rows {
        logged[i][TXN_COUNT_7D] = FVal::Int(None);
    }
    let null_pool = pool.len();

    let ids_of = |rows: &[usize]| -> Vec<String> {
        rows.iter()
            .map(|&i| requests[i].request_id.clone())
            .collect()
    };
    injected.push(Injected {
        feature: "max_item_price_30d".into(),
        comparison: "log",
        cause: "transform:scale".into(),
        lag_seconds: None,
        factor: Some(100.0),
        served_version: None,
        count: scale_rows.len(),
        how: format!(
            "logged value = 100 x true value (cents instead of dollars) in every model_version \
             \"v2\" row ({n_v2} rows) whose true value is non-null and non-zero"
        ),
        user_ids: None,
        request_ids: Some(ids_of(&scale_rows)),
    });
    injected.push(Injected {
        feature: "last_txn_amount".into(),
        comparison: "log",
        cause: "default_filled".into(),
        lag_seconds: None,
        factor: None,
        served_version: None,
        count: default_rows.len(),
        how: format!(
            "logged value = 0.0 (the feature's default) for 10% of the {default_pool} rows \
             whose true value is non-null and non-zero"
        ),
        user_ids: None,
        request_ids: Some(ids_of(&default_rows)),
    });
    injected.push(Injected {
        feature: "txn_count_7d".into(),
        comparison: "log",
        cause: "null_mismatch".into(),
        lag_seconds: None,
        factor: None,
        served_version: None,
        count: null_rows.len(),
        how: format!(
            "logged value = null for 5% of the {null_pool} rows (the true value is never null: \
             the default is 0)"
        ),
        user_ids: None,
        request_ids: Some(ids_of(&null_rows)),
    });

    let clean = Clean {
        online: vec![
            "txn_count_7d",
            "spend_7d_log",
            "max_item_price_30d",
            "distinct_categories_30d",
            "last_txn_amount",
            "country",
            "tier",
        ],
        log: FEATURES
            .iter()
            .map(|(name, _)| *name)
            .filter(|n| !["max_item_price_30d", "last_txn_amount", "txn_count_7d"].contains(n))
            .collect(),
    };

    // --- write ---------------------------------------------------------------------------
    fs::create_dir_all(out).expect("create --out directory");

    // transactions: one file per UTC day, rows sorted by (event_ts, user_id)
    let mut all_txns: Vec<Txn> = by_user.iter().flatten().cloned().collect();
    all_txns.sort_by_key(|r| (r.ts, r.user_id)); // stable
    for d in 0..DAYS {
        let lo = start + d * DAY;
        let rows: Vec<Txn> = all_txns
            .iter()
            .filter(|r| r.ts >= lo && r.ts < lo + DAY)
            .cloned()
            .collect();
        write_parquet(&partition_path(out, lo), txn_columns(&rows), None);
    }

    // profiles, sorted by (user_id, updated_at)
    let all_profiles: Vec<&Profile> = prof_by_user.iter().flatten().collect();
    write_parquet(
        &out.join("profiles.parquet"),
        vec![
            Column::from(Series::new(
                "user_id".into(),
                all_profiles.iter().map(|p| p.user_id).collect::<Vec<_>>(),
            )),
            ts_column(
                "updated_at",
                all_profiles.iter().map(|p| Some(p.updated_at)).collect(),
                true,
            ),
            Column::from(Series::new(
                "country".into(),
                all_profiles
                    .iter()
                    .map(|p| p.country.clone())
                    .collect::<Vec<_>>(),
            )),
            Column::from(Series::new(
                "tier".into(),
                all_profiles.iter().map(|p| p.tier).collect::<Vec<_>>(),
            )),
        ],
        None,
    );

    // online snapshot (docs/snapshot.md, version 1)
    let mut cols = vec![
        Column::from(Series::new("user_id".into(), all_ids.clone())),
        Column::from(Series::new(
            "__key_present".into(),
            all_ids
                .iter()
                .map(|id| missing.binary_search(id).is_err())
                .collect::<Vec<bool>>(),
        )),
    ];
    for (f, (name, dtype)) in FEATURES.iter().enumerate() {
        let column: Vec<&OnlineCell> = cells.iter().map(|row| &row[f]).collect();
        let values: Vec<&FVal> = column.iter().map(|c| &c.value).collect();
        cols.push(feature_column(name, *dtype, &values));
        cols.push(Column::from(Series::new(
            format!("{name}__status").into(),
            column.iter().map(|c| c.status).collect::<Vec<_>>(),
        )));
        cols.push(ts_column(
            &format!("{name}__ts"),
            column.iter().map(|c| c.ts).collect(),
            true,
        ));
        cols.push(Column::from(Series::new(
            format!("{name}__version").into(),
            column.iter().map(|c| c.version).collect::<Vec<_>>(),
        )));
    }
    write_parquet(
        &out.join("online_snapshot.parquet"),
        cols,
        Some(vec![
            ("skewaudit.snapshot_version".to_string(), "1".to_string()),
            ("skewaudit.taken_at".to_string(), rfc3339(snapshot_taken_at)),
        ]),
    );

    // serving log, sorted by request_ts
    let mut cols = vec![
        Column::from(Series::new(
            "request_id".into(),
            requests
                .iter()
                .map(|r| r.request_id.clone())
                .collect::<Vec<_>>(),
        )),
        Column::from(Series::new(
            "user_id".into(),
            requests.iter().map(|r| r.user_id).collect::<Vec<_>>(),
        )),
        ts_column(
            "request_ts",
            requests.iter().map(|r| Some(r.ts)).collect(),
            true,
        ),
        Column::from(Series::new(
            "model_version".into(),
            requests.iter().map(|r| r.model_version).collect::<Vec<_>>(),
        )),
    ];
    for (f, (name, dtype)) in FEATURES.iter().enumerate() {
        let values: Vec<&FVal> = logged.iter().map(|row| &row[f]).collect();
        cols.push(feature_column(name, *dtype, &values));
    }
    write_parquet(&out.join("serving_log.parquet"), cols, None);

    // expected offline values (no skews) at every as-of time used above
    let mut kind: Vec<&str> = Vec::new();
    let mut e_user: Vec<i64> = Vec::new();
    let mut e_req: Vec<Option<String>> = Vec::new();
    let mut e_asof: Vec<Option<i64>> = Vec::new();
    let mut e_vals: Vec<&Vec<FVal>> = Vec::new();
    for (u, vals) in users.iter().zip(&online_truth) {
        kind.push("online");
        e_user.push(u.id);
        e_req.push(None);
        e_asof.push(Some(u.t_k));
        e_vals.push(vals);
    }
    for (r, vals) in requests.iter().zip(&log_truth) {
        kind.push("log");
        e_user.push(r.user_id);
        e_req.push(Some(r.request_id.clone()));
        e_asof.push(Some(r.ts));
        e_vals.push(vals);
    }
    let mut cols = vec![
        Column::from(Series::new("comparison".into(), kind)),
        Column::from(Series::new("user_id".into(), e_user)),
        Column::from(Series::new("request_id".into(), e_req)),
        ts_column("as_of", e_asof, true),
    ];
    for (f, (name, dtype)) in FEATURES.iter().enumerate() {
        let values: Vec<&FVal> = e_vals.iter().map(|row| &row[f]).collect();
        cols.push(feature_column(name, *dtype, &values));
    }
    write_parquet(&out.join("expected_offline.parquet"), cols, None);

    // ground truth
    let n_profiles = all_profiles.len();
    let gt = GroundTruth {
        generator: format!(
            "cargo run --example make_fixtures -- --scale small --seed {seed} (examples/make_fixtures.rs)"
        ),
        seed,
        project_version: PROJECT_VERSION,
        events_from: rfc3339(start),
        events_until_exclusive: rfc3339(end),
        snapshot_taken_at: rfc3339(snapshot_taken_at),
        users: N_USERS,
        transactions: all_txns.len(),
        profile_rows: n_profiles,
        log_rows: requests.len(),
        injected: injected.clone(),
        clean,
    };
    let json =
        compact_scalar_arrays(&serde_json::to_string_pretty(&gt).expect("serialize ground truth"));
    fs::write(out.join("ground_truth.json"), json).expect("write ground_truth.json");

    let stats = Stats {
        transactions: all_txns.len(),
        ties: n_ties,
        boundary_users: boundary_users.len(),
        boundary_requests: boundary_requests.len(),
        users_without_events: by_user.iter().filter(|r| r.is_empty()).count(),
        churned: users
            .iter()
            .filter(|u| {
                !by_user[idx(u.id)].is_empty()
                    && by_user[idx(u.id)].iter().all(|t| t.ts <= u.t_k - 7 * DAY)
            })
            .count(),
        profile_rows: n_profiles,
        users_without_profile: no_profile.len(),
        country_null_at_tk: online_truth.iter().filter(|v| v[COUNTRY].is_null()).count(),
        future_profile_users: future_users.len(),
        tie_profile_users: tie_users.len(),
        age_boundary_users: age_users.len(),
        log_users: requests
            .iter()
            .map(|r| r.user_id)
            .collect::<BTreeSet<_>>()
            .len(),
        log_rows: requests.len(),
        v2_rows: n_v2,
        missing: missing.len(),
        f32_total,
    };
    fs::write(out.join("GROUND_TRUTH.md"), ground_truth_md(&gt, &stats))
        .expect("write GROUND_TRUTH.md");

    eprintln!(
        "small: {} transactions, {} profile rows, {} snapshot keys, {} log rows in {}",
        all_txns.len(),
        n_profiles,
        N_USERS,
        requests.len(),
        out.display()
    );
    for inj in &injected {
        eprintln!(
            "  {:<20} {:<7} {:<18} {}",
            inj.feature, inj.comparison, inj.cause, inj.count
        );
    }
}

/// Puts every array of scalars of a pretty-printed JSON document on one line (id lists
/// stay readable without one line per id).
fn compact_scalar_arrays(pretty: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<String>)> = None; // (line up to '[', items)
    for line in pretty.lines() {
        let trimmed = line.trim();
        if let Some((head, items)) = &mut pending {
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                // not an array of scalars: emit as it was
                out.push_str(head);
                out.push('\n');
                for item in items.iter() {
                    out.push_str(item);
                    out.push('\n');
                }
                pending = None;
            } else if trimmed.starts_with(']') {
                let joined: Vec<&str> = items
                    .iter()
                    .map(|i| i.trim().trim_end_matches(','))
                    .collect();
                let _ = writeln!(out, "{}{}{}", head, joined.join(", "), trimmed);
                pending = None;
                continue;
            } else {
                items.push(line.to_string());
                continue;
            }
        }
        if trimmed.ends_with('[') {
            pending = Some((line.to_string(), Vec::new()));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

struct Stats {
    transactions: usize,
    ties: usize,
    boundary_users: usize,
    boundary_requests: usize,
    users_without_events: usize,
    churned: usize,
    profile_rows: usize,
    users_without_profile: usize,
    country_null_at_tk: usize,
    future_profile_users: usize,
    tie_profile_users: usize,
    age_boundary_users: usize,
    log_users: usize,
    log_rows: usize,
    v2_rows: usize,
    missing: usize,
    f32_total: usize,
}

fn ground_truth_md(gt: &GroundTruth, s: &Stats) -> String {
    let present = gt.users as usize - s.missing;
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "# Demo data set `fixtures/shop`: ground truth\n\n\
         Generated by `examples/make_fixtures.rs` (`cargo run --example make_fixtures -- \
         --scale small --out fixtures/shop`, seed {seed}); do not edit by hand — rerun the \
         generator, which rewrites this file. The exact affected `user_id`s and `request_id`s \
         of every injected skew are in [`ground_truth.json`](ground_truth.json). The true \
         (skew-free) value of every feature at every as-of time used below is in \
         `expected_offline.parquet`.\n",
        seed = gt.seed
    );
    let _ = writeln!(w, "## The data\n");
    let _ = writeln!(
        w,
        "Registry: [`features.toml`](features.toml) (project version `{v}`, 12 user \
         features).\n\n\
         | file | rows | content |\n|---|---|---|\n\
         | `transactions/date=YYYY-MM-DD/part-0.parquet` | {tx} | 30 daily hive partitions, \
         events from {from} up to (excluding) {until}; `user_id` int64, `event_ts` \
         timestamp[us] naive (= UTC), `amount` float64 (~2% null), `status` (settled ~80%, \
         pending, refunded), `category` (8 values, ~1% null), `item_price` float64 (1.00–500.00) |\n\
         | `profiles.parquet` | {pr} | `user_id`, `updated_at` timestamp[us, UTC], `country` \
         (mixed case, ~1% null), `tier` (bronze/silver/gold); 1–4 rows per user between \
         2025-06-01 and 2026-11-30 |\n\
         | `online_snapshot.parquet` | {n} | the online store for every user \
         ([docs/snapshot.md](../../docs/snapshot.md)), taken at {taken} |\n\
         | `serving_log.parquet` | {lr} | requests of {lu} users, `request_ts` in \
         [2026-11-28T00:00Z, 2026-11-30T23:00Z], `model_version` v1/v2 ({v2} v2 rows), one \
         column per feature |\n\
         | `expected_offline.parquet` | {er} | true values: `comparison` = `online` (one row \
         per key, `as_of` = T_k) or `log` (one row per request, `as_of` = request_ts) |\n",
        v = gt.project_version,
        tx = s.transactions,
        from = gt.events_from,
        until = gt.events_until_exclusive,
        pr = s.profile_rows,
        n = gt.users,
        taken = gt.snapshot_taken_at,
        lr = s.log_rows,
        lu = s.log_users,
        v2 = s.v2_rows,
        er = gt.users as usize + s.log_rows,
    );
    let _ = writeln!(
        w,
        "Users are `user_id` 1..={n}. Activity is skewed (log-normal per-user rates); \
         {none} users have no event at all, {churned} have events but none in the 7 days \
         before their T_k. Planted edge cases:\n\n\
         - {ties} ties: a second event of the same user at the same second (for \
         `last_txn_amount` the greatest amount wins, null smallest);\n\
         - {bu} users have events exactly at T_k (inside every window), T_k − 24h and \
         T_k − 7d (outside the 24h / 7d windows, which are `(T − w, T]`); {br} log requests \
         have the same three events around their `request_ts`;\n\
         - events at exactly 2026-11-01T00:00:00 and 2026-11-30T23:59:59, so the default \
         watermark (max `event_ts`) covers every as-of time; likewise a profile row at \
         2026-11-30T23:59:59;\n\
         - {nop} users have no profile row (`country` and `tier` null); {cn} keys have a null \
         `country` at T_k (newest row older than 365 days, or a null `country` value);\n\
         - {age} users whose newest profile row is exactly 365 days before T_k (excluded: \
         `country` null) or 365 days minus one second (included);\n\
         - {fut} users have a profile change between 2026-11-27 and the end of November \
         (after some as-of times: must not leak into earlier values); {tie} users have two \
         profile rows with the same `updated_at` and different tiers (greatest value wins; \
         their countries agree up to case or one is null).\n",
        n = gt.users,
        none = s.users_without_events,
        churned = s.churned,
        ties = s.ties,
        bu = s.boundary_users,
        br = s.boundary_requests,
        nop = s.users_without_profile,
        cn = s.country_null_at_tk,
        age = s.age_boundary_users,
        fut = s.future_profile_users,
        tie = s.tie_profile_users,
    );
    let _ = writeln!(w, "## Semantics used to compute true values\n");
    let _ = writeln!(
        w,
        "For a key and an as-of time T:\n\n\
         - a window `w` selects the key's source rows with `T − w < ts <= T` (`ts` = \
         `event_ts` or `updated_at`, UTC); `filter` keeps rows where it holds;\n\
         - `count` counts rows (and, with `expr`, rows whose value is non-null); `sum`, \
         `mean`, `max` ignore nulls; `stddev` is the sample standard deviation (ddof = 1) of \
         the non-null values and is empty with fewer than two; `count_distinct` counts \
         distinct non-null values;\n\
         - `last` with `max_age` takes the row with the greatest `ts` in `(T − max_age, T]` \
         (ties: the greatest `(ts, value)`, nulls smallest, where value is the `expr` value) \
         and returns its value even if null; `last` without `max_age` considers all rows \
         with `ts <= T`;\n\
         - an empty window gives the feature's `default`, else null; `transform` applies to \
         the aggregate only (`spend_7d_log` = ln(sum + 1));\n\
         - online values were computed per key at T_k = 2026-11-30T12:00Z + a uniform whole \
         number of seconds in [0, 12h), written in `<f>__ts`; `__version` = `{v}`. A null \
         true value is stored with status `null` (the key is present); logged values were \
         computed at `request_ts`.\n",
        v = gt.project_version
    );
    let _ = writeln!(w, "## Injected skews\n");
    let _ = writeln!(
        w,
        "Online rows: {n} keys, {present} present. Log rows: {lr}.\n\n\
         | # | feature | comparison | cause | affected | how it was made |\n|---|---|---|---|---|---|",
        n = gt.users,
        lr = s.log_rows
    );
    for (i, inj) in gt.injected.iter().enumerate() {
        let mut cause = format!("`{}`", inj.cause);
        if let Some(lag) = inj.lag_seconds {
            let _ = write!(cause, ", lag {}h", lag / 3600);
        }
        if let Some(f) = inj.factor {
            let _ = write!(cause, ", factor {f}");
        }
        let unit = if inj.user_ids.is_some() {
            "keys"
        } else {
            "rows"
        };
        let _ = writeln!(
            w,
            "| {} | `{}` | {} | {} | {} {} | {} |",
            i + 1,
            inj.feature,
            inj.comparison,
            cause,
            inj.count,
            unit,
            inj.how
        );
    }
    let _ = writeln!(
        w,
        "\n## What a correct audit reports (all keys, all rows)\n\n\
         Counts below are over the full population; a sampled audit sees proportionally \
         fewer.\n\n\
         - **every online feature**: {missing} `missing_online` keys (the same keys for \
         every feature); these are not mismatches of any other cause;\n\
         - **`spend_30d` online**: exactly the listed keys mismatch, cause \
         `transform:log1p` (online = ln(1 + offline));\n\
         - **`spend_24h` online**: exactly the listed keys mismatch, cause `stale`, lag 6h \
         (online equals the offline value as of `__ts` − 6h; a windowed sum is a step \
         function, so it may also equal it over an interval of lags around 6h);\n\
         - **`txn_count_24h` online**: the listed keys mismatch when recomputed at the stamped \
         `__ts` (T_k − 5h); the online value equals the offline value 5h later: cause \
         `ahead`, lag 5h;\n\
         - **`avg_basket_30d` online**: the listed keys mismatch (out of {f32} present keys \
         with a value), cause `transform:float32`; the others are within tolerance;\n\
         - **`stddev_amount_30d` online**: every listed key is reported with cause `version` \
         (served version `2026-11-01` is neither the project version nor the definition \
         hash), whether or not its value happens to agree;\n\
         - **`max_item_price_30d` log**: the listed rows (all `v2` rows with a value) \
         mismatch, cause `transform:scale` (×100 = 10^2); `v1` rows match;\n\
         - **`last_txn_amount` log**: the listed rows, cause `default_filled` (logged 0.0, \
         the default, where offline has a non-zero value);\n\
         - **`txn_count_7d` log**: the listed rows, cause `null_mismatch` (logged null, \
         offline non-null);\n\
         - every other (feature, comparison) pair matches on every row within the feature's \
         tolerance (floating-point sums may differ in the last bits from another engine's \
         summation order).\n",
        missing = s.missing,
        f32 = s.f32_total
    );
    let _ = writeln!(w, "## Clean features\n");
    let _ = writeln!(
        w,
        "- online (no injected skew apart from the missing keys): {}\n- log (no injected \
         skew): {}\n",
        gt.clean
            .online
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", "),
        gt.clean
            .log
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    md
}
