//! Offline planning (`plait plan --facts FILE`): every step is planned for
//! every target host from recorded facts, with no connection to any host.
//!
//! Each step sees the recorded facts as they are, not the state earlier
//! steps would leave behind; variables captured at run time are shown as
//! placeholders.

use crate::facts::{FactsFile, HostRecord};
use crate::inventory::Host;
use crate::model::{Action, ActionKind, InventoryHost, PlanContext, placeholder};
use crate::plugin::PluginLog;
use crate::workflow::{BoundStep, BoundWorkflow};
use serde::Serialize;
use std::sync::Arc;

/// What one step planned on one host.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    /// Something to do.
    Changes {
        /// Actions in order.
        actions: Vec<Action>,
    },
    /// Converged: nothing changes, though the plugin may still read
    /// (fetch-file, read-only runs), and every read is listed with its
    /// command line: a read-only flag is the plugin's word, not proof.
    NothingToDo {
        /// Why.
        reason: String,
        /// The reads it would run.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        reads: Vec<Action>,
    },
    /// The plugin could not plan; nothing would run on this host from here on.
    Failed {
        /// The error, naming plugin and host.
        error: String,
    },
}

/// One (host, step) cell of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct HostStepPlan {
    /// Step number (1-based).
    pub step: usize,
    /// Step name.
    pub step_name: String,
    /// `name version` of the plugin.
    pub plugin: String,
    /// Outcome.
    #[serde(flatten)]
    pub outcome: StepOutcome,
    /// Plugin logs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<PluginLog>,
}

/// Per host, in inventory order.
#[derive(Debug, Clone, Serialize)]
pub struct HostPlan {
    /// Inventory name.
    pub host: String,
    /// Address.
    pub address: String,
    /// Steps that target this host, in order.
    pub steps: Vec<HostStepPlan>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct OfflinePlan {
    /// Workflow name.
    pub workflow: String,
    /// The probes a live plan or run would read on the hosts, per step.
    pub probes: Vec<crate::workflow::StepProbes>,
    /// Hosts.
    pub hosts: Vec<HostPlan>,
}

impl OfflinePlan {
    /// Actions over all hosts.
    pub fn action_count(&self) -> usize {
        self.cells().map(|c| if let StepOutcome::Changes { actions } = &c.outcome { actions.len() } else { 0 }).sum()
    }
    /// Reads (fetch-file, read-only runs) of steps with nothing to change.
    pub fn read_count(&self) -> usize {
        self.cells().map(|c| if let StepOutcome::NothingToDo { reads, .. } = &c.outcome { reads.len() } else { 0 }).sum()
    }
    /// Cells that failed.
    pub fn failures(&self) -> usize {
        self.cells().filter(|c| matches!(c.outcome, StepOutcome::Failed { .. })).count()
    }
    fn cells(&self) -> impl Iterator<Item = &HostStepPlan> {
        self.hosts.iter().flat_map(|h| h.steps.iter())
    }
}

/// The facts file lacks something a plugin needs.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A whole host.
    #[error("facts file {file} has no record for host `{host}` (record it with `plait facts --record`)")]
    MissingHost {
        /// File.
        file: String,
        /// Host.
        host: String,
    },
    /// One probe result.
    #[error(
        "facts file {file}: host `{host}` has no result for probe `{probe}` of plugin {plugin} (add [{host}.probes.{plugin}] {probe} = {{ exit_code = ..., stdout = \"...\" }})"
    )]
    MissingProbe {
        /// File.
        file: String,
        /// Host.
        host: String,
        /// Plugin name.
        plugin: String,
        /// Probe name.
        probe: String,
    },
}

