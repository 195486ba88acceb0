//! `flannel`: the pod network with flannel instead of calico; the workflow
//! step that names it is the only difference from the calico workflow.
//!
//! `state = "present"`: on the control-plane host, apply kube-flannel.yml of
//! a version, make its network match the cluster's pod CIDR, wait (bounded)
//! for the DaemonSet. `state = "absent"`: delete it, and on every host
//! remove its CNI config, /run/flannel and the flannel.1 and cni0 devices.

use plait_sdk::prelude::*;
use serde::Deserialize;

const KUBECONFIG: &str = "--kubeconfig=/etc/kubernetes/admin.conf";
const CNI_FILES: [&str; 1] = ["10-flannel.conflist"];
const DEVICES: [&str; 2] = ["flannel.1", "cni0"];

#[derive(Deserialize)]
struct Params {
    state: String,
    version: String,
    manifest_url: String,
    pod_cidr: String,
    backend: String,
    wait_secs: i64,
    control_plane_group: String,
    manifest: String,
}

struct Flannel;

/// kube-flannel's net-conf.json for a network and backend.
fn net_conf(cidr: &str, backend: &str) -> String {
    format!("{{\n  \"Network\": \"{cidr}\",\n  \"Backend\": {{\n    \"Type\": \"{backend}\"\n  }}\n}}\n")
}

