//! Reading online values from Redis (standalone or Cluster, plain or TLS), read-only.
//!
//! The read is planned first ([`plan`]): for every sampled key and feature, which command
//! (`HMGET key fields…` for `hash` and `feast`, `GET key` for `json`, `MGET keys…` for
//! `string`) and which slot of its reply hold the value, its timestamp and its version. The
//! commands then run in pipelined batches over a multiplexed connection, a bounded number in
//! flight, each with a timeout and bounded retries with backoff, paced by
//! `--max-ops-per-sec`. In Cluster mode each batch holds keys of one hash slot. Only `HMGET`,
//! `GET` and `MGET` are ever sent (plus the client's connection handshake): no write command.
//! A `WRONGTYPE` reply or a value that does not decode is a counted `decode_error` for that
//! key and feature, never a crash.

use super::decode::{decode_json, decode_text, parse_timestamp, Cell};
use super::frame::OnlineFrameBuilder;
use super::template::render;
use super::wire::{self, Target, Wire, WireError};
use super::{redact_url, OnlineError};
use crate::registry::placeholders;
use crate::registry::{Dtype, Feature, Layout, Online};
use futures::stream::{self, StreamExt, TryStreamExt};
use polars::prelude::*;
use redis_protocol::resp2::types::BytesFrame;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Defaults of the read options (also the CLI's).
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_BATCH: usize = 512;
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How to talk to the store.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    pub url: String,
    pub cluster: bool,
    /// Per call (one pipelined batch).
    pub timeout: Duration,
    /// Retries of a failed batch (with exponential backoff), within 2 x `timeout` in all.
    pub retries: u32,
    /// Commands per pipelined batch.
    pub batch: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    pub max_ops_per_sec: Option<f64>,
    /// PEM file of the CA that signed the server's certificate (`rediss://`).
    pub ca_file: Option<PathBuf>,
    pub read_from_replicas: bool,
    /// Password used when the URL has none (the CLI fills it from `REDIS_PASSWORD`).
    pub password: Option<String>,
    /// Advanced by the number of keys read, chunk by chunk.
    pub progress: Option<crate::progress::Stage>,
}

impl RedisOptions {
    pub fn new(url: &str) -> Self {
        RedisOptions {
            url: url.to_string(),
            cluster: url.starts_with("redis+cluster://") || url.starts_with("rediss+cluster://"),
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            retries: DEFAULT_RETRIES,
            batch: DEFAULT_BATCH,
            concurrency: DEFAULT_CONCURRENCY,
            max_ops_per_sec: None,
            ca_file: None,
            read_from_replicas: false,
            password: None,
            progress: None,
        }
    }
}

/// One command of the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// The field list is shared by every key read with the same fields.
    Hmget {
        key: Vec<u8>,
        fields: Arc<Vec<Vec<u8>>>,
    },
    Get {
        key: Vec<u8>,
    },
    Mget {
        keys: Vec<Vec<u8>>,
    },
}

impl Cmd {
    fn first_key(&self) -> &[u8] {
        match self {
            Cmd::Hmget { key, .. } | Cmd::Get { key } => key,
            Cmd::Mget { keys } => keys.first().map(|k| k.as_slice()).unwrap_or(&[]),
        }
    }
}

/// Where a value sits in the replies.
#[derive(Debug, Clone, PartialEq)]
pub enum Loc {
    /// Element `index` of command `cmd`'s reply (`HMGET`/`MGET`), or the reply itself (`GET`).
    Reply { cmd: u32, index: u32 },
    /// Member `plan.members[member]` of the JSON object returned by command `cmd` (`GET`).
    Json { cmd: u32, member: u32 },
}

/// For one key and feature: where its value, timestamp and version are.
#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub value: Loc,
    pub ts: Option<Loc>,
    pub version: Option<Loc>,
    /// Feast values are protobufs; everything else is text.
    pub feast: bool,
}

impl Want {
    /// The same want for the row `by` rows further (uniform plans: command = row).
    fn shifted(&self, by: u32) -> Want {
        let s = |l: &Loc| match l {
            Loc::Reply { cmd, index } => Loc::Reply {
                cmd: cmd + by,
                index: *index,
            },
            Loc::Json { cmd, member } => Loc::Json {
                cmd: cmd + by,
                member: *member,
            },
        };
        Want {
            value: s(&self.value),
            ts: self.ts.as_ref().map(s),
            version: self.version.as_ref().map(s),
            feast: self.feast,
        }
    }
}

/// The planned read.
#[derive(Debug, Default)]
pub struct Plan {
    pub cmds: Vec<Cmd>,
    /// `wants[row][feature]` (empty when `uniform` is set)
    pub wants: Vec<Vec<Want>>,
    /// Every row reads the same fields of one key, command `row`: the wants of row 0, shifted.
    pub uniform: Option<Vec<Want>>,
    /// Rows planned.
    pub rows: usize,
    /// JSON member names (layout `json`).
    pub members: Vec<String>,
}

/// The entity key values of every sampled row, as text (the canonical text of
/// `crate::sample`).
pub fn key_texts(keys: &DataFrame, names: &[String]) -> Result<Vec<Vec<String>>, OnlineError> {
    let err = |e: PolarsError| OnlineError::Input {
        what: "keys".into(),
        message: e.to_string(),
    };
    let cols: Vec<StringChunked> = names
        .iter()
        .map(|k| {
            keys.column(k)
                .and_then(|c| c.cast(&DataType::String))
                .and_then(|c| c.str().cloned())
        })
        .collect::<PolarsResult<_>>()
        .map_err(err)?;
    Ok((0..keys.height())
        .map(|r| {
            cols.iter()
                .map(|c| c.get(r).unwrap_or("").to_string())
                .collect()
        })
        .collect())
}

