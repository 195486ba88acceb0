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

/// The SDK as crates.io would serve it: `cargo package`, unpacked into `dir`.
fn packaged_sdk(dir: &std::path::Path) -> std::path::PathBuf {
    cargo(&repo_root().join("plugins"), &["package", "--quiet", "-p", "plait-sdk", "--allow-dirty"]);
    let krate = repo_root().join("target/scaffold-build/package/plait-sdk-0.3.0.crate");
    let o = Command::new("tar").arg("xzf").arg(&krate).arg("-C").arg(dir).output().expect("tar");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join("plait-sdk-0.3.0")
}

#[test]
fn a_scaffolded_plugin_builds_out_of_tree_and_runs_without_rebuilding_plait() {
    let binary_before = sha256_file(&plait_bin());
    let work = tempfile::tempdir().unwrap();
    let sdk = packaged_sdk(work.path());
    let o = plait(&["new-plugin", "motd-check", "--dir", work.path().to_str().unwrap(), "--sdk-path", sdk.to_str().unwrap()], work.path());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let krate = work.path().join("motd-check");
    for f in ["Cargo.toml", "src/lib.rs", "README.md", "golden/facts.toml", "golden/workflow.toml", "golden/expected-plan.txt"] {
        assert!(krate.join(f).is_file(), "{f} missing");
    }
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("plait-sdk = \"0.3\""), "{manifest}");
    assert!(!manifest.contains(repo_root().to_str().unwrap()), "the checkout leaks into the crate:\n{manifest}");

    cargo(&krate, &["build", "--quiet", "--release", "--target", "wasm32-wasip2"]);
    cargo(&krate, &["test", "--quiet"]);
    let built = repo_root().join("target/scaffold-build/wasm32-wasip2/release");
    let wasm = built.join("motd_check.wasm");
    let sha = sha256_file(&wasm);

    // The guide's loop, from the crate's folder: a facts template for the
    // golden workflow, then the offline plan, equal to the golden plan of
    // an untouched scaffold.
    let in_crate = |args: &[&str]| {
        Command::new(plait_bin())
            .args(args)
            .current_dir(&krate)
            .env("PLAIT_PLUGIN_PATH", &built)
            .env("PLAIT_CACHE_DIR", work.path().join("cache"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = in_crate(&["facts", "golden/workflow.toml", "--template", "golden/facts.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = in_crate(&["plan", "golden/workflow.toml", "--facts", "golden/facts.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = std::fs::read_to_string(krate.join("golden/expected-plan.txt")).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), expected);

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
    assert!(String::from_utf8_lossy(&o.stdout).contains("1. write /etc/motd"));

    // A wrong pin is refused as invalid input.
    let tampered = std::fs::read_to_string(&wf).unwrap().replace(&sha, &"f".repeat(64));
    std::fs::write(&wf, tampered).unwrap();
    let o = plait(&["plan", wf.to_str().unwrap(), "--facts", facts.to_str().unwrap()], work.path());
    assert_eq!(o.status.code(), Some(2));
    // miette wraps long lines: compare with the whitespace folded.
    let err = String::from_utf8_lossy(&o.stderr).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(err.contains("the workflow pins") && err.contains("ffffffff"), "{err}");

    assert_eq!(sha256_file(&plait_bin()), binary_before, "the plait binary must be untouched");
}

#[test]
fn the_sdk_carries_the_contract_the_host_loads() {
    // plugins/sdk/wit is what the published crate builds from; the host
    // loads plugins against wit/since_v0.3.0 (the newest it implements).
    // They must be one contract.
    let sdk = std::fs::read_to_string(repo_root().join("plugins/sdk/wit/plugin.wit")).unwrap();
    let host = std::fs::read_to_string(repo_root().join("wit/since_v0.3.0/plugin.wit")).unwrap();
    assert!(sdk == host, "plugins/sdk/wit/plugin.wit differs from wit/since_v0.3.0/plugin.wit: copy it over");
}

/// Issue 25: a scaffold builds on a machine that has only the plait binary
/// and a Rust toolchain. Without --sdk-path the crate points at the SDK the
/// binary carries, written under the user's data folder; nothing refers to
/// a checkout, and the plan of the untouched scaffold is its golden plan.
#[test]
fn a_scaffold_builds_from_the_sdk_the_binary_carries() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let new = |name: &str| {
        Command::new(plait_bin())
            .args(["new-plugin", name, "--dir", work.path().to_str().unwrap()])
            .env("XDG_DATA_HOME", &data)
            .output()
            .unwrap()
    };
    let o = new("carried-sdk");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let krate = work.path().join("carried-sdk");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let sdk = data.join("plait/sdk/plait-sdk-0.3.0");
    assert!(manifest.contains(&format!("plait-sdk = {{ path = \"{}\" }}", sdk.display())), "{manifest}");
    assert!(!manifest.contains(repo_root().to_str().unwrap()), "the checkout leaks into the crate:\n{manifest}");
    let carried = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap();
    assert!(!carried.contains("workspace = true"), "the carried manifest stands alone:\n{carried}");
    for f in ["src/lib.rs", "src/describe.rs", "wit/plugin.wit", "README.md"] {
        assert_eq!(
            std::fs::read(sdk.join(f)).unwrap(),
            std::fs::read(repo_root().join("plugins/sdk").join(f)).unwrap(),
            "{f} is the SDK's own"
        );
    }
    // A second scaffold reuses the written SDK.
    let before = std::fs::metadata(sdk.join("src/lib.rs")).unwrap().modified().unwrap();
    assert_eq!(new("second").status.code(), Some(0));
    assert_eq!(std::fs::metadata(sdk.join("src/lib.rs")).unwrap().modified().unwrap(), before);

    cargo(&krate, &["build", "--quiet", "--release", "--target", "wasm32-wasip2"]);
    let built = repo_root().join("target/scaffold-build/wasm32-wasip2/release");
    let o = Command::new(plait_bin())
        .args(["plan", "golden/workflow.toml", "--facts", "golden/facts.toml"])
        .current_dir(&krate)
        .env("PLAIT_PLUGIN_PATH", &built)
        .env("PLAIT_CACHE_DIR", work.path().join("cache"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), std::fs::read_to_string(krate.join("golden/expected-plan.txt")).unwrap());
}
