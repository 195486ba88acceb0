//! The subcommands, as library functions the thin binary calls.

mod error;
mod facts;
mod plan;
mod plugins;
mod run;

pub use error::CommandError;
pub use facts::{FactsArgs, facts};
pub use plan::{OutputFormat, PlanArgs, plan};
pub use plugins::{inspect_plugin, list_plugins};
pub use run::{RunArgs, run_workflow};
