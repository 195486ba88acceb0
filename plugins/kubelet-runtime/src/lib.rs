//! `kubelet-runtime`: move a kubeadm node's kubelet from Docker Engine
//! (dockershim) to containerd, as the Kubernetes documentation "Changing
//! the Container Runtime on a Node from Docker Engine to containerd"
//! orders it: drain the node, stop the kubelet, stop Docker, point the
//! kubelet at containerd in /var/lib/kubelet/kubeadm-flags.env, change the
//! node's `kubeadm.alpha.kubernetes.io/cri-socket` annotation (kubeadm
//! reads it back, e.g. in `kubeadm upgrade`, to reach the runtime), start
//! the kubelet, wait until the node reports containerd, uncordon.
//!
//! containerd itself (with its CRI plugin enabled) is the `containerd`
//! step's work, which must run before this one. Run this step with
//! `strategy = { serial = 1 }` over the workers so one node at a time is
//! out of service.
//!
//! Docker's `live-restore` (the tutorial's daemon.json sets it) keeps
//! containers running while dockerd is stopped: the kubelet is stopped
//! first, then every container Docker runs, then Docker, so the pods the
//! kubelet starts again under containerd do not find the old ones holding
//! their ports (the static pods of a control plane: 6443, 2379).
//!
//! Done is decided from the cluster and the host: the kubelet's flags, the
//! node's `status.nodeInfo.containerRuntimeVersion` and annotation, and
//! Docker disabled. A node this plugin drained is marked on the host
//! (/etc/kubernetes/plait-runtime-drained) until it is uncordoned, so a run
//! that stopped in between uncordons it on `--resume`.

use kube_common::{ADMIN_CONF, Drain, ROOT_KUBECONFIG, node_probe};
use plait_sdk::prelude::*;
use serde::Deserialize;

const FLAGS: &str = "/var/lib/kubelet/kubeadm-flags.env";
const MARKER: &str = "/etc/kubernetes/plait-runtime-drained";
const SOCKET: &str = "unix:///run/containerd/containerd.sock";
const ANNOTATION: &str = "kubeadm.alpha.kubernetes.io/cri-socket";

/// `kubeconfig=PATH`, then this node's runtime, cri-socket annotation and
/// cordon state.
const NODE_PROBE: &str = node_probe!(
    "$k get node \"$n\" -o name >/dev/null 2>&1 && echo registered; \
echo runtime=$($k get node \"$n\" -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}' 2>/dev/null); \
echo socket=$($k get node \"$n\" -o jsonpath='{.metadata.annotations.kubeadm\\.alpha\\.kubernetes\\.io/cri-socket}' 2>/dev/null); \
echo unschedulable=$($k get node \"$n\" -o jsonpath='{.spec.unschedulable}' 2>/dev/null); true"
);

/// Captured on the first control-plane host once it runs on containerd;
/// the other hosts wait for it (their drains need its API server).
const VAR: &str = "control_plane_runtime";

#[derive(Deserialize)]
struct Params {
    runtime: String,
    control_plane_group: String,
    drain_timeout_secs: u32,
    disable_docker: bool,
}

struct KubeletRuntime;

#[derive(Debug, Default, PartialEq)]
struct Node {
    kubeconfig: Option<&'static str>,
    registered: bool,
    runtime: String,
    socket: String,
    cordoned: bool,
}

impl Node {
    fn parse(out: &str) -> Node {
        let mut n = Node::default();
        for line in out.lines().map(str::trim) {
            if let Some(k) = kube_common::kubeconfig(line) {
                n.kubeconfig = k;
            } else if line == "registered" {
                n.registered = true;
            } else if let Some(v) = line.strip_prefix("runtime=") {
                n.runtime = v.to_string();
            } else if let Some(v) = line.strip_prefix("socket=") {
                n.socket = v.to_string();
            } else if let Some(v) = line.strip_prefix("unschedulable=") {
                n.cordoned = v == "true";
            }
        }
        n
    }
}

