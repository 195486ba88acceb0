//! Conversions between the generated WIT types, one set per contract
//! version, and the host's own model. Only this file and [`super::loaded`]
//! know the generated types. The versions differ only in the core facts
//! (0.2 declares and receives only some groups); everything else is written
//! once, in [`shared!`], and expanded in each version's module.

use super::capabilities::Capabilities;
use super::info::{ParamRules, ParamSpec, ParamType, PluginInfo, Probe};
use crate::model::{Action, ActionKind, FactSet, FetchFile, InventoryHost, PlanContext, Program, PutFile, Reboot, Run, Variable};
use crate::model::{HostFacts, ProbeResult, ProbeSource};

/// The conversions every version shares, for the `wit` types in scope
/// where it is expanded (paths in `macro_rules!` resolve there).
macro_rules! shared {
    ($version:literal) => {
        /// `describe()`'s answer in host types, with the fact groups it
        /// reads. A default that is not JSON is reported as the plugin's bug.
        fn plugin_info_with(i: wit::PluginInfo, facts: FactSet, inventory: bool) -> Result<PluginInfo, String> {
            let mut params = Vec::with_capacity(i.params.len());
            for p in i.params {
                let rules = rules(&p);
                let default = match p.default {
                    None => None,
                    Some(d) => Some(serde_json::from_str(&d).map_err(|e| format!("default of parameter `{}` is not JSON: {e}", p.name))?),
                };
                params.push(ParamSpec {
                    name: p.name,
                    ty: match p.type_ {
                        wit::ParamType::String => ParamType::String,
                        wit::ParamType::Integer => ParamType::Integer,
                        wit::ParamType::Float => ParamType::Float,
                        wit::ParamType::Boolean => ParamType::Boolean,
                        wit::ParamType::StringList => ParamType::StringList,
                        wit::ParamType::Table => ParamType::Table,
                    },
                    default,
                    secret: p.secret,
                    rules,
                    doc: p.doc,
                });
            }
            Ok(PluginInfo {
                name: i.name,
                version: i.version,
                summary: i.summary,
                params,
                probes: i.probes.into_iter().map(probe).collect(),
                facts,
                inventory,
                contract: $version,
                capabilities: Capabilities {
                    programs: i.capabilities.programs,
                    shell: i.capabilities.shell,
                    writes: i.capabilities.writes,
                    reads: i.capabilities.reads,
                    reboot: i.capabilities.reboot,
                    assets: i.capabilities.assets,
                    // The contract cannot say; a workflow can take it away.
                    sudo: true,
                    // A plugin cannot declare sensitive variables: only a grant adds them.
                    env: Vec::new(),
                    launchers: Vec::new(),
                    dry_run_reads: false,
                    setuid: false,
                },
                produces: i.produces,
                consumes: i.consumes,
            })
        }

        fn inventory_host(h: &InventoryHost) -> wit::InventoryHost {
            wit::InventoryHost { name: h.name.clone(), address: h.address.clone(), groups: h.groups.clone(), vars: h.vars.clone() }
        }

        /// The WIT context for one call to the plugin described by `info`.
        pub fn context(c: &PlanContext, info: &PluginInfo) -> wit::Context {
            wit::Context {
                host: inventory_host(&c.host),
                facts: facts(&c.facts, info.facts),
                probes: c
                    .probes
                    .iter()
                    .map(|(name, r): &(String, ProbeResult)| wit::ProbeResult {
                        name: name.clone(),
                        exit_code: r.exit_code,
                        stdout: r.stdout.clone(),
                    })
                    .collect(),
                inventory: inventory(c.inventory.iter().map(inventory_host), info.inventory),
                params: c.params.to_string(),
                vars: c
                    .vars
                    .iter()
                    .map(|v: &Variable| wit::Variable { host: v.host.clone(), name: v.name.clone(), value: var_value(v) })
                    .collect(),
                offline: c.offline,
            }
        }

        fn program(p: wit::Program) -> Program {
            match p {
                wit::Program::Argv(a) => Program::Argv(a),
                wit::Program::Script(s) => Program::Script(s),
            }
        }

        /// A returned action in host types.
        pub fn action(a: wit::Action) -> Action {
            let when_changed = when_changed(&a);
            let kind = match a.kind {
                wit::ActionKind::Run(r) => ActionKind::Run(Run {
                    program: program(r.program),
                    sudo: r.sudo,
                    stdin: r.stdin,
                    env: r.env,
                    timeout_secs: r.timeout_secs,
                    retries: r.retries,
                    retry_delay_secs: r.retry_delay_secs,
                    unless: r.unless.map(program),
                    capture: r.capture,
                    secret: r.secret,
                    read_only: r.read_only,
                }),
                wit::ActionKind::PutFile(f) => {
                    ActionKind::PutFile(PutFile { path: f.path, content: f.content, mode: f.mode, owner: f.owner, group: f.group })
                }
                wit::ActionKind::Reboot(r) => ActionKind::Reboot(Reboot { timeout_secs: r.timeout_secs }),
                wit::ActionKind::FetchFile(f) => ActionKind::FetchFile(FetchFile { path: f.path, into: f.into, secret: f.secret }),
            };
            Action { summary: a.summary, kind, when_changed }
        }

        /// A plugin error's category as a word.
        pub fn error_kind(k: wit::ErrorKind) -> &'static str {
            match k {
                wit::ErrorKind::BadParams => "bad parameters",
                wit::ErrorKind::UnsupportedHost => "unsupported host",
                wit::ErrorKind::MissingVariable => "missing variable",
                wit::ErrorKind::Internal => "internal error",
            }
        }
    };
}