struct PlanBuilder {
    plan: Plan,
    by_key: HashMap<Vec<u8>, usize>,
    fields: Vec<HashMap<Vec<u8>, usize>>,
    member_ids: HashMap<String, u32>,
}

impl PlanBuilder {
    fn hmget_field(&mut self, key: &[u8], field: &[u8]) -> Loc {
        let cmd = match self.by_key.get(key) {
            Some(c) => *c,
            None => {
                self.plan.cmds.push(Cmd::Hmget {
                    key: key.to_vec(),
                    fields: Arc::new(Vec::new()),
                });
                self.fields.push(HashMap::new());
                let c = self.plan.cmds.len() - 1;
                self.by_key.insert(key.to_vec(), c);
                c
            }
        };
        let Cmd::Hmget { fields, .. } = &mut self.plan.cmds[cmd] else {
            unreachable!("hmget")
        };
        let fields = Arc::make_mut(fields);
        // A hash holds few fields: a linear search beats hashing them.
        let index = match fields.iter().position(|f| f.as_slice() == field) {
            Some(i) => i,
            None => {
                fields.push(field.to_vec());
                fields.len() - 1
            }
        };
        Loc::Reply {
            cmd: cmd as u32,
            index: index as u32,
        }
    }

    fn member(&mut self, name: String) -> u32 {
        let i = match self.member_ids.get(&name) {
            Some(i) => *i,
            None => {
                self.plan.members.push(name.clone());
                let i = self.plan.members.len() as u32 - 1;
                self.member_ids.insert(name, i);
                i
            }
        };
        i
    }

    fn get(&mut self, key: Vec<u8>) -> usize {
        *self.by_key.entry(key.clone()).or_insert_with(|| {
            self.plan.cmds.push(Cmd::Get { key });
            self.fields.push(HashMap::new());
            self.plan.cmds.len() - 1
        })
    }
}

/// A row's rendered key for a template, rendered once per row (and per feature when the
/// template names the feature).
fn cached(
    cache: &mut Vec<(String, Option<String>, Vec<u8>)>,
    t: &str,
    kv: &[(&str, &str)],
    feature: Option<&str>,
) -> usize {
    let per_feature = t.contains("{feature}");
    if let Some(i) = cache
        .iter()
        .position(|(tt, ff, _)| tt == t && (!per_feature || ff.as_deref() == feature))
    {
        return i;
    }
    let k = render(t, kv, feature).into_bytes();
    cache.push((
        t.to_string(),
        per_feature.then(|| feature.unwrap_or("").to_string()),
        k,
    ));
    cache.len() - 1
}

