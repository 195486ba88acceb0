//! End to end over real SSH against the simulated CentOS fleet
//! (tests/fleet): `plait run`, live `plait plan`, host keys, sudo, failures
//! and resume, timeouts, reboots, variables across hosts, secrets, locking.
//! Needs root; PLAIT_SKIP_E2E=1 skips explicitly.

use plait_tests::fleet::{Fleet, skip_unless_available};
use plait_tests::test_plugin_path;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn events(o: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn recap(o: &std::process::Output) -> Vec<Value> {
    let ev = events(o);
    let r = ev
        .iter()
        .rev()
        .find(|e| e["event"] == "recap")
        .unwrap_or_else(|| panic!("no recap in\n{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)));
    r["hosts"].as_array().unwrap().clone()
}

fn host<'a>(recap: &'a [Value], name: &str) -> &'a Value {
    recap.iter().find(|h| h["host"] == name).unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A workflow with one `kit` step, in its own folder with the plugin beside it.
fn kit_workflow(dir: &Path, mode: &str, target: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(test_plugin_path("kit"), dir.join("plugins/kit.wasm")).unwrap();
    let wf = dir.join("kit.toml");
    std::fs::write(&wf, format!("[workflow]\nname = \"kit\"\n\n[[steps]]\nname = \"kit {mode}\"\nplugin = \"kit\"\nparams = {{ mode = \"{mode}\", target = \"{target}\" }}\n")).unwrap();
    wf
}

fn seed_converges_as(user: &str) {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let inv = fleet.inventory(user);
    let inv = inv.to_str().unwrap();
    let state_dir = fleet.dir().join("state");
    let sd = state_dir.to_str().unwrap();
    let before: Vec<usize> = ["master", "node1", "node2"].iter().map(|h| fleet.logins(h)).collect();

    let first = fleet.plait(&["run", "workflows/k8s-centos7.toml", "-i", inv, "--state-dir", sd, "--output", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    for h in recap(&first) {
        assert_eq!(h["state"], "converged", "{h}");
        assert_eq!(h["failed"], 0, "{h}");
        assert!(h["changed"].as_u64().unwrap() >= 40, "{h}");
    }
    // One SSH connection per host for the whole run, plus the reconnect
    // after the kernel upgrade's reboot.
    for (i, h) in ["master", "node1", "node2"].iter().enumerate() {
        assert_eq!(fleet.logins(h) - before[i], 2, "{h} logins");
    }

    let s = fleet.state("node1");
    assert_eq!(s["kernel"], "5.19.3-1.el7.elrepo.x86_64", "booted into kernel-ml");
    assert_eq!(s["grub_default"], serde_json::json!(["GRUB_DEFAULT=0"]));
    for m in ["br_netfilter", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack"] {
        assert!(s["modules"].as_array().unwrap().iter().any(|x| x == m), "module {m} in {}", s["modules"]);
    }
    for (k, v) in [
        ("net.ipv4.ip_forward", "1"),
        ("net.bridge.bridge-nf-call-iptables", "1"),
        ("net.bridge.bridge-nf-call-ip6tables", "1"),
        ("net.ipv6.conf.all.disable_ipv6", "1"),
    ] {
        assert_eq!(s["sysctls"][k], v, "{k}");
    }
    assert_eq!(s["docker_config"]["exec-opts"], serde_json::json!(["native.cgroupdriver=systemd"]));
    assert_eq!(s["docker_config"]["registry-mirrors"].as_array().unwrap().len(), 3);
    assert_eq!(s["services"]["docker"], serde_json::json!({ "active": true, "enabled": true }));
    assert!(s["packages"].as_array().unwrap().iter().any(|p| p == "docker-ce-3:20.10.8-3.el7.x86_64"), "{}", s["packages"]);
    // Docker's el7 CLI has epoch 1; the tutorial's epoch-3 pin would have
    // left the newest CLI (pulled in by docker-ce) installed.
    assert!(s["packages"].as_array().unwrap().iter().any(|p| p == "docker-ce-cli-1:20.10.8-3.el7.x86_64"), "{}", s["packages"]);
    assert_eq!(s["selinux"]["config"], "disabled");
    assert_eq!(s["selinux"]["runtime"], "permissive");
    // The cluster: three nodes, calico with the pod CIDR, kube-proxy in IPVS
    // mode on every node, nginx exposed, kubelet 1.21.10, kubectl on workers.
    let c = &s["cluster"];
    assert_eq!(c["endpoint"], "192.168.100.100:6443");
    assert_eq!(c["nodes"], serde_json::json!(["master", "node1", "node2"]));
    assert_eq!(c["ready"], true);
    assert_eq!(c["cni"], "calico");
    // calico-node made its pool from kubeadm's podSubnet; nothing edited its env.
    assert_eq!(c["calico_pools"], serde_json::json!(["10.244.0.0/16"]));
    assert_eq!(c["calico_env_pool_cidr"], Value::Null);
    assert_eq!(c["kube_proxy_configmap_mode"], "ipvs");
    assert_eq!(c["kube_proxy_modes"], serde_json::json!({ "master": "ipvs", "node1": "ipvs", "node2": "ipvs" }));
    assert_eq!(c["deployments"]["default/nginx"]["image"], "nginx:1.14-alpine");
    assert_eq!(c["services"]["default/nginx"], serde_json::json!({ "port": 80, "type": "NodePort" }));
    assert!(s["packages"].as_array().unwrap().iter().any(|p| p == "kubelet-1.21.10-0.x86_64"), "{}", s["packages"]);
    assert_eq!(s["kubernetes"]["kubelet_conf"], true);
    assert_eq!(s["kubernetes"]["root_kubeconfig_server"], "https://192.168.100.100:6443");
    assert_eq!(
        s["kubernetes"]["sysconfig_kubelet"],
        serde_json::json!(["KUBELET_EXTRA_ARGS=\"--cgroup-driver=systemd\"", "KUBE_PROXY_MODE=\"ipvs\""])
    );
    assert_eq!(fleet.state("master")["kubernetes"]["root_kubeconfig_server"], "https://192.168.100.100:6443");
    // The join token was never on a command line: the simulated kubeadm
    // took a process listing while `kubeadm join` ran on each worker, and
    // the root-only JoinConfiguration it read is gone.
    let kept = fleet.exec("master", "cat /etc/kubernetes/plait-join-command");
    let token = kept.split_whitespace().skip_while(|w| *w != "--token").nth(1).expect("a token in the kept join command").to_string();
    for w in ["node1", "node2"] {
        let listing = fleet.exec(w, "cat /run/plait-sim/ps-during-join");
        assert!(listing.contains("kubeadm join --config /etc/kubernetes/plait-join.yaml"), "{w}: {listing}");
        assert!(!listing.contains(&token), "{w}: the join token is on a command line:\n{listing}");
        assert_eq!(fleet.exec(w, "test -e /etc/kubernetes/plait-join.yaml && echo left || echo gone").trim(), "gone", "{w}");
    }
    assert_eq!(s["swap_mb"], 0);
    assert_eq!(s["fstab_active_swap"], serde_json::json!([]));
    assert_eq!(s["hostname"], "node1");
    assert_eq!(s["static_hostname"], "node1");
    assert_eq!(s["services"]["firewalld"], serde_json::json!({ "active": false, "enabled": false }));
    // Time: chronyd, which a minimal CentOS 7 runs, is kept.
    assert_eq!(s["services"]["chronyd"], serde_json::json!({ "active": true, "enabled": true }));
    let hosts: Vec<&str> = s["etc_hosts"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    for line in ["192.168.100.100 master", "192.168.100.101 node1", "192.168.100.102 node2"] {
        assert_eq!(hosts.iter().filter(|l| **l == line).count(), 1, "{line} in {hosts:?}");
    }

    let states: Vec<Value> = ["master", "node1", "node2"].iter().map(|h| fleet.state(h)).collect();
    let second = fleet.plait(&["run", "workflows/k8s-centos7.toml", "-i", inv, "--state-dir", sd, "--output", "json"]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    for h in recap(&second) {
        assert_eq!(h["changed"], 0, "second run must change nothing: {h}");
    }
    let after: Vec<Value> = ["master", "node1", "node2"].iter().map(|h| fleet.state(h)).collect();
    assert_eq!(states, after, "the second run changed the hosts");

    let plan = fleet.plait(&["plan", "workflows/k8s-centos7.toml", "-i", inv, "--output", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let ev = events(&plan);
    let planned: Vec<&Value> = ev.iter().filter(|e| e["event"] == "step_planned").collect();
    assert_eq!(planned.len(), 23, "nine steps on master, seven on each worker");
    // Nothing would change: every planned action is a read that reports ok.
    let actions: Vec<&Value> = ev.iter().filter(|e| e["event"] == "action").collect();
    assert!(actions.iter().all(|a| a["status"] == "ok"), "{actions:?}");
    assert_eq!(actions.len(), 2, "only the control plane's two reads: {actions:?}");
}

#[test]
fn seed_workflow_converges_and_a_second_run_changes_nothing_as_root() {
    seed_converges_as("root");
}

#[test]
fn seed_workflow_converges_as_a_sudo_user() {
    seed_converges_as("plait");
}

#[test]
fn a_live_plan_changes_nothing() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let inv = fleet.inventory("root");
    let before = fleet.state("master");
    let o = fleet.plait(&["plan", "workflows/k8s-centos7.toml", "-i", inv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("would run"), "{out}");
    assert!(out.contains("list 1 inventory hosts in /etc/hosts") && out.contains("(content differs)"), "{out}");
    assert_eq!(fleet.state("master"), before, "a plan must not change the host");
    // Drift check for CI: changes are pending on this fresh host.
    let o = fleet.plait(&["plan", "workflows/k8s-centos7.toml", "-i", inv.to_str().unwrap(), "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
}

#[test]
fn unknown_and_changed_host_keys_are_refused_and_nothing_runs() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let inv = fleet.inventory("root");
    let inv = inv.to_str().unwrap();
    let empty = fleet.dir().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    // The journal goes to the fleet's folder, never into the repository.
    let state = fleet.dir().join("state");
    let sd = state.to_str().unwrap();
    let o = fleet.plait(&["run", "workflows/k8s-centos7.toml", "-i", inv, "--known-hosts", empty.to_str().unwrap(), "--state-dir", sd]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o);
    assert!(out.contains("host key of master (192.168.100.100:22) is unknown: SHA256:"), "{out}");
    assert!(out.contains("rerun with --accept-new-host-keys"), "{out}");
    assert_eq!(fleet.state("master")["selinux"]["config"], "enforcing", "nothing may run on a refused host");

    // A different key for node1 on record: refused loudly, even with accept-new.
    let known = std::fs::read_to_string(fleet.dir().join("known_hosts")).unwrap();
    let master_key = known.lines().find(|l| l.starts_with("192.168.100.100 ")).unwrap().split_once(' ').unwrap().1.to_string();
    let forged = known
        .lines()
        .map(|l| if l.starts_with("192.168.100.101 ") { format!("192.168.100.101 {master_key}") } else { l.to_string() })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let changed = fleet.dir().join("changed_known_hosts");
    std::fs::write(&changed, forged).unwrap();
    let o = fleet.plait(&[
        "run",
        "workflows/k8s-centos7.toml",
        "-i",
        inv,
        "--known-hosts",
        changed.to_str().unwrap(),
        "--accept-new-host-keys",
        "--state-dir",
        sd,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o);
    assert!(out.contains("HOST KEY OF node1 (192.168.100.101:22) HAS CHANGED"), "{out}");
    assert_eq!(fleet.state("node1")["selinux"]["config"], "enforcing");
    assert_eq!(fleet.state("master")["selinux"]["config"], "disabled", "master's key matched, so it converged");

    // accept-new records unknown keys, then they verify.
    let fresh = fleet.dir().join("fresh_known_hosts");
    let o =
        fleet.plait(&["plan", "workflows/k8s-centos7.toml", "-i", inv, "--known-hosts", fresh.to_str().unwrap(), "--accept-new-host-keys"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&fresh).unwrap().lines().count(), 2);
    let o = fleet.plait(&["plan", "workflows/k8s-centos7.toml", "-i", inv, "--known-hosts", fresh.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn a_failing_host_does_not_stop_the_others_and_resume_finishes_it() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let work = tempfile::tempdir().unwrap();
    let inv = fleet.inventory("root");
    let inv = inv.to_str().unwrap();
    let wf = kit_workflow(work.path(), "fail-on", "node1");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv, "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = recap(&o);
    assert_eq!(host(&r, "master")["state"], "converged");
    assert_eq!(host(&r, "node2")["state"], "converged");
    let failed = host(&r, "node1");
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["failure"]["step"], 1);
    assert_eq!(failed["failure"]["command"], "false");
    assert_eq!(failed["failure"]["exit_code"], 1);
    // The journal recorded exactly what ran.
    let runs: Vec<PathBuf> = std::fs::read_dir(work.path().join(".plait/runs")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1);
    let journal = std::fs::read_to_string(runs[0].join("events.jsonl")).unwrap();
    assert_eq!(journal.lines().filter(|l| l.contains("\"event\":\"action\"")).count(), 3);
    let state: Value = serde_json::from_str(&std::fs::read_to_string(runs[0].join("state.json")).unwrap()).unwrap();
    assert_eq!(state["completed"]["master"], serde_json::json!([1]));
    assert!(state["completed"].get("node1").is_none());

    // Repair (an edit of the workflow): a plain resume is refused, since
    // the finished steps may no longer be what the workflow says; with
    // --force, only node1 runs its step.
    let wf = kit_workflow(work.path(), "fail-on", "nobody");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv, "--resume", "--output", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot resume: the workflow file changed"), "{}", text(&o));
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv, "--resume", "--force", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ev = events(&o);
    let resumed: Vec<&str> = ev.iter().filter(|e| e["event"] == "step_resumed").map(|e| e["host"].as_str().unwrap()).collect();
    assert_eq!(resumed, vec!["master", "node2"].into_iter().filter(|h| resumed.contains(h)).collect::<Vec<_>>());
    assert_eq!(resumed.len(), 2);
    let acted: Vec<&str> = ev.iter().filter(|e| e["event"] == "action").map(|e| e["host"].as_str().unwrap()).collect();
    assert_eq!(acted, vec!["node1"]);
}

#[test]
fn a_rolling_step_runs_batch_by_batch_and_stops_past_its_allowance() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let inv = fleet.inventory("root");
    let inv = inv.to_str().unwrap();
    let rolling = |strategy: &str| {
        let work = tempfile::tempdir().unwrap();
        let wf = kit_workflow(work.path(), "fail-on", "node1");
        let text =
            std::fs::read_to_string(&wf).unwrap().replace("plugin = \"kit\"\n", &format!("plugin = \"kit\"\nstrategy = {strategy}\n"));
        std::fs::write(&wf, text).unwrap();
        let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv, "--output", "json"]);
        (work, o)
    };

    // One host at a time, no failure tolerated: node1 fails, node2 never starts.
    let (_w, o) = rolling("{ serial = 1 }");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = recap(&o);
    assert_eq!(host(&r, "master")["state"], "converged");
    assert_eq!(host(&r, "node1")["state"], "failed");
    assert_eq!(host(&r, "node2")["state"], "not_started");
    let ev = events(&o);
    let batches: Vec<(u64, Vec<&str>)> = ev
        .iter()
        .filter(|e| e["event"] == "batch_started")
        .map(|e| (e["batch"].as_u64().unwrap(), e["hosts"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect()))
        .collect();
    assert_eq!(batches, vec![(1, vec!["master"]), (2, vec!["node1"])]);
    let acted: Vec<&str> = ev.iter().filter(|e| e["event"] == "action").map(|e| e["host"].as_str().unwrap()).collect();
    assert_eq!(acted, vec!["master", "node1"], "batches run in turn, and node2 runs nothing");
    let not_started: Vec<&Value> = ev.iter().filter(|e| e["event"] == "not_started").collect();
    assert_eq!(not_started.len(), 1);
    assert_eq!(not_started[0]["host"], "node2");
    assert_eq!(not_started[0]["failed"], 1);
    let recap_event = ev.iter().rev().find(|e| e["event"] == "recap").unwrap();
    assert_eq!(
        recap_event["rollouts"],
        serde_json::json!([{"step": 1, "name": "kit fail-on", "started": 2, "batches": 3, "failed": 1, "tolerated": 0, "stopped": true, "not_started": ["node2"]}])
    );

    // One failure tolerated: the rollout goes on to node2.
    let (_w, o) = rolling("{ serial = 1, max_fail = 1 }");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = recap(&o);
    assert_eq!(host(&r, "node1")["state"], "failed");
    assert_eq!(host(&r, "node2")["state"], "converged");
    let acted: Vec<String> =
        events(&o).iter().filter(|e| e["event"] == "action").map(|e| e["host"].as_str().unwrap().to_string()).collect();
    assert_eq!(acted, vec!["master", "node1", "node2"]);

    // Half the hosts per batch (rounded up): master and node1, then node2.
    let (_w, o) = rolling("{ max_unavailable = \"50%\", max_fail = \"50%\" }");
    let r = recap(&o);
    assert_eq!(host(&r, "node2")["state"], "converged", "{}", text(&o));
    let batches = events(&o).iter().filter(|e| e["event"] == "batch_started").count();
    assert_eq!(batches, 2);
}

#[test]
fn a_command_past_its_timeout_is_killed_on_the_host() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "hang", "");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", fleet.inventory("root").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("timed out after 2 s; the remote command was killed"), "{}", text(&o));
    assert_eq!(fleet.exec("master", "pgrep -x sleep || true").trim(), "", "the sleep must be gone");

    // A command without a timeout of its own is bounded by --command-timeout,
    // on the host too; it is shown as the plugin asked for it.
    let wf = kit_workflow(work.path(), "hang-forever", "");
    let o = fleet.plait(&[
        "run",
        wf.to_str().unwrap(),
        "-i",
        fleet.inventory("root").to_str().unwrap(),
        "--command-timeout",
        "2",
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = recap(&o);
    let failure = &host(&r, "master")["failure"];
    assert_eq!(failure["command"], "sleep 300", "{failure}");
    assert_eq!(failure["exit_code"], 124, "{failure}");
    assert_eq!(fleet.exec("master", "pgrep -x sleep || true").trim(), "", "the sleep must be gone");
}

#[test]
fn secrets_flow_between_hosts_and_never_appear_in_output() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "secret", "master");
    // A later plugin that consumes nothing sees none of it (issue 24: on
    // 9b41850 every plugin received every captured variable).
    std::fs::copy(test_plugin_path("hostile"), work.path().join("plugins/hostile.wasm")).unwrap();
    let text_wf =
        std::fs::read_to_string(&wf).unwrap() + "\n[[steps]]\nname = \"nosy\"\nplugin = \"hostile\"\nparams = { mode = \"vars\" }\n";
    std::fs::write(&wf, text_wf).unwrap();
    let inv = fleet.inventory("root");
    for format in ["json", "human"] {
        let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", format]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let out = text(&o);
        assert!(!out.contains("s3cr3t-join-token-4f9a"), "secret leaked:\n{out}");
        assert!(out.contains("sees 0 variables") && !out.contains("sees 1 variables"), "the nosy plugin saw variables:\n{out}");
        if format == "json" {
            // The events carry commands and output tails: the secret is masked there.
            assert!(out.contains("echo ********"), "{out}");
        }
    }
    for run in std::fs::read_dir(work.path().join(".plait/runs")).unwrap() {
        let journal = std::fs::read_to_string(run.unwrap().path().join("events.jsonl")).unwrap();
        assert!(!journal.contains("s3cr3t-join-token-4f9a"), "secret in the journal");
        assert!(journal.contains("use the secret"), "workers used the captured variable");
    }
}

#[test]
fn reboot_reconnects_to_a_new_boot_and_continues() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "reboot", "");
    let boot = fleet.state("master")["boot_id"].clone();
    let logins = fleet.logins("master");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", fleet.inventory("root").to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = recap(&o);
    assert_eq!(host(&r, "master")["changed"], 2);
    assert_ne!(fleet.state("master")["boot_id"], boot);
    // The run's connection plus exactly one reconnect after the reboot.
    assert_eq!(fleet.logins("master") - logins, 2);
}

#[test]
fn an_unchanged_file_is_not_uploaded_again() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    // put-always plans the write on every run: the host must see the file is current.
    let wf = kit_workflow(work.path(), "put-always", "");
    let inv = fleet.inventory("root");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(host(&recap(&o), "master")["changed"], 1);
    assert_eq!(fleet.exec("master", "stat -c '%a %s' /var/tmp/plait-kit/file").trim(), "640 6");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    let r = recap(&o);
    assert_eq!(host(&r, "master")["changed"], 0);
    assert_eq!(host(&r, "master")["ok"], 1);
    let action = events(&o).into_iter().find(|e| e["event"] == "action").unwrap();
    assert_eq!(action["note"], "up to date");
    // A changed mode alone is repaired.
    fleet.exec("master", "chmod 600 /var/tmp/plait-kit/file");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    assert_eq!(host(&recap(&o), "master")["changed"], 1);
    assert_eq!(fleet.exec("master", "stat -c '%a' /var/tmp/plait-kit/file").trim(), "640");
}

/// Steps `kit none` (plans nothing), `kit put-always` (one upload, which then
/// travels in a batch with the next step's facts and probes) and `kit put`
/// (writes only when its probe does not find the file).
fn three_step_workflow(dir: &Path) -> PathBuf {
    kit_workflow(dir, "ok", "");
    let wf = dir.join("three.toml");
    let step = |mode: &str| format!("[[steps]]\nname = \"kit {mode}\"\nplugin = \"kit\"\nparams = {{ mode = \"{mode}\" }}\n\n");
    std::fs::write(&wf, format!("[workflow]\nname = \"three\"\n\n{}{}{}", step("none"), step("put-always"), step("put"))).unwrap();
    wf
}

#[test]
fn a_batched_upload_is_idempotent_and_later_steps_see_it() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = three_step_workflow(work.path());
    let inv = fleet.inventory("root");
    let run = || fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    let step_actions = |o: &std::process::Output, step: u64| -> Vec<Value> {
        events(o).into_iter().filter(|e| e["event"] == "action" && e["step"] == step).collect()
    };
    // Step 1 changes nothing, so step 3's probe may be read ahead with step
    // 2's; step 2 then writes the file, and step 3 must see it written.
    let o = run();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(host(&recap(&o), "master")["changed"], 1, "{}", text(&o));
    assert_eq!(step_actions(&o, 2)[0]["note"], "wrote 6 bytes (new file)");
    assert!(step_actions(&o, 3).is_empty(), "step 3 acted on a stale probe: {}", text(&o));
    assert_eq!(fleet.exec("master", "stat -c '%a %s' /var/tmp/plait-kit/file").trim(), "640 6");
    assert_eq!(fleet.exec("master", "ls /var/tmp/plait-kit").trim(), "file", "a temporary file was left behind");
    // Up to date: nothing written.
    let o = run();
    assert_eq!(host(&recap(&o), "master")["changed"], 0, "{}", text(&o));
    assert_eq!(step_actions(&o, 2)[0]["note"], "up to date");
    // A changed mode alone is repaired; a changed content is replaced.
    fleet.exec("master", "chmod 600 /var/tmp/plait-kit/file");
    let o = run();
    assert_eq!(host(&recap(&o), "master")["changed"], 1, "{}", text(&o));
    assert_eq!(step_actions(&o, 2)[0]["note"], "wrote 6 bytes (mode 600, not 640)");
    assert_eq!(fleet.exec("master", "stat -c '%a' /var/tmp/plait-kit/file").trim(), "640");
    fleet.exec("master", "echo changed > /var/tmp/plait-kit/file");
    let o = run();
    assert_eq!(step_actions(&o, 2)[0]["note"], "wrote 6 bytes (content differs)");
    assert_eq!(fleet.exec("master", "cat /var/tmp/plait-kit/file"), "hello\n");
}

#[test]
fn two_runs_of_one_workflow_do_not_interleave() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "hang", "");
    let inv = fleet.inventory("root");
    let first = fleet.spawn_plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap()]);
    // Wait until the first run holds the lock (its run folder exists).
    for _ in 0..100 {
        if work.path().join(".plait/runs").read_dir().map(|d| d.count() > 0).unwrap_or(false) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let second = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap()]);
    let mut first = first;
    let _ = first.wait();
    // Its own exit code (4), not "hosts failed": nothing ran.
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    assert!(text(&second).contains("another `plait run` of workflow kit is in progress"), "{}", text(&second));
}

