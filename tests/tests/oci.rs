//! Plugins from an OCI registry: a real one (Debian's `docker-registry`,
//! the CNCF distribution server) started by the test on loopback.
//! `plait plugin push` publishes a component as a Wasm artifact; a workflow
//! runs it by `oci://` reference with its digest pinned in `plait.lock`;
//! the pinned digest is what later runs get, from the cache when offline;
//! a tampered blob is refused.

use plait_tests::{plait_bin, test_plugin_path};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

struct Registry {
    child: Child,
    addr: String,
    data: PathBuf,
}

impl Registry {
    fn start(dir: &Path) -> Option<Registry> {
        let bin = Path::new("/usr/bin/docker-registry");
        if !bin.exists() {
            // scripts/test installs it (scripts/setup docker-registry).
            assert!(std::env::var_os("CI").is_none(), "docker-registry is missing on CI");
            eprintln!("SKIPPED: /usr/bin/docker-registry is missing (apt-get install docker-registry)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let data = dir.join("registry");
        std::fs::create_dir_all(&data).unwrap();
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
                data.display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Registry { child, addr, data })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plait(dir: &Path, cache: &Path, insecure: &str, args: &[&str]) -> Output {
    Command::new(plait_bin())
        .args(args)
        .current_dir(dir)
        .env("PLAIT_CACHE_DIR", cache)
        .env("PLAIT_INSECURE_REGISTRIES", insecure)
        .env("NO_COLOR", "1")
        .env_remove("PLAIT_PLUGIN_PATH")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn words(o: &Output) -> String {
    text(o).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_plugin_pushed_to_a_registry_runs_by_reference_pinned_in_plait_lock() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = Registry::start(dir.path()) else { return };
    let work = dir.path().join("site");
    std::fs::create_dir_all(&work).unwrap();
    let cache = dir.path().join("cache");
    let addr = registry.addr.clone();
    let reference = format!("oci://{addr}/plait/kit:1");
    let kit = test_plugin_path("kit");
    let kit_sha = plait::plugin::sha256_hex(&std::fs::read(&kit).unwrap());

    // Push: the digest of the manifest is printed.
    let o = plait(&work, &cache, &addr, &["plugin", "push", kit.to_str().unwrap(), &reference]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let pushed = text(&o).split_whitespace().find(|w| w.starts_with("sha256:")).expect("a digest").to_string();

    std::fs::write(
        work.join("site.toml"),
        format!(
            "[workflow]\nname = \"site\"\n\n[inventory.hosts.web1]\naddress = \"192.0.2.10\"\n\n[[steps]]\nplugin = \"{reference}\"\nparams = {{ mode = \"ok\" }}\n"
        ),
    )
    .unwrap();
    // First resolve: pulled, pinned in plait.lock beside the workflow.
    let o = plait(&work, &cache, &addr, &["facts", "site.toml", "--template", "facts.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lock = std::fs::read_to_string(work.join("plait.lock")).unwrap();
    assert!(lock.contains(&format!("[plugins.\"{reference}\"]")), "{lock}");
    assert!(lock.contains(&format!("digest = \"{pushed}\"")), "{lock}");
    assert!(lock.contains(&format!("sha256 = \"{kit_sha}\"")), "{lock}");
    let plan = |cache: &Path| plait(&work, cache, &addr, &["plan", "site.toml", "--facts", "facts.toml"]);
    let o = plan(&cache);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("[kit 0.1.0]: 1 action"), "{}", text(&o));

    // The tag moves to another plugin: the lock keeps the pinned digest.
    let hostile = test_plugin_path("hostile");
    let o = plait(&work, &cache, &addr, &["plugin", "push", hostile.to_str().unwrap(), &reference]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let fresh = dir.path().join("cache2");
    let o = plan(&fresh);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("[kit 0.1.0]"), "the pinned kit, not the moved tag: {}", text(&o));

    // Offline: the registry is gone, the cache holds the pinned component.
    let blobs = registry.data.clone();
    drop(registry);
    let o = plan(&cache);
    assert_eq!(o.status.code(), Some(0), "offline from the cache: {}", text(&o));

    // A tampered blob in the registry is refused (a cache without it must pull).
    let Some(registry) = Registry::start(dir.path()) else { return };
    assert_eq!(registry.data, blobs);
    let layer = blobs.join(format!("docker/registry/v2/blobs/sha256/{}/{kit_sha}/data", &kit_sha[..2]));
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    // The registry may have a new port.
    let moved = std::fs::read_to_string(work.join("site.toml")).unwrap().replace(&addr, &registry.addr);
    std::fs::write(work.join("site.toml"), moved).unwrap();
    let lock = std::fs::read_to_string(work.join("plait.lock")).unwrap().replace(&addr, &registry.addr);
    std::fs::write(work.join("plait.lock"), lock).unwrap();
    let o = plait(&work, &dir.path().join("cache3"), &registry.addr, &["plan", "site.toml", "--facts", "facts.toml"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(words(&o).contains("digest"), "{}", text(&o));
}

/// Issue 24, item 9: on 9b41850 a step pinned to `...@sha256:A` ran the
/// plugin plait.lock named, a component could call itself anything, the
/// first resolve wrote the lock even in CI, and the lock's sha256 went into
/// a path unchecked.
#[test]
fn the_workflows_digest_the_components_name_locked_and_the_locks_fields_hold() {
    let dir = tempfile::tempdir().unwrap();
    let Some(registry) = Registry::start(dir.path()) else { return };
    let work = dir.path().join("site");
    std::fs::create_dir_all(&work).unwrap();
    let cache = dir.path().join("cache");
    let addr = registry.addr.clone();
    let push = |wasm: &Path, reference: &str| {
        let o = plait(&work, &cache, &addr, &["plugin", "push", wasm.to_str().unwrap(), reference]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        text(&o).split_whitespace().find(|w| w.starts_with("sha256:")).expect("a digest").to_string()
    };
    // Plain HTTP without PLAIT_INSECURE_REGISTRIES: push says what to set, as plan does.
    let o = plait(&work, &cache, "", &["plugin", "push", test_plugin_path("kit").to_str().unwrap(), &format!("oci://{addr}/plait/kit:1")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(words(&o).contains("must be listed in PLAIT_INSECURE_REGISTRIES"), "{}", text(&o));
    let kit_digest = push(&test_plugin_path("kit"), &format!("oci://{addr}/plait/kit:1"));
    let hostile_digest = push(&test_plugin_path("hostile"), &format!("oci://{addr}/plait/hostile:1"));
    // The hostile component published under another plugin's name.
    push(&test_plugin_path("hostile"), &format!("oci://{addr}/plait/os-prep:1"));
    let workflow = |reference: &str| {
        std::fs::write(
            work.join("site.toml"),
            format!("[workflow]\nname = \"site\"\n\n[inventory.hosts.web1]\naddress = \"192.0.2.10\"\n\n[[steps]]\nplugin = \"{reference}\"\nparams = {{ mode = \"ok\" }}\n"),
        )
        .unwrap();
    };
    let check = |extra: &[&str]| plait(&work, &cache, &addr, &[&["check", "site.toml"], extra].concat());

    // The name: os-prep's reference serves a plugin that says it is hostile.
    workflow(&format!("oci://{addr}/plait/os-prep:1"));
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(3), "the component is not what it claims: {}", text(&o));
    assert!(words(&o).contains("hostile") && words(&o).contains("os-prep"), "{}", text(&o));
    std::fs::remove_file(work.join("plait.lock")).ok();

    // --locked: an unpinned reference is an error and nothing is written.
    workflow(&format!("oci://{addr}/plait/kit:1"));
    let o = check(&["--locked"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(words(&o).contains("--locked forbids adding it"), "{}", text(&o));
    assert!(!work.join("plait.lock").exists(), "--locked wrote the lock");

    // The workflow's digest wins over a lock that names another component.
    let pinned = format!("oci://{addr}/plait/kit@{kit_digest}");
    workflow(&pinned);
    let forged_sha = plait::plugin::sha256_hex(&std::fs::read(test_plugin_path("hostile")).unwrap());
    std::fs::write(work.join("plait.lock"), format!("[plugins.\"{pinned}\"]\ndigest = \"{hostile_digest}\"\nsha256 = \"{forged_sha}\"\n"))
        .unwrap();
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(words(&o).contains(&format!("the workflow pins {kit_digest}")), "{}", text(&o));
    // Without a lock, the digest in the reference is what is pulled.
    std::fs::remove_file(work.join("plait.lock")).unwrap();
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(std::fs::read_to_string(work.join("plait.lock")).unwrap().contains(&kit_digest));

    // A lock field that is not what plait writes is refused before use.
    std::fs::write(work.join("plait.lock"), format!("[plugins.\"{pinned}\"]\ndigest = \"{kit_digest}\"\nsha256 = \"../../../../tmp/x\"\n"))
        .unwrap();
    let o = check(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(words(&o).contains("is not 64 lowercase hex digits"), "{}", text(&o));
}
