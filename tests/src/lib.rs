//! Shared helpers for plait's test suite: where things are, a runtime for
//! calling plugins directly, golden-file comparison, and running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A first-party plugin built by `scripts/build-plugins`.
pub fn plugin_path(name: &str) -> PathBuf {
    built(repo_root().join("target/plugins").join(format!("{name}.wasm")))
}

/// A test-only plugin (plugins/testing/*).
pub fn test_plugin_path(name: &str) -> PathBuf {
    built(repo_root().join("target/test-plugins").join(format!("{name}.wasm")))
}

fn built(p: PathBuf) -> PathBuf {
    assert!(p.is_file(), "{} is missing: run scripts/build-plugins first (scripts/test does)", p.display());
    p
}

/// The `plait` binary of the same profile as this test build.
pub fn plait_bin() -> PathBuf {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let p = repo_root().join("target").join(profile).join("plait");
    assert!(p.is_file(), "{} is missing: run `cargo build --release -p plait` first (scripts/test does)", p.display());
    p
}

/// Run `plait` with arguments from the repository root, with a private
/// cache directory, returning its output.
pub fn plait(args: &[&str], cache_dir: &Path) -> Output {
    Command::new(plait_bin())
        .args(args)
        .current_dir(repo_root())
        .env("PLAIT_CACHE_DIR", cache_dir)
        .env("NO_COLOR", "1")
        .env_remove("PLAIT_PLUGIN_PATH")
        .env_remove("PLAIT_LOG")
        .output()
        .expect("running plait")
}

/// Whether golden files should be rewritten instead of compared.
pub fn updating() -> bool {
    std::env::var_os("PLAIT_UPDATE_GOLDEN").is_some()
}

/// Compare `actual` with the golden file, or rewrite it when updating.
/// Returns a description of the mismatch.
pub fn check_golden(path: &Path, actual: &str) -> Result<(), String> {
    if updating() {
        std::fs::write(path, actual).map_err(|e| format!("writing {}: {e}", path.display()))?;
        return Ok(());
    }
    let expected =
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e} (set PLAIT_UPDATE_GOLDEN=1 to create it)", path.display()))?;
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{} differs (set PLAIT_UPDATE_GOLDEN=1 to accept):\n--- expected\n{expected}\n+++ actual\n{actual}", path.display()))
    }
}

/// Render a miette diagnostic as plain text (no colour), as a terminal without colour shows it.
pub fn render_diagnostic(d: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, d)
        .expect("rendering a diagnostic");
    out
}

/// Replace the repository root in text with `<repo>`, for stable snapshots.
pub fn redact(text: &str) -> String {
    text.replace(&repo_root().display().to_string(), "<repo>")
}

/// A plan context for `host` from a recorded facts file in
/// `tests/fixtures/facts`, with the seed inventory and these parameters.
pub fn context_from_facts(file: &str, host: &str, params: serde_json::Value) -> plait::model::PlanContext {
    use plait::model::{InventoryHost, PlanContext};
    let recorded = plait::facts::FactsFile::load(&repo_root().join("tests/fixtures/facts").join(file)).expect("facts fixture");
    let rec = recorded.hosts.get(host).expect("host in fixture");
    let inventory: Vec<InventoryHost> = recorded
        .hosts
        .iter()
        .map(|(n, r)| InventoryHost {
            name: n.clone(),
            address: r.facts.primary_ipv4.clone().unwrap_or_default(),
            groups: vec![],
            vars: vec![],
        })
        .collect();
    PlanContext {
        host: inventory.iter().find(|h| h.name == host).cloned().expect("host"),
        facts: rec.facts.clone(),
        probes: rec.probes.values().flat_map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone()))).collect(),
        inventory: inventory.into(),
        params,
        vars: vec![],
        offline: false,
    }
}

pub mod fleet;
