//! Builders for [`PluginInfo`] and [`ParamSpec`], and parameter defaults.

use crate::{Capabilities, Fact, ParamRules, ParamSpec, ParamType, PluginError, PluginInfo, Probe, ProbeCommand, ProbeScript, ProbeWord};

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

/// The words of a probe command (see [`PluginInfo::probe`]).
fn probe_words(probe: &str, command: &str, program: bool) -> Vec<ProbeWord> {
    fn refuse(probe: &str, command: &str, why: &str) -> ! {
        panic!("probe `{probe}`: {why} in {command:?} (a probe is a program and its words; use probe_script for shell code)")
    }
    let bad = |why: &str| refuse(probe, command, why);
    let mut words = Vec::new();
    let mut chars = command.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ').is_some() {}
        let Some(&first) = chars.peek() else { break };
        if first == '{' && chars.clone().nth(1) != Some('{') {
            chars.next();
            let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
            if chars.peek().is_some_and(|c| *c != ' ') {
                bad("a placeholder must be a whole word");
            }
            words.push(ProbeWord::Param(name));
            continue;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| *c != ' ') {
            match c {
                '\'' | '"' => loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('{') if chars.next_if_eq(&'{').is_some() => word.push('{'),
                        Some('}') if chars.next_if_eq(&'}').is_some() => word.push('}'),
                        Some('{' | '}') => bad("a placeholder must be a whole word"),
                        Some(ch) => word.push(ch),
                        None => bad("an unclosed quote"),
                    }
                },
                '{' if chars.next_if_eq(&'{').is_some() => word.push('{'),
                '}' if chars.next_if_eq(&'}').is_some() => word.push('}'),
                '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '\\' | '*' | '?' | '[' | '~' | '#' | '{' | '}' | '\n' | '\t' => {
                    bad("shell syntax")
                }
                c => word.push(c),
            }
        }
        words.push(ProbeWord::Literal(word));
    }
    if program && !matches!(words.first(), Some(ProbeWord::Literal(p)) if !p.is_empty()) {
        bad("no program");
    }
    words
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
    /// Gather the output of a read-only program before planning.
    /// `command` is a program and its words, split on spaces; a word in
    /// `'…'` or `"…"` may hold spaces (nothing in it is special), `{{` and
    /// `}}` are literal braces, and a whole word `{param}` stands for the
    /// parameter's value (a list: one word per item). No shell reads it: the
    /// host starts the program with these words. For pipes or loops use
    /// [`PluginInfo::probe_script`]. Panics (at `describe`, so a plugin's
    /// unit tests catch it) on anything else.
    pub fn probe(mut self, name: &str, command: &str) -> Self {
        self.probes.push(Probe { name: name.into(), command: ProbeCommand::Argv(probe_words(name, command, true)), sudo: false });
        self
    }
    /// Like [`PluginInfo::probe`], run as root.
    pub fn probe_sudo(mut self, name: &str, command: &str) -> Self {
        self.probes.push(Probe { name: name.into(), command: ProbeCommand::Argv(probe_words(name, command, true)), sudo: true });
        self
    }
    /// A probe that needs a shell (needs [`PluginInfo::shell`]): `code` runs
    /// with `sh -c`, and `args` (words as in [`PluginInfo::probe`]) are its
    /// `$1`, `$2`, ...: parameter values are never part of the code.
    pub fn probe_script(mut self, name: &str, code: &str, args: &str) -> Self {
        let args = probe_words(name, args, false);
        self.probes.push(Probe { name: name.into(), command: ProbeCommand::Script(ProbeScript { code: code.into(), args }), sudo: false });
        self
    }
    /// Like [`PluginInfo::probe_script`], run as root.
    pub fn probe_script_sudo(mut self, name: &str, code: &str, args: &str) -> Self {
        self = self.probe_script(name, code, args);
        if let Some(p) = self.probes.last_mut() {
            p.sudo = true;
        }
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
        ParamSpec {
            name: name.into(),
            type_: ty,
            default: default.map(|d| d.to_string()),
            secret: false,
            doc: doc.into(),
            rules: ParamRules { pattern: None, allowed: Vec::new(), min: None, max: None, non_empty: false },
        }
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
        /// A string (or each item of a list) must match this regular
        /// expression whole (Rust `regex` syntax); checked by the host
        /// before any host is contacted, as every rule below.
        pub fn pattern(mut self, re: &str) -> Self {
            self.rules.pattern = Some(re.into());
            self
        }
        /// A string (or each item) must be one of these.
        pub fn one_of<I: IntoIterator<Item = S>, S: Into<String>>(mut self, values: I) -> Self {
            self.rules.allowed = strings(values).collect();
            self
        }
        /// A number must be at least `min`.
        pub fn min(mut self, min: f64) -> Self {
            self.rules.min = Some(min);
            self
        }
        /// A number must be at most `max`.
        pub fn max(mut self, max: f64) -> Self {
            self.rules.max = Some(max);
            self
        }
        /// An empty string, list or table is refused.
        pub fn non_empty(mut self) -> Self {
            self.rules.non_empty = true;
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
