//! Swapping the pod network end to end: the flannel workflow converges a
//! fresh cluster, and the migration workflow moves a calico cluster to
//! flannel, removing what calico left on the nodes. Re-runs change nothing.
//! Needs root; PLAIT_SKIP_E2E=1 skips explicitly.

use plait_tests::fleet::{Fleet, skip_unless_available};
use serde_json::{Value, json};

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn changed(o: &std::process::Output) -> u64 {
    let recap = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "recap")
        .expect("recap");
    recap["hosts"].as_array().unwrap().iter().map(|h| h["changed"].as_u64().unwrap()).sum()
}

fn run(fleet: &Fleet, workflow: &str, state: &std::path::Path) -> std::process::Output {
    let inv = fleet.inventory("root");
    let o = fleet.plait(&["run", workflow, "-i", inv.to_str().unwrap(), "--state-dir", state.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{workflow}:\n{}", text(&o));
    o
}

#[test]
fn the_flannel_workflow_converges_a_fresh_cluster() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let state = tempfile::tempdir().unwrap();
    run(&fleet, "workflows/k8s-centos7-flannel.toml", state.path());
    for h in ["master", "node1", "node2"] {
        let s = fleet.state(h);
        assert_eq!(s["cluster"]["cni"], "flannel");
        assert_eq!(s["cluster"]["ready"], true);
        assert_eq!(s["cni_files"], json!(["10-flannel.conflist"]), "{h}");
        assert_eq!(s["links"], json!(["cni0", "flannel.1"]), "{h}");
    }
    let again = run(&fleet, "workflows/k8s-centos7-flannel.toml", state.path());
    assert_eq!(changed(&again), 0, "{}", text(&again));
}

#[test]
fn a_calico_cluster_migrates_to_flannel() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let state = tempfile::tempdir().unwrap();
    run(&fleet, "workflows/k8s-centos7.toml", state.path());
    let before = fleet.state("node1");
    assert_eq!(before["cluster"]["cni"], "calico");
    assert_eq!(before["cni_files"], json!(["10-calico.conflist", "calico-kubeconfig"]));
    assert_eq!(before["links"], json!(["tunl0"]));

    let o = run(&fleet, "workflows/migrate-calico-to-flannel.toml", state.path());
    assert!(changed(&o) > 0);
    for h in ["master", "node1", "node2"] {
        let s = fleet.state(h);
        assert_eq!(s["cluster"]["cni"], "flannel", "{h}");
        assert_eq!(s["cluster"]["calico_pool_cidr"], Value::Null, "calico's DaemonSet is gone");
        assert_eq!(s["cni_files"], json!(["10-flannel.conflist"]), "calico's files are gone on {h}");
        assert_eq!(s["links"], json!(["cni0", "flannel.1"]), "tunl0 is gone on {h}");
    }
    let again = run(&fleet, "workflows/migrate-calico-to-flannel.toml", state.path());
    assert_eq!(changed(&again), 0, "{}", text(&again));
}
