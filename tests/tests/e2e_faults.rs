//! Fault injection on the simulated fleet, over real SSH. Each case checks
//! what the user sees (exit code, recap naming host, step and cause), that
//! the other hosts converge, and that `--resume` finishes the job once the
//! fault is repaired. Needs root; PLAIT_SKIP_E2E=1 skips explicitly.

use plait_tests::fleet::{Fleet, skip_unless_available};
use plait_tests::test_plugin_path;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn events(o: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn host(o: &std::process::Output, name: &str) -> Value {
    let recap = events(o).into_iter().rev().find(|e| e["event"] == "recap").unwrap_or_else(|| panic!("no recap:\n{}", text(o)));
    recap["hosts"].as_array().unwrap().iter().find(|h| h["host"] == name).cloned().unwrap()
}

fn kit(dir: &Path, mode: &str, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    std::fs::copy(test_plugin_path("kit"), dir.join("plugins/kit.wasm")).unwrap();
    let wf = dir.join("kit.toml");
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"kit\"\n\n[[steps]]\nname = \"kit {mode}\"\nplugin = \"kit\"\nparams = {{ mode = \"{mode}\"{extra} }}\n"
        ),
    )
    .unwrap();
    wf
}

fn wait_until_sleeping(fleet: &Fleet, host: &str) {
    for _ in 0..400 {
        if !fleet.exec(host, "pgrep -x sleep || true").trim().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{host} never started its command");
}

#[test]
fn a_host_unreachable_from_the_start_is_named_and_the_others_converge() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let inv = work.path().join("inv.toml");
    let base = std::fs::read_to_string(fleet.inventory("root")).unwrap();
    std::fs::write(&inv, format!("{base}\n[hosts.ghost]\naddress = \"192.168.100.150\"\n")).unwrap();
    let wf = kit(work.path(), "ok", "");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--connect-timeout", "2", "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let ghost = host(&o, "ghost");
    assert_eq!(ghost["state"], "unreachable");
    assert!(ghost["failure"]["error"].as_str().unwrap().contains("cannot connect to ghost (192.168.100.150:22)"), "{ghost}");
    assert_eq!(host(&o, "master")["state"], "converged");
    assert_eq!(host(&o, "node1")["state"], "converged");
}

#[test]
fn a_network_cut_mid_step_fails_that_host_and_resume_finishes_it() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let wf = kit(work.path(), "sleep", "");
    let inv = fleet.inventory("root");
    let run = fleet.spawn_plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--keepalive", "1", "--output", "json"]);
    wait_until_sleeping(&fleet, "node1");
    fleet.net("node1", false);
    let o = run.wait_with_output().unwrap();
    fleet.net("node1", true);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(host(&o, "master")["state"], "converged");
    let node1 = host(&o, "node1");
    assert_eq!(node1["state"], "failed");
    assert_eq!(node1["failure"]["step"], 1);
    assert!(node1["failure"]["error"].as_str().unwrap().contains("connection to node1 lost"), "{node1}");

    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--resume", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let acted: Vec<Value> = events(&o).into_iter().filter(|e| e["event"] == "action").map(|e| e["host"].clone()).collect();
    assert_eq!(acted, vec![Value::from("node1")]);
}

#[test]
fn a_reboot_that_never_comes_back_times_out_clearly() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    fleet.reboot_delay("master", 600);
    let wf = kit(work.path(), "reboot", ", reboot_timeout = 4");
    let o = fleet.plait(&[
        "run",
        wf.to_str().unwrap(),
        "-i",
        fleet.inventory("root").to_str().unwrap(),
        "--connect-timeout",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let m = host(&o, "master");
    assert_eq!(m["state"], "failed");
    assert!(m["failure"]["error"].as_str().unwrap().contains("did not come back with a new boot id within 4 s"), "{m}");
    assert_eq!(m["skipped"], 1, "the action after the reboot never ran");
}

#[test]
fn ctrl_c_finishes_running_actions_writes_the_journal_and_resume_completes() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    let wf = work.path().join("kit.toml");
    kit(work.path(), "sleep", "");
    // Two steps: Ctrl-C during the first; the second must not start.
    let two = std::fs::read_to_string(&wf).unwrap() + "\n[[steps]]\nname = \"after\"\nplugin = \"kit\"\nparams = { mode = \"ok\" }\n";
    std::fs::write(&wf, two).unwrap();
    let inv = fleet.inventory("root");
    let run = fleet.spawn_plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    wait_until_sleeping(&fleet, "master");
    wait_until_sleeping(&fleet, "node1");
    // `fleet ctl` execs plait inside the namespace: the child is plait itself.
    let sent = std::process::Command::new("kill").args(["-INT", &run.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let o = run.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    for h in ["master", "node1"] {
        let r = host(&o, h);
        assert_eq!(r["state"], "interrupted", "{r}");
        assert_eq!(r["changed"], 1, "the running action finished: {r}");
        assert_eq!(r["skipped"], 1, "the next step never started: {r}");
    }
    let runs: Vec<PathBuf> = std::fs::read_dir(work.path().join(".plait/runs")).unwrap().map(|e| e.unwrap().path()).collect();
    let state: Value = serde_json::from_str(&std::fs::read_to_string(runs[0].join("state.json")).unwrap()).unwrap();
    assert_eq!(state["completed"]["master"], serde_json::json!([1]), "{state}");

    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--resume", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let steps: Vec<u64> = events(&o).iter().filter(|e| e["event"] == "action").map(|e| e["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, vec![2, 2], "only the step that never ran: {}", text(&o));
}

#[test]
fn hostile_values_never_reach_a_shell() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    // Through a probe (quoted by the host) and an argv action (never parsed).
    let text_param = "$(touch /tmp/pwned1); touch /tmp/pwned2 `touch /tmp/pwned3` 'x\\\" \\n done";
    let wf = kit(work.path(), "echo", &format!(", text = \"{text_param}\""));
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", fleet.inventory("root").to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let action = events(&o).into_iter().find(|e| e["event"] == "action").unwrap();
    assert!(action["stdout_tail"].as_str().unwrap().starts_with("$(touch /tmp/pwned1); touch /tmp/pwned2"), "{action}");
    assert_eq!(fleet.exec("master", "ls /tmp/pwned* /root/pwned* 2>/dev/null | wc -l").trim(), "0", "a marker file appeared");
}

