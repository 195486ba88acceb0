//! Property-based fuzzing (proptest) of the two parsers that take untrusted
//! input: workflow/inventory files, and plans returned by plugins. Neither may
//! panic, whatever it is fed; accepted plans keep their invariants. CI runs a
//! fixed number of cases (PROPTEST_CASES, default 512 here); a failure is
//! shrunk and its seed saved under tests/proptest-regressions/, which is
//! committed as a regression test.

use plait::model::{Action, ActionKind, FetchFile, Program, PutFile, Reboot, Run};
use plait::plugin::{Capabilities, PlanLimits, PluginInfo, validate_plan};
use plait::workflow::Workflow;
use proptest::prelude::*;

const VALID: &str = r#"[workflow]
name = "fuzz"

[inventory.defaults]
user = "root"

[inventory.hosts.master]
address = "192.168.100.100"
groups = ["control-plane"]

[[steps]]
plugin = "os-prep"
targets = ["control-plane"]
params = { ntp_server = "pool.ntp.org", max_clock_offset = 0.5 }
"#;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512);
    ProptestConfig { cases, ..ProptestConfig::default() }
}

fn load(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wf.toml");
    std::fs::write(&path, text).unwrap();
    // Ok or a located error; never a panic.
    if let Err(e) = Workflow::load(&path, None) {
        assert!(!e.message.is_empty());
        assert!(e.location.starts_with(&path.display().to_string()), "{}", e.location);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics_the_workflow_loader(text in "\\PC{0,400}") {
        load(&text);
    }

    #[test]
    fn mutated_workflows_never_panic_the_loader(cut in 0usize..VALID.len(), insert in "[\\[\\]{}=\"#,.\\n a-z0-9_-]{0,12}") {
        let mut text = VALID.to_string();
        let at = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &insert);
        load(&text);
    }

    #[test]
    fn arbitrary_plans_are_validated_without_panicking(actions in proptest::collection::vec(action(), 0..20), reason in proptest::option::of("\\PC{0,20}")) {
        let info = PluginInfo {
            name: "fuzz".into(),
            version: "0.1.0".into(),
            summary: String::new(),
            params: vec![],
            probes: vec![],
            facts: Default::default(),
            inventory: false,
            contract: "0.2.0",
            capabilities: caps(),
            produces: vec!["token".into()],
            consumes: vec![],
        };
        let verdict = validate_plan(&info, &caps(), &actions, reason.as_deref(), &PlanLimits::default());
        if verdict.is_ok() {
            // What passes keeps the invariants the executor relies on.
            for a in &actions {
                prop_assert!(!a.summary.trim().is_empty());
                match &a.kind {
                    ActionKind::Run(r) => if let Program::Argv(v) = &r.program { prop_assert!(!v.is_empty() && !v[0].is_empty()); },
                    ActionKind::PutFile(f) => prop_assert!(f.path.starts_with('/') && !f.path.split('/').any(|c| c == "..")),
                    ActionKind::FetchFile(f) => prop_assert!(f.path.starts_with('/')),
                    ActionKind::Reboot(r) => prop_assert!(r.timeout_secs > 0),
                }
            }
            prop_assert!(!actions.is_empty() || reason.as_deref().is_some_and(|r| !r.trim().is_empty()));
        }
    }
}

fn caps() -> Capabilities {
    Capabilities {
        programs: vec!["true".into(), "echo".into()],
        shell: true,
        writes: vec!["/etc/".into()],
        reads: vec!["/etc/".into()],
        reboot: true,
        assets: false,
        sudo: true,
        env: vec![],
        launchers: vec![],
        dry_run_reads: false,
        setuid: false,
    }
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof!["/etc/[a-z./]{0,12}", "[a-z./]{0,12}", "/etc/\\.\\./[a-z]{1,5}", "\\PC{0,12}"]
}

fn program() -> impl Strategy<Value = Program> {
    prop_oneof![
        proptest::collection::vec(prop_oneof!["true", "echo", "rm", "\\PC{0,8}"], 0..4).prop_map(Program::Argv),
        "\\PC{0,20}".prop_map(Program::Script),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let kind = prop_oneof![
        (
            program(),
            proptest::option::of(program()),
            any::<bool>(),
            proptest::option::of(0u32..100_000),
            0u32..200,
            proptest::option::of("[a-z_]{0,6}")
        )
            .prop_map(|(program, unless, secret, timeout_secs, retries, capture)| ActionKind::Run(Run {
                program,
                sudo: true,
                stdin: None,
                env: vec![],
                timeout_secs,
                retries,
                retry_delay_secs: 0,
                unless,
                capture,
                secret,
                read_only: false,
            })),
        (path(), proptest::collection::vec(any::<u8>(), 0..64), proptest::option::of(0u32..0o20000))
            .prop_map(|(path, content, mode)| ActionKind::PutFile(PutFile { path, content, mode, owner: None, group: None })),
        (0u32..5000).prop_map(|timeout_secs| ActionKind::Reboot(Reboot { timeout_secs })),
        (path(), "[a-z_]{0,6}").prop_map(|(path, into)| ActionKind::FetchFile(FetchFile { path, into, secret: false })),
    ];
    ("\\PC{0,10}", kind).prop_map(|(summary, kind)| Action { summary, kind, when_changed: vec![] })
}
