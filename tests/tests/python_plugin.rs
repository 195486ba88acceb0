//! A plugin written in Python (plugins/examples/python-motd), built with
//! componentize-py against the same WIT, runs in the same plait binary and
//! plans like the Rust example. scripts/setup installs componentize-py.

use plait_tests::{plait, repo_root};
use std::process::Command;

#[test]
fn a_python_plugin_runs_in_the_same_plait() {
    let cpy = repo_root().join("target/pyvenv/bin/componentize-py");
    assert!(cpy.is_file(), "{} is missing: run scripts/setup", cpy.display());
    let example = repo_root().join("plugins/examples/python-motd");
    let out = tempfile::tempdir().unwrap();
    let wasm = out.path().join("python-motd.wasm");
    let o = Command::new(&cpy)
        .args(["-d", "../../../wit/since_v0.1.0", "-w", "plugin", "componentize", "app", "-o"])
        .arg(&wasm)
        .current_dir(&example)
        .output()
        .expect("componentize-py");
    assert!(o.status.success(), "componentize-py failed:\n{}", String::from_utf8_lossy(&o.stderr));

    let cache = tempfile::tempdir().unwrap();
    let wf = example.join("workflow.toml");
    let facts = example.join("facts.toml");
    let run = || {
        let o = Command::new(plait_tests::plait_bin())
            .args(["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()])
            .env("PLAIT_PLUGIN_PATH", out.path())
            .env("PLAIT_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let t = std::time::Instant::now();
    let first = run();
    let cold = t.elapsed();
    let t = std::time::Instant::now();
    let second = run();
    eprintln!("python plugin: first plan (compiles) {cold:?}, second (cached) {:?}", t.elapsed());
    assert_eq!(first, second);
    assert!(
        first.contains(
            "step 1 python-motd [python-motd 0.1.0]: 1 action\n    1. write /etc/motd\n       write /etc/motd (19 bytes, mode 0644)"
        ),
        "{first}"
    );

    // The same checks as any plugin: its description is validated and shown.
    let o = plait(&["plugin", "inspect", wasm.to_str().unwrap()], cache.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("writes: /etc/motd"));
}
