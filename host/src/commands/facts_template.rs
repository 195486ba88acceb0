//! `plait facts WORKFLOW --template FILE`: for each host, the core facts of
//! a fresh CentOS 7.9 minimal install and a placeholder result for every
//! probe its steps run, each under the command it stands for, so a plugin
//! can be planned offline before any host exists. The author edits the
//! results to the cases the plugin must handle.

use crate::facts::{HostRecord, centos7};
use crate::workflow::BoundWorkflow;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The template's text for the hosts at `only` (all when `None`).
pub fn facts_template(bound: &BoundWorkflow, only: Option<&[usize]>) -> String {
    let inv = &bound.workflow.inventory;
    let mut out = format!(
        "# Facts template for {} (plait facts --template).\n# Core facts of a fresh CentOS 7.9 minimal install for each host, and a\n# placeholder result for every probe its steps run (the command is above it).\n# Edit the results to the case you want to plan, or record real ones with\n# `plait facts WORKFLOW --record FILE`; then `plait plan WORKFLOW --facts FILE`.\n",
        bound.workflow.path.display()
    );
    for (hi, h) in inv.hosts.iter().enumerate().filter(|(hi, _)| only.is_none_or(|o| o.contains(hi))) {
        let mut one = BTreeMap::new();
        one.insert(h.name.clone(), HostRecord { facts: centos7(&h.name, &h.address), probes: BTreeMap::new() });
        out.push('\n');
        out.push_str(&toml::to_string(&one).unwrap_or_default());
        let mut seen = Vec::new();
        for s in bound.steps.iter().filter(|s| s.step.hosts.contains(&hi)) {
            let plugin = &s.plugin.info.name;
            if s.plugin.info.probes.is_empty() || seen.contains(plugin) {
                continue;
            }
            seen.push(plugin.clone());
            let _ = writeln!(out, "\n[{}.probes.{}]", key(&h.name), key(plugin));
            for p in &s.probes {
                for line in p.display().lines() {
                    let _ = writeln!(out, "# {}{line}", if p.sudo { "(root) " } else { "" });
                }
                let _ = writeln!(out, "{} = {{ exit_code = 0, stdout = \"\" }}", key(&p.name));
            }
        }
    }
    out
}

/// A TOML key: bare when it can be, else quoted.
fn key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}
