//! The data every layer shares, with no dependencies of its own: what a
//! plugin receives ([`PlanContext`]: host, facts, probes, inventory,
//! variables) and what it returns ([`Action`]s). Everything else points at
//! this module; it points at nothing (docs/architecture.md, "Layers").

mod action;
mod context;
mod fact_group;
mod facts;
mod probe;

pub use action::{Action, ActionKind, FetchFile, Program, PutFile, Reboot, Run};
pub use context::{InventoryHost, PlanContext, Variable, placeholder};
pub use fact_group::{FactGroup, FactSet};
pub use facts::{HostFacts, ProbeResult, ServiceState};
pub use probe::{ProbeRun, ProbeSource, ProbeWord, parse_template};
