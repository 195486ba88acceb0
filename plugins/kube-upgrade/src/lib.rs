//! `kube-upgrade`: a kubeadm cluster one minor version up, as the kubeadm
//! documentation "Upgrading kubeadm clusters" (v1.22) orders it.
//!
//! - The first host of `control_plane_group`: kubeadm at the new version,
//!   `kubeadm upgrade plan VERSION` (read-only, for the report), `kubeadm
//!   upgrade apply VERSION -y`; then its own kubelet (below). Afterwards it
//!   captures the cluster's version (`control_plane_version`, read from the
//!   kubeadm-config ConfigMap that apply rewrites).
//! - Every other host waits for that variable, refuses to go past the
//!   control plane's version (a kubelet must not be newer than the API
//!   server), and runs kubeadm at the new version and `kubeadm upgrade
//!   node`.
//! - Then, on each host: drain the node, kubelet and kubectl at the new
//!   version, `systemctl daemon-reload` and restart the kubelet, wait until
//!   the node reports the new kubelet version, uncordon. Run the workers'
//!   step with `strategy = { serial = 1 }`: one node at a time, and a failed
//!   node stops the rollout with the rest untouched.
//!
//! Refused before anything changes, on every host: skipping a minor version
//! (kubeadm's own policy, phases/upgrade/policy.go
//! `MaximumAllowedMinorVersionUpgradeSkew = 1`, which `apply` would also
//! refuse) and downgrades.
//!
//! Done is decided from the cluster: the kubeadm-config ConfigMap's
//! `kubernetesVersion` (apply's upload-config phase writes it) and the
//! node's `status.nodeInfo.kubeletVersion` (what the running kubelet
//! reports), with the package versions from `rpm -q`. A node this plugin
//! drained is marked on the host (/etc/kubernetes/plait-upgrade-drained)
//! until it is uncordoned, so a run that stopped in between uncordons it on
//! `--resume`, and a node cordoned by someone else is left cordoned.

use kube_common::{ADMIN_CONF, Drain, ROOT_KUBECONFIG, node_probe};
use plait_sdk::prelude::*;
use serde::Deserialize;

/// The cluster version, captured on the first control-plane host.
const VAR: &str = "control_plane_version";
/// Present while this plugin holds the node drained.
const MARKER: &str = "/etc/kubernetes/plait-upgrade-drained";

/// Prints `kubeconfig=PATH`, the ClusterConfiguration's `kubernetesVersion:`
/// line, and this node's kubelet version and cordon state.
const CLUSTER_PROBE: &str = node_probe!(
    "$k -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' 2>/dev/null | grep '^kubernetesVersion:'; \
echo kubelet=$($k get node \"$n\" -o jsonpath='{.status.nodeInfo.kubeletVersion}' 2>/dev/null); \
echo unschedulable=$($k get node \"$n\" -o jsonpath='{.spec.unschedulable}' 2>/dev/null); true"
);

#[derive(Deserialize)]
struct Params {
    version: String,
    control_plane_group: String,
    drain_timeout_secs: u32,
}

struct KubeUpgrade;

/// `1.22.17` as (major, minor, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Semver(u64, u64, u64);

