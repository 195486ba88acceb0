//! What kube-upgrade, kubelet-runtime and kube-node share: the kubeconfig a
//! plugin finds on the node it works on, and draining that node with a
//! marker on the host, so that a run stopped between drain and uncordon
//! uncordons it on `--resume`, while a node someone else cordoned stays
//! cordoned.

use plait_sdk::prelude::*;

/// The control plane's admin kubeconfig.
pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
/// Root's kubeconfig (the kubeadm step writes it on workers with
/// `kubectl_on_workers = true`).
pub const ROOT_KUBECONFIG: &str = "/root/.kube/config";

/// A node probe: the shell prefix finds a kubeconfig (`admin.conf`, else
/// root's), prints `kubeconfig=PATH` (empty, and stops, when there is
/// none), and sets `k` (kubectl with it and a 10 s request timeout) and `n`
/// (this node's name: kubeadm names a node after the hostname,
/// lowercased) for the probe's own commands. Shell code: declare it with
/// `probe_script`.
#[macro_export]
macro_rules! node_probe {
    ($commands:literal) => {
        concat!(
            "kc=/etc/kubernetes/admin.conf; [ -f $kc ] || kc=/root/.kube/config; ",
            "[ -f $kc ] || { echo kubeconfig=; exit 0; }; echo kubeconfig=$kc; k=\"kubectl --kubeconfig=$kc --request-timeout=10s\"; ",
            "n=$(hostname | tr A-Z a-z); ",
            $commands
        )
    };
}

/// The kubeconfig a [`node_probe!`] line names: only the two paths the
/// probe tries, so nothing read from the host reaches a command.
pub fn kubeconfig(line: &str) -> Option<Option<&'static str>> {
    let path = line.strip_prefix("kubeconfig=")?;
    Some([ADMIN_CONF, ROOT_KUBECONFIG].into_iter().find(|p| *p == path))
}

/// Draining this node for a change, and undoing it.
pub struct Drain<'a> {
    /// `--kubeconfig=PATH`.
    pub kubeconfig: &'a str,
    /// The node's name.
    pub node: &'a str,
    /// The file on the host that says plait drained it.
    pub marker: &'a str,
    /// What the marker says (who drained it, for what).
    pub note: String,
    /// The marker exists (a run drained the node and stopped before uncordon).
    pub marked: bool,
    /// The node is cordoned now.
    pub cordoned: bool,
}

impl Drain<'_> {
    /// Whether this plugin may uncordon the node: it drained it, or the
    /// node was not cordoned by anyone else.
    pub fn ours(&self) -> bool {
        self.marked || !self.cordoned
    }

    /// Mark (when the node is ours), then drain within `timeout_secs`.
    pub fn drain(&self, timeout_secs: u32, actions: &mut Vec<Action>) {
        if self.ours() {
            actions.push(
                file::put(self.marker, format!("{}\n", self.note)).mode(0o644).summary("remember that plait drains this node").into(),
            );
        } else {
            log(Level::Warn, &format!("{} was cordoned before this step: it is drained, changed and left cordoned", self.node));
        }
        let timeout = format!("--timeout={timeout_secs}s");
        actions.push(
            cmd::run(["kubectl", self.kubeconfig, "drain", self.node, "--ignore-daemonsets", "--delete-emptydir-data", timeout.as_str()])
                .timeout_secs(timeout_secs + 60)
                .summary(format!("drain {}", self.node))
                .into(),
        );
    }

    /// Uncordon and forget the marker, when the node is ours.
    pub fn uncordon(&self, actions: &mut Vec<Action>) {
        if self.ours() {
            actions.push(cmd::run(["kubectl", self.kubeconfig, "uncordon", self.node]).summary(format!("uncordon {}", self.node)).into());
            actions.push(cmd::run(["rm", "-f", self.marker]).summary("forget the drain (plait's marker)").into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(marked: bool, cordoned: bool) -> Drain<'static> {
        Drain { kubeconfig: "--kubeconfig=/etc/kubernetes/admin.conf", node: "node1", marker: "/m", note: "n".into(), marked, cordoned }
    }

    fn summaries(a: &[Action]) -> Vec<String> {
        a.iter().map(|a| a.summary.clone()).collect()
    }

    #[test]
    fn a_node_cordoned_by_someone_else_stays_cordoned() {
        let mut a = Vec::new();
        drain(false, true).drain(30, &mut a);
        drain(false, true).uncordon(&mut a);
        assert_eq!(summaries(&a), ["drain node1"]);
        let mut a = Vec::new();
        drain(false, false).drain(30, &mut a);
        drain(false, false).uncordon(&mut a);
        assert_eq!(
            summaries(&a),
            ["remember that plait drains this node", "drain node1", "uncordon node1", "forget the drain (plait's marker)"]
        );
        // Cordoned by plait's own earlier run: uncordoned.
        let mut a = Vec::new();
        drain(true, true).uncordon(&mut a);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn only_the_two_probed_paths_become_a_kubeconfig() {
        assert_eq!(kubeconfig("kubeconfig=/root/.kube/config"), Some(Some(ROOT_KUBECONFIG)));
        assert_eq!(kubeconfig("kubeconfig=/tmp/x; rm -rf /"), Some(None));
        assert_eq!(kubeconfig("kubeconfig="), Some(None));
        assert_eq!(kubeconfig("kubelet=v1.22.17"), None);
        assert!(node_probe!("echo x").ends_with("n=$(hostname | tr A-Z a-z); echo x"));
    }
}
