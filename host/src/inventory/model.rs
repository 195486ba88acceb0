//! The validated inventory.

use super::raw::RawInventory;
use crate::diagnostic::{Source, SourceError};
use crate::model::InventoryHost;
use std::ops::Range;
use std::path::PathBuf;

/// One host, with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Inventory name.
    pub name: String,
    /// Address.
    pub address: String,
    /// SSH port.
    pub port: u16,
    /// SSH user.
    pub user: String,
    /// Private key file, relative paths resolved against the inventory's folder.
    pub identity_file: Option<PathBuf>,
    /// Jump host to reach it through, if any.
    pub proxy_jump: Option<Jump>,
    /// Groups (never includes the implicit `all`).
    pub groups: Vec<String>,
    /// Variables, as JSON.
    pub vars: Vec<(String, serde_json::Value)>,
    /// Where the host is defined.
    pub span: Range<usize>,
}

/// A jump host (ProxyJump).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// Address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// User.
    pub user: String,
    /// Key file.
    pub identity_file: Option<PathBuf>,
}

/// Every host, in file order.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Hosts.
    pub hosts: Vec<Host>,
    /// The file the inventory was read from.
    pub source: Source,
    /// known_hosts file named by the inventory.
    pub known_hosts: Option<PathBuf>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// TOML values to JSON (dates become strings).
pub fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

impl Inventory {
    /// Validate a parsed inventory. `base` resolves relative key paths.
    /// What the inventory leaves out (user, port, key, jump host, address)
    /// comes from the OpenSSH client config (`ssh_config`, else ~/.ssh/config).
    pub fn from_raw(raw: RawInventory, source: Source, base: &std::path::Path) -> Result<Self, Box<SourceError>> {
        let ssh = load_ssh_config(&raw, &source, base)?;
        let hosts_span = raw.hosts.span();
        let table = raw.hosts.into_inner();
        if table.is_empty() {
            return Err(Box::new(
                source.error(hosts_span, "the inventory has no hosts", "empty").with_help("add a table [hosts.NAME] with an address"),
            ));
        }
        let mut hosts: Vec<Host> = Vec::with_capacity(table.len());
        for (name, spanned) in table {
            let span = spanned.span();
            let h = spanned.into_inner();
            if !valid_name(&name) {
                return Err(Box::new(
                    source
                        .error(span, format!("invalid host name `{name}`"), "this host")
                        .with_help("use letters, digits, '-', '_' and '.'"),
                ));
            }
            let address = h.address.get_ref().trim().to_string();
            if address.is_empty() || address.contains(char::is_whitespace) {
                return Err(Box::new(source.error(h.address.span(), format!("host `{name}` has an invalid address"), "address")));
            }
            let mut groups = Vec::new();
            for g in &h.groups {
                if !valid_name(g.get_ref()) || g.get_ref() == "all" {
                    return Err(Box::new(
                        source
                            .error(g.span(), format!("invalid group name `{}`", g.get_ref()), "group")
                            .with_help("use letters, digits, '-', '_' and '.'; `all` is implicit"),
                    ));
                }
                if !groups.contains(g.get_ref()) {
                    groups.push(g.get_ref().clone());
                }
            }
            let from_ssh = ssh.as_ref().map(|c| c.query(&address));
            let port = h.port.or(raw.defaults.port).or(from_ssh.as_ref().and_then(|p| p.port)).unwrap_or(22);
            if let Some(other) = hosts.iter().find(|o| o.address == address && o.port == port) {
                return Err(Box::new(source.error(
                    h.address.span(),
                    format!("hosts `{}` and `{name}` both connect to {address}:{port}", other.name),
                    "duplicate address",
                )));
            }
            let identity_file =
                h.identity_file.as_ref().or(raw.defaults.identity_file.as_ref()).map(|p| expand_path(p.get_ref(), base)).or_else(|| {
                    from_ssh
                        .as_ref()
                        .and_then(|p| p.identity_file.as_ref())
                        .and_then(|v| v.first())
                        .map(|p| expand_path(&p.to_string_lossy(), base))
                });
            let user = h
                .user
                .or_else(|| raw.defaults.user.clone())
                .or_else(|| from_ssh.as_ref().and_then(|p| p.user.clone()))
                .unwrap_or_else(|| "root".into());
            let jump_spec = match h.proxy_jump.as_ref().or(raw.defaults.proxy_jump.as_ref()) {
                Some(j) => Some((j.get_ref().clone(), j.span())),
                None => from_ssh.as_ref().and_then(|p| p.proxy_jump.as_ref()).map(|v| (v.join(","), span.clone())),
            };
            let proxy_jump = match jump_spec {
                None => None,
                Some((spec, jspan)) if spec.eq_ignore_ascii_case("none") => {
                    let _ = jspan;
                    None
                }
                Some((spec, jspan)) => Some(
                    parse_jump(&spec, ssh.as_ref(), base)
                        .map_err(|e| Box::new(source.error(jspan, format!("host `{name}`: {e}"), "proxy jump")))?,
                ),
            };
            // ~/.ssh/config may name the real address (HostName).
            let address = from_ssh.as_ref().and_then(|p| p.host_name.clone()).unwrap_or(address);
            hosts.push(Host {
                name,
                address,
                port,
                user,
                identity_file,
                proxy_jump,
                groups,
                vars: h.vars.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect(),
                span,
            });
        }
        let known_hosts = raw.defaults.known_hosts.as_ref().map(|p| expand_path(p.get_ref(), base));
        Ok(Inventory { hosts, source, known_hosts })
    }

