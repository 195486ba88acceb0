//! The sandbox holds against a plugin that misbehaves on purpose
//! (plugins/testing/hostile): every misbehaviour is stopped or refused with
//! an error naming the plugin and host, and no plan escapes.

use plait::plugin::{Capabilities, ComponentCache, Grants, Limits, LoadedPlugin, PluginError, Runtime};
use plait_tests::{context_from_facts, repo_root, test_plugin_path};
use serde_json::json;
use std::time::{Duration, Instant};

fn runtime(limits: Limits) -> Runtime {
    Runtime::new(ComponentCache::at(repo_root().join("target/test-cache")), limits).expect("runtime")
}

fn hostile(rt: &Runtime) -> LoadedPlugin {
    LoadedPlugin::load(rt, &test_plugin_path("hostile"), None).expect("hostile plugin loads")
}

fn plan(rt: &Runtime, mode: &str) -> Result<plait::plugin::PlanOutput, PluginError> {
    let p = hostile(rt);
    let ctx = context_from_facts("centos79-fresh.toml", "master", json!({ "mode": mode }));
    p.plan(&ctx, &p.info.capabilities)
}

fn summary(out: &plait::plugin::PlanOutput) -> &str {
    &out.actions[0].summary
}

#[test]
fn honest_mode_plans() {
    let rt = runtime(Limits::default());
    let out = plan(&rt, "ok").expect("ok mode plans");
    assert_eq!(summary(&out), "honest action on master");
}

#[test]
fn infinite_loop_is_stopped_at_the_deadline() {
    let rt = runtime(Limits { time: Duration::from_millis(300), ..Limits::default() });
    let start = Instant::now();
    let err = plan(&rt, "loop").expect_err("a loop never returns");
    // Generous bound: the point is that it stops at all, near the deadline.
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    assert!(matches!(err, PluginError::Timeout { limit_ms: 300, .. }), "{err}");
    assert_eq!(err.to_string(), "plugin hostile 0.1.0 on host master: stopped after exceeding its time limit of 300 ms");
}

#[test]
fn memory_bomb_is_stopped_at_the_cap() {
    let rt = runtime(Limits { memory: 64 << 20, ..Limits::default() });
    let err = plan(&rt, "oom").expect_err("unbounded allocation fails");
    assert!(matches!(err, PluginError::OutOfMemory { limit_mib: 64, .. }), "{err}");
    assert!(err.to_string().contains("hostile 0.1.0 on host master"), "{err}");
}

#[test]
fn trap_is_reported_with_plugin_and_host() {
    let rt = runtime(Limits::default());
    let err = plan(&rt, "trap").expect_err("index out of bounds traps");
    assert!(matches!(err, PluginError::Trap { .. }), "{err}");
    assert!(err.to_string().starts_with("plugin hostile 0.1.0 on host master: crashed:"), "{err}");
    // What the plugin printed last explains the crash (here, Rust's panic message).
    assert!(err.to_string().contains("plugin stderr:") && err.to_string().contains("index out of bounds"), "{err}");
}

#[test]
fn files_sockets_and_environment_are_denied() {
    let rt = runtime(Limits::default());
    // SAFETY of the assertion: the host process has HOME and /etc/passwd.
    assert!(std::path::Path::new("/etc/passwd").exists());
    let out = plan(&rt, "read-file").unwrap();
    assert!(summary(&out).starts_with("read-file denied"), "{}", summary(&out));
    let out = plan(&rt, "socket").unwrap();
    assert!(summary(&out).starts_with("socket denied"), "{}", summary(&out));
    let out = plan(&rt, "env").unwrap();
    assert_eq!(summary(&out), "env: 0 vars, HOME=None");
}

#[test]
fn stdout_and_stderr_are_captured_not_inherited() {
    let rt = runtime(Limits::default());
    let out = plan(&rt, "stdio").unwrap();
    let logs: Vec<String> = out.logs.iter().map(|l| format!("{:?}: {}", l.source, l.message)).collect();
    assert_eq!(logs, vec!["Warn: hello from log", "Stdout: hello from stdout", "Stderr: hello from stderr"]);
}

#[test]
fn invalid_plans_are_rejected_whole() {
    let rt = runtime(Limits::default());
    // (mode, expected message fragment)
    let cases = [
        ("relative-path", "writes \"etc/passwd\", which is not an absolute path"),
        ("empty-argv", "has an empty argv"),
        ("huge-content", "more than the limit of 16777216"),
        ("huge-plan", "200000 actions, more than the limit of 10000"),
        ("empty-no-reason", "an empty plan must say why nothing needs doing"),
    ];
    for (mode, fragment) in cases {
        let err = plan(&rt, mode).expect_err(mode);
        assert!(matches!(err, PluginError::InvalidPlan { .. }), "{mode}: {err}");
        let text = err.to_string();
        assert!(text.starts_with("plugin hostile 0.1.0 on host master returned an invalid plan"), "{mode}: {text}");
        assert!(text.contains(fragment), "{mode}: {text}");
    }
}