/// What 0.1 and 0.2 lack: probes are shell templates
/// ([`crate::model::parse_template`] decides whether one is a program),
/// parameters have no rules, a variable not captured yet is a placeholder
/// string, and every action runs unconditionally.
macro_rules! before_0_3 {
    () => {
        fn probe(p: wit::Probe) -> Probe {
            Probe { name: p.name, source: ProbeSource::Template { text: p.command }, sudo: p.sudo }
        }
        fn rules<T>(_: &T) -> ParamRules {
            ParamRules::default()
        }
        fn var_value(v: &Variable) -> String {
            v.legacy_value()
        }
        fn when_changed(_: &wit::Action) -> Vec<u32> {
            Vec::new()
        }
    };
}

/// `plait:plugin@0.1.0`: every core fact, always.
pub mod v0_1 {
    use super::*;
    use crate::plugin::bindings::v0_1::plait::plugin::types as wit;

    shared!("0.1.0");
    before_0_3!();

    /// `describe()`'s answer: a 0.1 plugin reads every group of facts.
    pub fn plugin_info(i: wit::PluginInfo) -> Result<PluginInfo, String> {
        plugin_info_with(i, FactSet::all(), true)
    }

    /// A 0.1 plugin always gets the inventory.
    fn inventory(hosts: impl Iterator<Item = wit::InventoryHost>, _declared: bool) -> Vec<wit::InventoryHost> {
        hosts.collect()
    }

    fn facts(f: &HostFacts, _declared: FactSet) -> wit::HostFacts {
        wit::HostFacts {
            hostname: f.hostname.clone(),
            os_id: f.os_id.clone(),
            os_version: f.os_version.clone(),
            os_release: f.os_release.clone(),
            os_family: f.os_family.clone(),
            kernel_release: f.kernel_release.clone(),
            arch: f.arch.clone(),
            cpus: f.cpus,
            memory_mb: f.memory_mb,
            swap_total_mb: f.swap_total_mb,
            selinux: f.selinux.clone(),
            firewalld: wit::ServiceState { installed: f.firewalld.installed, active: f.firewalld.active, enabled: f.firewalld.enabled },
            modules: f.modules.clone(),
            sysctls: f.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            primary_ipv4: f.primary_ipv4.clone(),
            boot_id: f.boot_id.clone(),
        }
    }
}

