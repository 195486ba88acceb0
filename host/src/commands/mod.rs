//! The subcommands, as library functions the thin binary calls.

mod connection;
mod error;
mod facts;
mod facts_template;
mod plan;
mod plugins;
mod run;

pub use connection::Connection;
pub use error::CommandError;
pub use facts::{FactsArgs, facts};
pub use plan::{HostStepPlan, OfflinePlan, PlanArgs, PlanError, StepOutcome, offline_context, plan, plan_offline, render_human};
pub use plugins::{inspect_plugin, list_plugins};
pub use run::{RunArgs, run_workflow};
