//! The plait plugin SDK.
//!
//! A plait plugin is a pure function from the facts of one host (plus its
//! parameters and the workflow's variables) to a list of actions. This crate
//! wraps the WIT contract `plait:plugin@0.3.0` (`wit/since_v0.3.0/plugin.wit`) with:
//!
//! - the [`Plugin`] trait and the [`register_plugin!`] macro,
//! - typed access to parameters, probes, variables and the core facts the
//!   plugin declared with [`PluginInfo::facts`] ([`Context`] helpers),
//! - builders for actions whose arguments are never re-parsed by a shell
//!   ([`cmd`], [`file`], [`reboot`], [`fetch`]), and [`shell::quote`] for the
//!   rare script,
//! - guards every provisioning plugin needs ([`guard`]), version
//!   comparison ([`version`]) and pinned RPM packages ([`rpm`]).
//!
//! ```ignore
//! use plait_sdk::prelude::*;
//!
//! struct Hello;
//! impl Plugin for Hello {
//!     fn describe() -> PluginInfo {
//!         info("hello", env!("CARGO_PKG_VERSION"), "write /etc/motd")
//!             .param(param::string("text", "hello", "the message"))
//!             .writes(["/etc/motd"])
//!     }
//!     fn plan(ctx: &Context) -> Result<Plan, PluginError> {
//!         #[derive(serde::Deserialize)]
//!         struct P { text: String }
//!         let p: P = ctx.params()?;
//!         Ok(Plan::from(vec![file::put("/etc/motd", p.text + "\n").mode(0o644).summary("write motd")]))
//!     }
//! }
//! register_plugin!(Hello);
//! ```

#![warn(missing_docs)]

mod action;
mod context;
mod describe;
pub mod guard;
pub mod manifest;
mod plan;
pub mod rpm;
pub mod shell;
pub mod testing;
pub mod version;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        // A copy of wit/since_v0.3.0 inside the crate, so the published
        // crate builds on its own (tests/tests/sdk_package.rs keeps the two
        // identical).
        path: "wit",
        pub_export_macro: true,
        default_bindings_module: "plait_sdk::bindings",
        export_macro_name: "__export_plugin_world",
    });
}

pub use action::{cmd, fetch, file, reboot};
pub use bindings::plait::plugin::host::Level;
pub use bindings::plait::plugin::types::{
    Action, ActionKind, Capabilities, Context, ErrorKind, Fact, FetchFile, HostFacts, InventoryHost, ParamRules, ParamSpec, ParamType,
    Plan, PluginError, PluginInfo, Probe, ProbeCommand, ProbeResult, ProbeScript, ProbeWord, Program, PutFile, Reboot, Run, ServiceState,
    Variable,
};
pub use describe::{info, param};
/// The JSON crate the SDK speaks ([`Plugin::check_params`] takes its `Value`).
pub use serde_json;

/// Everything a plugin usually needs, in one import.
pub mod prelude {
    pub use crate::{
        Action, ActionKind, Context, ErrorKind, Fact, InventoryHost, Level, Plan, Plugin, PluginError, PluginInfo, cmd, fetch, file, guard,
        info, log, manifest, param, reboot, register_plugin, rpm, shell, version,
    };
}

/// Log a message; the host attributes it to this plugin and host. In native
/// unit tests (not wasm) it goes to stderr instead.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::plait::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// A plait plugin. Both functions are stateless: the host may call them in
/// fresh instances, in any order, for any number of hosts.
pub trait Plugin {
    /// Static metadata: name, version, parameters, probes, capabilities.
    fn describe() -> PluginInfo;

    /// Plan one host. Return an empty plan with a reason when nothing needs
    /// doing ([`Plan::nothing`]). Parameters arrive with defaults filled in.
    fn plan(ctx: &Context) -> Result<Plan, PluginError>;

    /// Check the whole parameter set (defaults filled in) without any
    /// host: plait calls it when a workflow is bound, so `plait check`
    /// refuses a bad combination at the step's `params` (return
    /// [`PluginError::bad_params`]). Single values are better checked by
    /// rules on their declaration (`.pattern(..)`, `.one_of(..)`, ...).
    fn check_params(_params: &serde_json::Value) -> Result<(), PluginError> {
        Ok(())
    }
}

impl Action {
    /// Run this action only when one of the earlier actions at these
    /// indexes of the plan changed the host (a restart after its config
    /// file changed); the host reports it skipped otherwise.
    pub fn when_changed<I: IntoIterator<Item = usize>>(mut self, earlier: I) -> Self {
        self.when_changed.extend(earlier.into_iter().map(|i| i as u32));
        self
    }
}

impl PluginError {
    /// A parameter problem.
    pub fn bad_params(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::BadParams, message: message.into() }
    }
    /// The host is not supported by this plugin.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::UnsupportedHost, message: message.into() }
    }
    /// A consumed variable has not been captured yet.
    pub fn missing_variable(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::MissingVariable, message: message.into() }
    }
    /// Anything else.
    pub fn internal(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Internal, message: message.into() }
    }
}

/// Glue called by [`register_plugin!`]: fills parameter defaults from
/// `describe` so plugins see complete parameters even when run by a test.
#[doc(hidden)]
pub fn __plan<P: Plugin>(mut ctx: Context) -> Result<Plan, PluginError> {
    ctx.params = describe::fill_defaults(&P::describe(), &ctx.params)?;
    P::plan(&ctx)
}

/// Glue called by [`register_plugin!`] for `check-params`.
#[doc(hidden)]
pub fn __check_params<P: Plugin>(params: String) -> Result<(), PluginError> {
    let filled = describe::fill_defaults(&P::describe(), &params)?;
    let value: serde_json::Value = serde_json::from_str(&filled).map_err(|e| PluginError::internal(e.to_string()))?;
    P::check_params(&value)
}

/// Register a type implementing [`Plugin`] as this component's export.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __PlaitGuest;
        impl $crate::bindings::Guest for __PlaitGuest {
            fn describe() -> $crate::PluginInfo {
                <$plugin as $crate::Plugin>::describe()
            }
            fn plan(ctx: $crate::Context) -> ::core::result::Result<$crate::Plan, $crate::PluginError> {
                $crate::__plan::<$plugin>(ctx)
            }
            fn check_params(params: ::std::string::String) -> ::core::result::Result<(), $crate::PluginError> {
                $crate::__check_params::<$plugin>(params)
            }
        }
        $crate::bindings::__export_plugin_world!(__PlaitGuest);
    };
}