/// kubeadm-flags.env with the kubelet pointed at containerd: dockershim's
/// `--network-plugin` goes (it applies to dockershim only), any earlier
/// runtime flags are replaced, every other flag stays in its place.
fn flags_for_containerd(current: &str) -> Option<String> {
    let line = current.lines().find(|l| l.starts_with("KUBELET_KUBEADM_ARGS="))?;
    let args = line.strip_prefix("KUBELET_KUBEADM_ARGS=")?.trim().trim_matches('"');
    let mut kept: Vec<String> = args
        .split_whitespace()
        .filter(|a| {
            !a.starts_with("--network-plugin=") && !a.starts_with("--container-runtime=") && !a.starts_with("--container-runtime-endpoint=")
        })
        .map(String::from)
        .collect();
    kept.insert(0, format!("--container-runtime-endpoint={SOCKET}"));
    kept.insert(0, "--container-runtime=remote".into());
    Some(format!("KUBELET_KUBEADM_ARGS=\"{}\"\n", kept.join(" ")))
}

/// Read-only, every run: the runtime the control plane reports.
fn capture(kc: &str, name: &str) -> Action {
    cmd::run(["kubectl", kc, "get", "node", name, "-o", "jsonpath={.status.nodeInfo.containerRuntimeVersion}"])
        .read_only()
        .capture(VAR)
        .summary(format!("read the runtime {name} reports"))
        .into()
}

impl Plugin for KubeletRuntime {
    fn describe() -> PluginInfo {
        info("kubelet-runtime", env!("CARGO_PKG_VERSION"), "move a kubeadm node from Docker (dockershim) to containerd")
            .inventory()
            .param(param::string("runtime", "containerd", "the runtime to move to (containerd)"))
            .param(param::string(
                "control_plane_group",
                "control-plane",
                "inventory group of the control plane; its first host moves first",
            ))
            .param(param::integer("drain_timeout_secs", 300, "how long a drain may take"))
            .param(param::boolean("disable_docker", true, "stop and disable Docker Engine once the kubelet no longer uses it"))
            .probe_sudo("flags", "cat /var/lib/kubelet/kubeadm-flags.env")
            .probe_script_sudo("node", NODE_PROBE, "")
            .probe("drained", "test -f /etc/kubernetes/plait-runtime-drained")
            .probe("docker_enabled", "systemctl is-enabled docker")
            .probe("docker_active", "systemctl is-active docker")
            .programs(["kubectl", "systemctl", "docker", "rm"])
            .shell()
            .writes([FLAGS, MARKER])
            .produces([VAR])
            .consumes([VAR])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "kubelet-runtime")?;
        let p: Params = ctx.params()?;
        if p.runtime != "containerd" {
            return Err(PluginError::bad_params(format!(
                "runtime must be \"containerd\" (the only move this plugin makes), not {:?}",
                p.runtime
            )));
        }
        if p.drain_timeout_secs == 0 || p.drain_timeout_secs > 3600 {
            return Err(PluginError::bad_params("drain_timeout_secs must be 1..=3600"));
        }
        let first = ctx.hosts_in(&p.control_plane_group)?.next().map(|h| h.name.clone());
        let is_first = first.as_deref() == Some(ctx.host.name.as_str());
        if let Some(cp) = &first
            && !is_first
            && !ctx.offline
            && ctx.var(cp, VAR).is_none()
        {
            return Err(PluginError::missing_variable(format!("{VAR} from {cp}: the control plane moves first")));
        }
        let node = Node::parse(&ctx.probe("node")?.stdout);
        let Some(kubeconfig) = node.kubeconfig else {
            return Err(PluginError::unsupported(format!(
                "{} has neither {ADMIN_CONF} nor {ROOT_KUBECONFIG}: this step drains and annotates the node with kubectl on it (the kubeadm step writes root's kubeconfig on workers with kubectl_on_workers = true)",
                ctx.host.name
            )));
        };
        if !node.registered {
            return Err(PluginError::unsupported(format!(
                "{} is not a node of the cluster (or its API server does not answer with {kubeconfig}): nothing to move",
                ctx.host.name
            )));
        }
        let flags = ctx.probe("flags")?;
        let want_flags = if flags.exit_code == 0 { flags_for_containerd(&flags.stdout) } else { None }.ok_or_else(|| {
            PluginError::unsupported(format!("{FLAGS} on {} has no KUBELET_KUBEADM_ARGS line: is this a kubeadm node?", ctx.host.name))
        })?;
        let name = ctx.facts.hostname.to_ascii_lowercase();
        let kc = format!("--kubeconfig={kubeconfig}");
        let docker_on = ctx.probe("docker_enabled")?.stdout.trim() == "enabled" || ctx.probe("docker_active")?.stdout.trim() == "active";
        let drain = Drain {
            kubeconfig: &kc,
            node: &name,
            marker: MARKER,
            note: "drained by plait kubelet-runtime".into(),
            marked: ctx.probe_ok("drained")?,
            cordoned: node.cordoned,
        };

