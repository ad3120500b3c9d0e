//! The feature registry: one TOML file, the single source of feature truth (SPEC §1).
//!
//! [`Registry::load`] reads the file, expands `${VAR}`, resolves relative paths against the
//! registry's directory, parses durations and SQL, and checks references; every problem is
//! one line naming the file and the key. [`schema`] checks the registry against the data.

pub mod duration;
pub mod hash;
pub mod raw;
pub mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use duration::Duration;
use raw::*;

/// A problem found while loading or validating a registry. `context` names the key
/// (`feature 'spend_7d'`, `[online]`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub context: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.message)
    }
}

/// Why a registry could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: cannot read the registry: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Toml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", path.display(), p))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The windowed aggregations of SPEC §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aggregation {
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Stddev,
    CountDistinct,
    First,
    Last,
}

impl Aggregation {
    pub const ALL: [(&'static str, Aggregation); 9] = [
        ("count", Aggregation::Count),
        ("sum", Aggregation::Sum),
        ("mean", Aggregation::Mean),
        ("min", Aggregation::Min),
        ("max", Aggregation::Max),
        ("stddev", Aggregation::Stddev),
        ("count_distinct", Aggregation::CountDistinct),
        ("first", Aggregation::First),
        ("last", Aggregation::Last),
    ];
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, a)| *a)
    }
    /// Needs a numeric `expr`.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Sum | Self::Mean | Self::Stddev)
    }
    /// A point-in-time lookup (`first`/`last`): the row's value, null or not.
    pub fn is_lookup(self) -> bool {
        matches!(self, Self::First | Self::Last)
    }
}

/// Which ends of the window `(T - w, T]` are included; default `Right`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Closed {
    /// `[T - w, T)`
    Left,
    /// `(T - w, T]` (the default)
    Right,
    /// `[T - w, T]`
    Both,
    /// `(T - w, T)`
    None,
}

impl Closed {
    pub fn name(self) -> &'static str {
        match self {
            Closed::Left => "left",
            Closed::Right => "right",
            Closed::Both => "both",
            Closed::None => "none",
        }
    }
    pub fn includes_start(self) -> bool {
        matches!(self, Closed::Left | Closed::Both)
    }
    pub fn includes_end(self) -> bool {
        matches!(self, Closed::Right | Closed::Both)
    }
}

/// A feature's value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    Int64,
    Float64,
    String,
    Bool,
    /// A list of floats (an embedding), compared element-wise.
    FloatList,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Int64 => "int64",
            Dtype::Float64 => "float64",
            Dtype::String => "string",
            Dtype::Bool => "bool",
            Dtype::FloatList => "list<float64>",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "int64" | "int" | "int32" => Some(Dtype::Int64),
            "float64" | "float" | "double" | "float32" => Some(Dtype::Float64),
            "string" | "str" | "utf8" => Some(Dtype::String),
            "bool" | "boolean" => Some(Dtype::Bool),
            "list<float64>" | "list[float64]" | "list<float>" | "array<float64>" | "embedding" => {
                Some(Dtype::FloatList)
            }
            _ => None,
        }
    }
}

/// A typed scalar (a feature's `default`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl Scalar {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Int(i) => serde_json::json!(i),
            Scalar::Float(f) if f.is_finite() => serde_json::json!(f),
            Scalar::Float(f) => serde_json::json!(f.to_string()),
            Scalar::Str(s) => serde_json::json!(s),
            Scalar::Bool(b) => serde_json::json!(b),
        }
    }
}

/// Numeric match tolerance: `|a - b| <= abs + rel * |b|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
}

/// Gate thresholds; `None` means "not gated".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gate {
    pub max_mismatch_rate: Option<f64>,
    pub use_ci_upper_bound: bool,
    pub max_psi: Option<f64>,
    pub max_js: Option<f64>,
    pub max_missing_rate: Option<f64>,
    pub max_age: Option<Duration>,
    pub min_rows: u64,
}

