//! `calico`: the tutorial's "部署网络插件" section.
//!
//! `state = "present"`: on the control-plane host, apply the calico manifest
//! of a version and wait, bounded, until calico-node is rolled out; then
//! check that calico's IP pool is the cluster's pod CIDR. Other hosts have
//! nothing to do.
//!
//! The pool is not edited: calico-node creates it once, on its first start,
//! from CALICO_IPV4POOL_CIDR if the manifest sets it, else from the
//! `podSubnet:` of kubeadm's kubeadm-config ConfigMap, else 192.168.0.0/16
//! (projectcalico/node pkg/startup/startup.go, configureIPPools and
//! extractKubeadmCIDRs, v3.19; the v3.19 manifest leaves
//! CALICO_IPV4POOL_CIDR commented out). So with kubeadm's
//! --pod-network-cidr the pool is right from the start, and a later `kubectl
//! set env` (the tutorial-era fix) only rolls calico-node again without
//! touching the pool. Before applying, the plan checks kubeadm's podSubnet;
//! after, it reads the real IPPools.
//!
//! `state = "absent"`: delete the manifest's resources from the control
//! plane, and on every host remove what calico-node left behind (its CNI
//! config in /etc/cni/net.d and the tunl0 device), so another CNI can take over.

use cni_common::Cni;
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
        let described = info("calico", env!("CARGO_PKG_VERSION"), "the calico CNI from its manifest, with the cluster's pod CIDR; or its removal")
            .inventory()
            .param(param::string("state", "present", "present, or absent to remove calico from the cluster and its nodes"))
            .param(param::string("version", "v3.19", "calico version (the manifest URL's {version})"))
            .param(param::string("manifest_url", "https://projectcalico.docs.tigera.io/{version}/manifests/calico.yaml", "manifest location"))
            .param(param::string("pod_cidr", "10.244.0.0/16", "the IP pool calico must have: kubeadm's --pod-network-cidr"))
            .param(param::integer("wait_secs", 300, "how long to wait for calico-node to roll out"))
            .param(param::string("control_plane_group", "control-plane", "inventory group whose host runs kubectl"))
            .param(param::string("manifest", "url", "url: from manifest_url; bundled: from the plugin's assets (no internet needed; grant `assets = true`)"))
            .probe_sudo("applied", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get daemonset calico-node -o name")
            .probe_sudo(
                "kubeadm_config",
                "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get configmap kubeadm-config -o 'jsonpath={{.data.ClusterConfiguration}}'",
            )
            .probe_sudo("pools", "kubectl --kubeconfig=/etc/kubernetes/admin.conf get ippools.crd.projectcalico.org -o 'jsonpath={{.items[*].spec.cidr}}'")
            .probe_sudo("rolled_out", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system rollout status daemonset/calico-node --timeout=1s");
        cni_common::declare(described, CNI.removed_var, &[], &["tunl0"])
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

/// The `podSubnet:` of kubeadm's ClusterConfiguration, as calico-node reads it.
fn kubeadm_pod_subnet(cluster_configuration: &str) -> Option<&str> {
    cluster_configuration.lines().find_map(|l| l.trim().strip_prefix("podSubnet:")).map(|v| v.trim().split(',').next().unwrap_or("").trim())
}

fn present(ctx: &Context, p: &Params, url: &str) -> Result<Plan, PluginError> {
    let wait = cni_common::wait_secs(p.wait_secs)?;
    let mut actions: Vec<Action> = Vec::new();
    let applied = ctx.probe_ok("applied")?;
    if !applied {
        // calico-node will take the pool from kubeadm's podSubnet: it must be ours.
        let kcfg = ctx.probe("kubeadm_config")?;
        if kcfg.exit_code == 0 {
            let subnet = kubeadm_pod_subnet(&kcfg.stdout).unwrap_or("192.168.0.0/16 (no podSubnet in kubeadm-config)");
            if subnet != p.pod_cidr {
                return Err(PluginError::bad_params(format!(
                    "pod_cidr is {} but calico {} would create its IP pool from kubeadm's podSubnet {subnet}: set the same CIDR as kubeadm's pod_network_cidr",
                    p.pod_cidr, p.version
                )));
            }
        }
        actions.push(cni_common::apply(&CNI, url, &p.version));
        actions.push(cni_common::wait_rolled_out(&CNI, wait));
        return Ok(Plan::from(actions));
    }
    let pools = ctx.probe("pools")?;
    let cidrs: Vec<&str> = if pools.exit_code == 0 { pools.stdout.split_whitespace().collect() } else { Vec::new() };
    if !cidrs.is_empty() && !cidrs.contains(&p.pod_cidr.as_str()) {
        return Err(PluginError::unsupported(format!(
            "calico's IP pool is {} and not the pod CIDR {}; a pool is created once and cannot be edited in place: migrate it by hand (calico's docs: \"Migrate from one IP pool to another\")",
            cidrs.join(", "),
            p.pod_cidr
        )));
    }
    if cidrs.is_empty() || !ctx.probe_ok("rolled_out")? {
        actions.push(cni_common::wait_rolled_out(&CNI, wait));
    }
    let done = if actions.is_empty() { format!("calico is applied with pool {} and rolled out", p.pod_cidr) } else { String::new() };
    Ok(Plan::new(actions, done))
}

register_plugin!(Calico);
