//! `bridge-net`: the tutorial's "流量桥接" section. Loads br_netfilter now
//! and at boot, writes the bridge/forwarding sysctls to one file under
//! /etc/sysctl.d (instead of appending to /etc/sysctl.conf on every run) and
//! applies them with `sysctl --system` when the file or a live value differs.

use plait_sdk::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Params {
    sysctls: BTreeMap<String, String>,
    sysctl_file: String,
    modules_file: String,
}

fn default_sysctls() -> serde_json::Value {
    serde_json::json!({
        "net.ipv4.ip_forward": "1",
        "net.bridge.bridge-nf-call-ip6tables": "1",
        "net.bridge.bridge-nf-call-iptables": "1",
        "net.ipv6.conf.all.disable_ipv6": "1",
        "net.ipv6.conf.default.disable_ipv6": "1",
        "net.ipv6.conf.lo.disable_ipv6": "1",
        "net.ipv6.conf.all.forwarding": "1",
    })
}

struct BridgeNet;

fn file_content(sysctls: &BTreeMap<String, String>) -> String {
    let mut s = String::from("# Written by plait (bridge-net): bridged traffic through iptables, forwarding.\n");
    for (k, v) in sysctls {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

impl Plugin for BridgeNet {
    fn describe() -> PluginInfo {
        info("bridge-net", env!("CARGO_PKG_VERSION"), "br_netfilter and the bridge/forwarding sysctls, now and at boot")
            .param(param::table("sysctls", default_sysctls(), "sysctl name -> value"))
            .param(param::string("sysctl_file", "/etc/sysctl.d/k8s.conf", "file the sysctls are written to"))
            .param(param::string("modules_file", "/etc/modules-load.d/br_netfilter.conf", "file that loads br_netfilter at boot"))
            .probe("sysctl_file", "cat {sysctl_file}")
            .probe("modules_file", "cat {modules_file}")
            // Every key of the table, whatever it is (core facts read only a
            // fixed set): `sysctl KEY...` prints `KEY = VALUE` per key
            // that exists and goes on past a missing one (its exit status
            // is then 255, so only the output is read).
            .probe("live", "sysctl {sysctls}")
            // `cat` only in probes: one program each, so no `shell`.
            .facts([Fact::Modules])
            .programs(["modprobe", "sysctl", "cat"])
            .writes(["/etc/sysctl.d/", "/etc/modules-load.d/"])
            // What a dry run may show the current content of.
            .reads(["/etc/sysctl.d/", "/etc/modules-load.d/"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "bridge-net")?;
        let p: Params = ctx.params()?;
        for (k, v) in &p.sysctls {
            let key_ok = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
            if !key_ok || v.contains('\n') {
                return Err(PluginError::bad_params(format!("invalid sysctl {k:?} = {v:?}")));
            }
        }
        let mut actions: Vec<Action> = Vec::new();
        let mut done = Vec::new();

        if ctx.module_loaded("br_netfilter")? {
            done.push("br_netfilter is loaded".to_string());
        } else {
            actions.push(cmd::run(["modprobe", "br_netfilter"]).summary("load br_netfilter").into());
        }
        let modules = ctx.probe("modules_file")?;
        if modules.exit_code == 0 && modules.stdout.lines().any(|l| l.trim() == "br_netfilter") {
            done.push(format!("{} loads it at boot", p.modules_file));
        } else {
            actions.push(file::put(&p.modules_file, "br_netfilter\n").mode(0o644).summary("load br_netfilter at boot").into());
        }

        let want = file_content(&p.sysctls);
        let current = ctx.probe("sysctl_file")?;
        let file_ok = current.exit_code == 0 && current.stdout == want;
        if !file_ok {
            actions.push(
                file::put(&p.sysctl_file, want)
                    .mode(0o644)
                    .summary(format!("write {} sysctls to {}", p.sysctls.len(), p.sysctl_file))
                    .into(),
            );
        }
        let live = ctx.probe("live")?;
        let live: BTreeMap<&str, &str> = live.stdout.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim(), v.trim())).collect();
        let stale: Vec<&String> = p.sysctls.iter().filter(|(k, v)| live.get(k.as_str()) != Some(&v.as_str())).map(|(k, _)| k).collect();
        if !file_ok || !stale.is_empty() {
            let why = if stale.is_empty() { "file changed".to_string() } else { format!("{} live value(s) differ", stale.len()) };
            actions.push(cmd::run(["sysctl", "--system"]).summary(format!("apply sysctls ({why})")).into());
        } else {
            done.push(format!("{} sysctls set in {} and live", p.sysctls.len(), p.sysctl_file));
        }
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(BridgeNet);
