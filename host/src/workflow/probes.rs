//! What a workflow's probes will run, for `plait plan` to show: every
//! probe of every step, its command with the step's parameters in it, and
//! what it needs (its program or shell code, root or not).

use super::bind::BoundWorkflow;
use crate::plugin::describe_probe;
use serde::Serialize;
use std::fmt::Write;

/// One probe as it will run.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ProbeListing {
    /// Probe name.
    pub name: String,
    /// The command, parameters substituted.
    pub command: String,
    /// Run as root.
    pub sudo: bool,
    /// `runs PROGRAM` or `shell code`, and `as root`.
    pub needs: String,
}

/// One step's probes.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct StepProbes {
    /// Step number.
    pub step: usize,
    /// Step name.
    pub name: String,
    /// `name version` of its plugin.
    pub plugin: String,
    /// Its probes.
    pub probes: Vec<ProbeListing>,
}

impl BoundWorkflow {
    /// Every step's probes (steps without probes left out).
    pub fn probe_listing(&self) -> Vec<StepProbes> {
        self.steps
            .iter()
            .filter(|s| !s.plugin.info.probes.is_empty())
            .map(|s| StepProbes {
                step: s.step.number,
                name: s.step.name.clone(),
                plugin: s.plugin.label(),
                // Binding rendered every probe once, in the plugin's order.
                probes: s
                    .plugin
                    .info
                    .probes
                    .iter()
                    .zip(&s.probes)
                    .map(|(p, r)| ProbeListing { name: p.name.clone(), command: r.display(), sudo: p.sudo, needs: describe_probe(p) })
                    .collect(),
            })
            .collect()
    }
}

/// The probe block of a human plan: one line per step, each probe with
/// what it needs (`plait plugin inspect` and `--output json` show commands).
pub fn render_probes(steps: &[StepProbes]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let mut out = String::from("Probes run on each target host before its step plans (in dry runs too):\n");
    for s in steps {
        let list: Vec<String> = s.probes.iter().map(|p| format!("{} ({})", p.name, p.needs)).collect();
        let _ = writeln!(out, "  step {} {} [{}]: {}", s.step, s.name, s.plugin, list.join(", "));
    }
    out
}