impl Plugin for Flannel {
    fn describe() -> PluginInfo {
        info("flannel", env!("CARGO_PKG_VERSION"), "the flannel CNI from kube-flannel.yml; or its removal")
            .param(param::string("state", "present", "present, or absent to remove flannel from the cluster and its nodes"))
            .param(param::string("version", "v0.17.0", "flannel version (the manifest URL's {version})"))
            .param(param::string("manifest_url", "https://raw.githubusercontent.com/flannel-io/flannel/{version}/Documentation/kube-flannel.yml", "manifest location"))
            .param(param::string("pod_cidr", "10.244.0.0/16", "flannel's Network: must match kubeadm's --pod-network-cidr"))
            .param(param::string("backend", "vxlan", "flannel backend type"))
            .param(param::integer("wait_secs", 300, "how long to wait for kube-flannel-ds to roll out"))
            .param(param::string("control_plane_group", "control-plane", "inventory group whose host runs kubectl"))
            .param(param::string("manifest", "url", "url: from manifest_url; bundled: from the plugin's assets (no internet needed; grant `assets = true`)"))
            .probe_sudo("applied", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-flannel get daemonset kube-flannel-ds -o name")
            .probe_sudo("net_conf", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-flannel get configmap kube-flannel-cfg -o 'jsonpath={{.data.net-conf\\.json}}'")
            .probe_sudo("rolled_out", "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-flannel rollout status daemonset/kube-flannel-ds --timeout=1s")
            .probe("cni_files", "ls /etc/cni/net.d")
            .probe("run_dir", "test -d /run/flannel")
            .probe("devices", "for d in flannel.1 cni0; do ip link show \"$d\" >/dev/null 2>&1 && echo \"$d\"; done")
            .programs(["kubectl", "rm", "ip"])
            .writes(["/etc/kubernetes/plait/"])
            .assets()
            .produces(["flannel_removed"])
            .consumes(["flannel_removed"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        let src = manifest::source("flannel", &p.manifest, &p.version, &p.manifest_url, ctx.offline)?;
        let url = src.location.as_str();
        if !p.pod_cidr.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '/')
            || !p.backend.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(PluginError::bad_params("pod_cidr must be an IPv4 CIDR and backend a word"));
        }
        let control_plane = ctx.in_group(&p.control_plane_group);
        match p.state.as_str() {
            "present" if control_plane => present(ctx, &p, url).map(|plan| src.before(plan)),
            "present" => Ok(Plan::nothing("flannel is applied from the control-plane host")),
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
                .summary(format!("apply flannel {}", p.version))
                .into(),
        );
    }
    let want = net_conf(&p.pod_cidr, &p.backend);
    // The stock manifest's network is 10.244.0.0/16 with vxlan: compare once applied.
    let conf_ok = if applied { ctx.probe("net_conf")?.stdout == want } else { want == net_conf("10.244.0.0/16", "vxlan") };
    if !conf_ok {
        let patch = serde_json::json!({ "data": { "net-conf.json": want } }).to_string();
        actions.push(
            cmd::run([
                "kubectl",
                KUBECONFIG,
                "-n",
                "kube-flannel",
                "patch",
                "configmap",
                "kube-flannel-cfg",
                "--type",
                "merge",
                "-p",
                patch.as_str(),
            ])
            .summary(format!("set flannel's network to {} ({})", p.pod_cidr, p.backend))
            .into(),
        );
    }
    if !actions.is_empty() || !ctx.probe_ok("rolled_out")? {
        let timeout = format!("--timeout={wait}s");
        actions.push(
            cmd::run(["kubectl", KUBECONFIG, "-n", "kube-flannel", "rollout", "status", "daemonset/kube-flannel-ds", timeout.as_str()])
                .timeout_secs(wait + 30)
                .read_only()
                .summary("wait until kube-flannel-ds is ready")
                .into(),
        );
    }
    let done = if actions.is_empty() { format!("flannel is applied with network {} and rolled out", p.pod_cidr) } else { String::new() };
    Ok(Plan::new(actions, done))
}

fn absent(ctx: &Context, url: &str, control_plane: bool, group: &str) -> Result<Plan, PluginError> {
    let mut actions: Vec<Action> = Vec::new();
    if control_plane {
        if ctx.probe_ok("applied")? {
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "delete", "-f", url, "--ignore-not-found"])
                    .timeout_secs(300)
                    .summary("delete flannel's resources")
                    .into(),
            );
        }
        // Every run tells the other hosts (variable `flannel_removed`) that the
        // DaemonSet is gone: it prints nothing once it is.
        actions.push(
            cmd::run([
                "kubectl",
                KUBECONFIG,
                "-n",
                "kube-flannel",
                "get",
                "daemonset",
                "kube-flannel-ds",
                "--ignore-not-found",
                "-o",
                "name",
            ])
            .read_only()
            .capture("flannel_removed")
            .summary("confirm kube-flannel-ds is gone")
            .into(),
        );
    } else {
        // Clean this node only once the control plane removed the DaemonSet,
        // or its pods could write the files again.
        let confirmed =
            ctx.vars.iter().find(|v| v.name == "flannel_removed" && (v.host.is_empty() || ctx.hosts_in(group).any(|h| h.name == v.host)));
        match confirmed {
            None => return Err(PluginError::missing_variable("waiting for the control plane to remove flannel (flannel_removed)")),
            Some(v) if !ctx.offline && !v.value.trim().is_empty() => {
                return Err(PluginError::internal(format!("the control plane still lists {} after deleting it", v.value.trim())));
            }
            Some(_) => {}
        }
    }
    let listed = ctx.probe("cni_files")?;
    let mut leftovers: Vec<String> = CNI_FILES
        .iter()
        .filter(|f| listed.exit_code == 0 && listed.stdout.lines().any(|l| l.trim() == **f))
        .map(|f| format!("/etc/cni/net.d/{f}"))
        .collect();
    if ctx.probe_ok("run_dir")? {
        leftovers.push("/run/flannel".into());
    }
    if !leftovers.is_empty() {
        let mut argv = vec!["rm".to_string(), "-rf".into(), "--".into()];
        argv.extend(leftovers.iter().cloned());
        actions.push(cmd::run(argv).summary(format!("remove flannel's CNI config ({})", leftovers.len())).into());
    }
    let present = ctx.probe("devices")?.stdout.clone();
    for d in DEVICES.iter().filter(|d| present.lines().any(|l| l.trim() == **d)) {
        actions.push(cmd::run(["ip", "link", "delete", *d]).summary(format!("remove the {d} device")).into());
    }
    // Only the read-only confirmation left: nothing to change.
    let changes = actions.iter().filter(|a| !matches!(&a.kind, ActionKind::Run(r) if r.read_only)).count();
    let done = match (changes, control_plane) {
        (0, true) => "flannel is not installed, and nothing of it is left on this host",
        (0, false) => "nothing of flannel is left on this host",
        _ => "",
    };
    Ok(Plan::new(actions, done))
}

register_plugin!(Flannel);
