//! Builders for [`PluginInfo`] and [`ParamSpec`], and parameter defaults.

use crate::{Capabilities, Fact, ParamSpec, ParamType, PluginError, PluginInfo, Probe};

/// Start describing a plugin. Name: lowercase letters, digits and `-`.
pub fn info(name: &str, version: &str, summary: &str) -> PluginInfo {
    PluginInfo {
        name: name.into(),
        version: version.into(),
        summary: summary.into(),
        params: Vec::new(),
        probes: Vec::new(),
        facts: Vec::new(),
        inventory: false,
        capabilities: Capabilities {
            programs: Vec::new(),
            shell: false,
            writes: Vec::new(),
            reads: Vec::new(),
            reboot: false,
            assets: false,
        },
        produces: Vec::new(),
        consumes: Vec::new(),
    }
}

fn strings<I, S>(items: I) -> impl Iterator<Item = String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into)
}

impl PluginInfo {
    /// Accept a parameter.
    pub fn param(mut self, p: ParamSpec) -> Self {
        self.params.push(p);
        self
    }
    /// Gather the output of a read-only shell command before planning.
    /// `{param}` in `command` is replaced by the host with the quoted value.
    pub fn probe(mut self, name: &str, command: &str) -> Self {
        self.probes.push(Probe { name: name.into(), command: command.into(), sudo: false });
        self
    }
    /// Like [`PluginInfo::probe`], run as root.
    pub fn probe_sudo(mut self, name: &str, command: &str) -> Self {
        self.probes.push(Probe { name: name.into(), command: command.into(), sudo: true });
        self
    }
    /// The groups of core facts `plan` reads ([`crate::Context::kernel_release`],
    /// [`crate::Context::selinux`], ...). The host reads only these on each host:
    /// each costs a command there. Hostname, OS, CPUs and boot id are
    /// always there.
    pub fn facts<I: IntoIterator<Item = Fact>>(mut self, f: I) -> Self {
        for f in f {
            if !self.facts.contains(&f) {
                self.facts.push(f);
            }
        }
        self
    }
    /// `plan` reads the whole inventory ([`crate::Context::inventory`],
    /// [`crate::Context::hosts_in`]). Without it the host passes none: a large
    /// fleet is not copied into every call.
    pub fn inventory(mut self) -> Self {
        self.inventory = true;
        self
    }
    /// Programs the plugin's actions and guards may start.
    pub fn programs<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.capabilities.programs.extend(strings(p));
        self
    }
    /// Allow `script` commands.
    pub fn shell(mut self) -> Self {
        self.capabilities.shell = true;
        self
    }
    /// Path prefixes `put-file` may write.
    pub fn writes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.capabilities.writes.extend(strings(p));
        self
    }
    /// Path prefixes `fetch-file` may read.
    pub fn reads<I: IntoIterator<Item = S>, S: Into<String>>(mut self, p: I) -> Self {
        self.capabilities.reads.extend(strings(p));
        self
    }
    /// Read the plugin's bundled assets at `/assets` (when the workflow grants it).
    pub fn assets(mut self) -> Self {
        self.capabilities.assets = true;
        self
    }
    /// Allow reboots.
    pub fn reboots(mut self) -> Self {
        self.capabilities.reboot = true;
        self
    }
    /// Variables this plugin may capture.
    pub fn produces<I: IntoIterator<Item = S>, S: Into<String>>(mut self, v: I) -> Self {
        self.produces.extend(strings(v));
        self
    }
    /// Variables this plugin reads.
    pub fn consumes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, v: I) -> Self {
        self.consumes.extend(strings(v));
        self
    }
}

/// Parameter declarations.
pub mod param {
    use super::*;

    fn spec(name: &str, ty: ParamType, default: Option<serde_json::Value>, doc: &str) -> ParamSpec {
        ParamSpec { name: name.into(), type_: ty, default: default.map(|d| d.to_string()), secret: false, doc: doc.into() }
    }
    /// A string with a default.
    pub fn string(name: &str, default: &str, doc: &str) -> ParamSpec {
        spec(name, ParamType::String, Some(default.into()), doc)
    }
    /// An integer with a default.
    pub fn integer(name: &str, default: i64, doc: &str) -> ParamSpec {
        spec(name, ParamType::Integer, Some(default.into()), doc)
    }
    /// A float with a default.
    pub fn float(name: &str, default: f64, doc: &str) -> ParamSpec {
        spec(name, ParamType::Float, Some(default.into()), doc)
    }
    /// A boolean with a default.
    pub fn boolean(name: &str, default: bool, doc: &str) -> ParamSpec {
        spec(name, ParamType::Boolean, Some(default.into()), doc)
    }
    /// A list of strings with a default.
    pub fn string_list(name: &str, default: &[&str], doc: &str) -> ParamSpec {
        spec(name, ParamType::StringList, Some(default.iter().map(|s| serde_json::Value::from(*s)).collect()), doc)
    }
    /// A table with a default (a JSON object).
    pub fn table(name: &str, default: serde_json::Value, doc: &str) -> ParamSpec {
        spec(name, ParamType::Table, Some(default), doc)
    }
    /// A parameter without default: the workflow must set it.
    pub fn required(name: &str, ty: ParamType, doc: &str) -> ParamSpec {
        spec(name, ty, None, doc)
    }
    impl ParamSpec {
        /// Never print this parameter's value.
        pub fn secret(mut self) -> Self {
            self.secret = true;
            self
        }
    }
}

/// Merge declared defaults into the parameters JSON object.
pub(crate) fn fill_defaults(info: &PluginInfo, params: &str) -> Result<String, PluginError> {
    let mut obj = match serde_json::from_str::<serde_json::Value>(if params.trim().is_empty() { "{}" } else { params }) {
        Ok(serde_json::Value::Object(m)) => m,
        Ok(_) => return Err(PluginError::bad_params("parameters must be a JSON object")),
        Err(e) => {
            return Err(PluginError::bad_params(format!("parameters are not JSON: {e}")));
        }
    };
    for p in &info.params {
        if obj.contains_key(&p.name) {
            continue;
        }
        match &p.default {
            Some(d) => {
                let v = serde_json::from_str(d).map_err(|e| PluginError::internal(format!("default of `{}` is not JSON: {e}", p.name)))?;
                obj.insert(p.name.clone(), v);
            }
            None => {
                return Err(PluginError::bad_params(format!("missing required parameter `{}`", p.name)));
            }
        }
    }
    Ok(serde_json::Value::Object(obj).to_string())
}
