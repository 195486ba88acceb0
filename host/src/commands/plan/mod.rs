//! `plait plan WORKFLOW --facts FILE`: print what would run, offline.

mod offline;
mod render;

pub use offline::{HostStepPlan, OfflinePlan, PlanError, StepOutcome, offline_context, plan_offline};
pub use render::render_human;

use super::CommandError;
use crate::exit_codes;
use crate::facts::FactsFile;
use crate::model::ActionKind;
use crate::output::{Format, Secrets};
use crate::plugin::{Registry, Runtime};
use crate::workflow::{Workflow, bind};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `plait plan`.
#[derive(Debug, Clone)]
pub struct PlanArgs {
    /// Workflow file.
    pub workflow: PathBuf,
    /// Inventory file replacing the inline one.
    pub inventory: Option<PathBuf>,
    /// Recorded facts.
    pub facts: PathBuf,
    /// Format.
    pub output: Format,
    /// Exit `CHANGES_PENDING` when something would change.
    pub detailed_exitcode: bool,
    /// Only these hosts and groups (`--limit`).
    pub limit: Option<String>,
}

/// Plan offline and print; returns the exit code.
pub fn plan(args: &PlanArgs, runtime: &Runtime) -> Result<i32, CommandError> {
    let start = Instant::now();
    let workflow = Workflow::load(&args.workflow, args.inventory.as_deref())?;
    let registry = Registry::standard(Some(&args.workflow));
    let bound = bind(workflow, &registry, runtime)?;
    let facts = FactsFile::load(&args.facts)?;
    let only = args.limit.as_deref().map(|l| bound.workflow.inventory.limit(l)).transpose().map_err(CommandError::Invalid)?;
    let plan: OfflinePlan = plan_offline(&bound, &facts, &args.facts.display().to_string(), only.as_deref())?;
    // Secret parameters, and the stdin of secret actions, are masked here as
    // in a run's events: a printed plan is output too.
    let secrets = Secrets::default();
    for v in bound.secret_values() {
        secrets.add(&v);
    }
    for cell in plan.hosts.iter().flat_map(|h| &h.steps) {
        if let StepOutcome::Changes { actions } = &cell.outcome {
            for a in actions {
                if let ActionKind::Run(r) = &a.kind
                    && r.secret
                    && let Some(s) = &r.stdin
                {
                    secrets.add(s);
                }
            }
        }
    }
    match args.output {
        Format::Human => {
            println!(
                "Offline plan of {} for {} host{} from {} (each step planned from the recorded facts)\n",
                bound.workflow.path.display(),
                plan.hosts.len(),
                if plan.hosts.len() == 1 { "" } else { "s" },
                args.facts.display()
            );
            print!("{}", secrets.mask(&crate::workflow::render_probes(&plan.probes)));
            if !plan.probes.is_empty() {
                println!();
            }
            print!("{}", secrets.mask(&render_human(&plan)));
            let compiled = bound.steps.iter().filter(|s| s.plugin.cache == crate::plugin::CacheOutcome::Compiled).count();
            tracing::info!(elapsed_ms = start.elapsed().as_millis() as u64, compiled, "planned");
        }
        Format::Json => {
            let mut doc = serde_json::to_value(&plan).map_err(|e| CommandError::Other(format!("encoding the plan: {e}")))?;
            secrets.mask_value(&mut doc);
            let text = serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Other(format!("encoding the plan: {e}")))?;
            println!("{text}");
        }
    }
    let pending = plan.hosts.iter().flat_map(|h| &h.steps).any(|c| matches!(c.outcome, StepOutcome::Changes { .. }));
    Ok(if plan.failures() > 0 {
        exit_codes::PLUGIN_FAILED
    } else if args.detailed_exitcode && pending {
        exit_codes::CHANGES_PENDING
    } else {
        exit_codes::OK
    })
}