#[test]
fn a_host_whose_sshd_dies_mid_step_fails_alone_and_resume_finishes_it() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(3);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "sleep", "");
    let inv = fleet.inventory("root");
    let run = fleet.spawn_plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    // Wait until node1 is inside its three-second command, then kill its sshd
    // and every session: the connection drops mid-step.
    let mut started = false;
    for _ in 0..200 {
        if !fleet.exec("node1", "pgrep -x sleep || true").trim().is_empty() {
            started = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(started, "node1 never started its command");
    fleet.exec("node1", "pkill -KILL -x sshd || true");
    let o = run.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = recap(&o);
    assert_eq!(host(&r, "master")["state"], "converged");
    assert_eq!(host(&r, "node2")["state"], "converged");
    assert_eq!(host(&r, "node1")["state"], "failed");
    assert!(host(&r, "node1")["failure"]["error"].as_str().unwrap().contains("connection to node1 lost"), "{}", host(&r, "node1"));

    // sshd is back (the host's init restarts it): resume finishes node1 only.
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--resume", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let acted: Vec<String> =
        events(&o).iter().filter(|e| e["event"] == "action").map(|e| e["host"].as_str().unwrap().to_string()).collect();
    assert_eq!(acted, vec!["node1"]);
}

#[test]
fn a_batch_of_commands_reports_each_and_stops_at_the_first_failure() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "batch", "node1");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", fleet.inventory("root").to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let ev = events(&o);
    let on = |h: &str| -> Vec<(String, String)> {
        ev.iter()
            .filter(|e| e["event"] == "action" && e["host"] == h)
            .map(|e| (e["summary"].as_str().unwrap().to_string(), e["status"].as_str().unwrap().to_string()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(on("master"), pairs(&[("first", "changed"), ("guarded", "ok"), ("maybe fail", "changed"), ("last", "changed")]));
    assert_eq!(on("node1"), pairs(&[("first", "changed"), ("guarded", "ok"), ("maybe fail", "failed")]));
    let first = ev.iter().find(|e| e["event"] == "action" && e["host"] == "master" && e["summary"] == "first").unwrap();
    assert_eq!(first["stdout_tail"], "one", "each command's own output");
    let r = recap(&o);
    let n1 = host(&r, "node1");
    assert_eq!(n1["skipped"], 1, "the command after the failure never ran: {n1}");
    assert_eq!(n1["failure"]["command"], "false");
    assert_eq!(n1["failure"]["exit_code"], 1);
}

#[test]
fn a_secret_parameter_never_shows_quoted_or_not() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "secret-param", "");
    // A value the shell must quote: command lines show `'it'\''s ...'`.
    let secret = "it's hunter2-secret";
    let toml = std::fs::read_to_string(&wf)
        .unwrap()
        .replace("mode = \"secret-param\"", &format!("mode = \"secret-param\", password = {secret:?}"));
    std::fs::write(&wf, toml).unwrap();
    let inv = fleet.inventory("root");
    for format in ["json", "human"] {
        let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", format]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let out = text(&o);
        assert!(!out.contains("hunter2"), "secret parameter leaked:\n{out}");
        assert!(out.contains("echo ********"), "{out}");
    }
    for run in std::fs::read_dir(work.path().join(".plait/runs")).unwrap() {
        let journal = std::fs::read_to_string(run.unwrap().path().join("events.jsonl")).unwrap();
        assert!(!journal.contains("hunter2"), "secret parameter in the journal");
    }
}

