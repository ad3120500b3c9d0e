//! The report model: one `#[derive(Serialize)]` structure that every output format reads
//! (`docs/report.md` documents the JSON field by field; `schema_version` changes when a
//! stable path changes).

pub mod html;
pub mod junit;
pub mod markdown;
pub mod table;

/// One output format (hyperfine's `export` model): every exporter reads the same [`Report`].
pub trait Exporter {
    /// Its `--format` name.
    fn name(&self) -> &'static str;
    /// The file it writes under `--output DIR`; `None` for the terminal table.
    fn file_name(&self) -> Option<&'static str>;
    fn render(&self, report: &Report) -> Result<String, String>;
}

/// The JSON report (`docs/report.md`).
pub struct Json;

impl Exporter for Json {
    fn name(&self) -> &'static str {
        "json"
    }
    fn file_name(&self) -> Option<&'static str> {
        Some("report.json")
    }
    fn render(&self, report: &Report) -> Result<String, String> {
        serde_json::to_string_pretty(report)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string())
    }
}

/// The formats `--format` takes.
pub const FORMATS: [&str; 5] = ["table", "json", "markdown", "junit", "html"];

/// The exporter of a format name.
pub fn exporter(name: &str) -> Option<Box<dyn Exporter>> {
    match name {
        "table" => Some(Box::new(table::Table {
            color: table::color_wanted(),
        })),
        "json" => Some(Box::new(Json)),
        "markdown" | "md" => Some(Box::new(markdown::Markdown)),
        "junit" => Some(Box::new(junit::Junit)),
        "html" => Some(Box::new(html::Html)),
        _ => None,
    }
}

use serde::Serialize;
use std::collections::BTreeMap;

/// The JSON report's schema version.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// `pass`, `fail` or `inconclusive`.
    pub verdict: String,
    pub exit_code: i32,
    pub run: RunInfo,
    pub features: Vec<FeatureReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub tool_version: String,
    /// The audit's reference time (RFC 3339): `--as-of`, else when the run started.
    pub as_of: String,
    pub seed: u64,
    /// `all`, `count:N`, `rate:R` or `keys:FILE`.
    pub sampling: String,
    pub sample_size: usize,
    pub entity: String,
    pub entity_keys: Vec<String>,
    pub registry_path: String,
    /// sha256 of the registry file.
    pub registry_hash: String,
    pub project: String,
    pub project_version: Option<String>,
    /// The online source, credentials redacted; absent when not audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Per source: its watermark (RFC 3339), or null when it has no rows.
    pub watermarks: BTreeMap<String, Option<String>>,
    pub duration_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeatureReport {
    pub name: String,
    pub definition_hash: String,
    pub dtype: String,
    pub source: String,
    pub comparisons: Comparisons,
    pub verdict: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparisons {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<ComparisonReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<ComparisonReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComparisonReport {
    pub rows: RowCounts,
    /// Rows per cause (`stale`, `transform:log1p`, ...; `missing_online` and
    /// `missing_offline` too).
    pub causes: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dominant_cause: Option<DominantCause>,
    /// For `stale` / `ahead` rows: the lag found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<Spread>,
    /// Absolute and relative error of mismatched numeric rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abs_error: Option<Quantiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel_error: Option<Quantiles>,
    /// Online only: the audit time minus the value's timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_age_seconds: Option<Spread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<Distribution>,
    pub verdict: String,
    pub violations: Vec<String>,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RowCounts {
    /// Rows looked at (sampled keys, or logged requests of sampled keys).
    pub total: u64,
    /// Rows compared: both sides hold a value or an explicit null (all rows but
    /// `missing_online`, `missing_offline`, `beyond_watermark` and `decode_errors`).
    pub compared: u64,
    pub matched: u64,
    pub mismatched: u64,
    pub missing_online: u64,
    pub missing_offline: u64,
    pub beyond_watermark: u64,
    pub decode_errors: u64,
    /// mismatched / compared; null when nothing was compared.
    pub mismatch_rate: Option<f64>,
    /// 95% Wilson interval of the mismatch rate.
    pub mismatch_rate_ci: Option<[f64; 2]>,
    /// (missing_online + missing_offline) / total; null when no row was looked at.
    pub missing_rate: Option<f64>,
    /// 95% Wilson interval of the missing rate.
    pub missing_rate_ci: Option<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DominantCause {
    pub cause: String,
    /// Its share of the mismatched rows.
    pub share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Quantiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Distribution {
    /// `numeric` or `categorical`.
    pub kind: String,
    /// Rows on each side (non-null values).
    pub n_reference: u64,
    pub n_current: u64,
    pub null_rate_reference: f64,
    pub null_rate_current: f64,
    /// 95% Wilson intervals of the null rates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_rate_reference_ci: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_rate_current_ci: Option<[f64; 2]>,
    pub psi: f64,
    pub js_divergence: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_statistic: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_pvalue: Option<f64>,
    /// Benjamini-Hochberg adjusted across the features of this comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ks_pvalue_adjusted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasserstein_normalized: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l_infinity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chi2_pvalue: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chi2_pvalue_adjusted: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Summary>,
    /// Histogram for plots: interior bin edges and counts per side.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bin_edges: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    pub reference_counts: Vec<u64>,
    pub current_counts: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub mean: f64,
    pub std: f64,
    pub p01: f64,
    pub p50: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub key: BTreeMap<String, serde_json::Value>,
    pub as_of: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub offline: serde_json::Value,
    /// The online or logged value.
    pub served: serde_json::Value,
    pub cause: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abs_error: Option<f64>,
}

impl Example {
    /// `user_id=42` (`, ` between the columns of a composite key).
    pub fn key_text(&self) -> String {
        self.key
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cause with its detail or lag: `transform:scale (x1e2)`, `stale (21600s)`.
    pub fn cause_text(&self) -> String {
        match (&self.detail, self.lag_seconds) {
            (Some(d), _) => format!("{} ({d})", self.cause),
            (None, Some(l)) => format!("{} ({l:.0}s)", self.cause),
            _ => self.cause.clone(),
        }
    }
}

impl FeatureReport {
    /// The comparisons that ran, with their kind: `("online", ..)`, `("log", ..)`.
    pub fn comparison_list(&self) -> Vec<(&'static str, &ComparisonReport)> {
        [
            ("online", &self.comparisons.online),
            ("log", &self.comparisons.log),
        ]
        .into_iter()
        .filter_map(|(k, c)| c.as_ref().map(|c| (k, c)))
        .collect()
    }
}

impl ComparisonReport {
    /// `transform:log1p 100%`, or `None` when nothing mismatched.
    pub fn dominant_text(&self) -> Option<String> {
        self.dominant_cause
            .as_ref()
            .map(|d| format!("{} {:.0}%", d.cause, d.share * 100.0))
    }

    /// The PSI with three decimals, or `None` without a distribution.
    pub fn psi_text(&self) -> Option<String> {
        self.distribution.as_ref().map(|d| format!("{:.3}", d.psi))
    }
}
