//! The sandboxed plugin runtime: one wasmtime [`Engine`](wasmtime::Engine),
//! a fresh `Store` per call, a compiled-component cache, limits, and the
//! checks every returned plan must pass before anything runs.

mod bindings;
mod builtin;
mod cache;
mod capabilities;
mod convert;
mod engine;
mod error;
mod info;
mod limits;
mod loaded;
pub mod oci;
mod probe;
mod registry;
mod sandbox;
mod validate;

pub use builtin::{Builtin, all as builtin_plugins, root as builtin_root};
pub use cache::{CacheOutcome, ComponentCache};
pub use capabilities::{Capabilities, DRY_RUN_QUERIES, Grants, is_dry_run_query, is_launcher, path_within};
pub use engine::Runtime;
pub use error::PluginError;
pub use info::{ParamSpec, ParamType, PluginInfo, Probe};
pub use limits::Limits;
pub use loaded::{LoadedPlugin, PlanOutput, PluginLog, sha256_hex};
pub use probe::{ProbeRefusal, ProbeShape, check as check_probes, describe as describe_probe, shape as probe_shape};
pub use registry::{PluginRef, PluginSource, Registry, user_dir};
pub use sandbox::LogSource;
pub use validate::{PlanLimits, validate_plan};
