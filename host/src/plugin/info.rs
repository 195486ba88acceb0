//! What a plugin says about itself in `describe()`, in the host's own types.

use super::capabilities::Capabilities;
use crate::model::{FactSet, ProbeSource};
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
    /// What a valid value is (contract 0.3; none before).
    pub rules: ParamRules,
}

/// Rules a parameter's value must follow, checked at bind. For a list they
/// apply to each item.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ParamRules {
    /// A regular expression a string must match whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The only values a string may take (empty: any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// Smallest number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Refuse an empty string, list or table.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_empty: bool,
}

impl ParamRules {
    /// Whether the rules can be checked: the pattern compiles.
    pub fn validate(&self) -> Result<(), String> {
        match &self.pattern {
            Some(p) => {
                regex::Regex::new(&format!("^(?:{p})$")).map(|_| ()).map_err(|e| format!("pattern {p:?} is not a regular expression: {e}"))
            }
            None => Ok(()),
        }
    }

    /// Check `v` (already of the parameter's type): the first rule it
    /// breaks, in words.
    pub fn check(&self, v: &serde_json::Value) -> Result<(), String> {
        use serde_json::Value;
        match v {
            Value::Array(items) => {
                if self.non_empty && items.is_empty() {
                    return Err("the list must not be empty".into());
                }
                items.iter().try_for_each(|i| self.check_one(i))
            }
            Value::Object(m) if self.non_empty && m.is_empty() => Err("the table must not be empty".into()),
            other => self.check_one(other),
        }
    }

    fn check_one(&self, v: &serde_json::Value) -> Result<(), String> {
        if let Some(s) = v.as_str() {
            if self.non_empty && s.is_empty() {
                return Err("the value must not be empty".into());
            }
            if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == s) {
                return Err(format!("{s:?} is not one of: {}", self.allowed.join(", ")));
            }
            if let Some(p) = &self.pattern {
                let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| e.to_string())?;
                if !re.is_match(s) {
                    return Err(format!("{s:?} does not match the pattern {p:?}"));
                }
            }
        }
        if let Some(n) = v.as_f64() {
            if self.min.is_some_and(|m| n < m) {
                return Err(format!("{n} is less than the minimum {}", self.min.unwrap_or_default()));
            }
            if self.max.is_some_and(|m| n > m) {
                return Err(format!("{n} is more than the maximum {}", self.max.unwrap_or_default()));
            }
        }
        Ok(())
    }
}

/// One declared probe.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// Name.
    pub name: String,
    /// What it runs, as declared.
    pub source: ProbeSource,
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
