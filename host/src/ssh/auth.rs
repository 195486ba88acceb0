//! Client authentication: the inventory's identity file, else the default
//! keys in ~/.ssh, then the ssh-agent.

use super::SshError;
use super::host_keys::Verifier;
use russh::client::Handle;
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn default_identities() -> Vec<PathBuf> {
    let Some(home) = std::env::var_os("HOME") else { return Vec::new() };
    let ssh = Path::new(&home).join(".ssh");
    ["id_ed25519", "id_ecdsa", "id_rsa"].iter().map(|n| ssh.join(n)).filter(|p| p.is_file()).collect()
}

/// Passphrases typed this run, by key file: each is asked once, however
/// many hosts use the key.
static PASSPHRASES: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());

/// Load a private key; an encrypted one asks for its passphrase on the
/// terminal (once per file per run), never echoing it.
#[expect(clippy::result_large_err, reason = "one error per connection attempt; it carries the full context")]
fn load_key(path: &Path) -> Result<russh::keys::PrivateKey, SshError> {
    let err = |detail: String| SshError::Key { path: path.display().to_string(), detail };
    match load_secret_key(path, None) {
        Ok(k) => Ok(k),
        Err(russh::keys::Error::KeyIsEncrypted) => {
            let mut cache = PASSPHRASES.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = cache.get(path) {
                return load_secret_key(path, Some(p)).map_err(|e| err(e.to_string()));
            }
            if !std::io::stdin().is_terminal() {
                return Err(err("the key is encrypted and there is no terminal to ask for its passphrase (load it into ssh-agent)".into()));
            }
            let pass = rpassword::prompt_password(format!("passphrase for {}: ", path.display()))
                .map_err(|e| err(format!("reading the passphrase: {e}")))?;
            let key = load_secret_key(path, Some(&pass)).map_err(|e| err(format!("wrong passphrase? {e}")))?;
            cache.insert(path.to_path_buf(), pass);
            Ok(key)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

/// Authenticate `user`; `identity` is the inventory's key file, if any.
pub(crate) async fn authenticate(handle: &mut Handle<Verifier>, host: &str, user: &str, identity: Option<&Path>) -> Result<(), SshError> {
    let mut tried: Vec<String> = Vec::new();
    let keys: Vec<PathBuf> = match identity {
        Some(p) => vec![p.to_path_buf()],
        None => default_identities(),
    };
    for path in &keys {
        let key = load_key(path)?;
        let hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
        let res = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| SshError::Auth { host: host.into(), user: user.into(), detail: e.to_string() })?;
        if res.success() {
            return Ok(());
        }
        tried.push(path.display().to_string());
    }
    if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await
        && let Ok(ids) = agent.request_identities().await
    {
        for id in ids {
            let public = id.public_key().into_owned();
            let hash = handle.best_supported_rsa_hash().await.ok().flatten().flatten();
            if let Ok(res) = handle.authenticate_publickey_with(user, public, hash, &mut agent).await
                && res.success()
            {
                return Ok(());
            }
        }
        tried.push("ssh-agent".into());
    }
    Err(SshError::Auth {
        host: host.into(),
        user: user.into(),
        detail: if tried.is_empty() { "no identity file and no ssh-agent".into() } else { format!("rejected: {}", tried.join(", ")) },
    })
}
