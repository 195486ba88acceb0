//! `flannel`: the pod network with flannel instead of calico; the workflow
//! step that names it is the only difference from the calico workflow.
//!
//! `state = "present"`: on the control-plane host, apply kube-flannel.yml of
//! a version, make its network match the cluster's pod CIDR, wait (bounded)
//! for the DaemonSet. `state = "absent"`: delete it, and on every host
//! remove its CNI config, /run/flannel and the flannel.1 and cni0 devices.
//!
//! Where flannel lives depends on the version: kube-flannel.yml up to
//! v0.18.x puts the DaemonSet `kube-flannel-ds` and ConfigMap
//! `kube-flannel-cfg` in `kube-system`; from v0.19.0 in the `kube-flannel`
//! namespace (flannel-io/flannel Documentation/kube-flannel.yml at those
//! tags, flannel#1615). The namespace comes from the bundled manifest when
//! there is one, else from the version, else from the `namespace` parameter.
//! (The manifest at tag v0.17.0 also still deploys v0.16.3's image,
//! flannel#1561: nothing here depends on the image tag.)

use cni_common::{Cni, KUBECONFIG};
use plait_sdk::prelude::*;
use serde::Deserialize;

/// flannel's footprint in `namespace`.
fn cni(namespace: &str) -> Cni<'_> {
    Cni { name: "flannel", namespace, daemonset: "kube-flannel-ds", removed_var: "flannel_removed", cni_files: &["10-flannel.conflist"] }
}

/// The namespace of kube-flannel-ds: from a bundled manifest's text, else
/// by version (kube-flannel from v0.19.0).
fn namespace(param: &str, manifest: Option<&str>, version: &str) -> String {
    if !param.is_empty() {
        return param.to_string();
    }
    if let Some(text) = manifest {
        // The DaemonSet's metadata: `name: kube-flannel-ds` then `namespace: X`.
        let mut lines = text.lines().map(str::trim).skip_while(|l| *l != "name: kube-flannel-ds");
        if let Some(ns) = lines.nth(1).and_then(|l| l.strip_prefix("namespace:")) {
            return ns.trim().to_string();
        }
    }
    if version::compare(version.trim_start_matches('v'), "0.19.0") == std::cmp::Ordering::Less { "kube-system" } else { "kube-flannel" }
        .to_string()
}

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
    namespace: String,
}

struct Flannel;

/// kube-flannel's net-conf.json for a network and backend.
fn net_conf(cidr: &str, backend: &str) -> String {
    format!("{{\n  \"Network\": \"{cidr}\",\n  \"Backend\": {{\n    \"Type\": \"{backend}\"\n  }}\n}}\n")
}

impl Plugin for Flannel {
    fn describe() -> PluginInfo {
        let described = info("flannel", env!("CARGO_PKG_VERSION"), "the flannel CNI from kube-flannel.yml; or its removal")
            .inventory()
            .param(param::string("state", "present", "present, or absent to remove flannel from the cluster and its nodes"))
            .param(param::string("version", "v0.17.0", "flannel version (the manifest URL's {version})"))
            .param(param::string("manifest_url", "https://raw.githubusercontent.com/flannel-io/flannel/{version}/Documentation/kube-flannel.yml", "manifest location"))
            .param(param::string("pod_cidr", "10.244.0.0/16", "flannel's Network: must match kubeadm's --pod-network-cidr"))
            .param(param::string("backend", "vxlan", "flannel backend type"))
            .param(param::integer("wait_secs", 300, "how long to wait for kube-flannel-ds to roll out"))
            .param(param::string("control_plane_group", "control-plane", "inventory group whose host runs kubectl"))
            .param(param::string("manifest", "url", "url: from manifest_url; bundled: from the plugin's assets (no internet needed; grant `assets = true`)"))
            .param(param::string("namespace", "", "namespace of kube-flannel-ds (default: from the bundled manifest, else kube-system before v0.19.0, kube-flannel from it)"))
            // Both namespaces are read: which one holds flannel is decided in plan.
            .probe_script_sudo("applied", "f=; for ns in kube-system kube-flannel; do kubectl --kubeconfig=/etc/kubernetes/admin.conf -n $ns get daemonset kube-flannel-ds -o name >/dev/null 2>&1 && { echo $ns; f=1; }; done; [ -n \"$f\" ]", "")
            .probe_script_sudo("net_conf", "for ns in kube-system kube-flannel; do kubectl --kubeconfig=/etc/kubernetes/admin.conf -n $ns get configmap kube-flannel-cfg -o 'jsonpath={.data.net-conf\\.json}' 2>/dev/null && break; done; true", "")
            .probe_script_sudo("rolled_out", "for ns in kube-system kube-flannel; do kubectl --kubeconfig=/etc/kubernetes/admin.conf -n $ns get daemonset kube-flannel-ds -o name >/dev/null 2>&1 && exec kubectl --kubeconfig=/etc/kubernetes/admin.conf -n $ns rollout status daemonset/kube-flannel-ds --timeout=1s; done; exit 1", "");
        // Its own probes look in both namespaces flannel has used, in shell code too.
        cni_common::declare(described, "flannel_removed", &["/run/flannel"], &["flannel.1", "cni0"])
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
        // Where it is, if applied (the probe names the namespace), else where it will be.
        let applied = ctx.probe("applied").map(|r| r.stdout.lines().next().unwrap_or("").trim().to_string()).unwrap_or_default();
        let ns = if applied.is_empty() { namespace(&p.namespace, src.text.as_deref(), &p.version) } else { applied };
        let cni = cni(&ns);
        match p.state.as_str() {
            "present" if control_plane => present(ctx, &p, &cni, url).map(|plan| src.before(plan)),
            "present" => Ok(Plan::nothing("flannel is applied from the control-plane host")),
            "absent" => cni_common::absent(ctx, &cni, url, control_plane, &p.control_plane_group)
                .map(|plan| if control_plane { src.before(plan) } else { plan }),
            other => Err(PluginError::bad_params(format!("state must be \"present\" or \"absent\", not {other:?}"))),
        }
    }
}

fn present(ctx: &Context, p: &Params, cni: &Cni, url: &str) -> Result<Plan, PluginError> {
    let wait = cni_common::wait_secs(p.wait_secs)?;
    let mut actions: Vec<Action> = Vec::new();
    let applied = ctx.probe_ok("applied")?;
    if !applied {
        actions.push(cni_common::apply(cni, url, &p.version));
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
                cni.namespace,
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
        actions.push(cni_common::wait_rolled_out(cni, wait));
    }
    let done = if actions.is_empty() { format!("flannel is applied with network {} and rolled out", p.pod_cidr) } else { String::new() };
    Ok(Plan::new(actions, done))
}

register_plugin!(Flannel);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flannel_moved_to_its_own_namespace_in_v0_19() {
        assert_eq!(namespace("", None, "v0.17.0"), "kube-system");
        assert_eq!(namespace("", None, "v0.18.1"), "kube-system");
        assert_eq!(namespace("", None, "v0.19.0"), "kube-flannel");
        assert_eq!(namespace("custom", None, "v0.17.0"), "custom");
        // The bundled v0.17.0 manifest says so itself.
        let bundled = include_str!("../assets/flannel-v0.17.0.yaml");
        assert_eq!(namespace("", Some(bundled), "v9"), "kube-system");
        let newer = "kind: DaemonSet\nmetadata:\n  name: kube-flannel-ds\n  namespace: kube-flannel\n";
        assert_eq!(namespace("", Some(newer), "v0.17.0"), "kube-flannel");
    }
}