        let flags_ok = flags.stdout == want_flags;
        let moved = flags_ok && node.runtime.starts_with("containerd://") && node.socket == SOCKET;
        let mut actions: Vec<Action> = Vec::new();
        let mut done = Vec::new();
        if moved {
            done.push(format!("{name} runs on {}", node.runtime));
            if p.disable_docker && docker_on {
                actions.push(cmd::run(["systemctl", "disable", "--now", "docker"]).summary("stop and disable Docker").into());
            }
            if drain.marked {
                drain.uncordon(&mut actions);
            }
            if is_first {
                actions.push(capture(&kc, &name));
            }
            return Ok(Plan::new(actions, done.join("; ")));
        }
        drain.drain(p.drain_timeout_secs, &mut actions);
        // While the API server still answers: on a single control plane it
        // goes down with Docker's containers below.
        if node.socket != SOCKET {
            let annotation = format!("{ANNOTATION}={SOCKET}");
            actions.push(
                cmd::run(["kubectl", kc.as_str(), "annotate", "node", name.as_str(), "--overwrite", annotation.as_str()])
                    .summary(format!("annotate {name} with the containerd CRI socket"))
                    .into(),
            );
        }
        actions.push(cmd::run(["systemctl", "stop", "kubelet"]).summary("stop the kubelet").into());
        if docker_on {
            actions.push(
                cmd::script("ids=$(docker ps -q); [ -z \"$ids\" ] || docker stop $ids")
                    .timeout_secs(300)
                    .summary("stop the containers Docker runs (live-restore would keep them)")
                    .into(),
            );
            if p.disable_docker {
                actions.push(cmd::run(["systemctl", "disable", "--now", "docker"]).summary("stop and disable Docker").into());
            }
        }
        if !flags_ok {
            actions.push(file::put(FLAGS, want_flags).mode(0o644).summary(format!("point the kubelet at {SOCKET} ({FLAGS})")).into());
        }
        actions.push(cmd::run(["systemctl", "start", "kubelet"]).summary("start the kubelet").into());
        // The API server of a control plane comes back with the kubelet's
        // static pods; the loop tolerates its absence meanwhile. Not
        // read-only: a dry run does not restart anything to wait for.
        let wait = format!(
            "n={}; for i in $(seq 90); do v=$(kubectl {} get node \"$n\" -o jsonpath='{{.status.nodeInfo.containerRuntimeVersion}}' 2>/dev/null); case $v in containerd://*) exit 0 ;; esac; sleep 2; done; echo \"node $n reports container runtime '$v'\" >&2; exit 1",
            shell::quote(&name),
            shell::quote(&kc)
        );
        actions.push(cmd::script(wait).timeout_secs(240).summary(format!("wait until {name} reports containerd")).into());
        drain.uncordon(&mut actions);
        if is_first {
            actions.push(capture(&kc, &name));
        }
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(KubeletRuntime);

#[cfg(test)]
mod tests {
    use super::*;
    use plait_sdk::testing::ContextBuilder;

