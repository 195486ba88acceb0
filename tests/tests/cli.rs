//! The `plait` binary end to end, offline: plan output, exit codes, the
//! compiled-plugin cache, plugin listing.

use plait_tests::{check_golden, plait, redact, repo_root, test_plugin_path};
use std::time::Instant;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn plan_from_fresh_facts_prints_every_command() {
    let cache = tempfile::tempdir().unwrap();
    let o = plait(&["plan", "workflows/k8s-centos7.toml", "--facts", "tests/fixtures/facts/centos79-fresh.toml"], cache.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("$ systemctl stop firewalld"), "{out}");
    assert!(out.contains("Plan: 151 actions on 3 of 3 hosts; 0 failures."), "{out}");
    check_golden(&repo_root().join("tests/snapshots/plan-k8s-centos7-fresh.txt"), &redact(&out)).unwrap();
}

#[test]
fn plan_from_converged_facts_has_nothing_to_do_and_says_why() {
    let cache = tempfile::tempdir().unwrap();
    let o = plait(&["plan", "workflows/k8s-centos7.toml", "--facts", "tests/fixtures/facts/centos79-converged.toml"], cache.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.matches(": nothing to do").count(), 23, "nine steps on master, seven on each worker: {out}");
    assert!(out.contains("swap is off and /etc/fstab has no active swap entry"), "{out}");
    // The control plane still reads what the workers need: listed, counted.
    assert!(out.contains("Plan: 0 actions on 0 of 3 hosts; 2 reads on converged steps; 0 failures."), "{out}");
    assert!(
        out.contains("read 2. read /etc/kubernetes/admin.conf\n       read /etc/kubernetes/admin.conf into `admin_conf` (secret)"),
        "{out}"
    );
    // Drift checks: nothing pending exits 0, pending changes exit 5.
    let args = ["plan", "workflows/k8s-centos7.toml", "--detailed-exitcode", "--facts"];
    let converged = plait(&[&args[..], &["tests/fixtures/facts/centos79-converged.toml"]].concat(), cache.path());
    assert_eq!(converged.status.code(), Some(0), "{}", stderr(&converged));
    let fresh = plait(&[&args[..], &["tests/fixtures/facts/centos79-fresh.toml"]].concat(), cache.path());
    assert_eq!(fresh.status.code(), Some(5), "{}", stderr(&fresh));
    check_golden(&repo_root().join("tests/snapshots/plan-k8s-centos7-converged.txt"), &redact(&out)).unwrap();
}

#[test]
fn plan_json_is_machine_readable() {
    let cache = tempfile::tempdir().unwrap();
    let o = plait(
        &["plan", "workflows/k8s-centos7.toml", "--facts", "tests/fixtures/facts/centos79-fresh.toml", "--output", "json"],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["workflow"], "k8s-centos7");
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    assert_eq!(hosts[0]["steps"][1]["outcome"], "changes");
    assert_eq!(hosts[0]["steps"][1]["actions"][0]["run"]["program"]["argv"], serde_json::json!(["systemctl", "stop", "firewalld"]));
}