/// From 0.2 on: the groups of facts and the inventory the plugin declared.
macro_rules! declared_facts {
    () => {
        /// `describe()`'s answer, with the groups of facts it declared.
        pub fn plugin_info(i: wit::PluginInfo) -> Result<PluginInfo, String> {
            let facts = i
                .facts
                .iter()
                .map(|f| match f {
                    wit::Fact::Kernel => FactGroup::Kernel,
                    wit::Fact::Memory => FactGroup::Memory,
                    wit::Fact::Selinux => FactGroup::Selinux,
                    wit::Fact::Firewalld => FactGroup::Firewalld,
                    wit::Fact::Modules => FactGroup::Modules,
                    wit::Fact::Sysctls => FactGroup::Sysctls,
                    wit::Fact::Network => FactGroup::Network,
                })
                .collect();
            let inventory = i.inventory;
            plugin_info_with(i, facts, inventory)
        }

        /// The inventory only for a plugin that declared it reads it.
        fn inventory(hosts: impl Iterator<Item = wit::InventoryHost>, declared: bool) -> Option<Vec<wit::InventoryHost>> {
            declared.then(|| hosts.collect())
        }

        /// Only the groups the plugin declared (`none` for the rest, even when
        /// an earlier step read them: what a plugin sees must not depend on the
        /// steps around it).
        fn facts(f: &HostFacts, declared: FactSet) -> wit::HostFacts {
            let has = |g| f.gathered.contains(g) && declared.contains(g);
            wit::HostFacts {
                hostname: f.hostname.clone(),
                os_id: f.os_id.clone(),
                os_version: f.os_version.clone(),
                os_release: f.os_release.clone(),
                os_family: f.os_family.clone(),
                kernel_release: has(FactGroup::Kernel).then(|| f.kernel_release.clone()),
                arch: has(FactGroup::Kernel).then(|| f.arch.clone()),
                cpus: f.cpus,
                memory_mb: has(FactGroup::Memory).then_some(f.memory_mb),
                swap_total_mb: has(FactGroup::Memory).then_some(f.swap_total_mb),
                selinux: has(FactGroup::Selinux).then(|| f.selinux.clone()),
                firewalld: has(FactGroup::Firewalld).then(|| wit::ServiceState {
                    installed: f.firewalld.installed,
                    active: f.firewalld.active,
                    enabled: f.firewalld.enabled,
                }),
                modules: has(FactGroup::Modules).then(|| f.modules.clone()),
                sysctls: has(FactGroup::Sysctls).then(|| f.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                primary_ipv4: f.primary_ipv4.clone().filter(|_| has(FactGroup::Network)),
                boot_id: f.boot_id.clone(),
            }
        }
    };
}

/// `plait:plugin@0.2.0`: the groups of facts the plugin declared.
pub mod v0_2 {
    use super::*;
    use crate::model::FactGroup;
    use crate::plugin::bindings::v0_2::plait::plugin::types as wit;

    shared!("0.2.0");
    before_0_3!();
    declared_facts!();
}

/// `plait:plugin@0.3.0`: probes as argv or scripts, parameter rules,
/// typed variables (only those consumed), actions after others changed.
pub mod v0_3 {
    use super::*;
    use crate::model::{FactGroup, ProbeWord};
    use crate::plugin::bindings::v0_3::plait::plugin::types as wit;

    shared!("0.3.0");
    declared_facts!();

    fn words(w: Vec<wit::ProbeWord>) -> Vec<ProbeWord> {
        w.into_iter()
            .map(|w| match w {
                wit::ProbeWord::Literal(s) => ProbeWord::Literal(s),
                wit::ProbeWord::Param(p) => ProbeWord::Param(p),
            })
            .collect()
    }

    fn probe(p: wit::Probe) -> Probe {
        let source = match p.command {
            wit::ProbeCommand::Argv(w) => ProbeSource::Argv { words: words(w) },
            wit::ProbeCommand::Script(s) => ProbeSource::Script { code: s.code, args: words(s.args) },
        };
        Probe { name: p.name, source, sudo: p.sudo }
    }

    fn rules(p: &wit::ParamSpec) -> ParamRules {
        let r = &p.rules;
        ParamRules { pattern: r.pattern.clone(), allowed: r.allowed.clone(), min: r.min, max: r.max, non_empty: r.non_empty }
    }

    fn var_value(v: &Variable) -> Option<String> {
        v.value.clone()
    }

    fn when_changed(a: &wit::Action) -> Vec<u32> {
        a.when_changed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FactGroup;

    fn info(facts: &[FactGroup], inventory: bool) -> PluginInfo {
        PluginInfo {
            name: "p".into(),
            version: "0.1.0".into(),
            summary: String::new(),
            params: vec![],
            probes: vec![],
            facts: facts.iter().copied().collect(),
            inventory,
            contract: "0.2.0",
            capabilities: Capabilities::default(),
            produces: vec![],
            consumes: vec![],
        }
    }

    fn ctx() -> PlanContext {
        let me = InventoryHost { name: "a".into(), address: "10.0.0.1".into(), groups: vec![], vars: vec![] };
        PlanContext {
            host: me.clone(),
            // Every group read (an earlier step declared them all).
            facts: crate::facts::centos7("a", "10.0.0.1"),
            probes: vec![],
            inventory: vec![me].into(),
            params: serde_json::json!({}),
            vars: vec![],
            offline: false,
        }
    }

    #[test]
    fn a_0_2_plugin_sees_only_what_it_declares_whatever_was_read() {
        let c = v0_2::context(&ctx(), &info(&[FactGroup::Selinux], false));
        assert_eq!(c.facts.selinux.as_deref(), Some("enforcing"));
        assert!(c.facts.modules.is_none() && c.facts.kernel_release.is_none() && c.facts.firewalld.is_none());
        assert!(c.facts.memory_mb.is_none() && c.facts.sysctls.is_none() && c.facts.primary_ipv4.is_none());
        assert!(c.inventory.is_none(), "no inventory without declaring it");
        assert_eq!(c.facts.hostname, "localhost.localdomain", "always there");
        let c = v0_2::context(&ctx(), &info(&[FactGroup::Kernel, FactGroup::Network], true));
        assert_eq!(c.facts.kernel_release.as_deref(), Some("3.10.0-1160.el7.x86_64"));
        assert_eq!(c.facts.primary_ipv4.as_deref(), Some("10.0.0.1"));
        assert_eq!(c.inventory.map(|i| i.len()), Some(1));
    }

    #[test]
    fn a_0_1_plugin_gets_everything() {
        let c = v0_1::context(&ctx(), &info(&[], false));
        assert_eq!((c.facts.selinux.as_str(), c.inventory.len()), ("enforcing", 1));
    }
}
