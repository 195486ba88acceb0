//! Host key verification against a known_hosts file, strict by default:
//! an unknown key refuses the host (unless new keys are accepted, like
//! OpenSSH's `accept-new`), a changed key always does.

use super::SshError;
use super::known_hosts::{self, Verdict};
use russh::keys::ssh_key::known_hosts::Entry;
use russh::keys::{HashAlg, PublicKeyOrCertificate};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Which keys are trusted.
#[derive(Debug, Clone)]
pub struct HostKeyPolicy {
    /// The known_hosts file.
    pub known_hosts: PathBuf,
    /// Record keys of hosts not yet in the file (never replaces a key).
    pub accept_new: bool,
    /// The file parsed once for every connection of the run.
    pub parsed: ParsedKnownHosts,
}

/// known_hosts as parsed, shared by a run's connections (a thousand hosts
/// read and parse it once, not a thousand times); dropped when plait
/// appends a key, so the next connection reads the file again.
#[derive(Debug, Clone, Default)]
pub struct ParsedKnownHosts(Arc<Mutex<Option<Arc<Vec<(usize, Entry)>>>>>);

impl ParsedKnownHosts {
    fn get(&self, path: &std::path::Path) -> std::io::Result<Arc<Vec<(usize, Entry)>>> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = slot.as_ref() {
            return Ok(p.clone());
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let parsed = Arc::new(known_hosts::parse(&text, &path.display().to_string()));
        *slot = Some(parsed.clone());
        Ok(parsed)
    }

    fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Serializes appends to known_hosts across the hosts of a run.
static LEARN: Mutex<()> = Mutex::new(());

/// Append `host key` as one line (one write, after a newline if needed).
fn learn(address: &str, port: u16, key: &russh::keys::PublicKey, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let _guard = LEARN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().read(true).append(true).create(true).open(path)?;
    let mut needs_newline = false;
    if f.seek(SeekFrom::End(-1)).is_ok() {
        let mut b = [0u8; 1];
        f.read_exact(&mut b)?;
        needs_newline = b[0] != b'\n';
    }
    let name = known_hosts::entry_name(address, port);
    let openssh = key.to_openssh().map_err(std::io::Error::other)?;
    let line = format!("{}{name} {openssh}\n", if needs_newline { "\n" } else { "" });
    f.write_all(line.as_bytes())
}

/// The russh handler that checks the server key and remembers why it refused.
pub(crate) struct Verifier {
    pub host: String,
    pub address: String,
    pub port: u16,
    pub policy: HostKeyPolicy,
    pub refusal: Arc<Mutex<Option<SshError>>>,
}

impl Verifier {
    fn refuse(&self, e: SshError) -> Result<bool, russh::Error> {
        if let Ok(mut r) = self.refusal.lock() {
            *r = Some(e);
        }
        Ok(false)
    }
    fn addr(&self) -> String {
        format!("{}:{}", self.address, self.port)
    }
}

impl russh::client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(&mut self, offered: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let (key, cert) = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => (key.clone(), None),
            PublicKeyOrCertificate::Certificate(c) => (c.public_key().clone().into(), Some(c)),
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let known_hosts = self.policy.known_hosts.display().to_string();
        let entries = match self.policy.parsed.get(&self.policy.known_hosts) {
            Ok(e) => e,
            Err(e) => {
                return self.refuse(SshError::Connect {
                    host: self.host.clone(),
                    addr: self.addr(),
                    detail: format!("cannot read {known_hosts}: {e}"),
                });
            }
        };
        match known_hosts::check(&entries, &self.address, self.port, &key, cert) {
            Verdict::Trusted => Ok(true),
            Verdict::Revoked { line } => self.refuse(SshError::Connect {
                host: self.host.clone(),
                addr: self.addr(),
                detail: format!("its host key {fingerprint} is marked @revoked (line {line} of {known_hosts}); nothing was run on it"),
            }),
            Verdict::NewAlgorithm { known } => self.refuse(SshError::Connect {
                host: self.host.clone(),
                addr: self.addr(),
                detail: format!(
                    "it offers a {} host key ({fingerprint}), but {known_hosts} records only its {} key: a key of a new algorithm for a known host is refused, even with --accept-new-host-keys. If the host really has this key, add it after checking the fingerprint (ssh-keyscan -t {} ...)",
                    key.algorithm(),
                    known.join(", "),
                    key.algorithm()
                ),
            }),
            Verdict::Unknown if self.policy.accept_new => match learn(&self.address, self.port, &key, &self.policy.known_hosts) {
                Ok(()) => {
                    self.policy.parsed.forget();
                    tracing::warn!("recorded new host key of {} ({}): {fingerprint} in {known_hosts}", self.host, self.addr());
                    Ok(true)
                }
                Err(e) => self.refuse(SshError::Connect {
                    host: self.host.clone(),
                    addr: self.addr(),
                    detail: format!("cannot record its host key in {known_hosts}: {e}"),
                }),
            },
            Verdict::Unknown => self.refuse(SshError::UnknownHostKey { host: self.host.clone(), addr: self.addr(), fingerprint, known_hosts }),
            Verdict::Changed { line } => {
                let keygen_name = known_hosts::entry_name(&self.address, self.port);
                self.refuse(SshError::ChangedHostKey {
                    host: self.host.clone(),
                    addr: self.addr(),
                    fingerprint,
                    line,
                    keygen_name,
                    known_hosts,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hosts_is_parsed_once_per_run_and_again_after_a_key_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        std::fs::write(&file, "web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRnNGvl8/LQ0uVlGQT6wSonT1jdrh6WOWN7U1z3B8Fw\n").unwrap();
        let parsed = ParsedKnownHosts::default();
        let first = parsed.get(&file).unwrap();
        // Changed on disk, but the run keeps what it parsed...
        std::fs::write(&file, "").unwrap();
        let again = parsed.clone().get(&file).unwrap();
        assert!(Arc::ptr_eq(&first, &again) && again.len() == 1, "shared by every connection of the run");
        // ...until plait itself appends a key.
        parsed.forget();
        assert!(parsed.get(&file).unwrap().is_empty());
    }
}
