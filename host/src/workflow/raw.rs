//! The workflow file as written in TOML.

use super::strategy::RawStrategy;
use crate::inventory::RawInventory;
use crate::plugin::Grants;
use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

/// `[workflow]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Default rolling strategy of every step.
    #[serde(default)]
    pub strategy: Option<Spanned<RawStrategy>>,
}

/// A whole workflow file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkflow {
    /// Metadata.
    pub workflow: Spanned<RawMeta>,
    /// Inline inventory (overridden by `-i`).
    pub inventory: Option<Spanned<RawInventory>>,
    /// Steps in order.
    #[serde(default)]
    pub steps: Vec<Spanned<RawStep>>,
}

/// One `[[steps]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Human name (defaults to the plugin name).
    pub name: Option<String>,
    /// The plugin: a name, or `{ path, sha256 }`.
    pub plugin: Spanned<RawPluginSource>,
    /// Hosts or groups; `all` when absent.
    pub targets: Option<Spanned<Vec<Spanned<String>>>>,
    /// Parameters for the plugin.
    #[serde(default)]
    pub params: Option<Spanned<IndexMap<String, Spanned<toml::Value>>>>,
    /// Narrowing of the plugin's capabilities.
    #[serde(default)]
    pub grants: Option<Spanned<Grants>>,
    /// Rolling strategy (batches of hosts).
    #[serde(default)]
    pub strategy: Option<Spanned<RawStrategy>>,
    /// Which earlier step a consumed variable comes from, by step name,
    /// when more than one plugin produces it.
    #[serde(default)]
    pub vars_from: Option<IndexMap<String, Spanned<String>>>,
}

/// `plugin = "name"` or `plugin = { path = "...", sha256 = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawPluginSource {
    /// By name in the search path.
    Name(String),
    /// By file, pinned.
    Path {
        /// Path relative to the workflow.
        path: String,
        /// Hex sha256.
        sha256: String,
    },
}

// Written by hand instead of `#[serde(untagged)]`, whose errors say only
// "data did not match any variant".
impl<'de> Deserialize<'de> for RawPluginSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPluginSource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a plugin name or a table { path = \"...\", sha256 = \"...\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawPluginSource::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut path, mut sha256) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "path" => path = Some(map.next_value::<String>()?),
                        "sha256" => sha256 = Some(map.next_value::<String>()?),
                        other => return Err(de::Error::unknown_field(other, &["path", "sha256"])),
                    }
                }
                let path = path.ok_or_else(|| de::Error::missing_field("path"))?;
                let sha256 = sha256
                    .ok_or_else(|| de::Error::custom("missing field `sha256`: a plugin given by path must be pinned by its sha256"))?;
                Ok(RawPluginSource::Path { path, sha256 })
            }
        }
        d.deserialize_any(V)
    }
}
