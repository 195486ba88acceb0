//! Build the first-party plugins (plugins/, except plugins/testing) for
//! wasm32-wasip2 and embed them, with their assets, in the binary, so a
//! copied or `cargo install`ed plait runs the seed workflows from anywhere.
//!
//! The plugins' own workspace is built by a nested cargo into
//! `plugins/target` (the same place `scripts/build-plugins` uses, so one
//! build serves both). Where that cannot work (no `wasm32-wasip2` target),
//! `PLAIT_BUILTIN_PLUGINS=DIR` names a folder of already built `NAME.wasm`
//! (and `NAME.assets/`), such as `target/plugins`; failing both, the
//! binary is built without built-in plugins and says so with a warning.
//! `PLAIT_BUILTIN_PLUGINS=none` builds without them on purpose.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Plugin {
    /// Package name (the plugin's name).
    name: String,
    /// Its folder in plugins/.
    dir: PathBuf,
}

/// The first-party plugins: cdylib members of plugins/Cargo.toml outside testing/.
fn first_party(plugins: &Path) -> Vec<Plugin> {
    let ws: toml::Table =
        std::fs::read_to_string(plugins.join("Cargo.toml")).expect("plugins/Cargo.toml").parse().expect("plugins/Cargo.toml");
    let members = ws["workspace"]["members"].as_array().expect("workspace members");
    let mut out = Vec::new();
    for m in members.iter().filter_map(|m| m.as_str()).filter(|m| !m.starts_with("testing/")) {
        let dir = plugins.join(m);
        let manifest: toml::Table =
            std::fs::read_to_string(dir.join("Cargo.toml")).expect("member Cargo.toml").parse().expect("member Cargo.toml");
        let cdylib = manifest
            .get("lib")
            .and_then(|l| l.get("crate-type"))
            .and_then(|t| t.as_array())
            .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("cdylib")));
        if cdylib {
            let name = manifest["package"]["name"].as_str().expect("package name").to_string();
            out.push(Plugin { name, dir });
        }
    }
    out
}

/// Build the plugins' workspace; the folder of its wasm output, or why not.
fn build(plugins: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = plugins.join("target");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir);
    // What cargo sets for this build script (flags, profile overrides,
    // jobserver, package metadata) is for the host crate, not the plugins.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_TARGET_DIR") || k == "RUSTFLAGS" {
            cmd.env_remove(&k);
        }
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().filter(|l| !l.trim().is_empty()).take(6).collect::<Vec<_>>().join(" | "));
    }
    Ok(target_dir.join("wasm32-wasip2/release"))
}

fn files_under(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, base, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.push((rel.to_string_lossy().into_owned(), p));
        }
    }
}

/// The SDK's manifest with the workspace's values written in, so the crate
/// builds on its own wherever `plait new-plugin` puts it.
fn standalone_manifest(plugins_dir: &Path) -> Option<String> {
    let read = |p: PathBuf| std::fs::read_to_string(p).ok()?.parse::<toml::Table>().ok();
    let mut sdk = read(plugins_dir.join("sdk/Cargo.toml"))?;
    let ws = read(plugins_dir.join("Cargo.toml"))?;
    let ws = ws.get("workspace")?.as_table()?;
    let inherited = |v: &toml::Value| v.as_table().and_then(|t| t.get("workspace")).and_then(toml::Value::as_bool) == Some(true);
    if let (Some(pkg), Some(from)) =
        (sdk.get_mut("package").and_then(toml::Value::as_table_mut), ws.get("package").and_then(toml::Value::as_table))
    {
        for (k, v) in pkg.iter_mut() {
            if inherited(v) {
                *v = from.get(k)?.clone();
            }
        }
    }
    if let (Some(deps), Some(from)) =
        (sdk.get_mut("dependencies").and_then(toml::Value::as_table_mut), ws.get("dependencies").and_then(toml::Value::as_table))
    {
        for (k, v) in deps.iter_mut() {
            if inherited(v) {
                *v = from.get(k)?.clone();
            }
        }
    }
    Some(toml::to_string(&sdk).ok()?)
}

