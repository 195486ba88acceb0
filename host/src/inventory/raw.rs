//! The inventory as written in TOML.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// Connection defaults shared by every host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    /// SSH user.
    pub user: Option<String>,
    /// SSH port.
    pub port: Option<u16>,
    /// Private key file.
    pub identity_file: Option<Spanned<String>>,
    /// known_hosts file used to verify host keys (default ~/.ssh/known_hosts).
    pub known_hosts: Option<Spanned<String>>,
    /// OpenSSH client config consulted for what the inventory leaves out
    /// (default ~/.ssh/config).
    pub ssh_config: Option<Spanned<String>>,
    /// Jump host for every host: `[user@]host[:port]`.
    pub proxy_jump: Option<Spanned<String>>,
}

/// One host as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    /// Address (IP or DNS name).
    pub address: Spanned<String>,
    /// SSH port (default from `[defaults]`, then 22).
    pub port: Option<u16>,
    /// SSH user (default from `[defaults]`, then root).
    pub user: Option<String>,
    /// Private key file.
    pub identity_file: Option<Spanned<String>>,
    /// Jump host: `[user@]host[:port]`.
    pub proxy_jump: Option<Spanned<String>>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
    /// Variables passed to plugins.
    #[serde(default)]
    pub vars: IndexMap<String, toml::Value>,
}

/// An inventory table: `[defaults]` and `[hosts.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInventory {
    /// Connection defaults.
    #[serde(default)]
    pub defaults: RawConnection,
    /// Hosts in file order.
    pub hosts: Spanned<IndexMap<String, Spanned<RawHost>>>,
}
