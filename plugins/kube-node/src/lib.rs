//! Day-2 node lifecycle for a kubeadm cluster, as the kubeadm documentation
//! describes it ("Remove the node": drain, reset, delete; "Clean up":
//! `kubeadm reset`, then what reset leaves behind).
//!
//! - `action = "remove"`, on the control-plane host: every host of the
//!   inventory group `leaving_group` that is a registered node is drained
//!   (`kubectl drain --ignore-daemonsets --delete-emptydir-data`) and its
//!   Node object deleted. It needs nothing from the leaving host, so it
//!   works when that host is unreachable.
//! - `action = "reset"`, on any host: `kubeadm reset -f` when anything of
//!   an init or join is there, then what reset leaves (its own words):
//!   the CNI configuration in /etc/cni/net.d and root's kubeconfig, and
//!   plait's join command file. Packages, the kubelet's configuration and
//!   the OS preparation stay, so the host is as it was before `kubeadm
//!   init`/`join`. iptables rules and IPVS tables are left as kubeadm leaves
//!   them; a new cluster's kube-proxy rewrites them.
//!
//! Both are idempotent: a node already gone, a host already reset plan
//! nothing.

use plait_sdk::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Params {
    action: String,
    leaving_group: String,
    control_plane_group: String,
    drain_timeout_secs: u32,
}

const KUBECTL: &str = "--kubeconfig=/etc/kubernetes/admin.conf";
/// Captured on the control plane after the leaving nodes are removed.
const AFTER_REMOVAL: &str = "nodes_after_removal";

/// What `kubeadm init` or `join` leaves on a host (reset removes it).
const KUBE_FILES: [&str; 5] = [
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/pki",
    "/var/lib/kubelet/config.yaml",
    "/var/lib/etcd/member",
];

struct KubeNode;

/// Names `ls -A DIR` printed that are plain file names.
fn listed(out: &str) -> Vec<&str> {
    out.lines().map(str::trim).filter(|l| !l.is_empty() && !l.contains('/') && *l != "." && *l != "..").collect()
}

fn remove(ctx: &Context, p: &Params) -> Result<Plan, PluginError> {
    let control: Vec<&InventoryHost> = ctx.hosts_in(&p.control_plane_group)?.collect();
    if !control.iter().any(|h| h.name == ctx.host.name) {
        return Err(PluginError::bad_params(format!(
            "action = \"remove\" runs on the control-plane host (group `{}`); target that group",
            p.control_plane_group
        )));
    }
    let leaving: Vec<&InventoryHost> = ctx.hosts_in(&p.leaving_group)?.collect();
    if leaving.iter().any(|h| h.name == ctx.host.name) {
        return Err(PluginError::bad_params("the control-plane host cannot remove itself; reset the cluster instead"));
    }
    if leaving.is_empty() {
        return Ok(Plan::nothing(format!("no host is in group `{}`", p.leaving_group)));
    }
    let nodes = ctx.probe("nodes")?;
    if nodes.exit_code != 0 {
        return Err(PluginError::unsupported(format!(
            "the cluster's API server does not answer on {} (kubectl get nodes failed)",
            ctx.host.name
        )));
    }
    let registered: Vec<&str> = nodes.stdout.lines().filter_map(|l| l.trim().strip_prefix("node/")).collect();
    let mut actions: Vec<Action> = Vec::new();
    let mut gone = Vec::new();
    for h in leaving {
        // kubeadm names a node after its hostname, lowercased; os-prep sets
        // the hostname to the inventory name.
        let node = h.name.to_ascii_lowercase();
        if !registered.contains(&node.as_str()) {
            gone.push(node);
            continue;
        }
        let timeout = format!("--timeout={}s", p.drain_timeout_secs);
        actions.push(
            cmd::run(["kubectl", KUBECTL, "drain", node.as_str(), "--ignore-daemonsets", "--delete-emptydir-data", timeout.as_str()])
                .timeout_secs(p.drain_timeout_secs + 60)
                .summary(format!("drain {node}"))
                .into(),
        );
        actions.push(cmd::run(["kubectl", KUBECTL, "delete", "node", node.as_str()]).summary(format!("delete node {node}")).into());
    }
    // Read-only, every run: the leaving hosts wait for it, so their reset
    // follows the drain (the documented order: drain, reset, delete).
    actions.push(
        cmd::run(["kubectl", KUBECTL, "get", "nodes", "-o", "name"])
            .read_only()
            .capture(AFTER_REMOVAL)
            .summary("list the nodes left in the cluster")
            .into(),
    );
    let reason = if gone.is_empty() { String::new() } else { format!("not in the cluster: {}", gone.join(", ")) };
    Ok(Plan::new(actions, reason))
}

