//! How the commands that connect to hosts (`run`, live `plan`, `facts`)
//! reach them: one set of options and one place that resolves them, so
//! every such command honours the same flags.

use super::CommandError;
use crate::inventory::Inventory;
use crate::ssh::{ConnectSettings, HostKeyPolicy};
use std::path::PathBuf;
use std::time::Duration;

/// Connection options of the command line.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Hosts worked on at once.
    pub forks: usize,
    /// known_hosts file (overrides the inventory's).
    pub known_hosts: Option<PathBuf>,
    /// Record unknown host keys.
    pub accept_new_host_keys: bool,
    /// Connect + authenticate limit.
    pub connect_timeout: Duration,
    /// New connections started per second (0: no limit).
    pub connect_rate: u32,
    /// SSH keepalive interval.
    pub keepalive: Duration,
    /// Ask for the sudo password once.
    pub ask_become_pass: bool,
    /// Read the sudo password from a file.
    pub become_pass_file: Option<PathBuf>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            forks: 50,
            known_hosts: None,
            accept_new_host_keys: false,
            connect_timeout: Duration::from_secs(15),
            connect_rate: 100,
            keepalive: Duration::from_secs(15),
            ask_become_pass: false,
            become_pass_file: None,
        }
    }
}

/// `~/.ssh/known_hosts`, as OpenSSH defaults to.
fn default_known_hosts() -> PathBuf {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/known_hosts")).unwrap_or_else(|| PathBuf::from(".ssh/known_hosts"))
}

impl Connection {
    /// Settings for every connection to `inventory`'s hosts: the known_hosts
    /// file from the command line, else the inventory's, else OpenSSH's default.
    pub fn settings(&self, inventory: &Inventory) -> ConnectSettings {
        let known_hosts = self.known_hosts.clone().or_else(|| inventory.known_hosts.clone()).unwrap_or_else(default_known_hosts);
        ConnectSettings {
            host_keys: HostKeyPolicy { known_hosts, accept_new: self.accept_new_host_keys, parsed: Default::default() },
            connect_timeout: self.connect_timeout,
            keepalive: self.keepalive,
            pacer: std::sync::Arc::new(crate::ssh::Pacer::new(self.connect_rate)),
        }
    }

    /// The sudo password: asked once, or the first line of the file.
    pub fn become_password(&self) -> Result<Option<String>, CommandError> {
        if self.ask_become_pass {
            let p = rpassword::prompt_password("sudo password: ")
                .map_err(|e| CommandError::Other(format!("reading the sudo password: {e}")))?;
            return Ok(Some(p));
        }
        match &self.become_pass_file {
            Some(f) => {
                let text = std::fs::read_to_string(f)
                    .map_err(|e| CommandError::Other(format!("reading the sudo password from {}: {e}", f.display())))?;
                Ok(Some(text.lines().next().unwrap_or("").to_string()))
            }
            None => Ok(None),
        }
    }
}
