//! Seed-plugin decisions that were right only on our own simulator, checked
//! on the fleet after it was made to behave as the real tools do (each
//! behaviour cites its upstream source in tests/fleet/sim): Docker's el7
//! epochs and yum's skipping of missing names, an unreachable NTP server,
//! a half-built control plane, a stale join command, UEFI hosts, custom
//! sysctls, the kubelet before kubeadm, and packages a plugin author adds.
//! Needs root; PLAIT_SKIP_E2E=1 skips explicitly.

use plait_tests::fleet::{Fleet, skip_unless_available};
use serde_json::Value;
use std::path::Path;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn recap(o: &std::process::Output) -> Vec<Value> {
    let r = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "recap")
        .unwrap_or_else(|| panic!("no recap in\n{}", text(o)));
    r["hosts"].as_array().unwrap().clone()
}

fn changed(o: &std::process::Output) -> u64 {
    recap(o).iter().map(|h| h["changed"].as_u64().unwrap()).sum()
}

/// `plait run` of a workflow file, JSON events, state kept in `state`.
fn run(fleet: &Fleet, wf: &Path, state: &Path) -> std::process::Output {
    let inv = fleet.inventory("root");
    fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--state-dir", state.to_str().unwrap(), "--output", "json"])
}

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let wf = dir.join(format!("{name}.toml"));
    std::fs::write(&wf, format!("[workflow]\nname = \"{name}\"\n\n{body}")).unwrap();
    wf
}

fn packages(s: &Value) -> Vec<String> {
    s["packages"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect()
}

#[test]
fn docker_is_pinned_with_docker_s_real_epochs_and_stays_pinned() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let dir = tempfile::tempdir().unwrap();
    // A pin yum cannot find (the tutorial's epoch 3 for the CLI) fails the
    // step instead of being skipped, and yum installs nothing.
    let bad = write(
        dir.path(),
        "docker-bad-pin",
        "[[steps]]\nplugin = \"docker\"\nparams = { packages = [\"docker-ce-3:20.10.8-3.el7.x86_64\", \"docker-ce-cli-3:20.10.8-3.el7.x86_64\"] }\n",
    );
    let o = run(&fleet, &bad, dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("No package docker-ce-cli-3:20.10.8-3.el7.x86_64 available"), "{}", text(&o));
    assert!(!packages(&fleet.state("master")).iter().any(|p| p.starts_with("docker-ce")), "yum installed nothing");

    let wf = write(dir.path(), "docker", "[[steps]]\nplugin = \"docker\"\n");
    let first = run(&fleet, &wf, dir.path());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let pk = packages(&fleet.state("master"));
    // The tutorial's docker-ce-cli-3:... matches nothing in Docker's el7
    // repository, and yum would have pulled the newest CLI instead.
    assert!(pk.contains(&"docker-ce-cli-1:20.10.8-3.el7.x86_64".to_string()), "{pk:?}");
    assert!(pk.contains(&"docker-ce-3:20.10.8-3.el7.x86_64".to_string()), "{pk:?}");
    let second = run(&fleet, &wf, dir.path());
    assert_eq!(changed(&second), 0, "a second run changes nothing: {}", text(&second));

    // A CLI updated behind plait's back is brought back to the pin.
    fleet.exec("master", "yum -y install docker-ce-cli-1:26.1.4-1.el7.x86_64 >/dev/null");
    assert!(packages(&fleet.state("master")).contains(&"docker-ce-cli-1:26.1.4-1.el7.x86_64".to_string()));
    let back = run(&fleet, &wf, dir.path());
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    assert!(text(&back).contains("downgrade to docker-ce-cli-1:20.10.8-3.el7.x86_64"), "{}", text(&back));
    assert!(packages(&fleet.state("master")).contains(&"docker-ce-cli-1:20.10.8-3.el7.x86_64".to_string()));
    assert_eq!(changed(&run(&fleet, &wf, dir.path())), 0);
}