#[test]
fn the_second_start_uses_the_compiled_cache() {
    let cache = tempfile::tempdir().unwrap();
    let args = ["-v", "plan", "workflows/k8s-centos7.toml", "--facts", "tests/fixtures/facts/centos79-fresh.toml"];
    let t0 = Instant::now();
    let first = plait(&args, cache.path());
    let cold = t0.elapsed();
    let t1 = Instant::now();
    let second = plait(&args, cache.path());
    let warm = t1.elapsed();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stderr(&first).contains("plugin os-prep 0.1.0 loaded compiled"), "{}", stderr(&first));
    assert!(stderr(&second).contains("plugin os-prep 0.1.0 loaded from the compiled cache"), "{}", stderr(&second));
    assert_eq!(stdout(&first), stdout(&second), "the cache must not change the plan");
    let artifacts: Vec<_> = walk(cache.path()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect();
    assert_eq!(artifacts.len(), 9, "one compiled artifact per plugin of the workflow: {artifacts:?}");
    // Numbers for the record, not an assertion (timing belongs to benchmarks).
    eprintln!("plait plan: cold cache {cold:?}, warm cache {warm:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn pinned_hostile_workflow(dir: &std::path::Path, mode: &str) -> std::path::PathBuf {
    let wasm = test_plugin_path("hostile");
    let sha = plait::plugin::sha256_hex(&std::fs::read(&wasm).unwrap());
    let wf = dir.join("hostile.toml");
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"hostile\"\n\n[inventory.hosts.master]\naddress = \"192.168.100.100\"\n\n[[steps]]\nplugin = {{ path = {:?}, sha256 = \"{sha}\" }}\nparams = {{ mode = \"{mode}\" }}\n",
            wasm.display().to_string()
        ),
    )
    .unwrap();
    wf
}