    /// Host by name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Every group name, sorted.
    pub fn groups(&self) -> Vec<String> {
        let mut g: Vec<String> = self.hosts.iter().flat_map(|h| h.groups.iter().cloned()).collect();
        g.sort();
        g.dedup();
        g
    }

    /// Indices (in inventory order) of the hosts `--limit` selects: a
    /// comma-separated list of host names, groups and `all`. A name that is
    /// neither is an error naming what there is.
    pub fn limit(&self, spec: &str) -> Result<Vec<usize>, String> {
        let mut chosen = std::collections::BTreeSet::new();
        for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let m = self.matching(word);
            if m.is_empty() {
                return Err(format!(
                    "--limit: `{word}` is neither a host nor a group of the inventory (hosts: {}; groups: {})",
                    self.hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", "),
                    self.groups().join(", ")
                ));
            }
            chosen.extend(m);
        }
        if chosen.is_empty() {
            return Err("--limit selects no host".into());
        }
        Ok(chosen.into_iter().collect())
    }

    /// Indices of hosts matched by a target: `all`, a group, or a host name.
    pub fn matching(&self, target: &str) -> Vec<usize> {
        if target == "all" {
            return (0..self.hosts.len()).collect();
        }
        let by_group: Vec<usize> =
            self.hosts.iter().enumerate().filter(|(_, h)| h.groups.iter().any(|g| g == target)).map(|(i, _)| i).collect();
        if !by_group.is_empty() {
            return by_group;
        }
        self.hosts.iter().position(|h| h.name == target).into_iter().collect()
    }

    /// Every identity file the inventory names must exist before anything
    /// connects (checked for runs, not for offline plans).
    pub fn check_identity_files(&self) -> Result<(), Box<SourceError>> {
        for h in &self.hosts {
            if let Some(f) = &h.identity_file
                && !f.is_file()
            {
                return Err(Box::new(
                    self.source
                        .error(h.span.clone(), format!("host `{}`: identity file {} does not exist", h.name, f.display()), "this host")
                        .with_help("fix identity_file (in the host or in [defaults]), or remove it to use ~/.ssh keys or ssh-agent"),
                ));
            }
        }
        Ok(())
    }

    /// The inventory as plugins see it.
    pub fn for_plugins(&self) -> Vec<InventoryHost> {
        self.hosts.iter().map(Host::for_plugins).collect()
    }
}

impl Host {
    /// This host as plugins see it.
    pub fn for_plugins(&self) -> InventoryHost {
        InventoryHost {
            name: self.name.clone(),
            address: self.address.clone(),
            groups: self.groups.clone(),
            vars: self.vars.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        }
    }
}

fn load_ssh_config(
    raw: &RawInventory,
    source: &Source,
    base: &std::path::Path,
) -> Result<Option<ssh2_config::SshConfig>, Box<SourceError>> {
    let (path, span) = match &raw.defaults.ssh_config {
        Some(p) => (expand_path(p.get_ref(), base), Some(p.span())),
        None => match std::env::var_os("HOME") {
            Some(h) => (PathBuf::from(h).join(".ssh/config"), None),
            None => return Ok(None),
        },
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(_) if span.is_none() => return Ok(None),
        Err(e) => {
            return Err(Box::new(source.error(
                span.unwrap_or(0..0),
                format!("cannot read ssh config {}: {e}", path.display()),
                "ssh_config",
            )));
        }
    };
    let mut reader = std::io::BufReader::new(file);
    match ssh2_config::SshConfig::default().parse(&mut reader, ssh2_config::ParseRule::ALLOW_UNKNOWN_FIELDS) {
        Ok(c) => Ok(Some(c)),
        Err(e) => Err(Box::new(source.error(span.unwrap_or(0..0), format!("invalid ssh config {}: {e}", path.display()), "ssh_config"))),
    }
}

/// `[user@]host[:port]`, completed from the ssh config for that host.
fn parse_jump(spec: &str, ssh: Option<&ssh2_config::SshConfig>, base: &std::path::Path) -> Result<Jump, String> {
    if spec.contains(',') {
        return Err(format!("proxy jump `{spec}` chains several hosts; plait supports one jump host"));
    }
    let (user, rest) = match spec.rsplit_once('@') {
        Some((u, r)) => (Some(u.to_string()), r),
        None => (None, spec),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            (h.to_string(), Some(p.parse::<u16>().map_err(|_| format!("invalid port in proxy jump `{spec}`"))?))
        }
        _ => (rest.to_string(), None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("invalid proxy jump `{spec}` (expected [user@]host[:port])"));
    }
    let p = ssh.map(|c| c.query(&host));
    Ok(Jump {
        address: p.as_ref().and_then(|p| p.host_name.clone()).unwrap_or_else(|| host.clone()),
        port: port.or(p.as_ref().and_then(|p| p.port)).unwrap_or(22),
        user: user.or_else(|| p.as_ref().and_then(|p| p.user.clone())).unwrap_or_else(|| "root".into()),
        identity_file: p
            .as_ref()
            .and_then(|p| p.identity_file.as_ref())
            .and_then(|v| v.first())
            .map(|f| expand_path(&f.to_string_lossy(), base)),
    })
}

/// `~/x` to the home directory; relative paths against `base`.
pub fn expand_path(p: &str, base: &std::path::Path) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let p = PathBuf::from(p);
    if p.is_absolute() { p } else { base.join(p) }
}