#[test]
fn an_unreachable_ntp_server_warns_unless_strict_and_custom_sysctls_converge() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    fleet.exec("master", "touch /var/lib/plait-sim/ntp-unreachable");
    let dir = tempfile::tempdir().unwrap();
    let steps = "[[steps]]\nplugin = \"os-prep\"\nparams = { time_sync_tool = \"ntpdate\" }\n\n\
                 [[steps]]\nplugin = \"bridge-net\"\n\
                 params = { sysctls = { \"net.ipv4.ip_forward\" = \"1\", \"net.bridge.bridge-nf-call-iptables\" = \"1\", \"vm.max_map_count\" = \"262144\" } }\n";
    let wf = write(dir.path(), "prep", steps);
    let first = run(&fleet, &wf, dir.path());
    assert_eq!(first.status.code(), Some(0), "an unreachable NTP server must not fail the host: {}", text(&first));
    assert!(text(&first).contains("time.windows.com cannot be reached"), "{}", text(&first));
    let s = fleet.state("master");
    assert_eq!(s["sysctls"]["vm.max_map_count"], "262144", "the step after os-prep ran");
    let second = run(&fleet, &wf, dir.path());
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert_eq!(changed(&second), 0, "nothing is planned again, custom sysctl included: {}", text(&second));

    let strict = write(
        dir.path(),
        "strict",
        "[[steps]]\nplugin = \"os-prep\"\nparams = { time_sync_tool = \"ntpdate\", time_sync_strict = true }\n",
    );
    let o = run(&fleet, &strict, dir.path());
    assert_eq!(o.status.code(), Some(1), "strict: the sync fails the host: {}", text(&o));

    // The default keeps chronyd, which a minimal CentOS 7 already runs.
    let chrony = write(dir.path(), "chrony", "[[steps]]\nplugin = \"os-prep\"\n");
    let o = run(&fleet, &chrony, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("chronyd keeps the clock in sync"), "{}", text(&o));
}

#[test]
fn packages_and_kubelet_without_a_cluster_converge_and_stay_converged() {
    if skip_unless_available() {
        return;
    }
    // The benchmark workload: kubeadm with cluster = false. Before kubeadm
    // init the kubelet crash-loops ("activating"), so starting it is no fix.
    let fleet = Fleet::up(1);
    let state = tempfile::tempdir().unwrap();
    let wf = plait_tests::repo_root().join("workflows/bench-prep.toml");
    let first = run(&fleet, &wf, state.path());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let s = fleet.state("master");
    assert!(packages(&s).contains(&"kubelet-1.21.10-0.x86_64".to_string()), "{:?}", packages(&s));
    assert_eq!(s["services"]["kubelet"]["enabled"], true);
    let second = run(&fleet, &wf, state.path());
    assert_eq!(changed(&second), 0, "{}", text(&second));
}

#[test]
fn a_uefi_host_boots_the_new_kernel() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up_with(1, &["--uefi"]);
    let dir = tempfile::tempdir().unwrap();
    let wf = write(dir.path(), "kernel", "[[steps]]\nplugin = \"elrepo-kernel\"\n");
    let o = run(&fleet, &wf, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("regenerate /boot/efi/EFI/centos/grub.cfg"), "{}", text(&o));
    assert_eq!(fleet.state("master")["kernel"], "5.19.3-1.el7.elrepo.x86_64");
}

/// os-prep, bridge-net, docker and kubeadm on master (+ node1), the kubeadm
/// step with `extra` parameters.
fn cluster_workflow(dir: &Path, name: &str, extra: &str) -> std::path::PathBuf {
    write(
        dir,
        name,
        &format!(
            "[[steps]]\nplugin = \"os-prep\"\n\n[[steps]]\nplugin = \"bridge-net\"\n\n[[steps]]\nplugin = \"docker\"\n\n\
             [[steps]]\nplugin = \"kubeadm\"\nparams = {{ version = \"1.21.10\"{extra} }}\n"
        ),
    )
}

#[test]
fn a_half_built_control_plane_is_repaired_on_request_and_stale_join_commands_are_renewed() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let dir = tempfile::tempdir().unwrap();
    let wf = cluster_workflow(dir.path(), "cluster", "");
    // kubeadm init times out waiting for the control plane, after writing
    // admin.conf, the kubelet config and the static pod manifests.
    fleet.exec("master", "mkdir -p /var/lib/plait-sim/faults && echo wait-control-plane > /var/lib/plait-sim/faults/kubeadm-init");
    let first = run(&fleet, &wf, dir.path());
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(text(&first).contains("timed out waiting for the condition"), "{}", text(&first));
    assert_eq!(fleet.state("master")["kubernetes"]["admin_conf"], true, "init failed after admin.conf");

    // Without consent, a re-run says what happened instead of skipping init.
    let again = run(&fleet, &wf, dir.path());
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("half-built"), "{}", text(&again));
    assert!(text(&again).contains("reset_failed_init = true"), "{}", text(&again));

    let repair = cluster_workflow(dir.path(), "repair", ", reset_failed_init = true");
    let fixed = run(&fleet, &repair, dir.path());
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    let s = fleet.state("node1");
    assert_eq!(s["cluster"]["nodes"], serde_json::json!(["master", "node1"]));
    assert_eq!(s["cluster"]["api_up"], true);
    let quiet = run(&fleet, &repair, dir.path());
    assert_eq!(changed(&quiet), 0, "a complete control plane is never reset: {}", text(&quiet));

    // The kept join command goes stale: its token is deleted (as when it
    // expires), and node1 must join again.
    fleet.exec("master", "kubeadm token delete $(awk '{for (i = 1; i < NF; i++) if ($i == \"--token\") print $(i+1)}' /etc/kubernetes/plait-join-command) >/dev/null");
    fleet.exec("node1", "kubeadm reset -f >/dev/null");
    let rejoin = run(&fleet, &wf, dir.path());
    assert_eq!(rejoin.status.code(), Some(0), "{}", text(&rejoin));
    assert!(text(&rejoin).contains("token not listed"), "{}", text(&rejoin));
    assert_eq!(fleet.state("node1")["kubernetes"]["kubelet_conf"], true);
    assert_eq!(changed(&run(&fleet, &wf, dir.path())), 0);
}

