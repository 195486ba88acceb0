//! Recorded facts files (`plait plan --facts FILE`): one table per host with
//! its core facts and, under `probes.<plugin>.<probe>`, probe results.
//!
//! ```toml
//! [master.facts]
//! hostname = "localhost.localdomain"
//! # ... every core fact ...
//! [master.probes.os-prep]
//! selinux_config = { exit_code = 0, stdout = "SELINUX=enforcing\n" }
//! ```

use super::{HostFacts, ProbeResult};
use crate::diagnostic::SourceError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One host's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRecord {
    /// Core facts.
    pub facts: HostFacts,
    /// Probe results by plugin name, then probe name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probes: BTreeMap<String, BTreeMap<String, ProbeResult>>,
}

/// A whole facts file: host name → record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FactsFile {
    /// Records by inventory host name.
    pub hosts: BTreeMap<String, HostRecord>,
}

/// A facts file could not be read.
pub type FactsFileError = Box<SourceError>;

impl FactsFile {
    /// Read and parse a facts file; errors point into the file.
    pub fn load(path: &Path) -> Result<Self, FactsFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| Box::new(SourceError::io(path, e)))?;
        toml::from_str(&text).map_err(|e| Box::new(SourceError::from_toml(path, &text, &e)))
    }
}