/// Where a source's Parquet lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A local file, a glob, or a (hive-partitioned) directory, resolved against the
    /// registry's directory.
    Local(PathBuf),
    /// `s3://bucket/prefix...` read in place.
    S3(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3(u) => write!(f, "{u}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub location: Location,
    pub timestamp: String,
    /// Declared watermark, microseconds since the epoch (UTC).
    pub watermark: Option<i64>,
    pub tiebreak: Vec<String>,
    pub partition_date: Option<String>,
}

/// Per-feature online overrides.
#[derive(Debug, Clone, Default)]
pub struct FeatureOnline {
    pub key: Option<String>,
    pub field: Option<String>,
    pub feature_view: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub entity: String,
    pub source: String,
    pub aggregation: Aggregation,
    pub expr: Option<String>,
    pub filter: Option<String>,
    /// The window length (`window`, or `max_age` for lookups); `None` = all history up to T.
    pub window: Option<Duration>,
    pub closed: Closed,
    pub transform: Option<String>,
    pub default: Option<Scalar>,
    pub dtype: Option<Dtype>,
    pub tolerance: Tolerance,
    pub gate: Gate,
    pub online: FeatureOnline,
    pub description: Option<String>,
    /// Stable hash of the resolved definition; see [`hash`].
    pub definition_hash: String,
}

/// Serving-store layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Hash,
    Json,
    String,
    Feast,
}

#[derive(Debug, Clone)]
pub struct Online {
    pub url: Option<String>,
    pub layout: Layout,
    pub key: String,
    pub field: String,
    pub timestamp_field: Option<String>,
    pub version_field: Option<String>,
    pub project: Option<String>,
    pub cluster: bool,
    pub null_markers: Vec<String>,
    /// Feast join-key value types by key column.
    pub key_types: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Logs {
    pub path: Location,
    pub timestamp: String,
    pub ndjson: bool,
    pub request_id: Option<String>,
    pub model_version: Option<String>,
    pub version: Option<String>,
    pub features_column: Option<String>,
    pub max_malformed_rate: f64,
}

/// A loaded, resolved, statically checked registry.
#[derive(Debug, Clone)]
pub struct Registry {
    pub path: PathBuf,
    pub dir: PathBuf,
    /// sha256 of the registry file's bytes, hex.
    pub file_hash: String,
    pub project: Project,
    pub entities: BTreeMap<String, Entity>,
    pub sources: BTreeMap<String, Source>,
    pub features: BTreeMap<String, Feature>,
    pub online: Option<Online>,
    pub logs: Option<Logs>,
    pub gate: Gate,
}

/// Default tolerance (each of `abs`, `rel` left out takes its value here).
pub const DEFAULT_TOLERANCE: Tolerance = Tolerance {
    abs: 1e-9,
    rel: 1e-9,
};

/// Names skewaudit uses for its own columns; features may not take them.
pub const RESERVED_PREFIX: &str = "__";

impl Registry {
    /// Reads, expands, resolves and statically checks a registry file.
    pub fn load(path: &Path) -> Result<Registry, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_str_at(&text, path)
    }

    /// As [`Registry::load`], from text said to live at `path` (relative paths resolve
    /// against `path`'s directory).
    pub fn from_str_at(text: &str, path: &Path) -> Result<Registry, RegistryError> {
        let toml_err = |e: toml::de::Error| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            RegistryError::Toml {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().replace('\n', " "),
            }
        };
        // Typed parse of the text first: structural errors keep their line:column.
        toml::from_str::<RawRegistry>(text).map_err(toml_err)?;
        // Then expand ${VAR} in every string value and deserialize the expanded tree.
        let mut table: toml::Table = toml::from_str(text).map_err(toml_err)?;
        let mut problems = Vec::new();
        expand_env(&mut table, &mut String::new(), &mut problems);
        if !problems.is_empty() {
            return Err(RegistryError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        let raw: RawRegistry =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| RegistryError::Toml {
                    path: path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: e.message().trim().replace('\n', " "),
                })?;
        let dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let file_hash = hash::sha256_hex(text.as_bytes());
        resolve(raw, path, &dir, file_hash)
    }

    /// Features of `names` (all when empty), or the unknown name with a did-you-mean.
    pub fn select_features(&self, names: &[String]) -> Result<Vec<&Feature>, String> {
        if names.is_empty() {
            return Ok(self.features.values().collect());
        }
        let mut out = Vec::new();
        for n in names {
            match self.features.get(n) {
                Some(f) => {
                    if !out.iter().any(|g: &&Feature| g.name == f.name) {
                        out.push(f)
                    }
                }
                None => {
                    return Err(format!(
                        "unknown feature '{n}'{}",
                        did_you_mean(n, self.features.keys().map(|s| s.as_str()))
                    ))
                }
            }
        }
        Ok(out)
    }

