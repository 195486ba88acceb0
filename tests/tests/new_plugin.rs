//! Third-party authoring: `plait new-plugin` scaffolds a crate outside this
//! repository; it builds to a component with one cargo command, its own unit
//! tests pass, and the already-built `plait` runs it from a workflow that
//! pins it by path and sha256. The plait binary is not rebuilt or changed.

use plait_tests::{plait, plait_bin, repo_root};
use std::process::Command;

fn sha256_file(p: &std::path::Path) -> String {
    plait::plugin::sha256_hex(&std::fs::read(p).unwrap())
}

fn cargo(dir: &std::path::Path, args: &[&str]) {
    let o = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        // Shared, so the SDK's dependencies compile once across runs.
        .env("CARGO_TARGET_DIR", repo_root().join("target/scaffold-build"))
        .env_remove("CARGO_BUILD_TARGET")
        .output()
        .expect("running cargo");
    assert!(o.status.success(), "cargo {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_scaffolded_plugin_builds_out_of_tree_and_runs_without_rebuilding_plait() {
    let binary_before = sha256_file(&plait_bin());
    let work = tempfile::tempdir().unwrap();
    let o = plait(&["new-plugin", "motd-check", "--dir", work.path().to_str().unwrap()], work.path());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let krate = work.path().join("motd-check");
    for f in ["Cargo.toml", "src/lib.rs", "README.md", "golden/facts.toml", "golden/workflow.toml", "golden/expected-plan.txt"] {
        assert!(krate.join(f).is_file(), "{f} missing");
    }

    cargo(&krate, &["build", "--quiet", "--release", "--target", "wasm32-wasip2"]);
    cargo(&krate, &["test", "--quiet"]);
    let wasm = repo_root().join("target/scaffold-build/wasm32-wasip2/release/motd_check.wasm");
    let sha = sha256_file(&wasm);

    // Pinned by path and sha256 from a workflow somewhere else entirely.
    let wf = work.path().join("site.toml");
    std::fs::write(
        &wf,
        format!(
            "[workflow]\nname = \"site\"\n\n[inventory.hosts.web1]\naddress = \"192.168.100.10\"\n\n[[steps]]\nplugin = {{ path = {:?}, sha256 = \"{sha}\" }}\nparams = {{ message = \"Hello from motd-check.\" }}\n",
            wasm.display().to_string()
        ),
    )
    .unwrap();
    let facts = krate.join("golden/facts.toml");
    let o = plait(&["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()], work.path());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let expected = std::fs::read_to_string(krate.join("golden/expected-plan.txt")).unwrap();
    assert!(out.ends_with(&expected), "plan:\n{out}\nexpected to end with:\n{expected}");

    // A wrong pin is refused.
    let tampered = std::fs::read_to_string(&wf).unwrap().replace(&sha, &"f".repeat(64));
    std::fs::write(&wf, tampered).unwrap();
    let o = plait(&["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()], work.path());
    assert_eq!(o.status.code(), Some(3));
    // miette wraps long lines: compare with the whitespace folded.
    let err = String::from_utf8_lossy(&o.stderr).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(err.contains("the workflow pins") && err.contains("ffffffff"), "{err}");

    assert_eq!(sha256_file(&plait_bin()), binary_before, "the plait binary must be untouched");
}