#[test]
fn limit_runs_only_the_named_hosts_and_says_so_when_a_variable_is_out_of_reach() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let inv = fleet.inventory("root");
    let wf = kit_workflow(work.path(), "put-always", "");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--limit", "node1", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = recap(&o);
    assert_eq!(r.len(), 1, "only node1 ran: {r:?}");
    assert_eq!(host(&r, "node1")["changed"], 1);
    assert_eq!(fleet.exec("master", "test -e /var/tmp/plait-kit/file && echo yes || echo no").trim(), "no", "master untouched");

    // node1 needs a variable only master (left out) captures: a clear error.
    let wf = kit_workflow(&work.path().join("secret"), "secret", "master");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--limit", "node1", "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no other host can capture it; --limit leaves out 1 host that might"), "{}", text(&o));
}

#[test]
fn environment_values_reach_the_program_but_no_process_listing() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "env", "");
    let value = "env-s3cr3t-7d1e 'quoted' $HOME";
    let toml = std::fs::read_to_string(&wf).unwrap().replace("mode = \"env\"", &format!("mode = \"env\", text = {value:?}"));
    // A name beyond locale and terminal is granted by name (issue 24).
    std::fs::write(&wf, toml + "grants = { env = [\"PLAIT_KIT_TEXT\"] }\n").unwrap();
    // As root (no sudo) and as a sudo user: the block goes through sudo too.
    for user in ["root", "plait"] {
        let inv = fleet.inventory(user);
        let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
        assert_eq!(o.status.code(), Some(0), "{user}: {}", text(&o));
        let ev = events(&o);
        let action = |summary: &str| {
            ev.iter().find(|e| e["event"] == "action" && e["summary"] == summary).unwrap_or_else(|| panic!("no {summary}: {ev:?}")).clone()
        };
        assert_eq!(action("print the variable")["stdout_tail"], value, "{user}: the program sees the value verbatim");
        let listing = action("list processes")["stdout_tail"].as_str().unwrap().to_string();
        // The listing was taken while the command ran: its own shell shows
        // the reader, and nothing shows the value.
        assert!(listing.contains("plait-env ps -eo args"), "{user}: {listing}");
        assert!(!listing.contains("env-s3cr3t"), "{user}: the value is on a command line:\n{listing}");
        // Reports show the variable as the plugin set it.
        let shown = action("list processes")["command"].as_str().unwrap().to_string();
        assert!(shown.contains("env 'PLAIT_KIT_TEXT=env-s3cr3t-7d1e"), "{user}: {shown}");
    }
}