    /// The entity of the selected features (one entity per audit), or an error naming them.
    pub fn single_entity<'a>(&'a self, features: &[&Feature]) -> Result<&'a Entity, String> {
        let mut names: Vec<&str> = features.iter().map(|f| f.entity.as_str()).collect();
        names.sort();
        names.dedup();
        match names.as_slice() {
            [one] => self
                .entities
                .get(*one)
                .ok_or_else(|| format!("unknown entity '{one}'")),
            [] => Err("the registry has no features".into()),
            many => Err(format!(
                "the selected features belong to several entities ({}); choose one entity's features with --features",
                many.join(", ")
            )),
        }
    }
}

/// `(line, column)`, both 1-based, of byte offset `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// ` (did you mean 'x'?)` for the closest candidate, or nothing when none is close.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let lower = name.to_lowercase();
    let best = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!(" (did you mean '{c}'?)"),
        None => String::new(),
    }
}

/// Expands `${VAR}` in every string of the table; an unset variable is a problem naming the key.
fn expand_env(table: &mut toml::Table, prefix: &mut String, problems: &mut Vec<Problem>) {
    for (k, v) in table.iter_mut() {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(k);
        expand_value(v, prefix, problems);
        prefix.truncate(len);
    }
}

fn expand_value(v: &mut toml::Value, prefix: &mut String, problems: &mut Vec<Problem>) {
    match v {
        toml::Value::String(s) => match expand_str(s) {
            Ok(e) => *s = e,
            Err(var) => problems.push(Problem {
                context: format!("key '{prefix}'"),
                message: format!(
                    "environment variable ${{{var}}} is not set; set it or write the value out"
                ),
            }),
        },
        toml::Value::Table(t) => expand_env(t, prefix, problems),
        toml::Value::Array(a) => {
            for item in a {
                expand_value(item, prefix, problems)
            }
        }
        _ => {}
    }
}

/// `${VAR}` -> its value; `$${` is a literal `${`. Returns the unset variable's name.
pub fn expand_str(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let var = &after[..end];
        match std::env::var(var) {
            Ok(val) => out.push_str(&val),
            Err(_) => return Err(var.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses an RFC 3339 time (or a date-time without offset, read as UTC) to microseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(ndt) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(ndt.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        if let Some(ndt) = d.and_hms_opt(0, 0, 0) {
            return Ok(ndt.and_utc().timestamp_micros());
        }
    }
    Err(format!(
        "bad time \"{s}\": expected RFC 3339, e.g. 2026-12-03T00:00:00Z"
    ))
}

/// Microseconds since the epoch -> RFC 3339 UTC text.
pub fn format_time(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => format!("{us}us"),
    }
}

/// An online URL: a `scheme://` URL is kept; anything else is a snapshot file path, resolved
/// against the registry's directory.
fn resolve_url(u: &str, dir: &Path) -> String {
    if u.contains("://") || Path::new(u).is_absolute() {
        u.to_string()
    } else {
        dir.join(u).to_string_lossy().to_string()
    }
}

fn location(path: &str, dir: &Path) -> Location {
    if path.starts_with("s3://") {
        Location::S3(path.to_string())
    } else {
        let p = Path::new(path);
        if p.is_absolute() {
            Location::Local(p.to_path_buf())
        } else {
            Location::Local(dir.join(p))
        }
    }
}

fn check_name(kind: &str, name: &str, problems: &mut Vec<Problem>) {
    let ok = !name.is_empty()
        && !name.starts_with(RESERVED_PREFIX)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        problems.push(Problem {
            context: format!("{kind} '{name}'"),
            message: "names use letters, digits, '_' and '-', and may not start with '__'".into(),
        });
    }
}

