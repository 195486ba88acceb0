//! Workflow validation: each `tests/ui/workflows/<case>.toml` must fail to
//! load or bind with the diagnostic in `<case>.err` (file, line, column,
//! the offending span underlined, a hint). `<case>.inventory.toml`, when
//! present, is passed as the inventory file. Nothing may panic.
//! `PLAIT_UPDATE_GOLDEN=1` rewrites the `.err` files.

use plait::plugin::{ComponentCache, Limits, Registry, Runtime};
use plait::workflow::{Workflow, bind};
use plait_tests::{check_golden, redact, render_diagnostic, repo_root};

#[test]
fn bad_workflows_fail_with_located_errors() {
    let rt = runtime();
    // Paths relative to this crate (cargo runs tests from it), so messages,
    // and how miette wraps them, do not depend on where the checkout lives.
    let registry = Registry::new(vec!["../target/plugins".into()]);
    let dir = std::path::PathBuf::from("ui/workflows");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && !p.to_string_lossy().ends_with(".inventory.toml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "found {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let inv = case.with_extension("inventory.toml");
        let inv = inv.is_file().then_some(inv);
        let result = Workflow::load(case, inv.as_deref()).and_then(|w| bind(w, &registry, &rt));
        let err = match result {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", case.display()));
                continue;
            }
            Err(e) => e,
        };
        let rendered = redact(&format!("{}\n{}", err.one_line(), render_diagnostic(&*err)));
        if let Err(e) = check_golden(&case.with_extension("err"), &rendered) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn runtime() -> Runtime {
    Runtime::new(ComponentCache::at(repo_root().join("target/test-cache")), Limits::default()).unwrap()
}

/// `{ path = ..., sha256 = ... }` for test plugin `name`.
fn pin(name: &str) -> String {
    let wasm = plait_tests::test_plugin_path(name);
    format!("{{ path = {:?}, sha256 = \"{}\" }}", wasm.display().to_string(), plait::plugin::sha256_hex(&std::fs::read(&wasm).unwrap()))
}

#[test]
fn a_consumed_variable_without_a_producer_is_refused_at_the_step() {
    let rt = runtime();
    let wasm = plait_tests::test_plugin_path("consumer");
    let sha = plait::plugin::sha256_hex(&std::fs::read(&wasm).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("wf.toml");
    std::fs::write(
        &wf,
        format!("[workflow]\nname = \"x\"\n\n[inventory.hosts.master]\naddress = \"192.168.100.100\"\n\n[[steps]]\nname = \"needs orphan\"\nplugin = {{ path = {:?}, sha256 = \"{sha}\" }}\n", wasm.display().to_string()),
    )
    .unwrap();
    let err = bind(Workflow::load(&wf, None).unwrap(), &Registry::new(vec![]), &rt).expect_err("orphan has no producer");
    assert_eq!(err.message, "step 1 (needs orphan) consumes variable `orphan`, but no step before it produces it");
    assert!(err.location.ends_with("wf.toml:9:10"), "{}", err.location);
}

#[test]
fn a_variable_two_plugins_produce_is_refused_at_its_consumer() {
    // On 9b41850 any plugin declaring `produces = ["admin_conf"]` replaced
    // kubeadm's value; here hostile claims kit's `token` before kit runs.
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("wf.toml");
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"x\"\n\n[inventory.hosts.master]\naddress = \"192.168.100.100\"\n\n[[steps]]\nname = \"claims token\"\nplugin = {}\n\n[[steps]]\nname = \"uses token\"\nplugin = {}\n",
            pin("hostile"),
            pin("kit")
        ),
    )
    .unwrap();
    let err = bind(Workflow::load(&wf, None).unwrap(), &Registry::new(vec![]), &rt).expect_err("two producers");
    assert_eq!(
        err.message,
        "step 2 (uses token) consumes variable `token`, which two plugins produce: step 2 (uses token, kit 0.1.0) and step 1 (claims token, hostile 0.1.0)"
    );
    assert!(err.location.ends_with("wf.toml:13:10"), "{}", err.location);
    // Naming the producer binds the consumer to that step alone.
    let text = std::fs::read_to_string(&wf).unwrap();
    std::fs::write(&wf, text.clone() + "vars_from = { token = \"uses token\" }\n").unwrap();
    let bound = bind(Workflow::load(&wf, None).unwrap(), &Registry::new(vec![]), &rt).expect("the producer is named");
    assert_eq!(bound.steps[1].var_sources["token"], vec![2]);
    // A name no producing step has is a located error.
    std::fs::write(&wf, text + "vars_from = { token = \"nobody\" }\n").unwrap();
    let err = bind(Workflow::load(&wf, None).unwrap(), &Registry::new(vec![]), &rt).expect_err("no such producer");
    assert_eq!(err.message, "step 2 (uses token): no step up to this one is named `nobody` and produces `token`");
}

#[test]
fn a_plugin_reads_another_plugins_variable_only_when_the_workflow_names_its_step() {
    // Second review of issue 24: declaring `consumes = ["join_command"]`
    // was enough to receive kubeadm's secret. Here consumer reads `orphan`,
    // which only kit produces.
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("wf.toml");
    let text = format!(
        "[workflow]\nname = \"x\"\n\n[inventory.hosts.master]\naddress = \"192.168.100.100\"\n\n[[steps]]\nname = \"make it\"\nplugin = {}\n\n[[steps]]\nname = \"read it\"\nplugin = {}\n",
        pin("kit"),
        pin("consumer")
    );
    std::fs::write(&wf, &text).unwrap();
    let err = bind(Workflow::load(&wf, None).unwrap(), &Registry::new(vec![]), &rt).expect_err("another plugin's variable");
    assert_eq!(
        err.message,
        "step 2 (read it): consumer 0.1.0 consumes variable `orphan`, which only another plugin produces: step 1 (make it, kit 0.1.0)"
    );
    std::fs::write(&wf, text + "vars_from = { orphan = \"make it\" }\n").unwrap();
    let bound = bind(Workflow::load(&wf, None).unwrap(), &Registry::new(vec![]), &rt).expect("the workflow names the producer");
    assert_eq!(bound.steps[1].var_sources["orphan"], vec![1]);
}