fn reset(ctx: &Context, p: &Params) -> Result<Plan, PluginError> {
    // A leaving host waits until the control plane has drained it.
    if ctx.host.groups.contains(&p.leaving_group)
        && !ctx.offline
        && let Some(cp) = ctx.hosts_in(&p.control_plane_group)?.next()
        && ctx.var(&cp.name, AFTER_REMOVAL).is_none()
    {
        return Err(PluginError::missing_variable(format!(
            "{AFTER_REMOVAL} from {}: the control plane drains this host first (a step with action = \"remove\")",
            cp.name
        )));
    }
    let present: Vec<&str> = ctx.probe("kube_files")?.stdout.lines().map(str::trim).filter(|l| KUBE_FILES.contains(l)).collect();
    let manifests = listed(&ctx.probe("manifests")?.stdout).len();
    let mut actions: Vec<Action> = Vec::new();
    if !present.is_empty() || manifests > 0 {
        let what = if manifests > 0 { format!("{} and {manifests} static pod manifests", present.join(", ")) } else { present.join(", ") };
        actions.push(cmd::run(["kubeadm", "reset", "-f"]).timeout_secs(300).summary(format!("kubeadm reset -f ({what})")).into());
    }
    for f in listed(&ctx.probe("cni")?.stdout) {
        let path = format!("/etc/cni/net.d/{f}");
        actions.push(cmd::run(["rm", "-rf", "--", path.as_str()]).summary(format!("remove CNI configuration {path}")).into());
    }
    let extra: Vec<String> =
        ctx.probe("extra_files")?.stdout.lines().map(str::trim).filter(|l| l.starts_with('/')).map(String::from).collect();
    for f in &extra {
        if f == "/root/.kube/config" || f == "/etc/kubernetes/plait-join-command" {
            actions.push(cmd::run(["rm", "-f", "--", f.as_str()]).summary(format!("remove {f}")).into());
        }
    }
    Ok(Plan::new(actions, "nothing of a kubeadm init or join is left on this host"))
}

impl Plugin for KubeNode {
    fn describe() -> PluginInfo {
        info("kube-node", env!("CARGO_PKG_VERSION"), "remove nodes from a kubeadm cluster (drain, delete) and reset hosts")
            .inventory()
            .param(param::string("action", "reset", "remove: drain and delete the leaving group's nodes (on the control plane); reset: kubeadm reset this host"))
            .param(param::string("leaving_group", "leaving", "inventory group of the hosts to remove"))
            .param(param::string("control_plane_group", "control-plane", "inventory group of the control-plane host"))
            .param(param::integer("drain_timeout_secs", 300, "how long a drain may take"))
            .probe_sudo("nodes", "kubectl --kubeconfig=/etc/kubernetes/admin.conf get nodes -o name")
            .probe_sudo(
                "kube_files",
                "ls -d /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/pki /var/lib/kubelet/config.yaml /var/lib/etcd/member",
            )
            .probe_sudo("manifests", "ls -A /etc/kubernetes/manifests")
            .probe_sudo("cni", "ls -A /etc/cni/net.d")
            .probe_sudo("extra_files", "ls -d /root/.kube/config /etc/kubernetes/plait-join-command")
            .programs(["kubectl", "kubeadm", "rm", "ls"])
            .produces([AFTER_REMOVAL])
            .consumes([AFTER_REMOVAL])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "kube-node")?;
        let p: Params = ctx.params()?;
        if p.drain_timeout_secs == 0 || p.drain_timeout_secs > 3600 {
            return Err(PluginError::bad_params("drain_timeout_secs must be 1..=3600"));
        }
        match p.action.as_str() {
            "remove" => remove(ctx, &p),
            "reset" => reset(ctx, &p),
            other => Err(PluginError::bad_params(format!("action must be remove or reset, not {other:?}"))),
        }
    }
}

register_plugin!(KubeNode);

#[cfg(test)]
mod tests {
    use super::*;
    use plait_sdk::testing::ContextBuilder;

    fn summaries(p: &Plan) -> Vec<String> {
        p.actions.iter().map(|a| a.summary.clone()).collect()
    }

    #[test]
    fn remove_drains_and_deletes_only_registered_leaving_nodes() {
        let ctx = ContextBuilder::centos7("master")
            .group("control-plane")
            .host("node1", "192.168.100.101", &["workers"])
            .host("node2", "192.168.100.102", &["leaving"])
            .host("node3", "192.168.100.103", &["leaving"])
            .probe("nodes", 0, "node/master\nnode/node1\nnode/node2\n")
            .params(serde_json::json!({ "action": "remove" }))
            .build::<KubeNode>();
        let plan = KubeNode::plan(&ctx).unwrap();
        assert_eq!(summaries(&plan), ["drain node2", "delete node node2", "list the nodes left in the cluster"]);
        assert!(plan.reason.as_deref().unwrap().contains("node3"));
    }

    #[test]
    fn reset_is_idempotent() {
        let fresh = ContextBuilder::centos7("node1")
            .probe("kube_files", 2, "")
            .probe("manifests", 0, "")
            .probe("cni", 2, "")
            .probe("extra_files", 2, "")
            .build::<KubeNode>();
        assert!(KubeNode::plan(&fresh).unwrap().actions.is_empty());
        let joined = ContextBuilder::centos7("node1")
            .probe("kube_files", 2, "/etc/kubernetes/kubelet.conf\n/etc/kubernetes/pki\n/var/lib/kubelet/config.yaml\n")
            .probe("manifests", 0, "")
            .probe("cni", 0, "10-calico.conflist\ncalico-kubeconfig\n")
            .probe("extra_files", 2, "/root/.kube/config\n")
            .build::<KubeNode>();
        let plan = KubeNode::plan(&joined).unwrap();
        assert_eq!(plan.actions.len(), 4, "{:?}", summaries(&plan));
        assert!(summaries(&plan)[0].starts_with("kubeadm reset -f"));
    }
}