/// Plans the read of `features` for the rows of `keys` (columns `key_names`).
pub fn plan(
    online: &Online,
    features: &[&Feature],
    key_names: &[String],
    key_rows: &[Vec<String>],
    cluster: bool,
) -> Result<Plan, OnlineError> {
    let mut b = PlanBuilder {
        plan: Plan::default(),
        by_key: HashMap::new(),
        fields: Vec::new(),
        member_ids: HashMap::new(),
    };
    // Field templates that do not depend on the row are rendered once per feature.
    let row_free = |t: &str| placeholders(t).iter().all(|p| p == "feature");
    let once = |t: Option<&str>, f: &Feature| {
        t.filter(|t| row_free(t))
            .map(|t| render(t, &[], Some(&f.name)).into_bytes())
    };
    let pre: Vec<(Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>)> = features
        .iter()
        .map(|f| {
            let field_t = f.online.field.as_deref().unwrap_or(&online.field);
            (
                once(Some(field_t), f),
                once(online.timestamp_field.as_deref(), f),
                once(online.version_field.as_deref(), f),
            )
        })
        .collect();
    // The common case, planned in one go: `hash`, one key template for all features, fields
    // that do not depend on the row.
    let key_t0 = features
        .first()
        .map(|f| f.online.key.as_deref().unwrap_or(&online.key))
        .unwrap_or("");
    let uniform = online.layout == Layout::Hash
        && !features.is_empty()
        && !key_t0.contains("{feature}")
        && features
            .iter()
            .all(|f| f.online.key.as_deref().unwrap_or(&online.key) == key_t0)
        && pre.iter().all(|p| {
            p.0.is_some()
                && (online.timestamp_field.is_none() || p.1.is_some())
                && (online.version_field.is_none() || p.2.is_some())
        });
    if uniform {
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut at = |f: &Option<Vec<u8>>| -> Option<Loc> {
            let f = f.as_ref()?;
            let i = fields.iter().position(|x| x == f).unwrap_or_else(|| {
                fields.push(f.clone());
                fields.len() - 1
            });
            Some(Loc::Reply {
                cmd: 0,
                index: i as u32,
            })
        };
        let mut template = Vec::with_capacity(features.len());
        for p in &pre {
            let value = at(&p.0).ok_or_else(|| OnlineError::Input {
                what: "plan".into(),
                message: "field".into(),
            })?;
            template.push(Want {
                value,
                ts: at(&p.1),
                version: at(&p.2),
                feast: false,
            });
        }
        let fields = Arc::new(fields);
        let mut plan = Plan {
            rows: key_rows.len(),
            uniform: Some(template),
            ..Plan::default()
        };
        plan.cmds.reserve(key_rows.len());
        for row in key_rows {
            let kv: Vec<(&str, &str)> = key_names
                .iter()
                .map(|s| s.as_str())
                .zip(row.iter().map(|s| s.as_str()))
                .collect();
            plan.cmds.push(Cmd::Hmget {
                key: render(key_t0, &kv, None).into_bytes(),
                fields: fields.clone(),
            });
        }
        return Ok(plan);
    }
    let mut row_keys: Vec<(String, Option<String>, Vec<u8>)> = Vec::new();
    b.plan.rows = key_rows.len();
    for row in key_rows {
        row_keys.clear();
        let kv: Vec<(&str, &str)> = key_names
            .iter()
            .map(|s| s.as_str())
            .zip(row.iter().map(|s| s.as_str()))
            .collect();
        let mut wants = Vec::with_capacity(features.len());
        // string layout: one MGET per row (per row and slot in Cluster mode).
        let mut mget_keys: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut mget_slot: HashMap<redis::cluster_routing::Slot, usize> = HashMap::new();
        let mut string_locs: Vec<(usize, [Option<(usize, usize)>; 3])> = Vec::new();
        for (fi, f) in features.iter().enumerate() {
            let name = Some(f.name.as_str());
            let key_t = f.online.key.as_deref().unwrap_or(&online.key);
            let field_t = f.online.field.as_deref().unwrap_or(&online.field);
            match online.layout {
                Layout::Hash => {
                    let ki = cached(&mut row_keys, key_t, &kv, name);
                    let key = std::mem::take(&mut row_keys[ki].2);
                    let rendered;
                    let field: &[u8] = match &pre[fi].0 {
                        Some(f) => f,
                        None => {
                            rendered = render(field_t, &kv, name).into_bytes();
                            &rendered
                        }
                    };
                    let value = b.hmget_field(&key, field);
                    let mut extra = |t: &Option<String>, p: &Option<Vec<u8>>| {
                        t.as_ref().map(|t| match p {
                            Some(f) => b.hmget_field(&key, f),
                            None => b.hmget_field(&key, render(t, &kv, name).as_bytes()),
                        })
                    };
                    let ts = extra(&online.timestamp_field, &pre[fi].1);
                    let version = extra(&online.version_field, &pre[fi].2);
                    row_keys[ki].2 = key;
                    wants.push(Want {
                        value,
                        ts,
                        version,
                        feast: false,
                    });
                }
                Layout::Json => {
                    let cmd = b.get(render(key_t, &kv, name).into_bytes()) as u32;
                    let mut member = |t: &str| Loc::Json {
                        cmd,
                        member: b.member(render(t, &kv, name)),
                    };
                    let value = member(field_t);
                    let ts = online.timestamp_field.as_deref().map(&mut member);
                    let version = online.version_field.as_deref().map(&mut member);
                    wants.push(Want {
                        value,
                        ts,
                        version,
                        feast: false,
                    });
                }
                Layout::String => {
                    let mut slots: [Option<(usize, usize)>; 3] = [None, None, None];
                    let templates = [
                        Some(key_t),
                        online.timestamp_field.as_deref(),
                        online.version_field.as_deref(),
                    ];
                    for (i, t) in templates.iter().enumerate() {
                        let Some(t) = t else { continue };
                        let key = render(t, &kv, name).into_bytes();
                        let group = if cluster {
                            let slot = redis::cluster_routing::Slot::for_key(&key);
                            *mget_slot.entry(slot).or_insert_with(|| {
                                mget_keys.push(Vec::new());
                                mget_keys.len() - 1
                            })
                        } else {
                            if mget_keys.is_empty() {
                                mget_keys.push(Vec::new());
                            }
                            0
                        };
                        mget_keys[group].push(key);
                        slots[i] = Some((group, mget_keys[group].len() - 1));
                    }
                    string_locs.push((wants.len(), slots));
                    wants.push(Want {
                        value: Loc::Reply { cmd: 0, index: 0 },
                        ts: None,
                        version: None,
                        feast: false,
                    });
                }
                Layout::Feast => {
                    let view = f.online.feature_view.as_deref().unwrap_or("");
                    let key = super::feast_key(online, key_names, row)?;
                    // The Feast feature name: `[features.X.online] field`, else the name.
                    let feast_name = f.online.field.as_deref().unwrap_or(&f.name);
                    let value = b.hmget_field(&key, &super::feast::field_name(view, feast_name));
                    let ts = Some(b.hmget_field(&key, &super::feast::ts_field_name(view)));
                    wants.push(Want {
                        value,
                        ts,
                        version: None,
                        feast: true,
                    });
                }
            }
        }
        if !mget_keys.is_empty() {
            let base = b.plan.cmds.len();
            for keys in mget_keys {
                b.plan.cmds.push(Cmd::Mget { keys });
                b.fields.push(HashMap::new());
            }
            for (w, slots) in string_locs {
                let loc = |s: Option<(usize, usize)>| {
                    s.map(|(g, i)| Loc::Reply {
                        cmd: (base + g) as u32,
                        index: i as u32,
                    })
                };
                wants[w].value = loc(slots[0]).unwrap_or(Loc::Reply {
                    cmd: base as u32,
                    index: 0,
                });
                wants[w].ts = loc(slots[1]);
                wants[w].version = loc(slots[2]);
            }
        }
        b.plan.wants.push(wants);
    }
    Ok(b.plan)
}

/// A reply, or the server's error for that one command (e.g. `WRONGTYPE`).
/// One command's reply, or the server's error for it.
pub type Reply = Result<BytesFrame, String>;

/// The connections of a read: the `redis` crate's clients, or direct connections
/// ([`super::wire`]) pooled for a standalone server.
#[derive(Clone)]
enum Conn {
    Single(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
    Direct(Arc<DirectPool>),
}

/// Idle direct connections; a batch takes one, gives it back when done, and drops it on an
/// error (the next attempt connects anew).
struct DirectPool {
    target: Target,
    idle: Mutex<Vec<Wire>>,
}

/// Why a batch failed, and whether trying again could help.
enum QueryError {
    Transient(String),
    Fatal(String),
}

impl From<redis::RedisError> for QueryError {
    fn from(e: redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            QueryError::Transient(e.to_string())
        } else {
            QueryError::Fatal(e.to_string())
        }
    }
}

