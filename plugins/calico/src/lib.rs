//! `calico`: the tutorial's "部署网络插件" section.
//!
//! `state = "present"`: on the control-plane host, apply the calico manifest
//! of a version, set its IP pool to the cluster's pod CIDR (kubeadm's
//! --pod-network-cidr; the stock manifest would use 192.168.0.0/16), and wait,
//! bounded, until calico-node is rolled out. Other hosts have nothing to do.
//!
//! `state = "absent"`: delete the manifest's resources from the control
//! plane, and on every host remove what calico-node left behind (its CNI
//! config in /etc/cni/net.d and the tunl0 device), so another CNI can take over.

use cni_common::{Cni, KUBECONFIG};
use plait_sdk::prelude::*;
use serde::Deserialize;

/// What `state = "absent"` removes.
const CNI: Cni = Cni {
    name: "calico",
    namespace: "kube-system",
    daemonset: "calico-node",
    removed_var: "calico_removed",
    cni_files: &["10-calico.conflist", "calico-kubeconfig"],
};

#[derive(Deserialize)]
struct Params {
    state: String,
    version: String,
    manifest_url: String,
    pod_cidr: String,
    wait_secs: i64,
    control_plane_group: String,
    manifest: String,
}

struct Calico;

impl Plugin for Calico {
    fn describe() -> PluginInfo {
        let probes = cni_common::probe_commands(&[], &["tunl0"]);
        info("calico", env!("CARGO_PKG_VERSION"), "the calico CNI from its manifest, with the cluster's pod CIDR; or its removal")
            .param(param::string("state", "present", "present, or absent to remove calico from the cluster and its nodes"))
            .param(param::string("version", "v3.19", "calico version (the manifest URL's {version})"))
            .param(param::string("manifest_url", "https://projectcalico.docs.tigera.io/{version}/manifests/calico.yaml", "manifest location"))
            .param(param::string("pod_cidr", "10.244.0.0/16", "CALICO_IPV4POOL_CIDR: must match kubeadm's --pod-network-cidr"))
            .param(param::integer("wait_secs", 300, "how long to wait for calico-node to roll out"))
            .param(param::string("control_plane_group", "control-plane", "inventory group whose host runs kubectl"))
            .param(param::string("manifest", "url", "url: from manifest_url; bundled: from the plugin's assets (no internet needed; grant `assets = true`)"))
            .probe_sudo("applied", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get daemonset calico-node -o name")
            .probe_sudo(
                "pool_cidr",
                "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get daemonset calico-node -o 'jsonpath={{.spec.template.spec.containers[0].env[?(@.name==\"CALICO_IPV4POOL_CIDR\")].value}}'",
            )
            .probe_sudo("rolled_out", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system rollout status daemonset/calico-node --timeout=1s")
            .probe(probes[0].0, &probes[0].1)
            .probe(probes[1].0, &probes[1].1)
            .probe(probes[2].0, &probes[2].1)
            .programs(["kubectl", "rm", "ip"])
            .writes(["/etc/kubernetes/plait/"])
            .assets()
            .produces(["calico_removed"])
            .consumes(["calico_removed"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        let src = manifest::source("calico", &p.manifest, &p.version, &p.manifest_url, ctx.offline)?;
        let url = src.location.as_str();
        let control_plane = ctx.in_group(&p.control_plane_group);
        match p.state.as_str() {
            "present" if control_plane => present(ctx, &p, url).map(|plan| src.before(plan)),
            "present" => Ok(Plan::nothing("calico is applied from the control-plane host")),
            "absent" => cni_common::absent(ctx, &CNI, url, control_plane, &p.control_plane_group)
                .map(|plan| if control_plane { src.before(plan) } else { plan }),
            other => Err(PluginError::bad_params(format!("state must be \"present\" or \"absent\", not {other:?}"))),
        }
    }
}

fn present(ctx: &Context, p: &Params, url: &str) -> Result<Plan, PluginError> {
    let wait = cni_common::wait_secs(p.wait_secs)?;
    let mut actions: Vec<Action> = Vec::new();
    let applied = ctx.probe_ok("applied")?;
    if !applied {
        actions.push(cni_common::apply(&CNI, url, &p.version));
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
        actions.push(cni_common::wait_rolled_out(&CNI, wait));
    }
    let done = if actions.is_empty() { format!("calico is applied with pool {} and rolled out", p.pod_cidr) } else { String::new() };
    Ok(Plan::new(actions, done))
}

register_plugin!(Calico);