impl Semver {
    fn parse(v: &str) -> Option<Semver> {
        let v = v.trim().trim_matches('"').strip_prefix('v').unwrap_or(v.trim().trim_matches('"'));
        let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
        let s = Semver(it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(s)
    }
}

impl std::fmt::Display for Semver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What the cluster probe found.
#[derive(Debug, Default, PartialEq)]
struct Cluster {
    kubeconfig: Option<&'static str>,
    version: Option<Semver>,
    kubelet: Option<Semver>,
    cordoned: bool,
}

impl Cluster {
    fn parse(out: &str) -> Cluster {
        let mut c = Cluster::default();
        for line in out.lines().map(str::trim) {
            if let Some(k) = kube_common::kubeconfig(line) {
                c.kubeconfig = k;
            } else if let Some(v) = line.strip_prefix("kubernetesVersion:") {
                c.version = Semver::parse(v);
            } else if let Some(v) = line.strip_prefix("kubelet=") {
                c.kubelet = Semver::parse(v);
            } else if let Some(v) = line.strip_prefix("unschedulable=") {
                c.cordoned = v == "true";
            }
        }
        c
    }
}

/// Refuse what kubeadm's version policy refuses, before anything changes.
fn check_skew(from: Semver, to: Semver) -> Result<(), PluginError> {
    if to.0 != from.0 || to.1 > from.1 + 1 {
        return Err(PluginError::unsupported(format!(
            "the cluster runs {from}; {to} skips a minor version: kubeadm upgrades one minor version at a time, so upgrade to {}.{}.x first",
            from.0,
            from.1 + 1
        )));
    }
    if to < from {
        return Err(PluginError::unsupported(format!("the cluster runs {from}, newer than {to}: kube-upgrade does not downgrade")));
    }
    Ok(())
}

fn pins(version: &Semver, names: &[&str]) -> Vec<rpm::Pin> {
    let v = format!("{}.{}.{}", version.0, version.1, version.2);
    names.iter().map(|n| rpm::Pin::new(n, &format!("{n}-{v}"))).collect()
}

impl Plugin for KubeUpgrade {
    fn describe() -> PluginInfo {
        info("kube-upgrade", env!("CARGO_PKG_VERSION"), "upgrade a kubeadm cluster one minor version, one node at a time")
            .inventory()
            .param(param::string("version", "1.22.17", "the Kubernetes version to upgrade to (one minor version above the cluster's)"))
            .param(param::string(
                "control_plane_group",
                "control-plane",
                "inventory group of the control-plane hosts; its first host runs `kubeadm upgrade apply`",
            ))
            .param(param::integer("drain_timeout_secs", 300, "how long a drain may take"))
            .probe("packages", "rpm -q kubeadm kubelet kubectl")
            .probe_script_sudo("cluster", CLUSTER_PROBE, "")
            .probe("drained", "test -f /etc/kubernetes/plait-upgrade-drained")
            .programs(["yum", "rpm", "kubeadm", "kubectl", "systemctl", "rm"])
            .shell()
            .writes([MARKER])
            .produces([VAR])
            .consumes([VAR])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "kube-upgrade")?;
        let p: Params = ctx.params()?;
        let target = Semver::parse(&p.version)
            .ok_or_else(|| PluginError::bad_params(format!("version must be MAJOR.MINOR.PATCH, like 1.22.17, not {:?}", p.version)))?;
        if p.drain_timeout_secs == 0 || p.drain_timeout_secs > 3600 {
            return Err(PluginError::bad_params("drain_timeout_secs must be 1..=3600"));
        }
        let first = ctx
            .hosts_in(&p.control_plane_group)?
            .next()
            .ok_or_else(|| PluginError::bad_params(format!("no host is in group `{}`", p.control_plane_group)))?;
        let is_first = first.name == ctx.host.name;
        let cluster = Cluster::parse(&ctx.probe("cluster")?.stdout);
        let Some(kubeconfig) = cluster.kubeconfig else {
            return Err(PluginError::unsupported(format!(
                "{} has neither {ADMIN_CONF} nor {ROOT_KUBECONFIG}: kube-upgrade drains and uncordons with kubectl on the node (the kubeadm step writes root's kubeconfig on workers with kubectl_on_workers = true)",
                ctx.host.name
            )));
        };
        let Some(current) = cluster.version else {
            return Err(PluginError::unsupported(format!(
                "the cluster's API server does not answer on {} (kubectl could not read the kubeadm-config ConfigMap with {kubeconfig})",
                ctx.host.name
            )));
        };
        check_skew(current, target)?;

        let mut actions: Vec<Action> = Vec::new();
        let mut done: Vec<String> = Vec::new();
        let rpm_q = &ctx.probe("packages")?.stdout;
        let kubeadm_pin = pins(&target, &["kubeadm"]);
        let kubeadm_state = rpm::state(&kubeadm_pin, rpm_q);
        let node = ctx.facts.hostname.to_ascii_lowercase();
        let kc = format!("--kubeconfig={kubeconfig}");