impl From<WireError> for QueryError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Transient(m) => QueryError::Transient(m),
            WireError::Fatal(m) => QueryError::Fatal(m),
        }
    }
}

async fn query(conn: &mut Conn, cmds: &[&Cmd]) -> Result<Vec<BytesFrame>, QueryError> {
    let values: Vec<redis::Value> = match conn {
        Conn::Single(c) => pipeline(cmds).query_async(c).await?,
        Conn::Cluster(c) => pipeline(cmds).query_async(c).await?,
        Conn::Direct(pool) => {
            let mut packed: Vec<u8> = Vec::with_capacity(cmds.len() * 64);
            // The field list an HMGET shares with its neighbours, encoded once.
            let mut shared: Option<(&Arc<Vec<Vec<u8>>>, Vec<u8>)> = None;
            for c in cmds {
                match c {
                    Cmd::Hmget { key, fields } => {
                        wire::pack_header(2 + fields.len(), &mut packed);
                        wire::pack_args(&[b"HMGET".as_slice(), key], &mut packed);
                        match &shared {
                            Some((f, enc)) if Arc::ptr_eq(f, fields) => {
                                packed.extend_from_slice(enc)
                            }
                            _ => {
                                let mut enc = Vec::new();
                                wire::pack_args(fields, &mut enc);
                                packed.extend_from_slice(&enc);
                                shared = Some((fields, enc));
                            }
                        }
                    }
                    Cmd::Get { key } => wire::pack(&[b"GET".as_slice(), key], &mut packed),
                    Cmd::Mget { keys } => {
                        wire::pack_header(1 + keys.len(), &mut packed);
                        wire::pack_args(&[b"MGET"], &mut packed);
                        wire::pack_args(keys, &mut packed);
                    }
                }
            }
            let idle = pool.idle.lock().ok().and_then(|mut v| v.pop());
            let mut wire = match idle {
                Some(w) => w,
                None => Wire::connect(&pool.target).await?,
            };
            let frames = wire.query(&packed, cmds.len()).await?;
            if let Ok(mut v) = pool.idle.lock() {
                v.push(wire);
            }
            return Ok(frames);
        }
    };
    Ok(values.into_iter().map(super::wire::frame_of).collect())
}

fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The URL as the client library takes it: `redis+cluster://` -> `redis://`, and
/// `password` inserted when the URL has none.
pub fn client_url(url: &str, password: Option<&str>) -> String {
    let u = url.replacen("redis+cluster://", "redis://", 1).replacen(
        "rediss+cluster://",
        "rediss://",
        1,
    );
    let Some(pw) = password else { return u };
    let Some((scheme, rest)) = u.split_once("://") else {
        return u;
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    if rest[..authority_end].contains('@') {
        return u;
    }
    let enc: String = pw
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{scheme}://:{enc}@{rest}")
}

async fn connect(opts: &RedisOptions) -> Result<Conn, String> {
    install_crypto();
    let url = client_url(&opts.url, opts.password.as_deref());
    let certs = match &opts.ca_file {
        Some(p) => Some(redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(p).map_err(|e| format!("CA file {}: {e}", p.display()))?),
        }),
        None => None,
    };
    if !opts.cluster {
        let ca = match &opts.ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| format!("CA file {}: {e}", p.display()))?),
            None => None,
        };
        if let Some(target) = Target::from_url(&url, ca.as_deref())? {
            let wire = tokio::time::timeout(opts.timeout, Wire::connect(&target))
                .await
                .map_err(|_| "connect timed out".to_string())?
                .map_err(|e| match e {
                    WireError::Transient(m) | WireError::Fatal(m) => m,
                })?;
            return Ok(Conn::Direct(Arc::new(DirectPool {
                target,
                idle: Mutex::new(vec![wire]),
            })));
        }
    }
    if opts.cluster {
        let mut builder = redis::cluster::ClusterClientBuilder::new(vec![url.as_str()])
            .connection_timeout(opts.timeout)
            .response_timeout(opts.timeout)
            .retries(opts.retries);
        if let Some(c) = certs {
            builder = builder.certs(c);
        }
        if opts.read_from_replicas {
            builder =
                builder.read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let conn = tokio::time::timeout(opts.timeout, client.get_async_connection())
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Conn::Cluster(conn))
    } else {
        let client = match certs {
            Some(c) => redis::Client::build_with_tls(url.as_str(), c),
            None => redis::Client::open(url.as_str()),
        }
        .map_err(|e| e.to_string())?;
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(opts.timeout))
            .set_response_timeout(Some(opts.timeout));
        let conn = tokio::time::timeout(
            opts.timeout,
            client.get_multiplexed_async_connection_with_config(&cfg),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
        Ok(Conn::Single(conn))
    }
}

/// Paces commands to at most `rate` per second across all batches.
struct Pacer {
    rate: Option<f64>,
    next: Mutex<Instant>,
}

impl Pacer {
    fn delay(&self, ops: usize) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let Ok(mut next) = self.next.lock() else {
            return Duration::ZERO;
        };
        let start = (*next).max(now);
        *next = start + Duration::from_secs_f64(ops as f64 / rate);
        start - now
    }
}

fn pipeline(cmds: &[&Cmd]) -> redis::Pipeline {
    let mut p = redis::pipe();
    p.ignore_errors();
    for c in cmds {
        match c {
            Cmd::Hmget { key, fields } => {
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(key.as_slice());
                for f in fields.iter() {
                    cmd.arg(f.as_slice());
                }
                p.add_command(cmd);
            }
            Cmd::Get { key } => {
                p.add_command(redis::cmd("GET").arg(key.as_slice()).clone());
            }
            Cmd::Mget { keys } => {
                let mut cmd = redis::cmd("MGET");
                for k in keys {
                    cmd.arg(k.as_slice());
                }
                p.add_command(cmd);
            }
        }
    }
    p
}

