//! `kube-proxy-ipvs`: the tutorial's "设置kube-proxy的ipvs模式" section.
//! Sets `mode: "ipvs"` in the kube-proxy ConfigMap (a merge patch of the
//! config, instead of the tutorial's interactive `kubectl edit`, whose listing
//! also repeats keys by mistake) and restarts the kube-proxy pods so they
//! read it.
//!
//! Whether the pods run the current config is decided from the cluster's
//! objects, not from their logs: the restart stamps the DaemonSet's pod
//! template with the sha256 of the config it rolls out (annotation
//! `plait/config-sha256`), which makes the DaemonSet controller replace
//! every pod, as `kubectl rollout restart` does. A template without the
//! stamp, or with another config's, means some pod may run an older config.
//! (Logs were the wrong evidence: kube-proxy v1.21.10 logs `Using ipvs
//! Proxier.` then `creating dualStackProxier for ipvs.`, 1.23 structured
//! `"Using ipvs Proxier"`, and a grep for "Proxier" restarted the pods on
//! every run.)

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

/// The pod-template annotation that records the config the pods run.
const STAMP: &str = "plait/config-sha256";

/// Stamp the DaemonSet's pod template with `sha`: the controller replaces
/// every kube-proxy pod, and the new pods read the ConfigMap.
fn restart_action(sha: &str, summary: &str) -> Action {
    let patch = serde_json::json!({ "spec": { "template": { "metadata": { "annotations": { STAMP: sha } } } } }).to_string();
    cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "patch", "daemonset", "kube-proxy", "-p", patch.as_str()]).summary(summary).into()
}

/// Wait, bounded and read-only, until every pod runs the new template.
fn wait_action() -> Action {
    cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "rollout", "status", "daemonset/kube-proxy", "--timeout=300s"])
        .timeout_secs(330)
        .read_only()
        .summary("wait until every kube-proxy pod has restarted")
        .into()
}

fn current_mode(config: &str) -> Option<String> {
    config.lines().find_map(|l| l.strip_prefix("mode:")).map(|m| m.trim().trim_matches('"').to_string())
}

impl Plugin for KubeProxyIpvs {
    fn describe() -> PluginInfo {
        info("kube-proxy-ipvs", env!("CARGO_PKG_VERSION"), "kube-proxy in IPVS mode: ConfigMap and pods")
            .param(param::string("mode", "ipvs", "proxy mode to set"))
            .probe_sudo("config", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get configmap kube-proxy -o 'jsonpath={{.data.config\\.conf}}'")
            .probe_sudo(
                "stamp",
                "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get daemonset kube-proxy -o 'jsonpath={{.spec.template.metadata.annotations.plait/config-sha256}}'",
            )
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
                restart_action("<sha256 of the new config>", "restart the kube-proxy pods"),
                wait_action(),
            ]));
        }
        if config.exit_code != 0 {
            return Err(PluginError::unsupported(
                "the kube-proxy ConfigMap cannot be read here (run this step on the control-plane host, after kubeadm)",
            ));
        }
        let mut actions: Vec<Action> = Vec::new();
        let cm_ok = current_mode(&config.stdout).as_deref() == Some(p.mode.as_str());
        // The config the pods should run once this plan is done.
        let effective = if cm_ok {
            config.stdout.clone()
        } else {
            let new = with_mode(&config.stdout, &p.mode)
                .ok_or_else(|| PluginError::internal("the kube-proxy config has no top-level `mode:` line"))?;
            actions.push(patch_action(&p.mode, &serde_json::json!({ "data": { "config.conf": new } }).to_string()));
            new
        };
        let sha = guard::sha256_hex(effective.as_bytes());
        let stamp = ctx.probe("stamp")?;
        if !cm_ok || stamp.exit_code != 0 || stamp.stdout.trim() != sha {
            let why = if cm_ok { "restart the kube-proxy pods (they may run an older config)" } else { "restart the kube-proxy pods" };
            actions.push(restart_action(&sha, why));
            actions.push(wait_action());
        }
        let done = if actions.is_empty() {
            format!("kube-proxy runs in {} mode (pods restarted with this config)", p.mode)
        } else {
            String::new()
        };
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
