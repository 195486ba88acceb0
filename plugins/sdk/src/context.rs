//! Typed access to what the host passes to `plan`.

use crate::{Context, InventoryHost, PluginError, ProbeResult};

impl Context {
    /// Deserialize the step's parameters (defaults already filled in).
    pub fn params<T: serde::de::DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_str(&self.params).map_err(|e| PluginError::bad_params(e.to_string()))
    }

    /// The result of the probe `name`, or an error naming it when the host
    /// did not supply it (a plugin bug or a hand-written facts file).
    pub fn probe(&self, name: &str) -> Result<&ProbeResult, PluginError> {
        self.probes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PluginError::internal(format!("probe `{name}` has no result for host {}", self.host.name)))
    }

    /// The value of variable `name` captured on `host`.
    pub fn var(&self, host: &str, name: &str) -> Option<&str> {
        self.vars.iter().find(|v| v.host == host && v.name == name).map(|v| v.value.as_str())
    }

    /// The first value of variable `name` captured on any host.
    pub fn var_any(&self, name: &str) -> Option<(&str, &str)> {
        self.vars.iter().find(|v| v.name == name).map(|v| (v.host.as_str(), v.value.as_str()))
    }

    /// Inventory hosts in `group` (`all` matches every host).
    pub fn hosts_in(&self, group: &str) -> impl Iterator<Item = &InventoryHost> {
        let group = group.to_string();
        self.inventory.iter().filter(move |h| group == "all" || h.groups.contains(&group))
    }

    /// Whether the planned host is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        group == "all" || self.host.groups.iter().any(|g| g == group)
    }

    /// A per-host inventory variable, decoded from JSON.
    pub fn host_var<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.host.vars.iter().find(|(k, _)| k == name).and_then(|(_, v)| serde_json::from_str(v).ok())
    }

    /// The value of sysctl `name` in the facts, if the key exists.
    pub fn sysctl(&self, name: &str) -> Option<&str> {
        self.facts.sysctls.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether kernel module `name` is loaded.
    pub fn module_loaded(&self, name: &str) -> bool {
        self.facts.modules.iter().any(|m| m == name)
    }
}

impl Context {
    /// Refuse hosts outside an OS family (`rhel`, `debian`, ...), naming the plugin.
    pub fn require_os_family(&self, family: &str, plugin: &str) -> Result<(), PluginError> {
        if self.facts.os_family == family {
            Ok(())
        } else {
            Err(PluginError::unsupported(format!(
                "{plugin} supports the {family} family, this host is {} {}",
                self.facts.os_id, self.facts.os_version
            )))
        }
    }

    /// Whether a probe exited 0.
    pub fn probe_ok(&self, name: &str) -> Result<bool, PluginError> {
        Ok(self.probe(name)?.exit_code == 0)
    }
}