/// Runs one batch with timeout and bounded retries (fresh connection on each retry); the
/// whole batch takes at most 2 x timeout.
async fn run_batch(
    opts: &RedisOptions,
    conn: Conn,
    cmds: Vec<&Cmd>,
    pacer: &Pacer,
) -> Result<Vec<Reply>, String> {
    tokio::time::sleep(pacer.delay(cmds.len())).await;
    let deadline = Instant::now() + opts.timeout * 2;
    let mut conn = conn;
    let mut attempt = 0u32;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let result = tokio::time::timeout(left.min(opts.timeout), query(&mut conn, &cmds)).await;
        let err = match result {
            Ok(Ok(values)) => {
                if values.len() != cmds.len() {
                    return Err(format!(
                        "expected {} replies, got {}",
                        cmds.len(),
                        values.len()
                    ));
                }
                let replies: Vec<Reply> = values
                    .into_iter()
                    .map(|v| match v {
                        BytesFrame::Error(e) => Err(e.to_string()),
                        other => Ok(other),
                    })
                    .collect();
                if let Some(Err(e)) = replies.iter().find(|r| {
                    r.as_ref().err().is_some_and(|e| {
                        [
                            "NOAUTH",
                            "NOPERM",
                            "WRONGPASS",
                            "LOADING",
                            "MASTERDOWN",
                            "CLUSTERDOWN",
                        ]
                        .iter()
                        .any(|c| e.contains(c))
                    })
                }) {
                    return Err(e.clone());
                }
                return Ok(replies);
            }
            Ok(Err(QueryError::Fatal(e))) => return Err(e),
            Ok(Err(QueryError::Transient(e))) => e,
            Err(_) => format!("no reply within {:.1}s", opts.timeout.as_secs_f64()),
        };
        attempt += 1;
        let backoff = Duration::from_millis(50 * (1u64 << attempt.min(6)));
        if attempt > opts.retries || Instant::now() + backoff >= deadline {
            return Err(format!("{err} (after {attempt} attempt(s))"));
        }
        tokio::time::sleep(backoff).await;
        // The direct pool connects anew by itself; the redis crate's clients are replaced.
        if !matches!(conn, Conn::Direct(_)) {
            if let Ok(c) = connect(opts).await {
                conn = c;
            }
        }
    }
}

/// An open read: the runtime, the connections and the pacer, kept across chunks.
pub struct Session<'o> {
    opts: &'o RedisOptions,
    rt: tokio::runtime::Runtime,
    conns: Vec<Conn>,
    pacer: Pacer,
    /// Batches in flight, across the chunks being read at once: at most `concurrency`.
    in_flight: tokio::sync::Semaphore,
}

impl<'o> Session<'o> {
    /// Starts the runtime and connects (the `redis` crate's clients: one connection per batch
    /// in flight; a Cluster client multiplexes by itself; a direct pool opens its connections
    /// as batches need them, at most `concurrency`).
    pub fn open(opts: &'o RedisOptions) -> Result<Session<'o>, OnlineError> {
        let unavailable = |message: String| OnlineError::Unavailable {
            url: redact_url(&opts.url),
            message,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        let conns = rt.block_on(async {
            let first = connect(opts).await.map_err(&unavailable)?;
            let mut conns = vec![first];
            if !opts.cluster && !matches!(conns[0], Conn::Direct(_)) {
                for _ in 1..opts.concurrency.max(1) {
                    conns.push(connect(opts).await.map_err(&unavailable)?);
                }
            }
            Ok::<_, OnlineError>(conns)
        })?;
        Ok(Session {
            opts,
            rt,
            conns,
            pacer: Pacer {
                rate: opts.max_ops_per_sec,
                next: Mutex::new(Instant::now()),
            },
            in_flight: tokio::sync::Semaphore::new(opts.concurrency.max(1)),
        })
    }

    /// Runs the plan's commands; the replies in plan order.
    pub fn fetch(&self, plan: &Plan) -> Result<Vec<Reply>, OnlineError> {
        let opts = self.opts;
        let unavailable = |message: String| OnlineError::Unavailable {
            url: redact_url(&opts.url),
            message,
        };
        // Batches: consecutive commands; in Cluster mode the commands of one hash slot.
        let groups: Vec<Vec<usize>> = if opts.cluster {
            let mut by_slot: HashMap<redis::cluster_routing::Slot, usize> = HashMap::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for (i, c) in plan.cmds.iter().enumerate() {
                let g = *by_slot
                    .entry(redis::cluster_routing::Slot::for_key(c.first_key()))
                    .or_insert_with(|| {
                        groups.push(Vec::new());
                        groups.len() - 1
                    });
                groups[g].push(i);
            }
            groups
        } else {
            vec![(0..plan.cmds.len()).collect()]
        };
        let size = opts.batch.max(1);
        let batches: Vec<Vec<usize>> = groups
            .iter()
            .flat_map(|g| g.chunks(size).map(|c| c.to_vec()))
            .collect();
        let results: Vec<(Vec<usize>, Vec<Reply>)> = self.rt.block_on(async {
            stream::iter(batches.into_iter().enumerate().map(|(bi, idx)| {
                let conn = self.conns[bi % self.conns.len()].clone();
                async move {
                    let _permit = self.in_flight.acquire().await.map_err(|e| e.to_string())?;
                    let cmds: Vec<&Cmd> = idx.iter().map(|&i| &plan.cmds[i]).collect();
                    let replies = run_batch(opts, conn, cmds, &self.pacer).await?;
                    Ok::<_, String>((idx, replies))
                }
            }))
            .buffer_unordered(opts.concurrency.max(1))
            .try_collect()
            .await
            .map_err(&unavailable)
        })?;
        let mut out: Vec<Option<Reply>> = (0..plan.cmds.len()).map(|_| None).collect();
        for (idx, replies) in results {
            for (i, r) in idx.into_iter().zip(replies) {
                out[i] = Some(r);
            }
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err("no reply".into())))
            .collect())
    }
}

