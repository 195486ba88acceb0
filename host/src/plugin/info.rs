//! What a plugin says about itself in `describe()`, in the host's own types.

use super::capabilities::Capabilities;
use crate::model::FactSet;
use serde::Serialize;

/// Type of a plugin parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamType {
    /// A string.
    String,
    /// An integer.
    Integer,
    /// A number.
    Float,
    /// A boolean.
    Boolean,
    /// A list of strings.
    StringList,
    /// A table.
    Table,
}

impl ParamType {
    /// The name used in messages and listings.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Float => "float",
            ParamType::Boolean => "boolean",
            ParamType::StringList => "list of strings",
            ParamType::Table => "table",
        }
    }

    /// Whether a JSON value has this type.
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        use serde_json::Value;
        match self {
            ParamType::String => v.is_string(),
            ParamType::Integer => v.is_i64() || v.is_u64(),
            ParamType::Float => v.is_number(),
            ParamType::Boolean => v.is_boolean(),
            ParamType::StringList => matches!(v, Value::Array(a) if a.iter().all(Value::is_string)),
            ParamType::Table => v.is_object(),
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Default (JSON), `None` when required.
    pub default: Option<serde_json::Value>,
    /// Never print the value.
    pub secret: bool,
    /// Documentation.
    pub doc: String,
}

/// One declared probe.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// Name.
    pub name: String,
    /// Shell command template.
    pub command: String,
    /// Run as root.
    pub sudo: bool,
}

/// A plugin's self-description.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Summary.
    pub summary: String,
    /// Parameters.
    pub params: Vec<ParamSpec>,
    /// Probes.
    pub probes: Vec<Probe>,
    /// The groups of core facts it reads (every group for contract 0.1).
    pub facts: FactSet,
    /// Whether it reads the inventory (always, for contract 0.1).
    pub inventory: bool,
    /// The contract version it was built against, e.g. `0.2.0`.
    pub contract: &'static str,
    /// Declared capabilities.
    pub capabilities: Capabilities,
    /// Variables it may capture.
    pub produces: Vec<String>,
    /// Variables it reads.
    pub consumes: Vec<String>,
}

impl PluginInfo {
    /// The parameter `name`, if declared.
    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// `name version`, the identity used in every message about the plugin.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}
