//! Ansible inventories (`-i hosts.ini`, `-i hosts.yml`), so users of Ansible
//! and kubespray bring theirs unchanged. Both formats are read as Ansible
//! documents them ("How to build your inventory"; the `ini` and `yaml`
//! inventory plugins):
//!
//! - groups with hosts, `children` (`[g:children]`) and `vars`
//!   (`[g:vars]`); the implicit `all` and `ungrouped`;
//! - host ranges `web[01:03].example.com`, `db-[a:c]`, with an optional
//!   stride (`[1:9:2]`); INI `host:port`;
//! - variables: `all`'s, then each group's from the outermost parent to the
//!   innermost child, then the host's own (later wins). INI host lines are
//!   split like a shell line and their values read as Python literals
//!   (`5`, `1.5`, `True`, `'quoted'`); `[g:vars]` values are strings.
//!
//! The connection variables become plait's settings: `ansible_host`
//! (address; default: the host name), `ansible_port`, `ansible_user`,
//! `ansible_ssh_private_key_file` (and the older `ansible_ssh_host`,
//! `ansible_ssh_port`, `ansible_ssh_user`). Other `ansible_*` variables are
//! Ansible's own and are left out; every other variable reaches plugins as a
//! host variable. The result goes through the same checks as a TOML
//! inventory, with errors pointing at the host's line.

use super::raw::{RawConnection, RawHost, RawInventory};
use indexmap::IndexMap;
use serde_json::Value;
use toml::Spanned;

/// A parse error at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsibleError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, AnsibleError> {
    Err(AnsibleError { line, message: message.into() })
}

#[derive(Debug, Default)]
struct Group {
    hosts: Vec<String>,
    children: Vec<String>,
    vars: IndexMap<String, Value>,
}

/// Groups and hosts as the file declares them.
#[derive(Debug, Default)]
struct Model {
    /// Host name → (its own variables, line of its first mention).
    hosts: IndexMap<String, (IndexMap<String, Value>, usize)>,
    groups: IndexMap<String, Group>,
}

impl Model {
    fn group(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_string()).or_default()
    }

    fn add_host(&mut self, group: &str, name: &str, vars: IndexMap<String, Value>, line: usize) {
        let entry = self.hosts.entry(name.to_string()).or_insert_with(|| (IndexMap::new(), line));
        entry.0.extend(vars);
        let g = self.group(group);
        if !g.hosts.iter().any(|h| h == name) {
            g.hosts.push(name.to_string());
        }
    }

    /// The groups a host is in, directly or through children, outermost
    /// first (Ansible's order: by depth, then name).
    fn groups_of(&self, host: &str) -> Vec<String> {
        let mut depth: IndexMap<String, usize> = IndexMap::new();
        // Depth of each group below `all` (longest path), bounded against cycles.
        fn walk(m: &Model, g: &str, d: usize, out: &mut IndexMap<String, usize>) {
            if d > 64 {
                return;
            }
            let cur = out.entry(g.to_string()).or_insert(d);
            if *cur < d {
                *cur = d;
            }
            if let Some(group) = m.groups.get(g) {
                for c in &group.children {
                    walk(m, c, d + 1, out);
                }
            }
        }
        for g in self.groups.keys() {
            let is_child = self.groups.values().any(|o| o.children.iter().any(|c| c == g));
            if !is_child {
                walk(self, g, if g == "all" { 0 } else { 1 }, &mut depth);
            }
        }
        let contains = |g: &str| -> bool {
            let mut stack = vec![g.to_string()];
            let mut seen = Vec::new();
            while let Some(x) = stack.pop() {
                if seen.contains(&x) {
                    continue;
                }
                let Some(group) = self.groups.get(&x) else { continue };
                if group.hosts.iter().any(|h| h == host) {
                    return true;
                }
                seen.push(x);
                stack.extend(group.children.iter().cloned());
            }
            false
        };
        let mut mine: Vec<(usize, String)> =
            self.groups.keys().filter(|g| contains(g)).map(|g| (depth.get(g).copied().unwrap_or(1), g.clone())).collect();
        mine.sort();
        mine.into_iter().map(|(_, g)| g).collect()
    }
}

