//! The registry's TOML shape, exactly as written (serde, unknown keys rejected). Every key
//! here is documented in `docs/registry.md`; [`super::Registry`] is the checked, resolved form.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    pub project: RawProject,
    #[serde(default)]
    pub entities: BTreeMap<String, RawEntity>,
    #[serde(default)]
    pub sources: BTreeMap<String, RawSource>,
    #[serde(default)]
    pub features: BTreeMap<String, RawFeature>,
    pub online: Option<RawOnline>,
    pub logs: Option<RawLogs>,
    pub gate: Option<RawGate>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEntity {
    pub keys: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub path: String,
    pub timestamp: String,
    pub watermark: Option<String>,
    /// Columns that order rows with equal timestamps (e.g. `["created"]`), newest last.
    #[serde(default)]
    pub tiebreak: Vec<String>,
    /// Hive partition column holding the UTC date (`YYYY-MM-DD`) of each row's timestamp;
    /// lets scans skip partitions outside every window.
    pub partition_date: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeature {
    pub entity: String,
    pub source: String,
    pub aggregation: String,
    pub expr: Option<String>,
    pub filter: Option<String>,
    pub window: Option<String>,
    pub closed: Option<String>,
    pub max_age: Option<String>,
    pub transform: Option<String>,
    pub default: Option<toml::Value>,
    pub dtype: Option<String>,
    pub tolerance: Option<RawTolerance>,
    pub gate: Option<RawGate>,
    pub online: Option<RawFeatureOnline>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawTolerance {
    pub abs: Option<f64>,
    pub rel: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    pub max_mismatch_rate: Option<f64>,
    /// Gate on the upper bound of the mismatch rate's 95% interval instead of the point value.
    pub use_ci_upper_bound: Option<bool>,
    pub max_psi: Option<f64>,
    pub max_js: Option<f64>,
    pub max_missing_rate: Option<f64>,
    pub max_age: Option<String>,
    /// Fewer compared rows than this makes a comparison `inconclusive`.
    pub min_rows: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOnline {
    pub url: Option<String>,
    pub layout: String,
    pub key: Option<String>,
    pub field: Option<String>,
    pub timestamp_field: Option<String>,
    pub version_field: Option<String>,
    /// Feast project name (layout = "feast").
    pub project: Option<String>,
    pub cluster: Option<bool>,
    #[serde(default)]
    pub null_markers: Vec<String>,
    /// Feast: each join key's declared value type (`int64`, `int32`, `string`, `bytes`,
    /// `unix_timestamp`); it decides the key's bytes.
    #[serde(default)]
    pub key_types: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeatureOnline {
    pub key: Option<String>,
    pub field: Option<String>,
    /// Feast feature view holding this feature (layout = "feast").
    pub feature_view: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    pub path: String,
    pub timestamp: String,
    pub format: Option<String>,
    pub request_id: Option<String>,
    pub model_version: Option<String>,
    pub version: Option<String>,
    /// One struct / map / JSON-string column holding the feature values.
    pub features_column: Option<String>,
    /// Share of malformed NDJSON lines above which the run fails (default 0.01).
    pub max_malformed_rate: Option<f64>,
}