#[test]
fn a_misbehaving_plugin_fails_the_plan_with_exit_code_3() {
    let dir = tempfile::tempdir().unwrap();
    let wf = pinned_hostile_workflow(dir.path(), "loop");
    let facts = repo_root().join("tests/fixtures/facts/centos79-fresh.toml");
    let o = plait(&["--plugin-timeout-ms", "200", "plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(3), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("FAILED\n      plugin hostile 0.1.0 on host master: stopped after exceeding its time limit of 200 ms"), "{out}");
    assert!(out.contains("1 failure."), "{out}");
}

#[test]
fn a_plugin_pinned_by_path_and_hash_runs() {
    let dir = tempfile::tempdir().unwrap();
    let wf = pinned_hostile_workflow(dir.path(), "ok");
    let facts = repo_root().join("tests/fixtures/facts/centos79-fresh.toml");
    let o = plait(&["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("1. honest action on master"), "{}", stdout(&o));
}

#[test]
fn an_invalid_workflow_exits_2_with_a_located_error() {
    let cache = tempfile::tempdir().unwrap();
    let o = plait(&["plan", "tests/ui/workflows/unknown-param.toml", "--facts", "tests/fixtures/facts/centos79-fresh.toml"], cache.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("plugin os-prep 0.1.0 has no parameter `ntp`"), "{err}");
    assert!(err.contains("tests/ui/workflows/unknown-param.toml:15:7"), "{err}");
    // A plugin the workflow names wrongly or pins to another hash is the
    // workflow's mistake too (exit 2), not a failing plugin (exit 3).
    for (case, says) in [("unknown-plugin", "no plugin named `os-prepare`"), ("sha-mismatch", "but the workflow pins")] {
        let wf = format!("tests/ui/workflows/{case}.toml");
        let o = plait(&["plan", &wf, "--facts", "tests/fixtures/facts/centos79-fresh.toml"], cache.path());
        assert_eq!(o.status.code(), Some(2), "{case}: {}", stderr(&o));
        let words = stderr(&o).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains(says), "{case}: {words}");
    }
}

#[test]
fn a_facts_file_missing_a_host_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.toml");
    let full = std::fs::read_to_string(repo_root().join("tests/fixtures/facts/centos79-fresh.toml")).unwrap();
    // Keep only master's tables.
    let master_only: String = full.split("\n[node1.facts]").next().unwrap().to_string();
    std::fs::write(&facts, master_only).unwrap();
    let o = plait(&["plan", "workflows/k8s-centos7.toml", "--facts", facts.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no record for host `node1`"), "{}", stderr(&o));
}

#[test]
fn plugin_inspect_shows_parameters_probes_and_capabilities() {
    let cache = tempfile::tempdir().unwrap();
    let o = plait(&["plugin", "inspect", "os-prep"], cache.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for expected in [
        "ntp_server (string, default \"time.windows.com\")",
        "clock (shell code): if [ \"$1\" = ntpdate ]; then ntpdate -q \"$2\" 2>&1; else echo 'not queried'; fi [args: {time_sync_tool} {ntp_server}]",
        "etc_hosts (runs cat): cat /etc/hosts",
        "time_sync_tool (string, default \"chronyd\")",
        "programs: systemctl, setenforce",
        "writes: /etc/hosts",
        "reboot: no",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    let o = plait(&["plugins"], cache.path());
    for name in ["bridge-net", "calico", "docker", "elrepo-kernel", "flannel", "ipvs", "k8s-app", "kube-proxy-ipvs", "kubeadm", "os-prep"] {
        assert!(stdout(&o).contains(&format!("{name:<16} 0.1.0")), "{}", stdout(&o));
    }
}

#[test]
fn an_offline_plan_masks_secret_parameters_and_secret_stdin() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    std::fs::copy(plait_tests::test_plugin_path("kit"), dir.path().join("plugins/kit.wasm")).unwrap();
    let wf = dir.path().join("secret.toml");
    std::fs::write(
        &wf,
        "[workflow]\nname = \"secret\"\n\n[inventory.hosts.master]\naddress = \"192.168.100.100\"\n\n\
         [[steps]]\nplugin = \"kit\"\nparams = { mode = \"secret-param\", password = \"it's hunter2-secret\" }\n",
    )
    .unwrap();
    // The recorded facts, plus the kit's probes.
    let facts = dir.path().join("facts.toml");
    let recorded = std::fs::read_to_string(repo_root().join("tests/fixtures/facts/centos79-fresh.toml")).unwrap();
    std::fs::write(
        &facts,
        recorded
            + "\n[master.probes.kit]\necho_text = { exit_code = 0, stdout = \"hello\\n\" }\nkit_file = { exit_code = 1, stdout = \"\" }\n",
    )
    .unwrap();
    for format in ["json", "human"] {
        let o = plait(&["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap(), "--output", format], cache.path());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(!out.contains("hunter2"), "{format}: the secret parameter shows:\n{out}");
        assert!(out.contains("********"), "{format}: {out}");
    }
}

#[test]
fn limit_plans_only_the_named_hosts_and_groups() {
    let cache = tempfile::tempdir().unwrap();
    let args = ["plan", "workflows/k8s-centos7.toml", "--facts", "tests/fixtures/facts/centos79-fresh.toml", "--limit"];
    let o = plait(&[&args[..], &["workers"]].concat(), cache.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("\nnode1 (") && out.contains("\nnode2 (") && !out.contains("\nmaster ("), "{out}");
    let o = plait(&[&args[..], &["master,node2"]].concat(), cache.path());
    assert!(stdout(&o).contains("\nmaster (") && !stdout(&o).contains("\nnode1 ("), "{}", stdout(&o));
    // A name that is neither a host nor a group: invalid input, named.
    let o = plait(&[&args[..], &["nosuch"]].concat(), cache.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("`nosuch` is neither a host nor a group of the inventory (hosts: master, node1, node2"), "{}", stderr(&o));
}

/// `NAME.toml` in `dir`: one step running test plugin `name`, pinned by
/// path and sha256, on a host at an address nothing answers on.
fn one_step_workflow(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let wasm = test_plugin_path(name);
    let sha = plait::plugin::sha256_hex(&std::fs::read(&wasm).unwrap());
    let wf = dir.join(format!("{name}.toml"));
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"{name}\"\n\n[inventory.hosts.master]\naddress = \"192.0.2.1\"\n\n[[steps]]\nplugin = {{ path = {:?}, sha256 = \"{sha}\" }}\n",
            wasm.display().to_string()
        ),
    )
    .unwrap();
    wf
}

#[test]
fn a_0_2_probe_whose_placeholder_sits_in_quotes_or_whose_program_is_a_builtin_is_shell_code() {
    // plugins/testing/legacy-probe (contract 0.2) declares only rpm and
    // test. On 9b41850 `plait check` said ok and `plait plan` labelled
    // `rpm -q 'plait-{pkg}'` "runs rpm", while sh ran the default's
    // `$(touch ...)`; both probes are shell code, refused before any host.
    let dir = tempfile::tempdir().unwrap();
    let wf = one_step_workflow(dir.path(), "legacy-probe");
    let facts = repo_root().join("tests/fixtures/facts/centos79-fresh.toml");
    let wf = wf.to_str().unwrap();
    for args in [vec!["check", wf], vec!["plan", wf, "--facts", facts.to_str().unwrap()]] {
        let o = plait(&args, dir.path());
        let err = stderr(&o).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains("legacy-probe 0.1.0 may not run its probe `quoted`: it is shell code, and the plugin does not declare the `shell` capability"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.path().join("plait-probe-escaped").exists());
}

#[test]
fn a_plugin_whose_probes_exceed_its_capabilities_is_refused_before_any_host() {
    // plugins/testing/prober declares only `rpm`, yet probes `cat
    // /etc/shadow` as root and shell code. Probes run in dry runs and
    // `plait facts` too, so the step is refused when the workflow is bound:
    // offline, live (an address nothing answers on), and for `plait facts`.
    let dir = tempfile::tempdir().unwrap();
    let wf = one_step_workflow(dir.path(), "prober");
    let facts = repo_root().join("tests/fixtures/facts/centos79-fresh.toml");
    let wf = wf.to_str().unwrap();
    for args in [vec!["plan", wf, "--facts", facts.to_str().unwrap()], vec!["plan", wf], vec!["facts", wf], vec!["run", wf]] {
        let start = Instant::now();
        let o = plait(&args, dir.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        // The diagnostic wraps lines; compare its words.
        let err = err.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            err.contains("prober 0.1.0 may not run its probe `shadow`: it runs `cat`, which the plugin declares neither in its programs nor through `shell`"),
            "{args:?}: {err}"
        );
        assert!(err.contains("the probe runs `cat /etc/shadow` as root"), "{err}");
        assert!(start.elapsed().as_secs() < 5, "{args:?} tried to connect first");
    }
}

#[test]
fn a_copied_binary_plans_the_seed_workflow_anywhere_with_its_built_in_plugins() {
    // Nothing of the checkout is reachable: the binary, the workflow and the
    // facts are copies in a fresh folder; no plugin path is set.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin/plait");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(plait_tests::plait_bin(), &bin).unwrap();
    for f in ["workflows/k8s-centos7.toml", "tests/fixtures/facts/centos79-fresh.toml"] {
        std::fs::copy(repo_root().join(f), dir.path().join(std::path::Path::new(f).file_name().unwrap())).unwrap();
    }
    let run = |args: &[&str]| {
        std::process::Command::new(&bin)
            .args(args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("PLAIT_CACHE_DIR", dir.path().join("cache"))
            .env_remove("PLAIT_PLUGIN_PATH")
            .env_remove("XDG_DATA_HOME")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = run(&["plan", "k8s-centos7.toml", "--facts", "centos79-fresh.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Plan: 151 actions on 3 of 3 hosts; 0 failures."), "{}", stdout(&o));
    // flannel's bundled manifest (its assets) is written out beside it.
    let o = run(&["plugin", "inspect", "flannel"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let wasm = stdout(&o).lines().find_map(|l| l.trim().strip_prefix("file: ")).unwrap().to_string();
    let manifest = std::path::Path::new(&wasm).with_file_name("flannel.assets/flannel-v0.17.0.yaml");
    assert!(std::fs::read_to_string(&manifest).unwrap().contains("kube-flannel-ds"), "{}", manifest.display());
    let o = run(&["plugins"]);
    assert!(stdout(&o).contains("(built into plait)"), "{}", stdout(&o));
    // A plugin in the user's folder replaces the built-in one of its name.
    let user = dir.path().join(".local/share/plait/plugins");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::copy(test_plugin_path("kit"), user.join("os-prep.wasm")).unwrap();
    let o = run(&["plan", "k8s-centos7.toml", "--facts", "centos79-fresh.toml"]);
    assert_eq!(o.status.code(), Some(3), "the kit calls itself kit: {}", stderr(&o));
    assert!(stderr(&o).contains("calls itself `kit`, expected `os-prep`"), "{}", stderr(&o));
}

#[test]
fn a_read_only_action_is_listed_with_its_command_line_and_counted() {
    // 9b41850 planned `rpm -e --nodeps glibc`, marked read-only, as
    // "nothing to do (only reads the installed glibc version)", command
    // line dropped, and a live dry run ran it.
    let dir = tempfile::tempdir().unwrap();
    let wf = pinned_hostile_workflow(dir.path(), "read-only-erase");
    let facts = repo_root().join("tests/fixtures/facts/centos79-fresh.toml");
    let args = ["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()];
    let o = plait(&args, dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.contains("read 1. the installed glibc version") && out.contains("$ rpm -e --nodeps glibc"), "{out}");
    assert!(out.contains("1 read on converged steps"), "{out}");
    let mut json = args.to_vec();
    json.extend(["--output", "json"]);
    let o = plait(&json, dir.path());
    assert!(stdout(&o).contains("\"reads\"") && stdout(&o).contains("glibc"), "{}", stdout(&o));
}

#[test]
fn a_value_that_breaks_a_parameter_rule_is_refused_at_its_line_before_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let wf = pinned_hostile_workflow(dir.path(), "ok");
    let text =
        std::fs::read_to_string(&wf).unwrap().replace("params = { mode = \"ok\" }", "params = { mode = \"ok\", level = \"verbose\" }");
    std::fs::write(&wf, text).unwrap();
    let o = plait(&["check", wf.to_str().unwrap()], dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("hostile.toml:9:33]"), "located at the value: {err}");
    let err = err.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(err.contains("parameter `level` of hostile 0.1.0: \"verbose\" is not one of: info, debug"), "{err}");
}

#[test]
fn check_compares_grants_with_what_the_plugin_declares() {
    let dir = tempfile::tempdir().unwrap();
    let wf = pinned_hostile_workflow(dir.path(), "ok");
    let text = std::fs::read_to_string(&wf).unwrap() + "grants = { programs = [\"true\", \"rm\"], reboot = false }\n";
    std::fs::write(&wf, text).unwrap();
    let o = plait(&["check", wf.to_str().unwrap()], dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "warnings only: {err}");
    for expected in [
        "hostile.toml:10:10: step 1: grants.programs leaves out `rpm`, which hostile 0.1.0 declares: a plan that needs it will be refused",
        "grants.programs lists `rm`, which hostile 0.1.0 never declares: it changes nothing",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
    assert!(!err.contains("reboot = false"), "hostile declares no reboot: {err}");
    let o = plait(&["check", "--strict", wf.to_str().unwrap()], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("error: "), "{}", stderr(&o));
}

#[test]
fn a_plugins_own_check_of_its_parameters_refuses_a_combination_before_any_host() {
    let dir = tempfile::tempdir().unwrap();
    let wf = pinned_hostile_workflow(dir.path(), "read-file");
    let text = std::fs::read_to_string(&wf)
        .unwrap()
        .replace("params = { mode = \"read-file\" }", "params = { mode = \"read-file\", level = \"debug\" }");
    std::fs::write(&wf, text).unwrap();
    let o = plait(&["check", wf.to_str().unwrap()], dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("hostile.toml:9:10]"), "located at the step's params: {err}");
    let err = err.replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(err.contains("mode read-file cannot run at level debug"), "{err}");
}