/// Expand `web[01:03].example.com` (numeric, zero-padded as written, or
/// single letters; `[start:end:stride]`).
fn expand(pattern: &str, line: usize) -> Result<Vec<String>, AnsibleError> {
    let (Some(open), Some(close)) = (pattern.find('['), pattern.find(']')) else {
        return Ok(vec![pattern.to_string()]);
    };
    if close < open {
        return err(line, format!("invalid host range in `{pattern}`"));
    }
    let (head, range, tail) = (&pattern[..open], &pattern[open + 1..close], &pattern[close + 1..]);
    let parts: Vec<&str> = range.split(':').collect();
    let (start, end, stride) = match parts.as_slice() {
        [s, e] => (*s, *e, 1usize),
        [s, e, st] => (
            *s,
            *e,
            st.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| AnsibleError { line, message: format!("invalid stride in `{pattern}`") })?,
        ),
        _ => return err(line, format!("invalid host range in `{pattern}` (want [start:end] or [start:end:stride])")),
    };
    let mut out = Vec::new();
    let rest = expand(tail, line)?;
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        if a > b {
            return err(line, format!("host range `{range}` ends before it starts"));
        }
        let width = if start.len() > 1 && start.starts_with('0') { start.len() } else { 0 };
        (a..=b).step_by(stride).map(|n| format!("{n:0width$}")).collect()
    } else if start.len() == 1
        && end.len() == 1
        && start.chars().all(|c| c.is_ascii_alphabetic())
        && end.chars().all(|c| c.is_ascii_alphabetic())
    {
        let (a, b) = (start.as_bytes()[0], end.as_bytes()[0]);
        if a > b {
            return err(line, format!("host range `{range}` ends before it starts"));
        }
        (a..=b).step_by(stride).map(|c| (c as char).to_string()).collect()
    } else {
        return err(line, format!("invalid host range `{range}` in `{pattern}`"));
    };
    if items.len() > 100_000 {
        return err(line, format!("host range `{range}` names more than 100000 hosts"));
    }
    for i in items {
        for r in &rest {
            out.push(format!("{head}{i}{r}"));
        }
    }
    Ok(out)
}

/// An INI value on a host line, read as Python's `ast.literal_eval` would
/// for the simple cases; anything else stays a string.
fn literal(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    if v.contains(['.', 'e', 'E']) && v.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.') {
        if let Ok(f) = v.parse::<f64>() {
            return serde_json::Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(v.into()));
        }
    }
    match v {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "None" => Value::Null,
        _ => Value::String(v.to_string()),
    }
}

fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn parse_ini(text: &str) -> Result<Model, AnsibleError> {
    let mut m = Model::default();
    m.group("all");
    #[derive(PartialEq)]
    enum Kind {
        Hosts,
        Vars,
        Children,
    }
    let (mut group, mut kind) = ("ungrouped".to_string(), Kind::Hosts);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(header) = l.strip_prefix('[') {
            let Some(header) = header.split_once(']').map(|(h, _)| h.trim()) else {
                return err(line, format!("section header `{l}` is not closed"));
            };
            let (name, k) = match header.rsplit_once(':') {
                Some((n, "vars")) => (n, Kind::Vars),
                Some((n, "children")) => (n, Kind::Children),
                Some((_, other)) => return err(line, format!("unknown section type `:{other}` (Ansible knows :vars and :children)")),
                None => (header, Kind::Hosts),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return err(line, format!("invalid group name `{name}`"));
            }
            m.group(name);
            (group, kind) = (name.to_string(), k);
            continue;
        }
        match kind {
            Kind::Vars => {
                let Some((k, v)) = l.split_once('=') else {
                    return err(line, format!("`{l}` in [{group}:vars] is not key=value"));
                };
                m.group(&group).vars.insert(k.trim().to_string(), Value::String(unquote(v).to_string()));
            }
            Kind::Children => {
                let child = l.split_whitespace().next().unwrap_or_default().to_string();
                m.group(&child);
                let g = m.group(&group);
                if !g.children.contains(&child) {
                    g.children.push(child);
                }
            }
            Kind::Hosts => {
                let Some(mut words) = shlex::split(l) else {
                    return err(line, "unbalanced quotes");
                };
                if let Some(c) = words.iter().position(|w| w.starts_with('#')) {
                    words.truncate(c);
                }
                let Some((pattern, rest)) = words.split_first() else { continue };
                let mut vars = IndexMap::new();
                for w in rest {
                    let Some((k, v)) = w.split_once('=') else {
                        return err(line, format!("`{w}` after host `{pattern}` is not key=value"));
                    };
                    vars.insert(k.to_string(), literal(v));
                }
                // `host:port`, unless the colon belongs to a range or an IPv6 address.
                let mut pattern = pattern.clone();
                if let Some((h, p)) = pattern.rsplit_once(':')
                    && !h.contains(':')
                    && !p.contains(']')
                    && p.parse::<u16>().is_ok()
                {
                    vars.entry("ansible_port".into()).or_insert_with(|| Value::from(p.parse::<u16>().unwrap_or(22)));
                    pattern = h.to_string();
                }
                for name in expand(&pattern, line)? {
                    m.add_host(&group, &name, vars.clone(), line);
                }
            }
        }
    }
    Ok(m)
}

fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(r) => {
            r.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number).unwrap_or_else(|| Value::String(r.clone()))
        }
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(h.iter().map(|(k, v)| (yaml_key(k), yaml_to_json(v))).collect()),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
    }
}

fn yaml_key(k: &yaml_rust2::Yaml) -> String {
    match k {
        yaml_rust2::Yaml::String(s) => s.clone(),
        other => match yaml_to_json(other) {
            Value::String(s) => s,
            v => v.to_string(),
        },
    }
}

/// The first line at which `key:` starts (after indentation), for spans.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ");
            t.strip_prefix(key).is_some_and(|r| r.starts_with(':'))
                || t.trim_matches(['"', '\'']).strip_prefix(key).is_some_and(|r| r.starts_with(['"', '\'']))
        })
        .map_or(1, |i| i + 1)
}

fn parse_yaml_group(m: &mut Model, name: &str, body: &yaml_rust2::Yaml, text: &str, depth: usize) -> Result<(), AnsibleError> {
    use yaml_rust2::Yaml;
    let line = line_of(text, name);
    if depth > 64 {
        return err(line, format!("groups nested deeper than 64 at `{name}`"));
    }
    m.group(name);
    let Yaml::Hash(h) = body else {
        return match body {
            Yaml::Null => Ok(()),
            _ => err(line, format!("group `{name}` must be a mapping with hosts, vars or children")),
        };
    };
    for (k, v) in h {
        match (yaml_key(k).as_str(), v) {
            ("hosts", Yaml::Hash(hosts)) => {
                for (hk, hv) in hosts {
                    let pattern = yaml_key(hk);
                    let hline = line_of(text, &pattern);
                    let vars: IndexMap<String, Value> = match hv {
                        Yaml::Hash(vars) => vars.iter().map(|(k, v)| (yaml_key(k), yaml_to_json(v))).collect(),
                        Yaml::Null => IndexMap::new(),
                        _ => return err(hline, format!("host `{pattern}` must map to its variables (or nothing)")),
                    };
                    for host in expand(&pattern, hline)? {
                        m.add_host(name, &host, vars.clone(), hline);
                    }
                }
            }
            ("vars", Yaml::Hash(vars)) => {
                let vars: Vec<(String, Value)> = vars.iter().map(|(k, v)| (yaml_key(k), yaml_to_json(v))).collect();
                m.group(name).vars.extend(vars);
            }
            ("children", Yaml::Hash(children)) => {
                for (ck, cv) in children {
                    let child = yaml_key(ck);
                    parse_yaml_group(m, &child, cv, text, depth + 1)?;
                    let g = m.group(name);
                    if !g.children.contains(&child) {
                        g.children.push(child);
                    }
                }
            }
            ("hosts" | "vars" | "children", Yaml::Null) => {}
            (other @ ("hosts" | "vars" | "children"), _) => return err(line, format!("`{other}` of group `{name}` must be a mapping")),
            (other, _) => {
                return err(line, format!("group `{name}` has `{other}`; Ansible's YAML inventory allows hosts, vars and children"));
            }
        }
    }
    Ok(())
}

fn parse_yaml(text: &str) -> Result<Model, AnsibleError> {
    let docs =
        yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| AnsibleError { line: e.marker().line().max(1), message: e.to_string() })?;
    let mut m = Model::default();
    m.group("all");
    match docs.first() {
        Some(yaml_rust2::Yaml::Hash(top)) => {
            for (k, v) in top {
                parse_yaml_group(&mut m, &yaml_key(k), v, text, 0)?;
            }
        }
        None | Some(yaml_rust2::Yaml::Null) => {}
        Some(_) => return err(1, "an Ansible YAML inventory is a mapping of group names (usually `all:`)"),
    }
    Ok(m)
}

/// The byte range of 1-based line `line` in `text` (empty at the end when
/// there is no such line).
pub fn span_of_line(text: &str, line: usize) -> std::ops::Range<usize> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return start..start + l.trim_end().len();
        }
        start += l.len();
    }
    text.len()..text.len()
}

