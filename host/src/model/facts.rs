//! The core facts of one host, as the host gathers them and as plugins see
//! them (field for field the WIT `host-facts` record).

use super::FactSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// State of a systemd service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceState {
    /// The unit exists.
    pub installed: bool,
    /// `systemctl is-active` is `active`.
    pub active: bool,
    /// `systemctl is-enabled` is `enabled`.
    pub enabled: bool,
}

/// Core facts of one host. See `wit/since_v0.2.0/plugin.wit` for each field.
/// The fields of a [`crate::model::FactGroup`] not in `gathered` were not
/// read and hold their defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFacts {
    /// Current hostname.
    pub hostname: String,
    /// `ID` from os-release.
    pub os_id: String,
    /// `VERSION_ID` from os-release.
    pub os_version: String,
    /// Full release string.
    pub os_release: String,
    /// OS family (`rhel`, `debian`, ...).
    pub os_family: String,
    /// `uname -r`.
    pub kernel_release: String,
    /// `uname -m`.
    pub arch: String,
    /// Online CPUs.
    pub cpus: u32,
    /// Total memory, MiB.
    pub memory_mb: u64,
    /// Active swap, MiB.
    pub swap_total_mb: u64,
    /// SELinux runtime mode.
    pub selinux: String,
    /// firewalld state.
    pub firewalld: ServiceState,
    /// Loaded kernel modules.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Selected sysctls.
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// Primary IPv4 address.
    #[serde(default)]
    pub primary_ipv4: Option<String>,
    /// Boot id.
    #[serde(default)]
    pub boot_id: String,
    /// The groups read (a facts file holds them all).
    #[serde(skip, default = "FactSet::all")]
    pub gathered: FactSet,
}

impl HostFacts {
    /// Take what `newer` read: the facts the shell reads itself, and the
    /// groups it gathered; keep this one's other groups.
    pub fn merge(&mut self, newer: HostFacts) {
        use super::FactGroup as G;
        let old = std::mem::replace(self, newer);
        let kept = old.gathered.minus(self.gathered);
        for g in kept.iter() {
            match g {
                G::Kernel => (self.kernel_release, self.arch) = (old.kernel_release.clone(), old.arch.clone()),
                G::Memory => (self.memory_mb, self.swap_total_mb) = (old.memory_mb, old.swap_total_mb),
                G::Selinux => self.selinux = old.selinux.clone(),
                G::Firewalld => self.firewalld = old.firewalld.clone(),
                G::Modules => self.modules = old.modules.clone(),
                G::Sysctls => self.sysctls = old.sysctls.clone(),
                G::Network => self.primary_ipv4 = old.primary_ipv4.clone(),
            }
        }
        self.gathered = self.gathered.union(kept);
    }
}

/// The result of one probe command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeResult {
    /// Exit status.
    pub exit_code: i32,
    /// Standard output.
    #[serde(default)]
    pub stdout: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FactGroup;

    #[test]
    fn merging_keeps_the_groups_only_the_older_read() {
        let mut a = HostFacts {
            hostname: "old".into(),
            selinux: "enforcing".into(),
            modules: vec!["xfs".into()],
            gathered: [FactGroup::Selinux, FactGroup::Modules].into_iter().collect(),
            ..HostFacts::default()
        };
        let b = HostFacts {
            hostname: "new".into(),
            modules: vec!["br_netfilter".into()],
            swap_total_mb: 0,
            gathered: [FactGroup::Modules, FactGroup::Memory].into_iter().collect(),
            ..HostFacts::default()
        };
        a.merge(b);
        assert_eq!(a.hostname, "new");
        assert_eq!(a.selinux, "enforcing", "only the older read it");
        assert_eq!(a.modules, ["br_netfilter"], "the newer read wins");
        assert_eq!(a.gathered, [FactGroup::Selinux, FactGroup::Modules, FactGroup::Memory].into_iter().collect());
    }
}
