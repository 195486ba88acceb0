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

use plait_sdk::prelude::*;
use serde::Deserialize;

const KUBECONFIG: &str = "--kubeconfig=/etc/kubernetes/admin.conf";
const CNI_FILES: [&str; 2] = ["10-calico.conflist", "calico-kubeconfig"];
const DEVICE: &str = "tunl0";

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
            .probe("cni_files", "ls /etc/cni/net.d")
            .probe("device", "ip link show tunl0")
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
            "absent" => {
                absent(ctx, &url, control_plane, &p.control_plane_group).map(|plan| if control_plane { src.before(plan) } else { plan })
            }
            other => Err(PluginError::bad_params(format!("state must be \"present\" or \"absent\", not {other:?}"))),
        }
    }
}

fn present(ctx: &Context, p: &Params, url: &str) -> Result<Plan, PluginError> {
    let wait = u32::try_from(p.wait_secs)
        .ok()
        .filter(|w| (1..=3600).contains(w))
        .ok_or_else(|| PluginError::bad_params("wait_secs must be 1..=3600"))?;
    let mut actions: Vec<Action> = Vec::new();
    let applied = ctx.probe_ok("applied")?;
    if !applied {
        actions.push(
            cmd::run(["kubectl", KUBECONFIG, "apply", "-f", url])
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
                .read_only()
                .summary("wait until calico-node is ready")
                .into(),
        );
    }
    let done = if actions.is_empty() { format!("calico is applied with pool {} and rolled out", p.pod_cidr) } else { String::new() };
    Ok(Plan::new(actions, done))
}

fn absent(ctx: &Context, url: &str, control_plane: bool, group: &str) -> Result<Plan, PluginError> {
    let mut actions: Vec<Action> = Vec::new();
    if control_plane {
        if ctx.probe_ok("applied")? {
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "delete", "-f", url, "--ignore-not-found"])
                    .timeout_secs(300)
                    .summary("delete calico's resources")
                    .into(),
            );
        }
        // Every run tells the other hosts (variable `calico_removed`) that the
        // DaemonSet is gone: it prints nothing once it is.
        actions.push(
            cmd::run(["kubectl", KUBECONFIG, "-n", "kube-system", "get", "daemonset", "calico-node", "--ignore-not-found", "-o", "name"])
                .read_only()
                .capture("calico_removed")
                .summary("confirm calico-node is gone")
                .into(),
        );
    } else {
        // Clean this node only once the control plane removed the DaemonSet,
        // or its pods could write the files again.
        let confirmed =
            ctx.vars.iter().find(|v| v.name == "calico_removed" && (v.host.is_empty() || ctx.hosts_in(group).any(|h| h.name == v.host)));
        match confirmed {
            None => return Err(PluginError::missing_variable("waiting for the control plane to remove calico (calico_removed)")),
            Some(v) if !ctx.offline && !v.value.trim().is_empty() => {
                return Err(PluginError::internal(format!("the control plane still lists {} after deleting it", v.value.trim())));
            }
            Some(_) => {}
        }
    }
    let listed = ctx.probe("cni_files")?;
    let leftovers: Vec<String> = CNI_FILES
        .iter()
        .filter(|f| listed.exit_code == 0 && listed.stdout.lines().any(|l| l.trim() == **f))
        .map(|f| format!("/etc/cni/net.d/{f}"))
        .collect();
    if !leftovers.is_empty() {
        let mut argv = vec!["rm".to_string(), "-f".into(), "--".into()];
        argv.extend(leftovers.iter().cloned());
        actions.push(cmd::run(argv).summary(format!("remove calico's CNI config ({})", leftovers.len())).into());
    }
    if ctx.probe_ok("device")? {
        actions.push(cmd::run(["ip", "link", "delete", DEVICE]).summary("remove the tunl0 device").into());
    }
    // Only the read-only confirmation left: nothing to change.
    let changes = actions.iter().filter(|a| !matches!(&a.kind, ActionKind::Run(r) if r.read_only)).count();
    let done = match (changes, control_plane) {
        (0, true) => "calico is not installed, and nothing of it is left on this host",
        (0, false) => "nothing of calico is left on this host",
        _ => "",
    };
    Ok(Plan::new(actions, done))
}

register_plugin!(Calico);