#[test]
fn known_hosts_follows_openssh_revoked_hashed_and_new_algorithm_keys() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "ok", "");
    let inv = fleet.inventory("root");
    let known = std::fs::read_to_string(fleet.dir().join("known_hosts")).unwrap();
    let (name, real) = known.lines().find(|l| l.starts_with("192.168.100.100 ")).unwrap().split_once(' ').unwrap();
    let plan = |file: &Path, accept_new: bool| {
        let mut args = vec!["plan", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--known-hosts", file.to_str().unwrap()];
        if accept_new {
            args.push("--accept-new-host-keys");
        }
        fleet.plait(&args)
    };

    // Hashed names (ssh-keygen -H) are matched.
    let hashed = work.path().join("hashed");
    std::fs::write(&hashed, format!("{name} {real}\n")).unwrap();
    let o = Command::new("ssh-keygen").args(["-q", "-H", "-f", hashed.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&hashed).unwrap().starts_with("|1|"));
    assert_eq!(plan(&hashed, false).status.code(), Some(0), "{}", text(&plan(&hashed, false)));

    // A wildcard pattern matches; a revoked key is refused even though it
    // is also recorded.
    let revoked = work.path().join("revoked");
    std::fs::write(&revoked, format!("192.168.100.* {real}\n")).unwrap();
    assert_eq!(plan(&revoked, false).status.code(), Some(0), "{}", text(&plan(&revoked, false)));
    std::fs::write(&revoked, format!("192.168.100.* {real}\n@revoked * {real}\n")).unwrap();
    let o = plan(&revoked, true);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is marked @revoked (line 2 of"), "{}", text(&o));

    // The host known only by a key of another algorithm: refused even with
    // --accept-new-host-keys, and nothing is recorded.
    let keygen = work.path().join("other");
    let o = Command::new("ssh-keygen").args(["-q", "-t", "ecdsa", "-N", "", "-f", keygen.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success());
    assert!(!real.starts_with("ecdsa"), "the fleet's host key is not ecdsa: {real}");
    let other = std::fs::read_to_string(keygen.with_extension("pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    let second = work.path().join("second");
    let before = format!("{name} {}\n", other.join(" "));
    std::fs::write(&second, &before).unwrap();
    let o = plan(&second, true);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("records only its ecdsa-sha2-nistp256 key: a key of a new algorithm for a known host is refused"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&second).unwrap(), before, "nothing recorded");
}

#[test]
fn an_ansible_inventory_drives_a_run_ini_and_yaml() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "put-always", "");
    // The step targets Ansible's group `workers`, and reads a group variable.
    let toml = std::fs::read_to_string(&wf).unwrap().replace("plugin = \"kit\"", "plugin = \"kit\"\ntargets = [\"workers\"]");
    std::fs::write(&wf, toml).unwrap();
    let key = fleet.dir().join("id_ed25519");
    let known = fleet.dir().join("known_hosts");
    let address = |h: &str| std::fs::read_to_string(fleet.dir().join(format!("hosts/{h}/address"))).unwrap().trim().to_string();
    let ini = work.path().join("hosts");
    std::fs::write(
        &ini,
        format!(
            "# As kubespray users write it.\n[kube_control_plane]\nmaster ansible_host={}\n\n[workers]\nnode1 ansible_host={} ansible_port=22\n\n[k8s_cluster:children]\nkube_control_plane\nworkers\n\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file={}\nansible_become=true\n",
            address("master"),
            address("node1"),
            key.display()
        ),
    )
    .unwrap();
    let yaml = work.path().join("hosts.yml");
    std::fs::write(
        &yaml,
        format!(
            "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n  children:\n    kube_control_plane:\n      hosts:\n        master:\n          ansible_host: {}\n    workers:\n      hosts:\n        node1:\n          ansible_host: {}\n",
            key.display(),
            address("master"),
            address("node1")
        ),
    )
    .unwrap();
    for inv in [&ini, &yaml] {
        let o = fleet.plait(&[
            "run",
            wf.to_str().unwrap(),
            "-i",
            inv.to_str().unwrap(),
            "--known-hosts",
            known.to_str().unwrap(),
            "--output",
            "json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}: {}", inv.display(), text(&o));
        let r = recap(&o);
        assert_eq!(host(&r, "node1")["state"], "converged", "{r:?}");
        assert!(r.iter().all(|h| h["host"] != "master" || h["state"] == "skipped" || h["changed"] == 0), "master is not a worker: {r:?}");
    }
    assert_eq!(fleet.exec("node1", "cat /var/tmp/plait-kit/file"), "hello\n");
    assert_eq!(fleet.exec("master", "test -e /var/tmp/plait-kit/file && echo yes || echo no").trim(), "no");
}

#[test]
fn a_live_plan_shows_the_diff_of_every_file_it_would_write() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "put", "");
    let inv = fleet.inventory("root");
    let plan = || fleet.plait(&["plan", wf.to_str().unwrap(), "-i", inv.to_str().unwrap()]);
    let o = plan();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("--- /dev/null (no such file)"), "{}", text(&o));
    assert!(text(&o).contains("+hello"), "{}", text(&o));
    fleet.exec("master", "mkdir -p /var/tmp/plait-kit && printf 'old line\\n' > /var/tmp/plait-kit/file");
    let o = plan();
    let out = text(&o);
    assert!(
        out.contains("--- /var/tmp/plait-kit/file (on the host)\n") || out.contains("--- /var/tmp/plait-kit/file (on the host)"),
        "{out}"
    );
    assert!(out.contains("-old line") && out.contains("+hello"), "{out}");
    assert_eq!(fleet.exec("master", "cat /var/tmp/plait-kit/file"), "old line\n", "a plan changes nothing");
    // JSON events carry the diff too.
    let o = fleet.plait(&["plan", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    let ev = events(&o);
    let a = ev.iter().find(|e| e["event"] == "action").expect("an action event");
    assert!(a["diff"].as_str().unwrap().contains("-old line"), "{a}");
}

#[test]
fn two_plait_processes_share_a_fleet_by_limit_and_their_recaps_merge() {
    // Past one controller (docs/performance.md): shard the inventory by
    // --limit, one process and one state folder per shard; the JSON event
    // streams concatenate, and their recaps together cover every host once.
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(4);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "put-always", "");
    let inv = fleet.inventory("root");
    let shard = |limit: &str, state: &str| {
        let sd = work.path().join(state);
        fleet.spawn_plait(&[
            "run",
            wf.to_str().unwrap(),
            "-i",
            inv.to_str().unwrap(),
            "--limit",
            limit,
            "--state-dir",
            sd.to_str().unwrap(),
            "--output",
            "json",
        ])
    };
    let a = shard("master,node1", "state-a");
    let b = shard("node2,node3", "state-b");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    assert_eq!(b.status.code(), Some(0), "{}", text(&b));
    // Merged: concatenate the streams; every host appears in exactly one recap.
    let mut merged: Vec<Value> = recap(&a);
    merged.extend(recap(&b));
    let mut names: Vec<&str> = merged.iter().map(|h| h["host"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["master", "node1", "node2", "node3"]);
    assert!(merged.iter().all(|h| h["state"] == "converged"), "{merged:?}");
    for h in ["master", "node1", "node2", "node3"] {
        assert_eq!(fleet.exec(h, "cat /var/tmp/plait-kit/file"), "hello\n", "{h}");
    }
}

#[test]
fn an_action_after_a_config_change_runs_only_when_the_config_changed_and_a_mode_drift_counts() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit_workflow(work.path(), "restart-on-change", "");
    let inv = fleet.inventory("root");
    let run = || {
        let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        events(&o).into_iter().filter(|e| e["event"] == "action").collect::<Vec<Value>>()
    };
    let restarts = || fleet.exec("master", "cat /var/tmp/plait-kit/restarts").lines().count();
    // First run: the config is new, so the restart runs.
    let first = run();
    assert_eq!((first[0]["status"].as_str(), first[1]["status"].as_str()), (Some("changed"), Some("changed")), "{first:?}");
    assert_eq!(restarts(), 1);
    // Second run: nothing changed, the restart is skipped with its reason.
    let second = run();
    assert_eq!((second[0]["status"].as_str(), second[1]["status"].as_str()), (Some("ok"), Some("skipped")), "{second:?}");
    assert!(second[1]["note"].as_str().unwrap().contains("runs only when action 1 changes"), "{second:?}");
    assert_eq!(restarts(), 1);
    // The mode drifts: the upload fixes it, and that is a change too.
    fleet.exec("master", "chmod 600 /var/tmp/plait-kit/conf");
    let third = run();
    assert_eq!((third[0]["status"].as_str(), third[1]["status"].as_str()), (Some("changed"), Some("changed")), "{third:?}");
    assert_eq!(fleet.exec("master", "stat -c %a /var/tmp/plait-kit/conf").trim(), "640");
    assert_eq!(restarts(), 2);
    // A dry run says what would happen.
    let o = fleet.plait(&["plan", wf.to_str().unwrap(), "-i", inv.to_str().unwrap()]);
    assert!(text(&o).contains("would run if it changes"), "{}", text(&o));
}
