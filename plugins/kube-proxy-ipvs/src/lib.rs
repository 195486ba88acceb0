//! `kube-proxy-ipvs`: the tutorial's "设置kube-proxy的ipvs模式" section.
//! Sets `mode: "ipvs"` in the kube-proxy ConfigMap (a merge patch of the
//! config, instead of the tutorial's interactive `kubectl edit`, whose listing
//! also repeats keys by mistake) and restarts the kube-proxy pods, which is
//! also done when the ConfigMap is right but a pod still runs another proxier.

use plait_sdk::prelude::*;
use serde::Deserialize;

const KUBECONFIG: &str = "--kubeconfig=/etc/kubernetes/admin.conf";

#[derive(Deserialize)]
struct Params {
    mode: String,
}

struct KubeProxyIpvs;

/// The config with its top-level `mode:` line set to `mode`.
fn with_mode(config: &str, mode: &str) -> Option<String> {
    let mut found = false;
    let lines: Vec<String> = config
        .lines()
        .map(|l| {
            if l.starts_with("mode:") {
                found = true;
                format!("mode: \"{mode}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    found.then(|| lines.join("\n") + if config.ends_with('\n') { "\n" } else { "" })
}

/// Merge-patch the kube-proxy ConfigMap with `patch` (JSON), as argv.
fn patch_action(mode: &str, patch: &str) -> Action {
    cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "patch", "configmap", "kube-proxy", "--type", "merge", "-p", patch])
        .summary(format!("set mode: \"{mode}\" in the kube-proxy ConfigMap"))
        .into()
}

/// Delete the kube-proxy pods; their DaemonSet starts them with the new config.
fn restart_action(summary: &str) -> Action {
    cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "delete", "pod", "-l", "k8s-app=kube-proxy"]).summary(summary).into()
}

fn current_mode(config: &str) -> Option<String> {
    config.lines().find_map(|l| l.strip_prefix("mode:")).map(|m| m.trim().trim_matches('"').to_string())
}

impl Plugin for KubeProxyIpvs {
    fn describe() -> PluginInfo {
        info("kube-proxy-ipvs", env!("CARGO_PKG_VERSION"), "kube-proxy in IPVS mode: ConfigMap and pods")
            .param(param::string("mode", "ipvs", "proxy mode to set"))
            .probe_sudo("config", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get configmap kube-proxy -o 'jsonpath={{.data.config\\.conf}}'")
            .probe_sudo("logs", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system logs -l k8s-app=kube-proxy --tail=100")
            .programs(["kubectl"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        if !matches!(p.mode.as_str(), "ipvs" | "iptables") {
            return Err(PluginError::bad_params(format!("mode must be \"ipvs\" or \"iptables\", not {:?}", p.mode)));
        }
        let config = ctx.probe("config")?;
        if config.exit_code != 0 && ctx.offline {
            // Planned from facts recorded before the cluster existed: show
            // what will happen once kubeadm has created the ConfigMap.
            return Ok(Plan::from(vec![
                patch_action(&p.mode, "<config.conf read at run time, with mode set>"),
                restart_action("restart the kube-proxy pods"),
            ]));
        }
        if config.exit_code != 0 {
            return Err(PluginError::unsupported(
                "the kube-proxy ConfigMap cannot be read here (run this step on the control-plane host, after kubeadm)",
            ));
        }
        let mut actions: Vec<Action> = Vec::new();
        let cm_ok = current_mode(&config.stdout).as_deref() == Some(p.mode.as_str());
        if !cm_ok {
            let new = with_mode(&config.stdout, &p.mode)
                .ok_or_else(|| PluginError::internal("the kube-proxy config has no top-level `mode:` line"))?;
            let patch = serde_json::json!({ "data": { "config.conf": new } }).to_string();
            actions.push(patch_action(&p.mode, &patch));
        }
        // kube-proxy logs "Using ipvs Proxier" (or iptables) when it starts.
        let want = format!("Using {} Proxier", p.mode);
        let logs = ctx.probe("logs")?;
        let stale = logs.stdout.lines().filter(|l| l.contains("Proxier") && !l.contains(&want)).count();
        if !cm_ok || stale > 0 {
            let why = if cm_ok {
                format!("restart {stale} kube-proxy pod(s) still on another proxier")
            } else {
                "restart the kube-proxy pods".to_string()
            };
            actions.push(restart_action(&why));
        }
        let done = if actions.is_empty() { format!("kube-proxy runs in {} mode", p.mode) } else { String::new() };
        Ok(Plan::new(actions, done))
    }
}

register_plugin!(KubeProxyIpvs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_top_level_mode() {
        let cfg = "ipvs:\n  scheduler: \"\"\nkind: KubeProxyConfiguration\nmode: \"\"\nnodePortAddresses: null\n";
        let out = with_mode(cfg, "ipvs").unwrap();
        assert_eq!(out, "ipvs:\n  scheduler: \"\"\nkind: KubeProxyConfiguration\nmode: \"ipvs\"\nnodePortAddresses: null\n");
        assert_eq!(current_mode(&out).as_deref(), Some("ipvs"));
        assert_eq!(current_mode(cfg).as_deref(), Some(""));
        assert!(with_mode("kind: x\n", "ipvs").is_none());
    }
}
