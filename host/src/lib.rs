//! plait: provision fleets of Linux machines with TOML workflows made of
//! sandboxed WebAssembly plugins.
//!
//! The flow of a run: [`workflow`] (file → validated steps) → [`facts`] (per
//! host) → [`plugin`] (sandboxed `plan` per host and step) → [`plan`]
//! (validated actions) → execution. `docs/architecture.md` has the map.

pub mod commands;
pub mod diagnostic;
pub mod executor;
pub mod exit_codes;
pub mod facts;
pub mod inventory;
pub mod output;
pub mod plan;
pub mod plugin;
pub mod scaffold;
pub mod ssh;
pub mod workflow;