/// `sdk.rs`: the SDK's source, for `plait new-plugin` to write out.
fn embed_sdk(plugins_dir: &Path, out: &Path) {
    let sdk = plugins_dir.join("sdk");
    let mut code = String::from(
        "/// The plugin SDK's files (generated by build.rs): (path in the crate, bytes).\npub static SDK_FILES: &[(&str, &[u8])] = &[\n",
    );
    if let Some(manifest) = standalone_manifest(plugins_dir) {
        println!("cargo:rerun-if-changed={}", sdk.display());
        let _ = writeln!(code, "    (\"Cargo.toml\", {:?}.as_bytes()),", manifest);
        let mut files = Vec::new();
        for dir in ["src", "wit"] {
            files_under(&sdk.join(dir), &sdk, &mut files);
        }
        files.push(("README.md".into(), sdk.join("README.md")));
        for (rel, path) in files {
            let _ = writeln!(code, "    ({rel:?}, include_bytes!({:?})),", path.display().to_string());
        }
    }
    code.push_str("];\n");
    std::fs::write(out, code).expect("writing sdk.rs");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("host/ has a parent").to_path_buf();
    let plugins_dir = root.join("plugins");
    embed_sdk(&plugins_dir, &PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("sdk.rs"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PLAIT_BUILTIN_PLUGINS");

    let mut code = String::from("/// The plugins built into this binary (generated by build.rs).\npub static BUILTIN: &[Builtin] = &[\n");
    let chosen = std::env::var("PLAIT_BUILTIN_PLUGINS").ok();
    let plugins = if plugins_dir.join("Cargo.toml").is_file() { first_party(&plugins_dir) } else { Vec::new() };
    if chosen.as_deref() != Some("none") && !plugins.is_empty() {
        // The workspace and the libraries plugins share.
        for p in ["Cargo.toml", "Cargo.lock", "sdk", "cni-common", "docker-ce-repo", "kube-common"] {
            println!("cargo:rerun-if-changed={}", plugins_dir.join(p).display());
        }
        println!("cargo:rerun-if-changed={}", root.join("wit").display());
        for p in &plugins {
            for f in ["src", "Cargo.toml", "assets"] {
                println!("cargo:rerun-if-changed={}", p.dir.join(f).display());
            }
        }
        // (folder of NAME.wasm files, whether names use `_` as cargo writes them)
        let source: Option<(PathBuf, bool)> = match &chosen {
            Some(dir) if !dir.is_empty() => Some((PathBuf::from(dir), false)),
            _ => match build(&plugins_dir) {
                Ok(dir) => Some((dir, true)),
                Err(why) => {
                    let fallback = root.join("target/plugins");
                    if plugins.iter().all(|p| fallback.join(format!("{}.wasm", p.name)).is_file()) {
                        println!(
                            "cargo:warning=building the plugins for wasm32-wasip2 failed ({why}); embedding the ones in {}",
                            fallback.display()
                        );
                        Some((fallback, false))
                    } else {
                        println!(
                            "cargo:warning=plait is built without built-in plugins: building them for wasm32-wasip2 failed ({why}). Install the target (rustup target add wasm32-wasip2) or set PLAIT_BUILTIN_PLUGINS to a folder of built plugins"
                        );
                        None
                    }
                }
            },
        };
        if let Some((dir, cargo_names)) = source {
            for p in &plugins {
                let file = if cargo_names { p.name.replace('-', "_") } else { p.name.clone() };
                let wasm = dir.join(format!("{file}.wasm"));
                assert!(wasm.is_file(), "built-in plugin {} not found at {}", p.name, wasm.display());
                println!("cargo:rerun-if-changed={}", wasm.display());
                let assets_dir = if cargo_names { p.dir.join("assets") } else { dir.join(format!("{}.assets", p.name)) };
                let mut assets = Vec::new();
                files_under(&assets_dir, &assets_dir, &mut assets);
                let _ =
                    write!(code, "    Builtin {{ name: {:?}, wasm: include_bytes!({:?}), assets: &[", p.name, wasm.display().to_string());
                for (rel, path) in assets {
                    let _ = write!(code, "({rel:?}, include_bytes!({:?})), ", path.display().to_string());
                }
                code.push_str("] },\n");
            }
        }
    }
    code.push_str("];\n");
    std::fs::write(&out, code).expect("writing builtin.rs");
}
