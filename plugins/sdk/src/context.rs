//! Typed access to what the host passes to `plan`.

use crate::{Context, Fact, InventoryHost, PluginError, ProbeResult, ServiceState};

impl Context {
    /// Deserialize the step's parameters (defaults already filled in).
    pub fn params<T: serde::de::DeserializeOwned>(&self) -> Result<T, PluginError> {
        serde_json::from_str(&self.params).map_err(|e| PluginError::bad_params(e.to_string()))
    }

    /// The result of the probe `name`, or an error naming it when the host
    /// did not supply it (a plugin bug or a hand-written facts file).
    pub fn probe(&self, name: &str) -> Result<&ProbeResult, PluginError> {
        self.probes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PluginError::internal(format!("probe `{name}` has no result for host {}", self.host.name)))
    }

    /// The value of variable `name` captured on `host`.
    pub fn var(&self, host: &str, name: &str) -> Option<&str> {
        self.vars.iter().find(|v| v.host == host && v.name == name).and_then(|v| v.value.as_deref())
    }

    /// Whether `name` is a variable not captured yet in a dry run or an
    /// offline plan (the host passes it without a value): plan what can be
    /// planned without it.
    pub fn pending(&self, name: &str) -> bool {
        self.offline && self.vars.iter().any(|v| v.name == name && v.value.is_none())
    }

    /// The first value of variable `name` captured on any host.
    pub fn var_any(&self, name: &str) -> Option<(&str, &str)> {
        self.vars.iter().find_map(|v| Some((v.host.as_str(), v.value.as_deref()?)).filter(|_| v.name == name))
    }

    /// Every inventory host, in inventory order; an error when the plugin
    /// does not declare [`crate::PluginInfo::inventory`] (the host passed none).
    pub fn inventory(&self) -> Result<&[InventoryHost], PluginError> {
        self.inventory
            .as_deref()
            .ok_or_else(|| PluginError::internal("the plugin reads the inventory without declaring it in describe() (`.inventory()`)"))
    }

    /// Inventory hosts in `group` (`all` matches every host); needs
    /// [`crate::PluginInfo::inventory`].
    pub fn hosts_in(&self, group: &str) -> Result<impl Iterator<Item = &InventoryHost>, PluginError> {
        let group = group.to_string();
        Ok(self.inventory()?.iter().filter(move |h| group == "all" || h.groups.contains(&group)))
    }

    /// Whether the planned host is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        group == "all" || self.host.groups.iter().any(|g| g == group)
    }

    /// A per-host inventory variable, decoded from JSON.
    pub fn host_var<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.host.vars.iter().find(|(k, _)| k == name).and_then(|(_, v)| serde_json::from_str(v).ok())
    }
}

/// A fact of group `fact`, or the error a plugin gets when it reads a group
/// it did not declare in `describe` (the host did not read it).
fn declared<'a, T: ?Sized>(value: Option<&'a T>, fact: Fact) -> Result<&'a T, PluginError> {
    value.ok_or_else(|| {
        PluginError::internal(format!(
            "the plugin reads the `{}` facts without declaring them in describe() (`.facts([Fact::{fact:?}])`)",
            fact_name(fact)
        ))
    })
}

fn fact_name(f: Fact) -> &'static str {
    match f {
        Fact::Kernel => "kernel",
        Fact::Memory => "memory",
        Fact::Selinux => "selinux",
        Fact::Firewalld => "firewalld",
        Fact::Modules => "modules",
        Fact::Sysctls => "sysctls",
        Fact::Network => "network",
    }
}

/// The core facts in groups the plugin declares ([`crate::PluginInfo::facts`]);
/// each is an error naming the group when it was not declared.
impl Context {
    /// The running kernel (`uname -r`), group [`Fact::Kernel`].
    pub fn kernel_release(&self) -> Result<&str, PluginError> {
        declared(self.facts.kernel_release.as_deref(), Fact::Kernel)
    }

    /// The machine architecture (`uname -m`), group [`Fact::Kernel`].
    pub fn arch(&self) -> Result<&str, PluginError> {
        declared(self.facts.arch.as_deref(), Fact::Kernel)
    }

    /// Total memory in MiB, group [`Fact::Memory`].
    pub fn memory_mb(&self) -> Result<u64, PluginError> {
        declared(self.facts.memory_mb.as_ref(), Fact::Memory).copied()
    }

    /// Active swap in MiB (0: swap is off), group [`Fact::Memory`].
    pub fn swap_total_mb(&self) -> Result<u64, PluginError> {
        declared(self.facts.swap_total_mb.as_ref(), Fact::Memory).copied()
    }

    /// SELinux's runtime mode (`enforcing`, `permissive`, `disabled`), group [`Fact::Selinux`].
    pub fn selinux(&self) -> Result<&str, PluginError> {
        declared(self.facts.selinux.as_deref(), Fact::Selinux)
    }

    /// firewalld's state, group [`Fact::Firewalld`].
    pub fn firewalld(&self) -> Result<&ServiceState, PluginError> {
        declared(self.facts.firewalld.as_ref(), Fact::Firewalld)
    }

    /// Whether kernel module `name` is loaded, group [`Fact::Modules`].
    pub fn module_loaded(&self, name: &str) -> Result<bool, PluginError> {
        Ok(declared(self.facts.modules.as_deref(), Fact::Modules)?.iter().any(|m| m == name))
    }

    /// The value of sysctl `name`, if the key exists, group [`Fact::Sysctls`].
    pub fn sysctl(&self, name: &str) -> Result<Option<&str>, PluginError> {
        Ok(declared(self.facts.sysctls.as_deref(), Fact::Sysctls)?.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()))
    }
}

impl Context {
    /// Refuse hosts outside an OS family (`rhel`, `debian`, ...), naming the plugin.
    pub fn require_os_family(&self, family: &str, plugin: &str) -> Result<(), PluginError> {
        if self.facts.os_family == family {
            Ok(())
        } else {
            Err(PluginError::unsupported(format!(
                "{plugin} supports the {family} family, this host is {} {}",
                self.facts.os_id, self.facts.os_version
            )))
        }
    }

    /// Whether a probe exited 0.
    pub fn probe_ok(&self, name: &str) -> Result<bool, PluginError> {
        Ok(self.probe(name)?.exit_code == 0)
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::testing::ContextBuilder;

    struct Reads;
    impl Plugin for Reads {
        fn describe() -> PluginInfo {
            info("reads", "0.1.0", "reads selinux").facts([Fact::Selinux])
        }
        fn plan(ctx: &Context) -> Result<Plan, PluginError> {
            Ok(Plan::nothing(format!("selinux {}", ctx.selinux()?)))
        }
    }

    #[test]
    fn a_declared_group_is_there_and_an_undeclared_one_is_an_error_naming_it() {
        let ctx = ContextBuilder::centos7("a").build::<Reads>();
        assert_eq!(ctx.selinux().unwrap(), "enforcing");
        let e = ctx.module_loaded("xfs").unwrap_err();
        assert!(e.message.contains("`modules` facts without declaring them") && e.message.contains("Fact::Modules"), "{}", e.message);
        assert!(ctx.kernel_release().is_err() && ctx.firewalld().is_err() && ctx.swap_total_mb().is_err());
        let e = ctx.hosts_in("all").err().expect("no inventory declared");
        assert!(e.message.contains("`.inventory()`"), "{}", e.message);
    }
}
