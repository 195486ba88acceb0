//! plait: provision fleets of Linux machines with TOML workflows made of
//! sandboxed WebAssembly plugins.
//!
//! The flow of a run: [`workflow`] (file → validated steps) → [`facts`] (per
//! host) → [`plugin`] (sandboxed `plan` per host and step, validated
//! actions) → [`executor`] (over [`ssh`]). The data they pass around is
//! [`model`]. `docs/architecture.md` has the map and the layers.

pub mod commands;
pub mod diagnostic;
pub mod executor;
pub mod exit_codes;
pub mod facts;
pub mod frame;
pub mod inventory;
pub mod model;
pub mod output;
pub mod plugin;
pub mod scaffold;
pub mod ssh;
pub mod workflow;