fn gate_from(raw: &RawGate, base: &Gate, ctx: &str, problems: &mut Vec<Problem>) -> Gate {
    let mut g = base.clone();
    let mut rate = |v: Option<f64>, name: &str, slot: &mut Option<f64>| {
        if let Some(x) = v {
            if !(x >= 0.0 && x.is_finite()) {
                problems.push(Problem {
                    context: ctx.to_string(),
                    message: format!("{name} must be a number >= 0, got {x}"),
                });
            }
            *slot = Some(x);
        }
    };
    rate(
        raw.max_mismatch_rate,
        "max_mismatch_rate",
        &mut g.max_mismatch_rate,
    );
    rate(raw.max_psi, "max_psi", &mut g.max_psi);
    rate(raw.max_js, "max_js", &mut g.max_js);
    rate(
        raw.max_missing_rate,
        "max_missing_rate",
        &mut g.max_missing_rate,
    );
    if let Some(b) = raw.use_ci_upper_bound {
        g.use_ci_upper_bound = b;
    }
    if let Some(n) = raw.min_rows {
        g.min_rows = n;
    }
    if let Some(a) = &raw.max_age {
        match Duration::parse(a) {
            Ok(d) => g.max_age = Some(d),
            Err(m) => problems.push(Problem {
                context: ctx.to_string(),
                message: format!("max_age: {m}"),
            }),
        }
    }
    g
}

/// Default `min_rows` below which a comparison is `inconclusive`.
pub const DEFAULT_MIN_ROWS: u64 = 30;

fn scalar_for(v: &toml::Value, dtype: Option<Dtype>) -> Result<Scalar, String> {
    use toml::Value as V;
    let s = match (v, dtype) {
        (V::Integer(i), None | Some(Dtype::Int64)) => Scalar::Int(*i),
        (V::Integer(i), Some(Dtype::Float64)) => Scalar::Float(*i as f64),
        (V::Float(f), None | Some(Dtype::Float64)) => Scalar::Float(*f),
        (V::Float(f), Some(Dtype::Int64)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Scalar::Int(*f as i64)
        }
        (V::String(s), None | Some(Dtype::String)) => Scalar::Str(s.clone()),
        (V::Boolean(b), None | Some(Dtype::Bool)) => Scalar::Bool(*b),
        (v, Some(d)) => {
            return Err(format!(
                "default {v} does not fit dtype {}; write a {} value",
                d.name(),
                d.name()
            ))
        }
        (v, None) => return Err(format!("default {v} must be a number, string or boolean")),
    };
    Ok(s)
}

/// Parses an SQL expression with Polars' SQL layer; the error text is Polars'.
pub fn parse_sql(s: &str) -> Result<polars::prelude::Expr, String> {
    polars::sql::sql_expr(s).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.lines().next().unwrap_or("").trim().to_string();
        msg.trim_start_matches("SQLInterface: ")
            .trim_start_matches("SQLSyntax: ")
            .to_string()
    })
}

/// Columns an expression reads.
pub fn expr_columns(e: &polars::prelude::Expr) -> Vec<String> {
    e.clone()
        .meta()
        .root_names()
        .into_iter()
        .map(|s| s.to_string())
        .collect()
}

