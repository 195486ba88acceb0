//! `calico`: the tutorial's "部署网络插件" section. Applies the calico
//! manifest of a version, sets its IP pool to the cluster's pod CIDR
//! (kubeadm's --pod-network-cidr; the stock manifest would use
//! 192.168.0.0/16), and waits, bounded, until calico-node is rolled out.
//! Runs on the control-plane host with its admin kubeconfig.

use plait_sdk::prelude::*;
use serde::Deserialize;

const KUBECONFIG: &str = "--kubeconfig=/etc/kubernetes/admin.conf";

#[derive(Deserialize)]
struct Params {
    version: String,
    manifest_url: String,
    pod_cidr: String,
    wait_secs: i64,
}

struct Calico;

impl Plugin for Calico {
    fn describe() -> PluginInfo {
        info("calico", env!("CARGO_PKG_VERSION"), "the calico CNI from its manifest, with the cluster's pod CIDR")
            .param(param::string("version", "v3.19", "calico version (the manifest URL's {version})"))
            .param(param::string("manifest_url", "https://projectcalico.docs.tigera.io/{version}/manifests/calico.yaml", "manifest location"))
            .param(param::string("pod_cidr", "10.244.0.0/16", "CALICO_IPV4POOL_CIDR: must match kubeadm's --pod-network-cidr"))
            .param(param::integer("wait_secs", 300, "how long to wait for calico-node to roll out"))
            .probe_sudo("applied", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get daemonset calico-node -o name")
            .probe_sudo(
                "pool_cidr",
                "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get daemonset calico-node -o 'jsonpath={{.spec.template.spec.containers[0].env[?(@.name==\"CALICO_IPV4POOL_CIDR\")].value}}'",
            )
            .probe_sudo("rolled_out", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system rollout status daemonset/calico-node --timeout=1s")
            .programs(["kubectl"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        let url = p.manifest_url.replace("{version}", &p.version);
        if !url.starts_with("https://") && !url.starts_with("http://") {
            return Err(PluginError::bad_params(format!("manifest_url {url:?} is not an http(s) URL")));
        }
        let wait = u32::try_from(p.wait_secs)
            .ok()
            .filter(|w| (1..=3600).contains(w))
            .ok_or_else(|| PluginError::bad_params("wait_secs must be 1..=3600"))?;
        let mut actions: Vec<Action> = Vec::new();
        let applied = ctx.probe_ok("applied")?;
        if !applied {
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "apply", "-f", url.as_str()])
                    .retries(2, 5)
                    .timeout_secs(300)
                    .summary(format!("apply calico {}", p.version))
                    .into(),
            );
        }
        let cidr_ok = applied && ctx.probe("pool_cidr")?.stdout.trim() == p.pod_cidr;
        if !cidr_ok {
            let env = format!("CALICO_IPV4POOL_CIDR={}", p.pod_cidr);
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "set", "env", "daemonset/calico-node", env.as_str()])
                    .summary(format!("use pod CIDR {} for calico's IP pool", p.pod_cidr))
                    .into(),
            );
        }
        if !actions.is_empty() || !ctx.probe_ok("rolled_out")? {
            let timeout = format!("--timeout={wait}s");
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "rollout", "status", "daemonset/calico-node", timeout.as_str()])
                    .timeout_secs(wait + 30)
                    .summary("wait until calico-node is ready")
                    .into(),
            );
        }
        let done = if actions.is_empty() { format!("calico is applied with pool {} and rolled out", p.pod_cidr) } else { String::new() };
        Ok(Plan::new(actions, done))
    }
}

register_plugin!(Calico);
