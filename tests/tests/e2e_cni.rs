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
fn a_calico_cluster_migrates_to_flannel_and_back() {
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
        assert_eq!(s["cluster"]["calico_pools"], json!([]), "calico's IP pools went with its CRDs");
        assert_eq!(s["cni_files"], json!(["10-flannel.conflist"]), "calico's files are gone on {h}");
        assert_eq!(s["links"], json!(["cni0", "flannel.1"]), "tunl0 is gone on {h}");
    }
    let again = run(&fleet, "workflows/migrate-calico-to-flannel.toml", state.path());
    assert_eq!(changed(&again), 0, "{}", text(&again));

    // And back: flannel to calico.
    run(&fleet, "workflows/migrate-flannel-to-calico.toml", state.path());
    for h in ["master", "node1", "node2"] {
        let s = fleet.state(h);
        assert_eq!(s["cluster"]["cni"], "calico", "{h}");
        assert_eq!(s["cluster"]["calico_pools"], json!(["10.244.0.0/16"]), "calico-node made its pool from kubeadm's podSubnet again");
        assert_eq!(s["cni_files"], json!(["10-calico.conflist", "calico-kubeconfig"]), "flannel's files are gone on {h}");
        assert_eq!(s["links"], json!(["tunl0"]), "flannel.1 and cni0 are gone on {h}");
    }
    let again = run(&fleet, "workflows/migrate-flannel-to-calico.toml", state.path());
    assert_eq!(changed(&again), 0, "{}", text(&again));
}

#[test]
fn a_bundled_manifest_installs_calico_only_when_assets_are_granted() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    // The plugin with its asset folder, beside a copy of the seed workflow
    // whose pod-network step uses the bundled manifest.
    let plugins = work.path().join("plugins");
    std::fs::create_dir_all(plugins.join("calico.assets")).unwrap();
    std::fs::copy(plait_tests::plugin_path("calico"), plugins.join("calico.wasm")).unwrap();
    let manifest = "# test manifest\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: calico-node\n  namespace: kube-system\n";
    std::fs::write(plugins.join("calico.assets/calico-v3.19.yaml"), manifest).unwrap();
    let seed = std::fs::read_to_string(plait_tests::repo_root().join("workflows/k8s-centos7.toml")).unwrap();
    let bundled = seed.replace(
        "plugin = \"calico\"\nparams = { version = \"v3.19\", pod_cidr = \"10.244.0.0/16\" }",
        "plugin = \"calico\"\nparams = { version = \"v3.19\", pod_cidr = \"10.244.0.0/16\", manifest = \"bundled\" }",
    );
    assert_ne!(seed, bundled);
    let wf = work.path().join("k8s.toml");
    std::fs::write(&wf, &bundled).unwrap();
    let inv = fleet.inventory("root");
    let state = work.path().join("state");

    // Not granted: the plugin cannot see its assets, and says how to fix it.
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--state-dir", state.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bundled manifest calico-v3.19.yaml is not readable"), "{}", text(&o));
    assert!(text(&o).contains("grant the step `assets = true`"), "{}", text(&o));

    // Granted: uploaded and applied from the file, no URL involved.
    let granted = bundled.replace("manifest = \"bundled\" }", "manifest = \"bundled\" }\ngrants = { assets = true }");
    std::fs::write(&wf, granted).unwrap();
    let o = run(&fleet, wf.to_str().unwrap(), &state);
    assert!(text(&o).contains("upload the bundled calico-v3.19.yaml"), "{}", text(&o));
    assert_eq!(fleet.exec("master", "cat /etc/kubernetes/plait/calico-v3.19.yaml"), manifest);
    assert_eq!(fleet.state("node1")["cluster"]["cni"], "calico");
    let again = run(&fleet, wf.to_str().unwrap(), &state);
    assert_eq!(changed(&again), 0, "{}", text(&again));
}