/// Runs a planned read's commands on new connections; the replies in plan order.
pub fn execute(opts: &RedisOptions, plan: &Plan) -> Result<Vec<Reply>, OnlineError> {
    Session::open(opts)?.fetch(plan)
}

/// Raw bytes at a location: `Ok(None)` when nil/absent; `Err` for a server error.
fn raw_at<'a>(
    replies: &'a [Reply],
    members: &[String],
    loc: &Loc,
    json_cache: &mut HashMap<usize, Option<serde_json::Value>>,
) -> Result<Option<RawItem<'a>>, String> {
    match loc {
        Loc::Reply { cmd, index } => {
            let r = replies
                .get(*cmd as usize)
                .ok_or("no reply")?
                .as_ref()
                .map_err(|e| e.clone())?;
            let v = match r {
                BytesFrame::Array(items) => items.get(*index as usize),
                other => Some(other),
            };
            raw_item(v)
        }
        Loc::Json { cmd, member } => {
            let cmd = &(*cmd as usize);
            let member = members
                .get(*member as usize)
                .map(|s| s.as_str())
                .unwrap_or("");
            let r = replies
                .get(*cmd)
                .ok_or("no reply")?
                .as_ref()
                .map_err(|e| e.clone())?;
            if !json_cache.contains_key(cmd) {
                let parsed = match r {
                    BytesFrame::BulkString(b) => Some(
                        serde_json::from_slice::<serde_json::Value>(b)
                            .map_err(|e| format!("not JSON: {e}"))?,
                    ),
                    BytesFrame::Null => None,
                    other => return Err(format!("unexpected reply {other:?}")),
                };
                json_cache.insert(*cmd, parsed);
            }
            let obj = json_cache.get(cmd).and_then(|v| v.as_ref());
            match obj {
                None => Ok(None),
                Some(serde_json::Value::Object(m)) => {
                    Ok(m.get(member).map(|v| RawItem::Json(v.clone())))
                }
                Some(_) => Err("the JSON value is not an object".into()),
            }
        }
    }
}

/// An element of a reply as raw text: `Ok(None)` when nil/absent; `Err` for a server error.
fn raw_item(v: Option<&BytesFrame>) -> Result<Option<RawItem<'_>>, String> {
    Ok(match v {
        Some(BytesFrame::BulkString(b)) | Some(BytesFrame::SimpleString(b)) => {
            Some(RawItem::Bytes(b))
        }
        Some(BytesFrame::Integer(i)) => Some(RawItem::Owned(i.to_string())),
        Some(BytesFrame::Null) | None => None,
        Some(BytesFrame::Error(e)) => return Err(e.to_string()),
        Some(other) => return Err(format!("unexpected reply {other:?}")),
    })
}

enum RawItem<'a> {
    Bytes(&'a [u8]),
    Owned(String),
    Json(serde_json::Value),
}

fn text_of(item: &RawItem) -> Option<String> {
    match item {
        RawItem::Bytes(b) => std::str::from_utf8(b).ok().map(|s| s.to_string()),
        RawItem::Owned(s) => Some(s.clone()),
        RawItem::Json(serde_json::Value::String(s)) => Some(s.clone()),
        RawItem::Json(v) => Some(v.to_string()),
    }
}

/// Decodes the replies into the online frame.
pub fn decode_replies(
    online: &Online,
    features: &[(&Feature, Dtype)],
    keys: &DataFrame,
    plan: &Plan,
    replies: &[Reply],
) -> Result<DataFrame, OnlineError> {
    let spec: Vec<(String, Dtype)> = features.iter().map(|(f, d)| (f.name.clone(), *d)).collect();
    let mut b = OnlineFrameBuilder::new(keys.height(), &spec);
    decode_into(&mut b, 0, online, features, plan, replies);
    b.finish(keys).map_err(|e| OnlineError::Input {
        what: "online frame".into(),
        message: e.to_string(),
    })
}

