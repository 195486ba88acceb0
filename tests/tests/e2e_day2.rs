//! Day 2 on the simulated fleet (issue 15): add a worker to a running
//! cluster, remove one (drain, delete, reset), and reset the cluster to the
//! state before `kubeadm init`. Each lifecycle workflow runs twice: the
//! second run changes nothing.

use plait_tests::fleet::{Fleet, skip_unless_available};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn events(o: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn recap(o: &std::process::Output) -> Vec<Value> {
    let ev = events(o);
    let r = ev.iter().rev().find(|e| e["event"] == "recap").unwrap_or_else(|| panic!("no recap in\n{}", text(o)));
    r["hosts"].as_array().unwrap().clone()
}

fn changed(o: &std::process::Output, host: &str) -> u64 {
    recap(o)
        .iter()
        .find(|h| h["host"] == host)
        .map(|h| h["changed"].as_u64().unwrap())
        .unwrap_or_else(|| panic!("{host} not in {}", text(o)))
}

/// What changed on `host`: the summaries of its changed actions.
fn changes(o: &std::process::Output, host: &str) -> Vec<String> {
    events(o)
        .iter()
        .filter(|e| e["event"] == "action" && e["host"] == host && e["status"] == "changed")
        .map(|e| e["summary"].as_str().unwrap().to_string())
        .collect()
}

/// The fleet's inventory with `hosts` only, each in `groups` (first is the control plane).
fn inventory(fleet: &Fleet, dir: &Path, name: &str, hosts: &[(&str, &str)]) -> PathBuf {
    let addr = |h: &str| std::fs::read_to_string(fleet.dir().join(format!("hosts/{h}/address"))).unwrap().trim().to_string();
    let mut s = format!(
        "[defaults]\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n",
        fleet.dir().join("id_ed25519").display(),
        fleet.dir().join("known_hosts").display()
    );
    for (h, group) in hosts {
        s.push_str(&format!("\n[hosts.{h}]\naddress = \"{}\"\ngroups = [\"{group}\"]\n", addr(h)));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, s).unwrap();
    path
}

/// `plait run WORKFLOW -i INV --state-dir STATE --output json EXTRA...`.
fn plait_run(fleet: &Fleet, workflow: &str, inv: &Path, state: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", workflow, "-i", inv.to_str().unwrap(), "--state-dir", state.to_str().unwrap(), "--output", "json"];
    args.extend_from_slice(extra);
    fleet.plait(&args)
}

/// A run that must succeed.
fn run(fleet: &Fleet, workflow: &str, inv: &Path, state: &Path) -> std::process::Output {
    let o = plait_run(fleet, workflow, inv, state, &[]);
    assert_eq!(o.status.code(), Some(0), "{workflow}: {}", text(&o));
    o
}

/// The run changed nothing on `hosts`.
fn unchanged(o: &std::process::Output, hosts: &[&str]) {
    for h in hosts {
        assert_eq!(changed(o, h), 0, "{h}: {:?}", changes(o, h));
    }
}

/// Three fresh hosts (master in `control-plane`, node1 and node2 in
/// `workers`), a work folder, its state folder and the inventory.
fn three_hosts() -> (Fleet, tempfile::TempDir, PathBuf, PathBuf) {
    let fleet = Fleet::up(3);
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let inv = inventory(&fleet, work.path(), "three", &[("master", "control-plane"), ("node1", "workers"), ("node2", "workers")]);
    (fleet, work, state, inv)
}

#[test]
fn a_worker_joins_a_running_cluster_then_one_leaves_then_the_cluster_is_reset() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(4);
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let three = inventory(&fleet, work.path(), "three", &[("master", "control-plane"), ("node1", "workers"), ("node2", "workers")]);
    let four = inventory(
        &fleet,
        work.path(),
        "four",
        &[("master", "control-plane"), ("node1", "workers"), ("node2", "workers"), ("node3", "workers")],
    );
    run(&fleet, "workflows/k8s-centos7.toml", &three, &state);
    assert_eq!(fleet.state("master")["cluster"]["nodes"], serde_json::json!(["master", "node1", "node2"]));

    // 1. Add node3. Its join token expired meanwhile (deleted here): the
    //    control plane makes a fresh one. The others change only /etc/hosts,
    //    which lists every inventory host (the tutorial's hosts file).
    let kept = fleet.exec("master", "cat /etc/kubernetes/plait-join-command");
    let token = kept.split_whitespace().skip_while(|w| *w != "--token").nth(1).unwrap().to_string();
    fleet.exec("master", &format!("kubeadm token delete {token}"));
    let o = run(&fleet, "workflows/k8s-centos7.toml", &four, &state);
    assert!(changed(&o, "node3") >= 40, "node3 is set up and joins: {:?}", changes(&o, "node3"));
    for h in ["node1", "node2"] {
        assert_eq!(changes(&o, h), ["list 4 inventory hosts in /etc/hosts"], "{h}");
    }
    let mut on_master = changes(&o, "master");
    on_master.sort();
    assert_eq!(on_master.len(), 2, "{on_master:?}");
    assert!(
        on_master.iter().any(|s| s.starts_with("create a join command for the workers (the kept one: token not listed)")),
        "{on_master:?}"
    );
    assert_eq!(fleet.state("master")["cluster"]["nodes"], serde_json::json!(["master", "node1", "node2", "node3"]));
    let o = run(&fleet, "workflows/k8s-centos7.toml", &four, &state);
    unchanged(&o, &["master", "node1", "node2", "node3"]);

    // 2. Remove node2: drained and deleted on the control plane, then reset.
    let leaving = inventory(
        &fleet,
        work.path(),
        "leaving",
        &[("master", "control-plane"), ("node1", "workers"), ("node2", "leaving"), ("node3", "workers")],
    );
    let o = run(&fleet, "workflows/remove-node.toml", &leaving, &state);
    assert_eq!(changes(&o, "master"), ["drain node2", "delete node node2"]);
    assert!(changes(&o, "node2").iter().any(|s| s.starts_with("kubeadm reset -f")), "{:?}", changes(&o, "node2"));
    assert_eq!(fleet.state("master")["cluster"]["nodes"], serde_json::json!(["master", "node1", "node3"]));
    assert_eq!(fleet.state("node2")["kubernetes"]["kubelet_conf"], false);
    assert_eq!(fleet.exec("node2", "ls -A /etc/cni/net.d 2>/dev/null | wc -l").trim(), "0", "CNI configuration removed");
    let o = run(&fleet, "workflows/remove-node.toml", &leaving, &state);
    unchanged(&o, &["master", "node2"]);

    // 3. Reset the cluster: nothing of kubeadm is left, the packages and the
    //    OS preparation stay; a second reset changes nothing.
    let rest = inventory(&fleet, work.path(), "rest", &[("master", "control-plane"), ("node1", "workers"), ("node3", "workers")]);
    run(&fleet, "workflows/reset.toml", &rest, &state);
    for h in ["master", "node1", "node3"] {
        let s = fleet.state(h);
        assert_eq!(s["kubernetes"]["kubelet_conf"], false, "{h}");
        assert!(s["packages"].as_array().unwrap().iter().any(|p| p == "kubelet-1.21.10-0.x86_64"), "{h} keeps its packages");
        assert_eq!(s["selinux"]["config"], "disabled", "{h} keeps its OS preparation");
    }
    assert_eq!(fleet.exec("master", "test -e /etc/kubernetes/admin.conf && echo yes || echo no").trim(), "no");
    let o = run(&fleet, "workflows/reset.toml", &rest, &state);
    unchanged(&o, &["master", "node1", "node3"]);
}