    const DOCKER_FLAGS: &str = "KUBELET_KUBEADM_ARGS=\"--network-plugin=cni --pod-infra-container-image=mirror/pause:3.4.1\"\n";

    #[test]
    fn the_kubelet_flags_trade_dockershim_for_containerd_and_keep_the_rest() {
        let want = flags_for_containerd(DOCKER_FLAGS).unwrap();
        assert_eq!(
            want,
            "KUBELET_KUBEADM_ARGS=\"--container-runtime=remote --container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=mirror/pause:3.4.1\"\n"
        );
        assert_eq!(flags_for_containerd(&want).unwrap(), want, "idempotent");
        assert_eq!(flags_for_containerd("# nothing\n"), None);
    }

    fn host(node: &str, flags: &str, drained: bool, docker: &str) -> Context {
        ContextBuilder::centos7("node1")
            .facts(|f| f.hostname = "node1".into())
            .probe("node", 0, node)
            .probe("flags", 0, flags)
            .probe("drained", if drained { 0 } else { 1 }, "")
            .probe("docker_enabled", 0, &format!("{docker}\n"))
            .probe("docker_active", 0, if docker == "enabled" { "active\n" } else { "inactive\n" })
            .build::<KubeletRuntime>()
    }

    fn summaries(p: &Plan) -> Vec<String> {
        p.actions.iter().map(|a| a.summary.clone()).collect()
    }

    #[test]
    fn a_docker_node_is_drained_switched_annotated_and_uncordoned_in_order() {
        let node = "kubeconfig=/root/.kube/config\nregistered\nruntime=docker://20.10.8\nsocket=/var/run/dockershim.sock\nunschedulable=\n";
        let s = summaries(&KubeletRuntime::plan(&host(node, DOCKER_FLAGS, false, "enabled")).unwrap());
        assert_eq!(
            s,
            [
                "remember that plait drains this node",
                "drain node1",
                "annotate node1 with the containerd CRI socket",
                "stop the kubelet",
                "stop the containers Docker runs (live-restore would keep them)",
                "stop and disable Docker",
                "point the kubelet at unix:///run/containerd/containerd.sock (/var/lib/kubelet/kubeadm-flags.env)",
                "start the kubelet",
                "wait until node1 reports containerd",
                "uncordon node1",
                "forget the drain (plait's marker)",
            ]
        );
    }

    #[test]
    fn a_moved_node_plans_nothing_and_a_left_drain_is_undone() {
        let node = "kubeconfig=/root/.kube/config\nregistered\nruntime=containerd://1.6.33\nsocket=unix:///run/containerd/containerd.sock\nunschedulable=\n";
        let flags = flags_for_containerd(DOCKER_FLAGS).unwrap();
        assert!(KubeletRuntime::plan(&host(node, &flags, false, "disabled")).unwrap().actions.is_empty());
        let cordoned = node.replace("unschedulable=\n", "unschedulable=true\n");
        assert_eq!(
            summaries(&KubeletRuntime::plan(&host(&cordoned, &flags, true, "disabled")).unwrap()),
            ["uncordon node1", "forget the drain (plait's marker)"]
        );
    }

    #[test]
    fn workers_wait_for_the_control_plane_to_move_first() {
        let ctx = ContextBuilder::centos7("node1")
            .host("master", "192.168.100.100", &["control-plane"])
            .probe("node", 0, "kubeconfig=/root/.kube/config\nregistered\nruntime=docker://20.10.8\n")
            .build::<KubeletRuntime>();
        let err = KubeletRuntime::plan(&ctx).unwrap_err();
        assert!(matches!(err.kind, ErrorKind::MissingVariable), "{}", err.message);
    }

    #[test]
    fn a_host_that_is_no_node_is_refused_with_the_reason() {
        let err = KubeletRuntime::plan(&host("kubeconfig=/root/.kube/config\nruntime=\n", DOCKER_FLAGS, false, "enabled")).unwrap_err();
        assert!(err.message.contains("is not a node of the cluster"), "{}", err.message);
    }
}