/// Decodes the replies of a plan made for rows `first_row..` into the builder.
fn decode_into(
    b: &mut OnlineFrameBuilder,
    first_row: usize,
    online: &Online,
    features: &[(&Feature, Dtype)],
    plan: &Plan,
    replies: &[Reply],
) {
    if let Some(template) = &plan.uniform {
        if !template.iter().any(|w| w.feast) {
            decode_uniform(b, first_row, online, features, template, replies);
            return;
        }
    }
    let mut json_cache: HashMap<usize, Option<serde_json::Value>> = HashMap::new();
    for i in 0..plan.rows {
        let row = first_row + i;
        let mut any = false;
        let mut ts_seen: Option<(Loc, Option<i64>)> = None;
        let mut version_seen: Option<(Loc, Option<String>)> = None;
        for fi in 0..features.len() {
            let want = match &plan.uniform {
                Some(t) => t[fi].shifted(i as u32),
                None => plan.wants[i][fi].clone(),
            };
            let w = &want;
            let dtype = features[fi].1;
            let (cell, present) = match raw_at(replies, &plan.members, &w.value, &mut json_cache) {
                Err(e) => (Cell::DecodeError(e), true),
                Ok(None) => (Cell::Missing, false),
                Ok(Some(item)) => {
                    let cell = match (&item, w.feast) {
                        (RawItem::Bytes(b), true) => super::feast_cell(b, dtype),
                        (RawItem::Json(v), _) => decode_json(v, dtype, &online.null_markers),
                        (RawItem::Bytes(b), false) => decode_text(b, dtype, &online.null_markers),
                        (RawItem::Owned(s), _) => {
                            decode_text(s.as_bytes(), dtype, &online.null_markers)
                        }
                    };
                    (cell, true)
                }
            };
            any |= present;
            // A key's timestamp and version fields are usually shared by all its features:
            // decoded once per row.
            let ts = match (&w.ts, &ts_seen) {
                (Some(l), Some((seen, v))) if l == seen => *v,
                (Some(l), _) => {
                    let v = raw_at(replies, &plan.members, l, &mut json_cache)
                        .ok()
                        .flatten()
                        .and_then(|item| match (&item, w.feast) {
                            (RawItem::Bytes(b), true) => super::feast::decode_timestamp(b)
                                .ok()
                                .flatten()
                                .and_then(|(s, n)| super::feast::timestamp_to_micros(s, n)),
                            _ => text_of(&item).and_then(|t| parse_timestamp(&t)),
                        });
                    ts_seen = Some((l.clone(), v));
                    v
                }
                (None, _) => None,
            };
            let version = match (&w.version, &version_seen) {
                (Some(l), Some((seen, v))) if l == seen => v.clone(),
                (Some(l), _) => {
                    let v = raw_at(replies, &plan.members, l, &mut json_cache)
                        .ok()
                        .flatten()
                        .and_then(|i| text_of(&i));
                    version_seen = Some((l.clone(), v.clone()));
                    v
                }
                (None, _) => None,
            };
            b.set(fi, row, cell, ts, version);
        }
        b.set_key_present(row, any);
    }
}

/// The common `hash` case, a uniform plan (reply `i` is row `i`, every reply holds the same
/// fields): the same cells as the general path of [`decode_into`], without its per-cell
/// lookups; each distinct timestamp and version field is decoded once per row.
fn decode_uniform(
    b: &mut OnlineFrameBuilder,
    first_row: usize,
    online: &Online,
    features: &[(&Feature, Dtype)],
    template: &[Want],
    replies: &[Reply],
) {
    let index = |l: &Loc| match l {
        Loc::Reply { index, .. } => *index as usize,
        Loc::Json { .. } => usize::MAX,
    };
    let mut ts_fields: Vec<usize> = Vec::new();
    let mut version_fields: Vec<usize> = Vec::new();
    let slot = |fields: &mut Vec<usize>, l: &Option<Loc>| {
        l.as_ref().map(|l| {
            let i = index(l);
            fields.iter().position(|f| *f == i).unwrap_or_else(|| {
                fields.push(i);
                fields.len() - 1
            })
        })
    };
    let slots: Vec<(usize, Option<usize>, Option<usize>)> = template
        .iter()
        .map(|w| {
            (
                index(&w.value),
                slot(&mut ts_fields, &w.ts),
                slot(&mut version_fields, &w.version),
            )
        })
        .collect();
    let mut ts: Vec<Option<i64>> = vec![None; ts_fields.len()];
    let mut versions: Vec<Option<String>> = vec![None; version_fields.len()];
    for (i, reply) in replies.iter().enumerate() {
        let row = first_row + i;
        let frame = match reply {
            Ok(f) => f,
            Err(e) => {
                for fi in 0..features.len() {
                    b.set(fi, row, Cell::DecodeError(e.clone()), None, None);
                }
                b.set_key_present(row, true);
                continue;
            }
        };
        // As `raw_at`: a reply that is not an array stands for each of its elements.
        let item = |k: usize| match frame {
            BytesFrame::Array(items) => items.get(k),
            other => Some(other),
        };
        for (t, &k) in ts.iter_mut().zip(&ts_fields) {
            *t = raw_item(item(k))
                .ok()
                .flatten()
                .and_then(|r| text_of(&r))
                .and_then(|t| parse_timestamp(&t));
        }
        for (v, &k) in versions.iter_mut().zip(&version_fields) {
            *v = raw_item(item(k)).ok().flatten().and_then(|r| text_of(&r));
        }
        let mut any = false;
        for (fi, (value, t, v)) in slots.iter().enumerate() {
            let dtype = features[fi].1;
            let cell = match raw_item(item(*value)) {
                Err(e) => Cell::DecodeError(e),
                Ok(None) => Cell::Missing,
                Ok(Some(RawItem::Bytes(x))) => decode_text(x, dtype, &online.null_markers),
                Ok(Some(RawItem::Owned(x))) => {
                    decode_text(x.as_bytes(), dtype, &online.null_markers)
                }
                Ok(Some(RawItem::Json(_))) => Cell::DecodeError("unexpected JSON".into()),
            };
            any |= !matches!(cell, Cell::Missing);
            b.set(
                fi,
                row,
                cell,
                t.and_then(|t| ts[t]),
                v.and_then(|v| versions[v].clone()),
            );
        }
        b.set_key_present(row, any);
    }
}

/// Rows planned, read and decoded at a time: bounds the memory of a read to one chunk's
/// commands and replies (the output frame aside).
pub const CHUNK_ROWS: usize = 65_536;

