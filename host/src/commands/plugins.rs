//! `plait plugins` and `plait plugin inspect NAME`.

use super::CommandError;
use crate::plugin::{LoadedPlugin, PluginInfo, PluginSource, Registry, Runtime};
use std::fmt::Write;
use std::path::Path;

/// One line per plugin found in the search path.
pub fn list_plugins(registry: &Registry, runtime: &Runtime) -> Result<String, CommandError> {
    let mut out = String::new();
    let found = registry.list();
    if found.is_empty() {
        let dirs: Vec<String> = registry.dirs().iter().map(|d| d.display().to_string()).collect();
        return Err(CommandError::Other(format!("no plugins found in {}", dirs.join(", "))));
    }
    for (name, path) in found {
        match LoadedPlugin::load(runtime, &path, None) {
            Ok(p) => {
                let params: Vec<String> = p.info.params.iter().map(|s| s.name.clone()).collect();
                let _ = writeln!(out, "{:<16} {:<8} {}", p.info.name, p.info.version, p.info.summary);
                let _ = writeln!(out, "{:<16} params: {}", "", if params.is_empty() { "none".into() } else { params.join(", ") });
                let from = if path.starts_with(crate::plugin::builtin_root()) { " (built into plait)" } else { "" };
                let _ = writeln!(out, "{:<16} file: {}{from}", "", path.display());
            }
            Err(e) => {
                let _ = writeln!(out, "{name:<16} ERROR    {e}");
            }
        }
    }
    Ok(out)
}

/// Everything a plugin declares.
pub fn inspect_plugin(registry: &Registry, runtime: &Runtime, name_or_path: &str) -> Result<String, CommandError> {
    let path = if name_or_path.ends_with(".wasm") {
        Path::new(name_or_path).to_path_buf()
    } else {
        registry.resolve(&PluginSource::Name(name_or_path.to_string()), Path::new("."))?.path
    };
    let p = LoadedPlugin::load(runtime, &path, None)?;
    Ok(render_info(&p.info, &path, &p.sha256))
}

fn render_info(i: &PluginInfo, path: &Path, sha256: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}\n  {}\n  file: {}\n  sha256: {sha256}\n  contract: plait:plugin@{}",
        i.name,
        i.version,
        i.summary,
        path.display(),
        i.contract
    );
    let _ = writeln!(out, "\nparameters:");
    if i.params.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for p in &i.params {
        let default = match (&p.default, p.secret) {
            (_, true) => "(secret)".to_string(),
            (Some(d), _) => format!("default {d}"),
            (None, _) => "required".to_string(),
        };
        let _ = writeln!(out, "  {} ({}, {default})\n      {}", p.name, p.ty.name(), p.doc);
    }
    let groups: Vec<&str> = i.facts.iter().map(|g| g.name()).collect();
    let _ = writeln!(
        out,
        "\nfacts read (besides hostname, OS, CPUs, boot id): {}",
        if groups.is_empty() { "(none)".to_string() } else { groups.join(", ") }
    );
    let _ = writeln!(out, "reads the inventory: {}", if i.inventory { "yes" } else { "no (passed none)" });
    let _ = writeln!(out, "\nprobes (run before each plan, dry runs included; each needs its program or `shell`, and `sudo` as root):");
    if i.probes.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for p in &i.probes {
        let _ = writeln!(out, "  {} ({}): {}", p.name, crate::plugin::describe_probe(p), p.source.display());
    }
    let c = &i.capabilities;
    let list = |v: &Vec<String>| {
        if v.is_empty() { "(none)".to_string() } else { v.join(", ") }
    };
    let _ = writeln!(out, "\ncapabilities:");
    let _ = writeln!(out, "  programs: {}", list(&c.programs));
    let launchers: Vec<&str> = c.programs.iter().map(String::as_str).filter(|p| crate::plugin::is_launcher(p)).collect();
    let _ = writeln!(
        out,
        "  shell scripts: {}{}",
        if c.shell { "yes" } else { "no" },
        if launchers.is_empty() {
            String::new()
        } else {
            format!(" ({} run any code they are given: they count as shell)", launchers.join(", "))
        }
    );
    let _ = writeln!(out, "  writes: {}", list(&c.writes));
    let _ = writeln!(out, "  reads: {}", list(&c.reads));
    let _ = writeln!(out, "  reboot: {}", if c.reboot { "yes" } else { "no" });
    let _ = writeln!(out, "\nvariables: produces {}; consumes {}", list(&i.produces), list(&i.consumes));
    out
}