#[test]
fn the_bundled_flannel_manifest_installs_without_internet_in_kube_system() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(plaitests_workflow("k8s-centos7-flannel.toml")).unwrap();
    let bundled = seed.replace(
        "plugin = \"flannel\"\nparams = { version = \"v0.17.0\", pod_cidr = \"10.244.0.0/16\" }\n",
        "plugin = \"flannel\"\nparams = { version = \"v0.17.0\", pod_cidr = \"10.244.0.0/16\", manifest = \"bundled\" }\ngrants = { assets = true }\n",
    );
    assert_ne!(seed, bundled, "the flannel step is found");
    // The workflow's own inventory is replaced by the fleet's (-i).
    let wf = dir.path().join("flannel-bundled.toml");
    std::fs::write(&wf, &bundled).unwrap();
    let o = run(&fleet, &wf, dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("upload the bundled flannel-v0.17.0.yaml"), "{}", text(&o));
    let c = &fleet.state("master")["cluster"];
    assert_eq!(c["cni"], "flannel");
    assert_eq!(changed(&run(&fleet, &wf, dir.path())), 0, "v0.17.0 lives in kube-system, and is found there");
}

fn plaitests_workflow(name: &str) -> std::path::PathBuf {
    plait_tests::repo_root().join("workflows").join(name)
}

#[test]
fn a_plugin_author_adds_packages_and_services_to_the_simulated_hosts() {
    if skip_unless_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("acme.catalog");
    std::fs::write(&catalog, "acme-agent|2.1.0-1.el7.x86_64|base||acme-agent|acme-agent\n").unwrap();
    let fleet = Fleet::up_with(1, &["--catalog", catalog.to_str().unwrap()]);
    let out = fleet.exec(
        "master",
        "yum -y install acme-agent >/dev/null && rpm -q acme-agent && systemctl enable acme-agent >/dev/null && systemctl start acme-agent && systemctl is-active acme-agent && acme-agent --version && echo ran",
    );
    assert_eq!(out, "acme-agent-2.1.0-1.el7.x86_64\nactive\nran\n");
    // Without the catalog, yum does not know it.
    let plain = Fleet::up(1);
    let out = plain.exec("master", "yum -y install acme-agent 2>&1; echo \"exit $?\"");
    assert!(out.contains("No package acme-agent available.") && out.contains("exit 1"), "{out}");
}

#[test]
fn a_worker_cut_off_during_the_first_run_joins_on_resume_and_an_edited_workflow_is_not_resumed_blindly() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let dir = tempfile::tempdir().unwrap();
    let wf = cluster_workflow(dir.path(), "cluster", "");
    let inv = fleet.inventory("root");
    let run = |extra: &[&str]| {
        let mut args = vec!["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--state-dir", dir.path().to_str().unwrap()];
        args.extend(["--output", "json", "--connect-timeout", "3"]);
        args.extend(extra);
        fleet.plait(&args)
    };
    fleet.net("node1", false);
    let first = run(&[]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert_eq!(fleet.state("master")["cluster"]["nodes"], serde_json::json!(["master"]));
    fleet.net("node1", true);

    // master's steps are done; its kubeadm step reads the join command
    // again (read-only) so node1 can join.
    let resumed = run(&["--resume"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    let r = recap(&resumed);
    assert_eq!(r.iter().find(|h| h["host"] == "master").unwrap()["changed"], 0, "master changed nothing: {r:?}");
    assert_eq!(fleet.state("node1")["cluster"]["nodes"], serde_json::json!(["master", "node1"]));
    assert_eq!(fleet.state("node1")["kubernetes"]["kubelet_conf"], true);

    // The workflow is edited: its steps may not be what the journal says.
    std::fs::write(&wf, std::fs::read_to_string(&wf).unwrap() + "\n# edited\n").unwrap();
    let refused = run(&["--resume"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("cannot resume: the workflow file changed"), "{}", text(&refused));
    let forced = run(&["--resume", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
}