/// The context step `s` plans from on host `h`, offline: its recorded facts
/// and probe results, placeholders for the variables it consumes.
pub fn offline_context(s: &BoundStep, h: &Host, rec: &HostRecord, inventory: &Arc<[InventoryHost]>) -> PlanContext {
    let recorded = rec.probes.get(&s.plugin.info.name);
    PlanContext {
        host: h.for_plugins(),
        facts: rec.facts.clone(),
        probes: s
            .plugin
            .info
            .probes
            .iter()
            .filter_map(|p| recorded.and_then(|m| m.get(&p.name)).map(|r| (p.name.clone(), r.clone())))
            .collect(),
        inventory: inventory.clone(),
        params: s.params.clone(),
        vars: s.plugin.info.consumes.iter().map(|v| placeholder(v)).collect(),
        offline: true,
    }
}

/// Plan every step on every target host from `facts`.
pub fn plan_offline(bound: &BoundWorkflow, facts: &FactsFile, facts_name: &str, only: Option<&[usize]>) -> Result<OfflinePlan, PlanError> {
    let inv = &bound.workflow.inventory;
    let inventory: Arc<[InventoryHost]> = inv.for_plugins().into();
    let selected = |hi: usize| only.is_none_or(|o| o.contains(&hi));
    // Check the file covers every (selected) host and probe before calling any plugin.
    for s in &bound.steps {
        for &hi in s.step.hosts.iter().filter(|&&hi| selected(hi)) {
            let host = &inv.hosts[hi].name;
            let rec = facts.hosts.get(host).ok_or_else(|| PlanError::MissingHost { file: facts_name.into(), host: host.clone() })?;
            for p in &s.plugin.info.probes {
                if !rec.probes.get(&s.plugin.info.name).is_some_and(|m| m.contains_key(&p.name)) {
                    return Err(PlanError::MissingProbe {
                        file: facts_name.into(),
                        host: host.clone(),
                        plugin: s.plugin.info.name.clone(),
                        probe: p.name.clone(),
                    });
                }
            }
        }
    }

    let mut hosts = Vec::with_capacity(inv.hosts.len());
    for (hi, h) in inv.hosts.iter().enumerate().filter(|(hi, _)| selected(*hi)) {
        let rec = facts.hosts.get(&h.name);
        let mut cells = Vec::new();
        let mut failed = false;
        for s in bound.steps.iter().filter(|s| s.step.hosts.contains(&hi)) {
            let Some(rec) = rec else { continue };
            let plugin = s.plugin.label();
            if failed {
                // A host stops at its first failure, as it would in a run.
                continue;
            }
            let ctx = offline_context(s, h, rec, &inventory);
            let (outcome, logs) = match s.plugin.plan(&ctx, &s.caps).map_err(|e| s.locate(e)) {
                Ok(out) if out.actions.is_empty() => {
                    (StepOutcome::NothingToDo { reason: out.reason.unwrap_or_default(), reads: Vec::new() }, out.logs)
                }
                // Reads (fetch-file, read-only runs) change nothing: the host is converged.
                Ok(out)
                    if out
                        .actions
                        .iter()
                        .all(|a| matches!(&a.kind, ActionKind::FetchFile(_)) || matches!(&a.kind, ActionKind::Run(r) if r.read_only)) =>
                {
                    let n = out.actions.len();
                    let mut reason = out.reason.unwrap_or_default();
                    reason.push_str(&format!("{}only reads ({n} below)", if reason.is_empty() { "" } else { "; " }));
                    (StepOutcome::NothingToDo { reason, reads: out.actions }, out.logs)
                }
                Ok(out) => (StepOutcome::Changes { actions: out.actions }, out.logs),
                Err(e) => {
                    failed = true;
                    (StepOutcome::Failed { error: e.to_string() }, Vec::new())
                }
            };
            cells.push(HostStepPlan { step: s.step.number, step_name: s.step.name.clone(), plugin, outcome, logs });
        }
        hosts.push(HostPlan { host: h.name.clone(), address: h.address.clone(), steps: cells });
    }
    Ok(OfflinePlan { workflow: bound.workflow.name.clone(), probes: bound.probe_listing(), hosts })
}