#[test]
fn a_narrowed_grant_refuses_the_whole_plan_and_nothing_runs() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = work.path().join("wf.toml");
    std::fs::write(&wf, "[workflow]\nname = \"narrow\"\n\n[[steps]]\nplugin = \"os-prep\"\ngrants = { programs = [\"systemctl\", \"setenforce\", \"sed\", \"swapoff\", \"yum\", \"ntpdate\"] }\n").unwrap();
    let before = fleet.state("master");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", fleet.inventory("root").to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let m = host(&o, "master");
    assert!(
        m["failure"]["error"]
            .as_str()
            .unwrap()
            .contains("runs `hostnamectl`, which the step's grants do not allow (grants.programs); the grants are at "),
        "{m}"
    );
    assert!(m["failure"]["error"].as_str().unwrap().contains("wf.toml:6:10"), "the grants' line and column: {m}");
    assert_eq!(fleet.state("master"), before, "nothing of the plan may run");
}

#[test]
fn a_missing_identity_file_is_refused_before_connecting() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let inv = work.path().join("inv.toml");
    std::fs::write(&inv, "[defaults]\nidentity_file = \"/nonexistent/id_ed25519\"\n\n[hosts.master]\naddress = \"192.168.100.100\"\ngroups = [\"control-plane\"]\n").unwrap();
    let logins = fleet.logins("master");
    let o = fleet.plait(&["run", "workflows/k8s-centos7.toml", "-i", inv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("host `master`: identity file /nonexistent/id_ed25519 does not exist"), "{}", text(&o));
    assert!(text(&o).contains("inv.toml:4:1"), "the error points into the inventory: {}", text(&o));
    assert_eq!(fleet.logins("master"), logins, "nothing connected");
}

#[test]
fn a_command_that_floods_its_output_is_stopped_at_the_cap() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(1);
    let work = tempfile::tempdir().unwrap();
    let wf = kit(work.path(), "flood", "");
    let inv = fleet.inventory("root");
    let o = fleet.plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let h = host(&o, "master");
    assert_eq!(h["state"], "failed", "{h}");
    assert!(text(&o).contains("printed more than 67108864 bytes on stdout"), "{}", text(&o));
}

#[test]
fn ctrl_c_ends_the_wait_of_a_host_that_waits_for_a_variable() {
    if skip_unless_available() {
        return;
    }
    let fleet = Fleet::up(2);
    let work = tempfile::tempdir().unwrap();
    kit(work.path(), "ok", "");
    // master works for three seconds before it captures `token`; node1
    // waits for it from the start.
    let wf = work.path().join("wait.toml");
    std::fs::write(
        &wf,
        "[workflow]\nname = \"wait\"\n\n[[steps]]\nname = \"work\"\nplugin = \"kit\"\ntargets = [\"master\"]\nparams = { mode = \"sleep\" }\n\n\
         [[steps]]\nname = \"share\"\nplugin = \"kit\"\nparams = { mode = \"secret\", target = \"master\" }\n",
    )
    .unwrap();
    let inv = fleet.inventory("root");
    let run = fleet.spawn_plait(&["run", wf.to_str().unwrap(), "-i", inv.to_str().unwrap(), "--output", "json"]);
    wait_until_sleeping(&fleet, "master");
    let sent = std::process::Command::new("kill").args(["-INT", &run.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let o = run.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    // node1 stops waiting at once, as interrupted: not "failed, no other
    // host can capture it" after master ends.
    let r = host(&o, "node1");
    assert_eq!(r["state"], "interrupted", "{r}");
    assert_eq!(r["failed"], 0, "{r}");
}