fn resolve(
    raw: RawRegistry,
    path: &Path,
    dir: &Path,
    file_hash: String,
) -> Result<Registry, RegistryError> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut p = |context: String, message: String| problems.push(Problem { context, message });

    // Entities.
    let mut entities = BTreeMap::new();
    for (name, e) in &raw.entities {
        let mut sub = Vec::new();
        check_name("entity", name, &mut sub);
        for q in sub {
            p(q.context, q.message)
        }
        if e.keys.is_empty() {
            p(
                format!("entity '{name}'"),
                "keys is empty; list the key columns, e.g. keys = [\"user_id\"]".into(),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for k in &e.keys {
            if !seen.insert(k) {
                p(
                    format!("entity '{name}'"),
                    format!("key column '{k}' is listed twice"),
                );
            }
        }
        entities.insert(
            name.clone(),
            Entity {
                name: name.clone(),
                keys: e.keys.clone(),
            },
        );
    }

    // Sources.
    let mut sources = BTreeMap::new();
    for (name, s) in &raw.sources {
        let ctx = format!("source '{name}'");
        let mut sub = Vec::new();
        check_name("source", name, &mut sub);
        for q in sub {
            p(q.context, q.message)
        }
        if s.path.trim().is_empty() {
            p(ctx.clone(), "path is empty".into());
        }
        let watermark = match &s.watermark {
            Some(w) => match parse_time(w) {
                Ok(t) => Some(t),
                Err(m) => {
                    p(ctx.clone(), format!("watermark: {m}"));
                    None
                }
            },
            None => None,
        };
        sources.insert(
            name.clone(),
            Source {
                name: name.clone(),
                location: location(&s.path, dir),
                timestamp: s.timestamp.clone(),
                watermark,
                tiebreak: s.tiebreak.clone(),
                partition_date: s.partition_date.clone(),
            },
        );
    }

    // Gate defaults.
    let base_gate = Gate {
        min_rows: DEFAULT_MIN_ROWS,
        ..Gate::default()
    };
    let mut gate_problems = Vec::new();
    let gate = match &raw.gate {
        Some(g) => gate_from(g, &base_gate, "[gate]", &mut gate_problems),
        None => base_gate,
    };
    for q in gate_problems {
        p(q.context, q.message)
    }

    // Features.
    let mut features = BTreeMap::new();
    let mut lower_names: BTreeMap<String, String> = BTreeMap::new();
    let all_keys: std::collections::BTreeSet<&String> =
        raw.entities.values().flat_map(|e| e.keys.iter()).collect();
    for (name, f) in &raw.features {
        let ctx = format!("feature '{name}'");
        let mut sub = Vec::new();
        check_name("feature", name, &mut sub);
        for q in sub {
            p(q.context, q.message)
        }
        if name.contains("__") || name == "as_of" {
            p(ctx.clone(), "feature names may not contain '__' nor be 'as_of' (reserved for skewaudit's own columns, e.g. '<feature>__status')".into());
        }
        if let Some(other) = lower_names.insert(name.to_lowercase(), name.clone()) {
            p(
                ctx.clone(),
                format!(
                    "duplicate name: '{other}' differs only in case; column names must be unique"
                ),
            );
        }
        if all_keys.contains(name) {
            p(
                ctx.clone(),
                format!("duplicate name: '{name}' is also an entity key column"),
            );
        }
        let entity = raw.entities.get(&f.entity);
        if entity.is_none() {
            p(
                ctx.clone(),
                format!(
                    "unknown entity '{}'{}",
                    f.entity,
                    did_you_mean(&f.entity, raw.entities.keys().map(|s| s.as_str()))
                ),
            );
        }
        let source = raw.sources.get(&f.source);
        if source.is_none() {
            p(
                ctx.clone(),
                format!(
                    "unknown source '{}'{}",
                    f.source,
                    did_you_mean(&f.source, raw.sources.keys().map(|s| s.as_str()))
                ),
            );
        }
        let aggregation = match Aggregation::parse(&f.aggregation) {
            Some(a) => a,
            None => {
                p(ctx.clone(), format!(
                    "unknown aggregation '{}'{}; one of count, sum, mean, min, max, stddev, count_distinct, first, last",
                    f.aggregation,
                    did_you_mean(&f.aggregation, Aggregation::ALL.iter().map(|(n, _)| *n))
                ));
                Aggregation::Count
            }
        };
        if f.expr.is_none() && !matches!(aggregation, Aggregation::Count) {
            p(
                ctx.clone(),
                format!(
                    "aggregation '{}' needs an expr (the value to aggregate)",
                    f.aggregation
                ),
            );
        }
        let dur = |what: &str, v: &Option<String>, p: &mut dyn FnMut(String, String)| match v {
            Some(s) => match Duration::parse(s) {
                Ok(d) => Some(d),
                Err(m) => {
                    p(ctx.clone(), format!("{what}: {m}"));
                    None
                }
            },
            None => None,
        };
        let window = dur("window", &f.window, &mut p);
        let max_age = dur("max_age", &f.max_age, &mut p);
        if f.max_age.is_some() && !aggregation.is_lookup() {
            p(ctx.clone(), "max_age applies to lookups (aggregation first or last); use window for aggregations".into());
        }
        if f.window.is_some() && f.max_age.is_some() {
            p(
                ctx.clone(),
                "give window or max_age, not both (for a lookup they mean the same)".into(),
            );
        }
        let closed = match f.closed.as_deref() {
            None | Some("right") => Closed::Right,
            Some("left") => Closed::Left,
            Some("both") => Closed::Both,
            Some("none") => Closed::None,
            Some(other) => {
                p(
                    ctx.clone(),
                    format!("closed = \"{other}\": one of \"left\", \"right\", \"both\", \"none\""),
                );
                Closed::Right
            }
        };
        let dtype = match &f.dtype {
            Some(d) => match Dtype::parse(d) {
                Some(t) => Some(t),
                None => {
                    p(
                        ctx.clone(),
                        format!("unknown dtype '{d}'; one of int64, float64, string, bool, list<float64>"),
                    );
                    None
                }
            },
            None => None,
        };
        let default = match &f.default {
            Some(v) => match scalar_for(v, dtype) {
                Ok(s) => Some(s),
                Err(m) => {
                    p(ctx.clone(), m);
                    None
                }
            },
            None => None,
        };
        for (what, sql) in [
            ("expr", &f.expr),
            ("filter", &f.filter),
            ("transform", &f.transform),
        ] {
            if let Some(s) = sql {
                match parse_sql(s) {
                    Ok(e) if what == "transform" => {
                        let bad: Vec<String> = expr_columns(&e)
                            .into_iter()
                            .filter(|c| c != "value")
                            .collect();
                        if !bad.is_empty() {
                            p(ctx.clone(), format!(
                                "transform \"{s}\" reads {}; a transform may only use `value` (the aggregate)",
                                bad.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")
                            ));
                        }
                    }
                    Ok(_) => {}
                    Err(m) => p(ctx.clone(), format!("{what} \"{s}\" is not valid SQL: {m}")),
                }
            }
        }
        let tolerance = match f.tolerance {
            Some(t) => {
                let t = Tolerance {
                    abs: t.abs.unwrap_or(DEFAULT_TOLERANCE.abs),
                    rel: t.rel.unwrap_or(DEFAULT_TOLERANCE.rel),
                };
                if !(t.abs >= 0.0 && t.rel >= 0.0) {
                    p(ctx.clone(), "tolerance abs and rel must be >= 0".into());
                }
                t
            }
            None => DEFAULT_TOLERANCE,
        };
        let mut gp = Vec::new();
        let fgate = match &f.gate {
            Some(g) => gate_from(g, &gate, &format!("{ctx} [gate]"), &mut gp),
            None => gate.clone(),
        };
        for q in gp {
            p(q.context, q.message)
        }
        let online = f
            .online
            .as_ref()
            .map(|o| FeatureOnline {
                key: o.key.clone(),
                field: o.field.clone(),
                feature_view: o.feature_view.clone(),
            })
            .unwrap_or_default();
        let mut feature = Feature {
            name: name.clone(),
            entity: f.entity.clone(),
            source: f.source.clone(),
            aggregation,
            expr: f.expr.clone(),
            filter: f.filter.clone(),
            window: window.or(max_age),
            closed,
            transform: f.transform.clone(),
            default,
            dtype,
            tolerance,
            gate: fgate,
            online,
            description: f.description.clone(),
            definition_hash: String::new(),
        };
        if let (Some(e), Some(s)) = (entity, sources.get(&f.source)) {
            feature.definition_hash = hash::definition_hash(&feature, &e.keys, s);
        }
        features.insert(name.clone(), feature);
    }

    // [online]
    let online = raw.online.as_ref().map(|o| {
        let layout = match o.layout.as_str() {
            "hash" => Layout::Hash,
            "json" => Layout::Json,
            "string" => Layout::String,
            "feast" => Layout::Feast,
            other => {
                p("[online]".into(), format!("unknown layout '{other}'; one of hash, json, string, feast"));
                Layout::Hash
            }
        };
        let key = o.key.clone().unwrap_or_default();
        if key.is_empty() && layout != Layout::Feast {
            p("[online]".into(), "key is required: a template over the entity keys, e.g. key = \"user:{user_id}\"".into());
        }
        if layout == Layout::Feast && o.project.is_none() {
            p("[online]".into(), "layout \"feast\" needs project = \"<feast project name>\"".into());
        }
        for (k, t) in &o.key_types {
            if !all_keys.contains(k) {
                p("[online]".into(), format!("key_types: '{k}' is not an entity key column{}", did_you_mean(k, all_keys.iter().map(|s| s.as_str()))));
            }
            if !["int64", "int32", "string", "bytes", "unix_timestamp"].contains(&t.as_str()) {
                p("[online]".into(), format!("key_types.{k} = \"{t}\": one of int64, int32, string, bytes, unix_timestamp"));
            }
        }
        if layout == Layout::Feast {
            for k in &all_keys {
                if !o.key_types.contains_key(*k) {
                    p("[online]".into(), format!("layout \"feast\" needs the declared type of key '{k}': key_types = {{ {k} = \"int64\" }} (as in the Feast entity's Field dtype)"));
                }
            }
        }
        let field = o.field.clone().unwrap_or_else(|| "{feature}".to_string());
        let allowed: Vec<&str> = all_keys.iter().map(|s| s.as_str()).chain(["feature"]).collect();
        for (what, t) in [("key", Some(&key)), ("field", Some(&field)), ("timestamp_field", o.timestamp_field.as_ref()), ("version_field", o.version_field.as_ref())] {
            if let Some(t) = t {
                for ph in placeholders(t) {
                    if !allowed.contains(&ph.as_str()) {
                        p("[online]".into(), format!("{what} \"{t}\": unknown placeholder {{{ph}}}{}; use entity key columns or {{feature}}", did_you_mean(&ph, allowed.iter().copied())));
                    }
                }
            }
        }
        Online {
            url: o.url.as_ref().map(|u| resolve_url(u, dir)),
            layout,
            key,
            field,
            timestamp_field: o.timestamp_field.clone(),
            version_field: o.version_field.clone(),
            project: o.project.clone(),
            cluster: o.cluster.unwrap_or(false),
            null_markers: o.null_markers.clone(),
            key_types: o.key_types.clone(),
        }
    });
    if let Some(o) = &online {
        for f in features.values() {
            let Some(e) = raw.entities.get(&f.entity) else {
                continue;
            };
            let allowed: Vec<&str> = e
                .keys
                .iter()
                .map(|s| s.as_str())
                .chain(["feature"])
                .collect();
            let key = f.online.key.as_deref().unwrap_or(&o.key);
            let field = f.online.field.as_deref().unwrap_or(&o.field);
            for (what, t) in [("key", key), ("field", field)] {
                for ph in placeholders(t) {
                    if !allowed.contains(&ph.as_str()) {
                        p(format!("feature '{}'", f.name), format!("online {what} \"{t}\": unknown placeholder {{{ph}}}{}; use entity '{}' key columns or {{feature}}", did_you_mean(&ph, allowed.iter().copied()), f.entity));
                    }
                }
            }
        }
        if o.layout == Layout::Feast {
            for f in features.values() {
                if f.online.feature_view.is_none() {
                    p(
                        format!("feature '{}'", f.name),
                        "layout \"feast\" needs [features.<name>.online] feature_view = \"<view>\""
                            .into(),
                    );
                }
            }
        }
    }

    // [logs]
    let logs = raw.logs.as_ref().map(|l| {
        let ndjson = match l.format.as_deref() {
            Some("parquet") => false,
            Some("ndjson") | Some("jsonl") => true,
            Some(other) => {
                p(
                    "[logs]".into(),
                    format!("format \"{other}\": one of \"parquet\", \"ndjson\""),
                );
                false
            }
            None => {
                l.path.ends_with(".ndjson")
                    || l.path.ends_with(".jsonl")
                    || l.path.ends_with(".json")
            }
        };
        Logs {
            path: location(&l.path, dir),
            timestamp: l.timestamp.clone(),
            ndjson,
            request_id: l.request_id.clone(),
            model_version: l.model_version.clone(),
            version: l.version.clone(),
            features_column: l.features_column.clone(),
            max_malformed_rate: l
                .max_malformed_rate
                .unwrap_or(crate::logs::DEFAULT_MAX_MALFORMED_RATE),
        }
    });

    if !problems.is_empty() {
        return Err(RegistryError::Invalid {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(Registry {
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        file_hash,
        project: Project {
            name: raw.project.name,
            version: raw.project.version,
        },
        entities,
        sources,
        features,
        online,
        logs,
        gate,
    })
}

/// The `{name}` placeholders of a template.
pub fn placeholders(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j) => {
                out.push(after[..j].to_string());
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn env_expansion() {
        std::env::set_var("SKEWAUDIT_TEST_BUCKET", "b1");
        assert_eq!(
            expand_str("s3://${SKEWAUDIT_TEST_BUCKET}/x").unwrap(),
            "s3://b1/x"
        );
        assert_eq!(expand_str("a$${b}").unwrap(), "a${b}");
        assert_eq!(
            expand_str("${SKEWAUDIT_SURELY_UNSET_VAR}").unwrap_err(),
            "SKEWAUDIT_SURELY_UNSET_VAR"
        );
    }

    #[test]
    fn did_you_mean_suggests_close_names() {
        assert_eq!(
            did_you_mean("amout", ["amount", "status"]),
            " (did you mean 'amount'?)"
        );
        assert_eq!(did_you_mean("zzz", ["amount"]), "");
    }

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1_000_000);
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000_000);
        assert!(parse_time("yesterday").is_err());
    }
}