        if is_first {
            if current < target {
                actions.extend(rpm::converge(&kubeadm_pin, &kubeadm_state, &[]));
                let v = target.to_string();
                actions.push(
                    cmd::run(["kubeadm", "upgrade", "plan", v.as_str()])
                        .read_only()
                        .timeout_secs(300)
                        .summary(format!("kubeadm upgrade plan {v}"))
                        .into(),
                );
                actions.push(
                    cmd::run(["kubeadm", "upgrade", "apply", v.as_str(), "-y"])
                        .timeout_secs(1800)
                        .summary(format!("kubeadm upgrade apply {v} (the control plane, from {current})"))
                        .into(),
                );
            } else {
                done.push(format!("the control plane runs {current}"));
            }
        } else if !ctx.offline {
            // A kubelet must not be newer than the API server: wait for the
            // control plane's upgrade, and refuse if it did not get there.
            let cp = ctx
                .var(&first.name, VAR)
                .ok_or_else(|| PluginError::missing_variable(format!("{VAR} from {}: the control plane is upgraded first", first.name)))?;
            match cp.lines().find_map(|l| l.trim().strip_prefix("kubernetesVersion:")).and_then(Semver::parse) {
                Some(v) if v >= target => {}
                Some(v) => {
                    return Err(PluginError::unsupported(format!(
                        "the control plane ({}) runs {v}, older than {target}: upgrade it first (a kubelet must not be newer than the API server)",
                        first.name
                    )));
                }
                None => return Err(PluginError::internal(format!("{VAR} from {} holds no kubernetesVersion", first.name))),
            }
        }

        // This node's kubelet. A node cordoned before plait drained it
        // stays cordoned: whoever cordoned it uncordons it.
        let node_pins = pins(&target, &["kubeadm", "kubelet", "kubectl"]);
        let node_state = rpm::state(&node_pins, rpm_q);
        let running = cluster.kubelet;
        let drain = Drain {
            kubeconfig: &kc,
            node: &node,
            marker: MARKER,
            note: format!("drained by plait kube-upgrade for {target}"),
            marked: ctx.probe_ok("drained")?,
            cordoned: cluster.cordoned,
        };
        if node_state.converged() && running == Some(target) {
            if drain.marked {
                drain.uncordon(&mut actions);
            } else {
                done.push(format!("{node} runs kubelet {target}"));
            }
        } else {
            let from = running.map(|v| v.to_string()).unwrap_or_else(|| "an unknown version".into());
            if !is_first {
                actions.extend(rpm::converge(&kubeadm_pin, &kubeadm_state, &[]));
                actions.push(
                    cmd::run(["kubeadm", "upgrade", "node"])
                        .timeout_secs(900)
                        .summary("kubeadm upgrade node (this node's configuration)")
                        .into(),
                );
            }
            drain.drain(p.drain_timeout_secs, &mut actions);
            let kubelet_pins = pins(&target, &["kubelet", "kubectl"]);
            actions.extend(rpm::converge(&kubelet_pins, &rpm::state(&kubelet_pins, rpm_q), &[]));
            actions.push(cmd::run(["systemctl", "daemon-reload"]).summary("systemctl daemon-reload").into());
            actions.push(
                cmd::run(["systemctl", "restart", "kubelet"]).summary(format!("restart the kubelet (from {from} to {target})")).into(),
            );
            // The kubelet reports its version when it starts; wait for it.
            // Not read-only: a dry run would wait for a restart that it
            // does not make.
            let wait = format!(
                "n={}; for i in $(seq 60); do v=$(kubectl {} get node \"$n\" -o jsonpath='{{.status.nodeInfo.kubeletVersion}}'); [ \"$v\" = {target} ] && exit 0; sleep 2; done; echo \"node $n still reports kubelet $v\" >&2; exit 1",
                shell::quote(&node),
                shell::quote(&kc)
            );
            actions.push(cmd::script(wait).timeout_secs(180).summary(format!("wait until {node} reports kubelet {target}")).into());
            drain.uncordon(&mut actions);
        }

        if is_first {
            // Read-only, every run: the other hosts wait for it.
            actions.push(
                cmd::script(format!(
                    "kubectl {} -n kube-system get configmap kubeadm-config -o jsonpath='{{.data.ClusterConfiguration}}' | grep '^kubernetesVersion:'",
                    shell::quote(&kc)
                ))
                .read_only()
                .capture(VAR)
                .summary("read the control plane's version")
                .into(),
            );
        }
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(KubeUpgrade);

#[cfg(test)]
mod tests {
    use super::*;
    use plait_sdk::testing::ContextBuilder;

