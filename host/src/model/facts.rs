//! The core facts of one host, as the host gathers them and as plugins see
//! them (field for field the WIT `host-facts` record).

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

/// Core facts of one host. See `wit/since_v0.1.0/plugin.wit` for each field.
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