#[test]
fn an_unreachable_leaving_node_is_still_removed_from_the_cluster_and_reported() {
    if skip_unless_available() {
        return;
    }
    let (fleet, work, state, three) = three_hosts();
    run(&fleet, "workflows/k8s-centos7.toml", &three, &state);
    let leaving = inventory(&fleet, work.path(), "leaving", &[("master", "control-plane"), ("node1", "workers"), ("node2", "leaving")]);
    fleet.net("node2", false);
    let o = fleet.plait(&[
        "run",
        "workflows/remove-node.toml",
        "-i",
        leaving.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(changes(&o, "master"), ["drain node2", "delete node node2"]);
    let r = recap(&o);
    let node2 = r.iter().find(|h| h["host"] == "node2").unwrap();
    assert_eq!(node2["state"], "unreachable", "{node2}");
    assert_eq!(fleet.state("master")["cluster"]["nodes"], serde_json::json!(["master", "node1"]));
}

fn packages(fleet: &Fleet, h: &str) -> Vec<String> {
    fleet.state(h)["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .filter(|p| ["kubeadm-", "kubelet-", "kubectl-"].iter().any(|k| p.starts_with(k)))
        .collect()
}

#[test]
fn the_cluster_is_upgraded_one_node_at_a_time_a_failed_node_stops_the_rollout_and_resume_finishes_it() {
    if skip_unless_available() {
        return;
    }
    let (fleet, work, state, inv) = three_hosts();
    run(&fleet, "workflows/k8s-centos7.toml", &inv, &state);
    let old = ["kubeadm-1.21.10-0.x86_64", "kubectl-1.21.10-0.x86_64", "kubelet-1.21.10-0.x86_64"];
    let new = ["kubeadm-1.22.17-0.x86_64", "kubectl-1.22.17-0.x86_64", "kubelet-1.22.17-0.x86_64"];
    let upgrade = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/upgrade.toml");

    // Skipping a minor version is refused on every host before anything changes.
    let skip = work.path().join("upgrade-1.23.toml");
    std::fs::write(&skip, std::fs::read_to_string(&upgrade).unwrap().replace("1.22.17", "1.23.17")).unwrap();
    let o = plait_run(&fleet, skip.to_str().unwrap(), &inv, &work.path().join("skip-state"), &[]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("v1.23.17 skips a minor version"), "{}", text(&o));
    assert!(events(&o).iter().all(|e| e["event"] != "action" || e["status"] != "changed"), "nothing changed");
    assert_eq!(packages(&fleet, "master"), old);

    // The dry run plans every host's upgrade (the workers as if the control
    // plane were upgraded already) and changes nothing.
    let o = fleet.plait(&["plan", upgrade.to_str().unwrap(), "-i", inv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for want in
        ["kubeadm upgrade apply v1.22.17 (the control plane, from v1.21.10)", "kubeadm upgrade node", "drain node2", "uncordon node1"]
    {
        assert!(text(&o).contains(want), "{want} in {}", text(&o));
    }
    assert_eq!(fleet.state("master")["cluster"]["version"], "v1.21.10");

    // node1's `kubeadm upgrade node` fails: the control plane is upgraded,
    // node1 failed, node2 never starts and keeps 1.21.
    fleet.exec("node1", "mkdir -p /var/lib/plait-sim/faults && touch /var/lib/plait-sim/faults/kubeadm-upgrade-node");
    let o = plait_run(&fleet, upgrade.to_str().unwrap(), &inv, &state, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = recap(&o);
    let st = |h: &str| r.iter().find(|x| x["host"] == h).unwrap()["state"].as_str().unwrap().to_string();
    assert_eq!((st("master").as_str(), st("node1").as_str(), st("node2").as_str()), ("converged", "failed", "not_started"), "{}", text(&o));
    assert!(changes(&o, "node2").is_empty());
    let c = &fleet.state("master")["cluster"];
    assert_eq!(c["version"], "v1.22.17");
    assert_eq!(c["kubelet_versions"], serde_json::json!({"master": "v1.22.17", "node1": "v1.21.10", "node2": "v1.21.10"}));
    assert_eq!(c["unschedulable"], serde_json::json!([]), "master was uncordoned; node1 failed before its drain");
    assert_eq!(packages(&fleet, "master"), new);
    assert_eq!(packages(&fleet, "node2"), old);
    let on_master = changes(&o, "master");
    assert!(on_master.iter().any(|s| s == "kubeadm upgrade apply v1.22.17 (the control plane, from v1.21.10)"), "{on_master:?}");

    // --resume continues with node1, then node2, one at a time.
    let o = plait_run(&fleet, upgrade.to_str().unwrap(), &inv, &state, &["--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ev = events(&o);
    let order: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action" && e["status"] == "changed" && e["step"] == 2)
        .map(|e| e["host"].as_str().unwrap())
        .collect();
    let first_node2 = order.iter().position(|h| *h == "node2").expect("node2 upgraded");
    assert!(order[..first_node2].contains(&"node1") && !order[first_node2..].contains(&"node1"), "one node at a time: {order:?}");
    for h in ["node1", "node2"] {
        let c = changes(&o, h);
        for want in ["kubeadm upgrade node (this node's configuration)", &format!("drain {h}"), &format!("uncordon {h}")] {
            assert!(c.iter().any(|s| s == want), "{h}: {want} in {c:?}");
        }
        assert_eq!(packages(&fleet, h), new, "{h}");
    }
    let c = &fleet.state("master")["cluster"];
    assert_eq!(c["kubelet_versions"], serde_json::json!({"master": "v1.22.17", "node1": "v1.22.17", "node2": "v1.22.17"}));
    assert_eq!(c["unschedulable"], serde_json::json!([]));
    assert!(c["kube_proxy_image"].as_str().unwrap().ends_with("/kube-proxy:v1.22.17"));
    assert_eq!(c["kube_proxy_modes"], serde_json::json!({"master": "ipvs", "node1": "ipvs", "node2": "ipvs"}));

    // A second run changes nothing.
    let o = plait_run(&fleet, upgrade.to_str().unwrap(), &inv, &state, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    unchanged(&o, &["master", "node1", "node2"]);
}

#[test]
fn the_seed_runs_on_containerd_instead_of_docker() {
    if skip_unless_available() {
        return;
    }
    let (fleet, _work, state, inv) = three_hosts();
    let o = run(&fleet, "workflows/k8s-centos7-containerd.toml", &inv, &state);
    assert!(changes(&o, "node1").iter().any(|s| s == "write /etc/containerd/config.toml"), "{:?}", changes(&o, "node1"));
    let c = &fleet.state("master")["cluster"];
    assert_eq!(c["nodes"], serde_json::json!(["master", "node1", "node2"]));
    for h in ["master", "node1", "node2"] {
        assert_eq!(c["container_runtimes"][h], "containerd://1.6.33", "{h}");
        assert_eq!(c["cri_sockets"][h], "unix:///run/containerd/containerd.sock", "{h}");
        let s = fleet.state(h);
        assert_eq!(s["containerd"]["cri"], true, "{h}");
        assert_eq!(s["containerd"]["systemd_cgroup"], true, "{h}");
        assert_eq!(s["docker_running"], false, "{h}: no docker");
        assert!(!s["packages"].as_array().unwrap().iter().any(|p| p.as_str().unwrap().starts_with("docker-ce")), "{h}");
    }
    let images = fleet.state("master")["containerd_images"].clone();
    assert!(
        images.as_array().unwrap().iter().any(|i| i == "registry.cn-hangzhou.aliyuncs.com/google_containers/coredns/coredns:v1.8.0"),
        "the control-plane images are in containerd's store: {images}"
    );
    let o = run(&fleet, "workflows/k8s-centos7-containerd.toml", &inv, &state);
    unchanged(&o, &["master", "node1", "node2"]);
}

#[test]
fn a_docker_cluster_moves_to_containerd_one_node_at_a_time_and_then_upgrades() {
    if skip_unless_available() {
        return;
    }
    let (fleet, _work, state, inv) = three_hosts();
    run(&fleet, "workflows/k8s-centos7.toml", &inv, &state);
    assert_eq!(fleet.state("master")["cluster"]["container_runtimes"]["node1"], "docker://20.10.8");

    let o = run(&fleet, "workflows/migrate-docker-to-containerd.toml", &inv, &state);
    // docker-ce brought containerd.io, whose packaged config.toml disables
    // the CRI plugin: it is replaced, and containerd restarted under docker.
    for want in
        ["write /etc/containerd/config.toml (the package's file disables the CRI plugin)", "restart containerd (config.toml changed)"]
    {
        assert!(changes(&o, "node1").iter().any(|s| s == want), "{want} in {:?}", changes(&o, "node1"));
    }
    let ev = events(&o);
    let order: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "action" && e["status"] == "changed" && e["step"].as_u64().unwrap() >= 2)
        .map(|e| e["host"].as_str().unwrap())
        .collect();
    let first = |h: &str| order.iter().position(|x| *x == h).unwrap_or_else(|| panic!("{h} moved: {order:?}"));
    let last = |h: &str| order.iter().rposition(|x| *x == h).unwrap();
    assert!(last("master") < first("node1") && last("node1") < first("node2"), "the control plane, then one worker at a time: {order:?}");
    let c = &fleet.state("master")["cluster"];
    for h in ["master", "node1", "node2"] {
        assert_eq!(c["container_runtimes"][h], "containerd://1.6.33", "{h}");
        assert_eq!(c["cri_sockets"][h], "unix:///run/containerd/containerd.sock", "{h}");
        assert_eq!(fleet.state(h)["docker_running"], false, "{h}");
        let flags = fleet.exec(h, "cat /var/lib/kubelet/kubeadm-flags.env");
        assert!(
            flags.contains("--container-runtime=remote --container-runtime-endpoint=unix:///run/containerd/containerd.sock"),
            "{h}: {flags}"
        );
        assert!(!flags.contains("--network-plugin"), "{h}: {flags}");
        for want in [format!("drain {h}"), format!("uncordon {h}"), "stop and disable Docker".to_string()] {
            assert!(changes(&o, h).contains(&want), "{h}: {want} in {:?}", changes(&o, h));
        }
    }
    assert_eq!(c["unschedulable"], serde_json::json!([]));
    let o = run(&fleet, "workflows/migrate-docker-to-containerd.toml", &inv, &state);
    unchanged(&o, &["master", "node1", "node2"]);

    // kubeadm reads the runtime back from the node's annotation: the
    // upgrade after the move pulls with containerd.
    run(&fleet, "workflows/upgrade.toml", &inv, &state);
    let c = &fleet.state("master")["cluster"];
    assert_eq!(c["kubelet_versions"], serde_json::json!({"master": "v1.22.17", "node1": "v1.22.17", "node2": "v1.22.17"}));
    let images = fleet.state("master")["containerd_images"].clone();
    assert!(
        images.as_array().unwrap().iter().any(|i| i == "registry.cn-hangzhou.aliyuncs.com/google_containers/kube-apiserver:v1.22.17"),
        "{images}"
    );
}
