//! What a plugin receives for one host (the WIT `context` record).

use super::facts::{HostFacts, ProbeResult};
use serde::Serialize;
use std::sync::Arc;

/// One inventory host as plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryHost {
    /// Inventory name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Per-host variables, JSON-encoded.
    pub vars: Vec<(String, String)>,
}

/// A captured workflow variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Host it was captured on.
    pub host: String,
    /// Name.
    pub name: String,
    /// Value; `None` before it is captured (dry runs, offline plans).
    pub value: Option<String>,
    /// Number of the step that captured it (0 for a placeholder).
    pub step: usize,
}

impl Variable {
    /// The text a 0.1/0.2 plugin receives: the value, or a placeholder
    /// like `<name: captured at run time>`.
    pub fn legacy_value(&self) -> String {
        self.value.clone().unwrap_or_else(|| format!("<{}: captured at run time>", self.name))
    }
}

/// Input of one `plan` call.
#[derive(Debug, Clone, Serialize)]
pub struct PlanContext {
    /// The host being planned.
    pub host: InventoryHost,
    /// Its facts.
    pub facts: HostFacts,
    /// Probe results by name.
    pub probes: Vec<(String, ProbeResult)>,
    /// Every inventory host (shared by every call of a run).
    pub inventory: Arc<[InventoryHost]>,
    /// Parameters as a JSON object (defaults filled).
    pub params: serde_json::Value,
    /// Captured variables.
    pub vars: Vec<Variable>,
    /// Offline planning from recorded facts.
    pub offline: bool,
}

/// A variable that is only known once a run captures it.
pub fn placeholder(name: &str) -> Variable {
    Variable { host: String::new(), name: name.to_string(), value: None, step: 0 }
}