    fn summaries(p: &Plan) -> Vec<String> {
        p.actions.iter().map(|a| a.summary.clone()).collect()
    }

    const OLD_PACKAGES: &str = "kubeadm-1.21.10-0.x86_64\nkubelet-1.21.10-0.x86_64\nkubectl-1.21.10-0.x86_64\n";
    const NEW_PACKAGES: &str = "kubeadm-1.22.17-0.x86_64\nkubelet-1.22.17-0.x86_64\nkubectl-1.22.17-0.x86_64\n";

    fn cluster(kubeconfig: &str, version: &str, kubelet: &str, cordoned: bool) -> String {
        format!(
            "kubeconfig={kubeconfig}\nkubernetesVersion: {version}\nkubelet={kubelet}\nunschedulable={}\n",
            if cordoned { "true" } else { "" }
        )
    }

    fn master(cluster_out: &str, packages: &str, drained: bool) -> ContextBuilder {
        ContextBuilder::centos7("master")
            .facts(|f| f.hostname = "master".into())
            .group("control-plane")
            .host("node1", "192.168.100.101", &["workers"])
            .probe("cluster", 0, cluster_out)
            .probe("packages", 0, packages)
            .probe("drained", if drained { 0 } else { 1 }, "")
    }

    fn worker(cluster_out: &str, packages: &str, drained: bool) -> ContextBuilder {
        ContextBuilder::centos7("node1")
            .facts(|f| f.hostname = "node1".into())
            .host("master", "192.168.100.100", &["control-plane"])
            .group("workers")
            .probe("cluster", 0, cluster_out)
            .probe("packages", 0, packages)
            .probe("drained", if drained { 0 } else { 1 }, "")
    }

    #[test]
    fn the_first_control_plane_host_applies_then_upgrades_its_kubelet() {
        let ctx = master(&cluster(ADMIN_CONF, "v1.21.10", "v1.21.10", false), OLD_PACKAGES, false).build::<KubeUpgrade>();
        let plan = KubeUpgrade::plan(&ctx).unwrap();
        let s = summaries(&plan);
        assert!(s[0].starts_with("install kubeadm-1.22.17 (update from 1.21.10-0.x86_64)"), "{s:?}");
        assert_eq!(s[1], "verify the pinned package versions are installed");
        assert_eq!(s[2], "kubeadm upgrade plan v1.22.17");
        assert_eq!(s[3], "kubeadm upgrade apply v1.22.17 (the control plane, from v1.21.10)");
        assert!(s.contains(&"drain master".to_string()));
        assert!(!s.iter().any(|a| a.starts_with("kubeadm upgrade node")), "apply, not node, on the first control-plane host");
        assert_eq!(s.last().unwrap(), "read the control plane's version");
        let drain = s.iter().position(|a| a == "drain master").unwrap();
        let restart = s.iter().position(|a| a.starts_with("restart the kubelet")).unwrap();
        let uncordon = s.iter().position(|a| a == "uncordon master").unwrap();
        assert!(drain < restart && restart < uncordon, "{s:?}");
    }

    #[test]
    fn an_upgraded_cluster_plans_only_the_version_capture() {
        let ctx = master(&cluster(ADMIN_CONF, "v1.22.17", "v1.22.17", false), NEW_PACKAGES, false).build::<KubeUpgrade>();
        let plan = KubeUpgrade::plan(&ctx).unwrap();
        assert_eq!(summaries(&plan), ["read the control plane's version"]);
        let ctx = worker(&cluster(ROOT_KUBECONFIG, "v1.22.17", "v1.22.17", false), NEW_PACKAGES, false)
            .var("master", VAR, "kubernetesVersion: v1.22.17")
            .build::<KubeUpgrade>();
        assert!(KubeUpgrade::plan(&ctx).unwrap().actions.is_empty());
    }