fn json_to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => n.as_i64().map(toml::Value::Integer).or_else(|| n.as_f64().map(toml::Value::Float))?,
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().filter_map(json_to_toml).collect()),
        Value::Object(o) => toml::Value::Table(o.iter().filter_map(|(k, v)| json_to_toml(v).map(|v| (k.clone(), v))).collect()),
    })
}

fn as_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Which format a file is in: `.yml`/`.yaml` is Ansible YAML, `.toml` is
/// plait's own, anything else (`hosts`, `hosts.ini`, `inventory.cfg`) is
/// Ansible INI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// plait's TOML.
    Toml,
    /// Ansible INI.
    Ini,
    /// Ansible YAML.
    Yaml,
}

impl Format {
    /// The format of the file at `path`.
    pub fn of(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("toml") => Format::Toml,
            Some("yml" | "yaml") => Format::Yaml,
            _ => Format::Ini,
        }
    }
}

/// Read an Ansible inventory into plait's raw form.
pub fn parse(text: &str, format: Format) -> Result<RawInventory, AnsibleError> {
    let m = match format {
        Format::Yaml => parse_yaml(text)?,
        _ => parse_ini(text)?,
    };
    let mut hosts = IndexMap::new();
    for (name, (own, line)) in &m.hosts {
        let span = span_of_line(text, *line);
        let groups = m.groups_of(name);
        let mut vars: IndexMap<String, Value> = m.groups.get("all").map(|g| g.vars.clone()).unwrap_or_default();
        for g in groups.iter().filter(|g| *g != "all") {
            vars.extend(m.groups[g].vars.clone());
        }
        vars.extend(own.clone());
        let take = |vars: &mut IndexMap<String, Value>, keys: &[&str]| -> Option<Value> {
            let mut found = None;
            for k in keys {
                if let Some(v) = vars.shift_remove(*k) {
                    found = found.or(Some(v));
                }
            }
            found
        };
        let address = take(&mut vars, &["ansible_host", "ansible_ssh_host"]).map_or_else(|| name.clone(), |v| as_string(&v));
        let port = match take(&mut vars, &["ansible_port", "ansible_ssh_port"]) {
            None => None,
            Some(v) => Some(
                as_string(&v)
                    .parse::<u16>()
                    .map_err(|_| AnsibleError { line: *line, message: format!("host `{name}`: ansible_port {v} is not a port") })?,
            ),
        };
        let user = take(&mut vars, &["ansible_user", "ansible_ssh_user"]).map(|v| as_string(&v));
        let identity_file = take(&mut vars, &["ansible_ssh_private_key_file", "ansible_private_key_file"])
            .map(|v| Spanned::new(span.clone(), as_string(&v)));
        // Ansible's own settings (become, python, connection plugin, ...).
        vars.retain(|k, _| !k.starts_with("ansible_"));
        let raw = RawHost {
            address: Spanned::new(span.clone(), address),
            port,
            user,
            identity_file,
            proxy_jump: None,
            groups: groups.iter().filter(|g| *g != "all" && *g != "ungrouped").map(|g| Spanned::new(span.clone(), g.clone())).collect(),
            vars: vars.iter().filter_map(|(k, v)| json_to_toml(v).map(|t| (k.clone(), t))).collect(),
        };
        hosts.insert(name.clone(), Spanned::new(span, raw));
    }
    Ok(RawInventory { defaults: RawConnection::default(), hosts: Spanned::new(0..text.len().min(1), hosts) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(raw: &RawInventory) -> Vec<(String, String, Option<u16>, Option<String>, Vec<String>)> {
        raw.hosts
            .get_ref()
            .iter()
            .map(|(n, h)| {
                let h = h.get_ref();
                (n.clone(), h.address.get_ref().clone(), h.port, h.user.clone(), h.groups.iter().map(|g| g.get_ref().clone()).collect())
            })
            .collect()
    }

    /// The examples of Ansible's "How to build your inventory", INI form.
    #[test]
    fn ini_inventories_read_as_ansible_documents_them() {
        let text = "\
mail.example.com

[webservers]
foo.example.com
bar.example.com ansible_host=192.0.2.50 http_port=80 maxRequestsPerChild=808 debug=True ratio=1.5 motd='hello world'

[dbservers]
one.example.com ansible_user=admin ansible_ssh_private_key_file=~/.ssh/db_key
two.example.com:5309
db-[a:b].example.com

[atlanta]
host[01:03:2] # two of them

[atlanta:vars]
ntp_server=ntp.atlanta.example.com
http_port=8080

[southeast:children]
atlanta
dbservers

[southeast:vars]
ntp_server=ntp.southeast.example.com
ansible_become=true
";
        let raw = parse(text, Format::Ini).unwrap();
        let h = hosts(&raw);
        let names: Vec<&str> = h.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "mail.example.com",
                "foo.example.com",
                "bar.example.com",
                "one.example.com",
                "two.example.com",
                "db-a.example.com",
                "db-b.example.com",
                "host01",
                "host03"
            ]
        );
        assert_eq!(h[0].4, Vec::<String>::new(), "ungrouped is implicit, not a group");
        assert_eq!(h[2].1, "192.0.2.50");
        assert_eq!(h[3].3.as_deref(), Some("admin"));
        assert_eq!(h[4].2, Some(5309));
        assert_eq!(h[7].4, ["southeast", "atlanta"], "outermost first");
        let bar = raw.hosts.get_ref()["bar.example.com"].get_ref();
        assert_eq!(bar.vars["http_port"], toml::Value::Integer(80));
        assert_eq!(bar.vars["debug"], toml::Value::Boolean(true));
        assert_eq!(bar.vars["ratio"], toml::Value::Float(1.5));
        assert_eq!(bar.vars["motd"], toml::Value::String("hello world".into()));
        let host01 = raw.hosts.get_ref()["host01"].get_ref();
        // The child's [atlanta:vars] beat the parent's [southeast:vars]; :vars are strings.
        assert_eq!(host01.vars["ntp_server"], toml::Value::String("ntp.atlanta.example.com".into()));
        assert_eq!(host01.vars["http_port"], toml::Value::String("8080".into()));
        assert!(!host01.vars.contains_key("ansible_become"), "Ansible's own settings are left out");
        let one = raw.hosts.get_ref()["one.example.com"].get_ref();
        assert_eq!(one.identity_file.as_ref().map(|p| p.get_ref().as_str()), Some("~/.ssh/db_key"));
        assert_eq!(one.vars["ntp_server"], toml::Value::String("ntp.southeast.example.com".into()));
        // Errors name the line.
        assert_eq!(parse("[web\nx\n", Format::Ini).unwrap_err().line, 1);
        assert_eq!(parse("[web]\nx y\n", Format::Ini).unwrap_err().line, 2);
        assert_eq!(parse("[web:hosts]\n", Format::Ini).unwrap_err().line, 1);
        assert_eq!(parse("[web]\nx[3:1]\n", Format::Ini).unwrap_err().line, 2);
    }

    /// The same inventory in Ansible's YAML form.
    #[test]
    fn yaml_inventories_read_as_ansible_documents_them() {
        let text = "\
all:
  hosts:
    mail.example.com:
  vars:
    ntp_server: ntp.example.com
  children:
    webservers:
      hosts:
        foo.example.com:
        bar.example.com:
          ansible_host: 192.0.2.50
          ansible_port: 2222
          http_port: 80
    southeast:
      vars:
        ntp_server: ntp.southeast.example.com
      children:
        atlanta:
          hosts:
            host[01:02]:
              ansible_user: deploy
          vars:
            dns: [192.0.2.1, 192.0.2.2]
";
        let raw = parse(text, Format::Yaml).unwrap();
        let h = hosts(&raw);
        assert_eq!(h.len(), 5);
        assert_eq!(h[0].0, "mail.example.com");
        assert_eq!((h[2].1.as_str(), h[2].2), ("192.0.2.50", Some(2222)));
        assert_eq!(h[3].0, "host01");
        assert_eq!(h[3].3.as_deref(), Some("deploy"));
        assert_eq!(h[3].4, ["southeast", "atlanta"]);
        let mail = raw.hosts.get_ref()["mail.example.com"].get_ref();
        assert_eq!(mail.vars["ntp_server"], toml::Value::String("ntp.example.com".into()));
        let host01 = raw.hosts.get_ref()["host01"].get_ref();
        assert_eq!(host01.vars["ntp_server"], toml::Value::String("ntp.southeast.example.com".into()));
        assert_eq!(host01.vars["dns"], toml::Value::Array(vec!["192.0.2.1".into(), "192.0.2.2".into()]));
        // The host's line, for located errors.
        assert_eq!(&text[raw.hosts.get_ref()["bar.example.com"].span()], "        bar.example.com:");
        assert!(parse("all:\n  hostz: {}\n", Format::Yaml).unwrap_err().message.contains("hostz"));
        assert_eq!(parse("all:\n  hosts: [a\n", Format::Yaml).unwrap_err().line, 3);
    }
}
