//! Workflows: an ordered list of steps against an inventory. Loading checks
//! the file itself; binding loads every step's plugin and checks parameters,
//! targets and variables against what the plugins declare. Nothing runs on
//! any host until both succeeded.

mod bind;
mod grant_check;
mod load;
mod probes;
mod raw;
mod strategy;

pub use bind::{BoundStep, BoundWorkflow, bind};
pub use grant_check::{GrantWarning, grant_warnings};
pub use load::{Step, Workflow};
pub use probes::{ProbeListing, StepProbes, render_probes};
pub use raw::{RawPluginSource, RawStep, RawWorkflow};
pub use strategy::{Amount, RawStrategy, Strategy};
