//! Plans: the actions a plugin returns for one host, the context it plans
//! from, and the offline planner behind `plait plan --facts`.

mod action;
mod context;
mod offline;
mod render;

pub use action::{Action, ActionKind, FetchFile, Program, PutFile, Reboot, Run};
pub use context::{InventoryHost, PlanContext, Variable};
pub use offline::{HostStepPlan, OfflinePlan, PlanError, StepOutcome, offline_context, placeholder, plan_offline};
pub use render::render_human;
