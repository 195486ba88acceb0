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
    /// Value.
    pub value: String,
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
    Variable { host: String::new(), name: name.to_string(), value: format!("<{name}: captured at run time>") }
}
