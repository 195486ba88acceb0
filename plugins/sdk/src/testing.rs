//! Helpers for unit-testing a plugin natively (`cargo test`), without any
//! host: build a [`Context`] from a few facts, probe results and parameters,
//! call your [`Plugin::plan`](crate::Plugin::plan), assert on the actions.
//!
//! ```ignore
//! let ctx = plait_sdk::testing::ContextBuilder::centos7("node1")
//!     .probe("motd", 1, "")
//!     .params(serde_json::json!({ "text": "hi" }))
//!     .build::<MyPlugin>();
//! let plan = MyPlugin::plan(&ctx).unwrap();
//! ```

use crate::{Context, Fact, HostFacts, InventoryHost, Plugin, ProbeResult, ServiceState, Variable};

/// Builds a [`Context`] for tests.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    ctx: Context,
    params: serde_json::Value,
}

impl ContextBuilder {
    /// A freshly installed CentOS 7.9 host named `host` (192.168.100.100).
    pub fn centos7(host: &str) -> Self {
        let me = InventoryHost { name: host.into(), address: "192.168.100.100".into(), groups: Vec::new(), vars: Vec::new() };
        ContextBuilder {
            ctx: Context {
                host: me.clone(),
                facts: HostFacts {
                    hostname: "localhost.localdomain".into(),
                    os_id: "centos".into(),
                    os_version: "7".into(),
                    os_release: "CentOS Linux release 7.9.2009 (Core)".into(),
                    os_family: "rhel".into(),
                    kernel_release: Some("3.10.0-1160.el7.x86_64".into()),
                    arch: Some("x86_64".into()),
                    cpus: 2,
                    memory_mb: Some(3789),
                    swap_total_mb: Some(2047),
                    selinux: Some("enforcing".into()),
                    firewalld: Some(ServiceState { installed: true, active: true, enabled: true }),
                    modules: Some(Vec::new()),
                    sysctls: Some(Vec::new()),
                    primary_ipv4: Some("192.168.100.100".into()),
                    boot_id: "00000000-0000-4000-8000-000000000000".into(),
                },
                probes: Vec::new(),
                inventory: Some(vec![me]),
                params: "{}".into(),
                vars: Vec::new(),
                offline: false,
            },
            params: serde_json::json!({}),
        }
    }

    /// Change the facts (every group is there; [`ContextBuilder::build`]
    /// leaves out those the plugin does not declare, as the host does).
    pub fn facts(mut self, f: impl FnOnce(&mut HostFacts)) -> Self {
        f(&mut self.ctx.facts);
        self
    }

    /// Add a probe result.
    pub fn probe(mut self, name: &str, exit_code: i32, stdout: &str) -> Self {
        self.ctx.probes.push(ProbeResult { name: name.into(), exit_code, stdout: stdout.into() });
        self
    }

    /// Set parameters (the rest take their defaults at [`ContextBuilder::build`]).
    pub fn params(mut self, params: serde_json::Value) -> Self {
        self.params = params;
        self
    }

    /// Put the host being planned in inventory group `name`.
    pub fn group(mut self, name: &str) -> Self {
        self.ctx.host.groups.push(name.into());
        if let Some(me) = self.ctx.inventory.iter_mut().flatten().find(|h| h.name == self.ctx.host.name) {
            me.groups.push(name.into());
        }
        self
    }

    /// Add another inventory host, in `groups`.
    pub fn host(mut self, name: &str, address: &str, groups: &[&str]) -> Self {
        self.ctx.inventory.get_or_insert_with(Vec::new).push(InventoryHost {
            name: name.into(),
            address: address.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            vars: Vec::new(),
        });
        self
    }

    /// Add a captured variable.
    pub fn var(mut self, host: &str, name: &str, value: &str) -> Self {
        self.ctx.vars.push(Variable { host: host.into(), name: name.into(), value: Some(value.into()) });
        self
    }

    /// The context as the host would pass it to `P`: parameter defaults
    /// filled in, and only the groups of facts `P` declares.
    pub fn build<P: Plugin>(mut self) -> Context {
        let info = P::describe();
        self.ctx.params =
            crate::describe::fill_defaults(&info, &self.params.to_string()).unwrap_or_else(|e| panic!("parameters: {}", e.message));
        let f = &mut self.ctx.facts;
        let has = |g: Fact| info.facts.contains(&g);
        if !has(Fact::Kernel) {
            (f.kernel_release, f.arch) = (None, None);
        }
        if !has(Fact::Memory) {
            (f.memory_mb, f.swap_total_mb) = (None, None);
        }
        if !has(Fact::Selinux) {
            f.selinux = None;
        }
        if !has(Fact::Firewalld) {
            f.firewalld = None;
        }
        if !has(Fact::Modules) {
            f.modules = None;
        }
        if !has(Fact::Sysctls) {
            f.sysctls = None;
        }
        if !has(Fact::Network) {
            f.primary_ipv4 = None;
        }
        if !info.inventory {
            self.ctx.inventory = None;
        }
        self.ctx
    }
}

/// What an action does, for assertions in unit tests: `expect_run(&a)`,
/// `expect_file(&a)`; each panics with the action when it is another kind.
pub mod expect {
    use crate::{Action, ActionKind, Program, PutFile, Run};

    /// The `run` of `a` (panics if `a` is another kind).
    pub fn run(a: &Action) -> &Run {
        match &a.kind {
            ActionKind::Run(r) => r,
            _ => panic!("expected a run action, got {a:?}"),
        }
    }

    /// The argv of a run action (panics for a script or another kind).
    pub fn argv(a: &Action) -> Vec<&str> {
        match &run(a).program {
            Program::Argv(w) => w.iter().map(String::as_str).collect(),
            Program::Script(s) => panic!("expected an argv, got the script {s:?} in {a:?}"),
        }
    }

    /// The `put-file` of `a` (panics if `a` is another kind).
    pub fn file(a: &Action) -> &PutFile {
        match &a.kind {
            ActionKind::PutFile(f) => f,
            _ => panic!("expected a put-file action, got {a:?}"),
        }
    }

    /// A put-file's content as text (panics if it is not UTF-8).
    pub fn content(a: &Action) -> &str {
        std::str::from_utf8(&file(a).content).unwrap_or_else(|_| panic!("the content of {a:?} is not text"))
    }
}

#[cfg(test)]
mod expect_tests {
    use super::expect;
    use crate::{Action, cmd, file};

    #[test]
    fn helpers_read_what_an_action_does() {
        let put: Action = file::put("/etc/motd", "hi\n").mode(0o644).into();
        assert_eq!((expect::file(&put).path.as_str(), expect::content(&put), expect::file(&put).mode), ("/etc/motd", "hi\n", Some(0o644)));
        let run: Action = cmd::run(["systemctl", "restart", "x"]).into();
        assert_eq!(expect::argv(&run), ["systemctl", "restart", "x"]);
        assert!(expect::run(&run).sudo);
        assert!(std::panic::catch_unwind(|| expect::file(&run)).is_err());
    }
}
