//! The scenario file's TOML as written, with positions: the shapes serde reads before
//! anything is checked. `deny_unknown_fields` makes toml report unknown keys with their
//! position and the list of expected ones; `Spanned` keeps positions for `validate`'s checks.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) description: String,
    pub(super) run: RawRun,
    pub(super) build: Option<Spanned<RawBuild>>,
    #[serde(default)]
    pub(super) phases: BTreeMap<Spanned<String>, Spanned<RawPhase>>,
    #[serde(default)]
    pub(super) invariant: Vec<Spanned<RawInvariant>>,
    #[serde(default)]
    pub(super) tolerance: BTreeMap<Spanned<String>, Spanned<RawTolerance>>,
    #[serde(default)]
    pub(super) budget: RawBudget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRun {
    pub(super) simulator: Option<Spanned<String>>,
    pub(super) cycles: Option<Spanned<i64>>,
    pub(super) sample_every: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) params: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    pub(super) command: Option<Spanned<Vec<String>>>,
    pub(super) profile: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) requires: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) closure_sizes: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    pub(super) rts: Vec<Spanned<String>>,
    pub(super) on_violation: Option<Spanned<String>>,
    pub(super) diagnose: Option<Spanned<bool>>,
    pub(super) sample_interval: Option<Spanned<String>>,
    pub(super) length: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBuild {
    pub(super) command: Option<Spanned<Vec<String>>>,
    pub(super) cabal: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) inputs: Vec<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhase {
    pub(super) cycles: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) census: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) snapshot: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) ms: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) markers: Option<Spanned<Vec<Spanned<toml::Value>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInvariant {
    pub(super) name: Spanned<String>,
    pub(super) during: Option<Spanned<String>>,
    pub(super) cycles: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) census: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) snapshot: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    pub(super) ms: Option<Spanned<Vec<Spanned<toml::Value>>>>,
    #[serde(rename = "type")]
    pub(super) type_glob: Option<Spanned<String>>,
    pub(super) metric: Option<Spanned<String>>,
    pub(super) absent: Option<Spanned<bool>>,
    pub(super) max_count: Option<Spanned<i64>>,
    pub(super) min_count: Option<Spanned<i64>>,
    pub(super) count: Option<Spanned<i64>>,
    pub(super) max: Option<Spanned<toml::Value>>,
    pub(super) max_bytes: Option<Spanned<toml::Value>>,
    pub(super) max_growth_per_kcycle: Option<Spanned<toml::Value>>,
    pub(super) max_growth_per_census: Option<Spanned<toml::Value>>,
    pub(super) max_growth_per_snapshot: Option<Spanned<toml::Value>>,
    pub(super) max_growth_per_second: Option<Spanned<toml::Value>>,
    pub(super) expect: Option<Spanned<String>>,
    pub(super) expect_type: Option<Spanned<String>>,
    pub(super) expect_site: Option<Spanned<String>>,
    pub(super) expect_retainer: Option<Spanned<String>>,
    pub(super) retained_by: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTolerance {
    pub(super) relative: Option<Spanned<String>>,
    pub(super) absolute: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBudget {
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_rss: Option<Spanned<toml::Value>>,
}