/// Reads the online values of `features` for the rows of `keys`.
pub fn read(
    opts: &RedisOptions,
    online: &Online,
    features: &[(&Feature, Dtype)],
    keys: &DataFrame,
    key_names: &[String],
) -> Result<DataFrame, OnlineError> {
    let rows = key_texts(keys, key_names)?;
    let feats: Vec<&Feature> = features.iter().map(|(f, _)| *f).collect();
    let spec: Vec<(String, Dtype)> = features.iter().map(|(f, d)| (f.name.clone(), *d)).collect();
    let mut b = OnlineFrameBuilder::new(keys.height(), &spec);
    let session = Session::open(opts)?;
    // While one chunk's replies are decoded here, the next chunk is read on another thread.
    std::thread::scope(|scope| {
        type Fetch<'s> = std::thread::ScopedJoinHandle<'s, Result<Vec<Reply>, OnlineError>>;
        let mut pending: Option<(usize, Arc<Plan>, Fetch)> = None;
        let mut decode = |(ci, plan, fetch): (usize, Arc<Plan>, Fetch)| {
            let replies = fetch.join().map_err(|_| OnlineError::Input {
                what: "read".into(),
                message: "the reading thread stopped".into(),
            })??;
            decode_into(&mut b, ci * CHUNK_ROWS, online, features, &plan, &replies);
            if let Some(p) = &opts.progress {
                p.inc(plan.rows as u64);
            }
            Ok::<_, OnlineError>(())
        };
        for (ci, chunk) in rows.chunks(CHUNK_ROWS).enumerate() {
            let plan = Arc::new(plan(online, &feats, key_names, chunk, opts.cluster)?);
            let for_fetch = plan.clone();
            let session = &session;
            let fetch = scope.spawn(move || session.fetch(&for_fetch));
            if let Some(prev) = pending.take() {
                decode(prev)?;
            }
            pending = Some((ci, plan, fetch));
        }
        if let Some(prev) = pending.take() {
            decode(prev)?;
        }
        Ok::<_, OnlineError>(())
    })?;
    b.finish(keys).map_err(|e| OnlineError::Input {
        what: "online frame".into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item() -> impl Strategy<Value = BytesFrame> {
        prop_oneof![
            Just(BytesFrame::Null),
            (-1000i64..1000).prop_map(BytesFrame::Integer),
            Just(BytesFrame::Error("ERR odd".into())),
            prop_oneof![
                Just("None"),
                Just(""),
                Just("abc"),
                Just("true"),
                Just("2.5e1"),
                Just("-7"),
                Just("1796392800000"),
                Just("2026-11-30T00:00:00Z"),
                Just("v1"),
            ]
            .prop_map(|t| BytesFrame::BulkString(t.as_bytes().to_vec().into())),
        ]
    }

    fn reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            1 => Just(Err("WRONGTYPE Operation against a key holding the wrong kind of value".to_string())),
            1 => Just(Ok(BytesFrame::Null)),
            8 => prop::collection::vec(item(), 0..8).prop_map(|v| Ok(BytesFrame::Array(v))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// The uniform fast path decodes exactly as the general path does.
        #[test]
        fn uniform_decoding_matches_the_general_path(replies in prop::collection::vec(reply(), 1..40)) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("features.toml");
            std::fs::write(&path, "[project]\nname = \"t\"\n[entities.user]\nkeys = [\"user_id\"]\n[sources.tx]\npath = \"tx.parquet\"\ntimestamp = \"ts\"\n\
                [features.n]\nentity = \"user\"\nsource = \"tx\"\naggregation = \"count\"\ndtype = \"int64\"\n\
                [features.s]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"amount\"\naggregation = \"sum\"\ndtype = \"float64\"\n\
                [features.city]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"city\"\naggregation = \"last\"\ndtype = \"string\"\n\
                [features.flag]\nentity = \"user\"\nsource = \"tx\"\nexpr = \"flag\"\naggregation = \"last\"\ndtype = \"bool\"\n\
                [online]\nlayout = \"hash\"\nkey = \"user:{user_id}\"\nfield = \"{feature}\"\ntimestamp_field = \"_ts\"\nversion_field = \"_v\"\nnull_markers = [\"None\"]\n").expect("write");
            let reg = crate::registry::Registry::load(&path).expect("registry");
            let online = reg.online.as_ref().expect("online");
            let feats: Vec<(&Feature, Dtype)> = reg.features.values().map(|f| (f, f.dtype.unwrap_or(Dtype::String))).collect();
            let plain: Vec<&Feature> = feats.iter().map(|(f, _)| *f).collect();
            let n = replies.len();
            let rows: Vec<Vec<String>> = (0..n).map(|i| vec![i.to_string()]).collect();
            let names = ["user_id".to_string()];
            let uniform = plan(online, &plain, &names, &rows, false).expect("plan");
            let template = uniform.uniform.clone().expect("a uniform plan");
            let general = Plan {
                cmds: uniform.cmds.clone(),
                wants: (0..n).map(|i| template.iter().map(|w| w.shifted(i as u32)).collect()).collect(),
                uniform: None,
                rows: n,
                members: Vec::new(),
            };
            let keys = DataFrame::new(n, vec![Column::new("user_id".into(), (0..n as i64).collect::<Vec<_>>())]).expect("keys");
            let a = decode_replies(online, &feats, &keys, &uniform, &replies).expect("uniform");
            let b = decode_replies(online, &feats, &keys, &general, &replies).expect("general");
            prop_assert!(a.equals_missing(&b), "uniform:\n{a}\ngeneral:\n{b}");
        }
    }

    #[test]
    fn password_goes_into_urls_without_one() {
        assert_eq!(
            client_url("redis://h:1/0", Some("p w")),
            "redis://:p%20w@h:1/0"
        );
        assert_eq!(client_url("redis://u:x@h:1", Some("p")), "redis://u:x@h:1");
        assert_eq!(client_url("redis+cluster://h:1", None), "redis://h:1");
        assert_eq!(client_url("rediss+cluster://h:1", None), "rediss://h:1");
    }
}
