//! Grants compared with needs, for `plait check`: a grant that takes away
//! what the plugin declares will refuse some plan later (when a restart is
//! due, say), and a grant of what the plugin never declares changes
//! nothing. Neither is an error by itself; `plait check --strict` makes
//! them one.

use super::bind::{BoundStep, BoundWorkflow};
use crate::plugin::path_within;

/// One finding about a step's grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantWarning {
    /// Step number.
    pub step: usize,
    /// `FILE:LINE:COL` of the step's grants.
    pub at: String,
    /// What is wrong and what follows from it.
    pub message: String,
}

impl std::fmt::Display for GrantWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: step {}: {}", self.at, self.step, self.message)
    }
}

/// Every step's findings, in workflow order.
pub fn grant_warnings(bound: &BoundWorkflow) -> Vec<GrantWarning> {
    bound.steps.iter().flat_map(step_warnings).collect()
}

fn step_warnings(s: &BoundStep) -> Vec<GrantWarning> {
    let Some(at) = s.grants_at.clone() else { return Vec::new() };
    let (g, d, label) = (&s.step.grants, &s.plugin.info.capabilities, s.plugin.label());
    let mut out = Vec::new();
    let mut warn = |message: String| out.push(GrantWarning { step: s.step.number, at: at.clone(), message });
    let lists: [(&str, &Option<Vec<String>>, &Vec<String>, fn(&str, &str) -> bool); 3] = [
        ("programs", &g.programs, &d.programs, |a, b| a == b),
        ("writes", &g.writes, &d.writes, path_within),
        ("reads", &g.reads, &d.reads, path_within),
    ];
    for (name, granted, declared, within) in lists {
        let Some(granted) = granted else { continue };
        for need in declared.iter().filter(|n| !granted.iter().any(|x| within(n, x) || within(x, n))) {
            warn(format!("grants.{name} leaves out `{need}`, which {label} declares: a plan that needs it will be refused"));
        }
        for extra in granted.iter().filter(|x| !declared.iter().any(|n| within(x, n))) {
            warn(format!("grants.{name} lists `{extra}`, which {label} never declares: it changes nothing"));
        }
    }
    let flags = [("shell", g.shell, d.shell), ("reboot", g.reboot, d.reboot), ("sudo", g.sudo, d.sudo)];
    for (name, granted, declared) in flags {
        if granted == Some(false) && declared {
            warn(format!("`{name} = false` takes away what {label} declares: a plan that needs it will be refused"));
        }
    }
    out
}
