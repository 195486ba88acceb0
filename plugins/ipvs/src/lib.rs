//! `ipvs`: the tutorial's "开启ipvs" section. Installs ipset and ipvsadm,
//! writes /etc/sysconfig/modules/ipvs.modules (executable, so CentOS runs it
//! at boot), runs it when a module is missing, and verifies with lsmod.
//! On 3.10 kernels the conntrack module is nf_conntrack_ipv4; from 4.19 on
//! it was merged into nf_conntrack.

use plait_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    packages: Vec<String>,
    modules: Vec<String>,
    script: String,
}

struct Ipvs;

fn conntrack_module(kernel: &str) -> &'static str {
    if version::at_least(kernel, "4.19") { "nf_conntrack" } else { "nf_conntrack_ipv4" }
}

impl Plugin for Ipvs {
    fn describe() -> PluginInfo {
        info("ipvs", env!("CARGO_PKG_VERSION"), "ipset, ipvsadm and the IPVS kernel modules, now and at boot")
            .param(param::string_list("packages", &["ipset", "ipvsadm"], "packages to install"))
            .param(param::string_list(
                "modules",
                &["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"],
                "IPVS modules (the right conntrack module is added)",
            ))
            .param(param::string("script", "/etc/sysconfig/modules/ipvs.modules", "boot-time module script"))
            .probe_script("packages", rpm::PROBE_SCRIPT, "{packages}")
            .probe("script", "cat {script}")
            .probe("script_mode", "stat -c %a {script}")
            .facts([Fact::Kernel, Fact::Modules])
            .programs(["yum", "rpm", "bash", "lsmod"])
            .shell()
            .writes(["/etc/sysconfig/modules/"])
            .reads(["/etc/sysconfig/modules/"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "ipvs")?;
        let p: Params = ctx.params()?;
        let mut modules = p.modules.clone();
        modules.push(conntrack_module(ctx.kernel_release()?).to_string());
        for m in &modules {
            if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(PluginError::bad_params(format!("invalid module name {m:?}")));
            }
        }
        let mut actions: Vec<Action> = Vec::new();
        let mut done = Vec::new();

        // rpm::converge: yum must not skip a name it cannot find.
        let pins: Vec<rpm::Pin> = p.packages.iter().map(|s| rpm::Pin::parse(s)).collect();
        let pinned = rpm::state(&pins, &ctx.probe("packages")?.stdout);
        if pinned.converged() {
            done.push(format!("{} installed", p.packages.join(", ")));
        } else {
            actions.extend(rpm::converge(&pins, &pinned, &[]));
        }

        let mut script = String::from("#!/bin/bash\n");
        for m in &modules {
            script.push_str(&format!("modprobe -- {m}\n"));
        }
        let current = ctx.probe("script")?;
        let mode_ok = ctx.probe("script_mode")?.stdout.trim() == "755";
        let script_ok = current.exit_code == 0 && current.stdout == script && mode_ok;
        if !script_ok {
            actions.push(file::put(&p.script, script).mode(0o755).summary(format!("write {} (executable)", p.script)).into());
        }
        let mut missing_modules: Vec<&String> = Vec::new();
        for m in &modules {
            if !ctx.module_loaded(m)? {
                missing_modules.push(m);
            }
        }
        if missing_modules.is_empty() && script_ok {
            done.push(format!("{} loaded and loaded at boot", modules.join(", ")));
        } else if !missing_modules.is_empty() {
            actions.push(
                cmd::run(["bash", p.script.as_str()])
                    .summary(format!("load {}", missing_modules.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))
                    .into(),
            );
            let checks: Vec<String> = modules.iter().map(|m| format!("lsmod | grep -qw -- {}", shell::quote(m))).collect();
            actions.push(cmd::script(checks.join(" && ")).read_only().summary("verify the modules with lsmod").into());
        }
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(Ipvs);