#[test]
fn undeclared_capabilities_are_refused() {
    let rt = runtime(Limits::default());
    let cases = [
        ("undeclared-program", "runs `rm`, which the plugin did not declare"),
        // Declared `true` is that name, not a file called true somewhere.
        ("path-program", "runs `/tmp/plait-hostile/true`, which the plugin did not declare"),
        ("guard-path-program", "the guard of action 1"),
        ("ld-preload", "sets LD_PRELOAD, which changes what runs or what it loads; the workflow must grant it"),
        ("path-env", "sets PATH, which changes what runs"),
        ("undeclared-path", "writes /etc/shadow, which the plugin did not declare (writes)"),
        ("script", "is a shell script, which the plugin did not declare (the `shell` capability)"),
        ("reboot", "reboots the host, which the plugin did not declare"),
    ];
    for (mode, fragment) in cases {
        let err = plan(&rt, mode).expect_err(mode);
        assert!(matches!(err, PluginError::NotAllowed { .. }), "{mode}: {err}");
        assert!(err.to_string().contains(fragment), "{mode}: {err}");
    }
}

#[test]
fn a_narrowed_grant_refuses_what_the_plugin_declared() {
    let rt = runtime(Limits::default());
    let p = hostile(&rt);
    let ctx = context_from_facts("centos79-fresh.toml", "master", json!({ "mode": "ok" }));
    let narrowed: Capabilities = p.info.capabilities.narrow(&Grants { programs: Some(vec![]), ..Grants::default() });
    let err = p.plan(&ctx, &narrowed).expect_err("`true` is no longer granted");
    // The message says which side refused: here the workflow's grants.
    assert!(err.to_string().contains("runs `true`, which the step's grants do not allow (grants.programs)"), "{err}");
    assert!(matches!(err, PluginError::NotAllowed { by_grant: true, .. }), "{err}");
}

#[test]
fn a_sensitive_environment_variable_runs_only_when_granted_by_name() {
    let rt = runtime(Limits::default());
    let p = hostile(&rt);
    let ctx = context_from_facts("centos79-fresh.toml", "master", json!({ "mode": "ld-preload" }));
    let granted = p.info.capabilities.narrow(&Grants { env: Some(vec!["LD_PRELOAD".into()]), ..Grants::default() });
    p.plan(&ctx, &granted).expect("granted by name");
    let other = p.info.capabilities.narrow(&Grants { env: Some(vec!["LD_LIBRARY_PATH".into()]), ..Grants::default() });
    assert!(p.plan(&ctx, &other).is_err(), "another name is not a grant for this one");
}

#[test]
fn plugin_errors_are_attributed() {
    let rt = runtime(Limits::default());
    let err = plan(&rt, "error").expect_err("the plugin refuses");
    assert_eq!(err.to_string(), "plugin hostile 0.1.0 on host master: bad parameters: the plugin refuses");
}

#[test]
fn non_components_are_rejected_by_name() {
    let rt = runtime(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    // A core module: the 8-byte header of an empty module.
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let err = LoadedPlugin::load(&rt, &core, None).expect_err("core module");
    assert!(err.to_string().contains("is a core WebAssembly module, not a component"), "{err}");

    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"#!/bin/sh\necho hi\n").unwrap();
    let err = LoadedPlugin::load(&rt, &junk, None).expect_err("not wasm");
    assert!(err.to_string().contains("junk.wasm is not a valid WebAssembly component"), "{err}");

    let pinned = LoadedPlugin::load(&rt, &test_plugin_path("hostile"), Some(&"0".repeat(64))).expect_err("wrong pin");
    assert!(pinned.to_string().contains("but the workflow pins 0000"), "{pinned}");
}

#[test]
fn a_plugin_for_another_contract_version_is_refused_by_name() {
    let rt = runtime(Limits::default());
    let err = LoadedPlugin::load(&rt, &test_plugin_path("other-wit"), None).expect_err("0.9.0 is not implemented");
    assert!(matches!(err, PluginError::WrongContract { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("other-wit.wasm does not implement plait:plugin@0.1.0, 0.2.0 or 0.3.0"), "{text}");
    assert!(text.contains("plait:plugin/host@0.9.0"), "{text}");
}

/// Issue 24: what the sandbox refuses of a plan, each hole of 9b41850 by name.
#[test]
fn launchers_environment_beyond_locale_setuid_and_forward_dependencies_are_refused() {
    let rt = runtime(Limits::default());
    // (mode, what the refusal says)
    for (mode, says) in [
        ("launcher", "runs `sed`, which runs any code it is given, which the plugin did not declare (the `shell` capability)"),
        ("env-home", "sets HOME"),
        ("setuid", "setuid or setgid"),
        ("when-changed-forward", "runs when action 2 changes, which is not an earlier action"),
    ] {
        let err = plan(&rt, mode).expect_err(mode);
        assert!(err.to_string().contains(says), "{mode}: {err}");
    }
    // A launcher the workflow names in grants.programs runs without shell.
    let p = hostile(&rt);
    let ctx = context_from_facts("centos79-fresh.toml", "master", json!({ "mode": "launcher" }));
    let named = p.info.capabilities.narrow(&Grants { programs: Some(vec!["true".into(), "sed".into()]), ..Grants::default() });
    assert!(p.plan(&ctx, &named).is_ok());
    let granted = p.info.capabilities.narrow(&Grants { setuid: Some(true), ..Grants::default() });
    let ctx = context_from_facts("centos79-fresh.toml", "master", json!({ "mode": "setuid" }));
    assert!(p.plan(&ctx, &granted).is_ok());
}