    #[test]
    fn skipping_a_minor_version_or_downgrading_is_refused_everywhere() {
        for (version, words) in [("1.23.17", "skips a minor version"), ("1.21.9", "does not downgrade"), ("2.0.0", "skips a minor")] {
            let ctx = master(&cluster(ADMIN_CONF, "v1.21.10", "v1.21.10", false), OLD_PACKAGES, false)
                .params(serde_json::json!({ "version": version }))
                .build::<KubeUpgrade>();
            let err = KubeUpgrade::plan(&ctx).unwrap_err();
            assert!(err.message.contains(words), "{version}: {}", err.message);
        }
        let ctx = worker(&cluster(ROOT_KUBECONFIG, "v1.21.10", "v1.21.10", false), OLD_PACKAGES, false)
            .params(serde_json::json!({ "version": "1.23.0" }))
            .build::<KubeUpgrade>();
        assert!(KubeUpgrade::plan(&ctx).unwrap_err().message.contains("upgrade to 1.22.x first"));
        let bad = master("", OLD_PACKAGES, false).params(serde_json::json!({ "version": "1.22" })).build::<KubeUpgrade>();
        assert!(KubeUpgrade::plan(&bad).unwrap_err().message.contains("MAJOR.MINOR.PATCH"));
    }

    #[test]
    fn a_worker_waits_for_the_control_plane_and_never_passes_it() {
        let base = || worker(&cluster(ROOT_KUBECONFIG, "v1.21.10", "v1.21.10", false), OLD_PACKAGES, false);
        let waiting = KubeUpgrade::plan(&base().build::<KubeUpgrade>()).unwrap_err();
        assert!(matches!(waiting.kind, ErrorKind::MissingVariable), "{}", waiting.message);
        let behind = base().var("master", VAR, "kubernetesVersion: v1.21.10").build::<KubeUpgrade>();
        assert!(KubeUpgrade::plan(&behind).unwrap_err().message.contains("upgrade it first"));
        let ready = base().var("master", VAR, "kubernetesVersion: v1.22.17").build::<KubeUpgrade>();
        let s = summaries(&KubeUpgrade::plan(&ready).unwrap());
        let pos = |w: &str| s.iter().position(|a| a.starts_with(w)).unwrap_or_else(|| panic!("{w} in {s:?}"));
        assert!(pos("install kubeadm-1.22.17") < pos("kubeadm upgrade node"));
        assert!(pos("kubeadm upgrade node") < pos("drain node1"));
        assert!(pos("drain node1") < pos("install kubelet-1.22.17"));
        assert!(pos("restart the kubelet (from v1.21.10 to v1.22.17)") < pos("wait until node1 reports kubelet v1.22.17"));
        assert_eq!(s.last().unwrap(), "forget the drain (plait's marker)");
    }

    #[test]
    fn a_node_left_drained_by_a_stopped_run_is_uncordoned_and_one_cordoned_by_others_stays() {
        let resumed = worker(&cluster(ROOT_KUBECONFIG, "v1.22.17", "v1.22.17", true), NEW_PACKAGES, true)
            .var("master", VAR, "kubernetesVersion: v1.22.17")
            .build::<KubeUpgrade>();
        assert_eq!(summaries(&KubeUpgrade::plan(&resumed).unwrap()), ["uncordon node1", "forget the drain (plait's marker)"]);
        let theirs = worker(&cluster(ROOT_KUBECONFIG, "v1.22.17", "v1.21.10", true), OLD_PACKAGES, false)
            .var("master", VAR, "kubernetesVersion: v1.22.17")
            .build::<KubeUpgrade>();
        let s = summaries(&KubeUpgrade::plan(&theirs).unwrap());
        assert!(s.contains(&"drain node1".to_string()));
        assert!(!s.iter().any(|a| a.starts_with("uncordon") || a.starts_with("remember")), "{s:?}");
    }

    #[test]
    fn without_a_kubeconfig_or_an_answering_api_server_it_says_why() {
        let none = worker("kubeconfig=\n", OLD_PACKAGES, false).build::<KubeUpgrade>();
        assert!(KubeUpgrade::plan(&none).unwrap_err().message.contains("kubectl_on_workers"));
        let down = worker("kubeconfig=/root/.kube/config\nkubelet=\nunschedulable=\n", OLD_PACKAGES, false).build::<KubeUpgrade>();
        assert!(KubeUpgrade::plan(&down).unwrap_err().message.contains("does not answer"));
        // A path the probe did not offer is not used.
        assert_eq!(Cluster::parse("kubeconfig=/tmp/x;rm -rf /\n").kubeconfig, None);
    }
}
