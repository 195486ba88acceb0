//! Plugin failures, each naming the plugin (`name version`, or its file
//! before it could describe itself) and, for calls, the host.

use std::path::PathBuf;

/// Everything that can go wrong loading or calling a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No plugin of that name in the search path.
    #[error("no plugin named `{name}` in the search path ({searched})")]
    NotFound {
        /// Requested name.
        name: String,
        /// The directories searched, joined.
        searched: String,
    },
    /// The file could not be read.
    #[error("cannot read plugin {}: {source}", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// An OCI plugin could not be pulled, or is not what plait.lock pins.
    #[error("{detail}")]
    Oci {
        /// The reference.
        reference: String,
        /// What went wrong.
        detail: String,
    },
    /// sha256 pin mismatch.
    #[error("plugin {} has sha256 {actual}, but the workflow pins {expected}", path.display())]
    HashMismatch {
        /// File.
        path: PathBuf,
        /// Pinned.
        expected: String,
        /// Found.
        actual: String,
    },
    /// A core module, not a component.
    #[error("{} is a core WebAssembly module, not a component (build plugins with `--target wasm32-wasip2`)", path.display())]
    NotComponent {
        /// File.
        path: PathBuf,
    },
    /// Not WebAssembly, or does not compile.
    #[error("{} is not a valid WebAssembly component: {detail}", path.display())]
    Invalid {
        /// File.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Implements another contract.
    #[error("{} does not implement plait:plugin@{expected}: {detail}", path.display())]
    WrongContract {
        /// File.
        path: PathBuf,
        /// Supported version.
        expected: String,
        /// What was found.
        detail: String,
    },
    /// `describe()` broke or returned nonsense.
    #[error("plugin {} describe(): {detail}", path.display())]
    Describe {
        /// File.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Found by name, but it calls itself something else.
    #[error("{} calls itself `{actual}`, expected `{expected}` (file names must match plugin names)", path.display())]
    NameMismatch {
        /// File.
        path: PathBuf,
        /// Looked-up name.
        expected: String,
        /// describe().name.
        actual: String,
    },
    /// The deadline passed.
    #[error("plugin {plugin} on host {host}: stopped after exceeding its time limit of {limit_ms} ms")]
    Timeout {
        /// `name version`.
        plugin: String,
        /// Host.
        host: String,
        /// Limit.
        limit_ms: u64,
    },
    /// The memory cap was hit.
    #[error("plugin {plugin} on host {host}: stopped at its memory limit of {limit_mib} MiB")]
    OutOfMemory {
        /// `name version`.
        plugin: String,
        /// Host.
        host: String,
        /// Limit.
        limit_mib: u64,
    },
    /// Any other trap or host-side failure during the call.
    #[error("plugin {plugin} on host {host}: crashed: {detail}")]
    Trap {
        /// `name version`.
        plugin: String,
        /// Host.
        host: String,
        /// Root cause.
        detail: String,
    },
    /// The plugin returned an error.
    #[error("plugin {plugin} on host {host}: {kind}: {message}")]
    Refused {
        /// `name version`.
        plugin: String,
        /// Host.
        host: String,
        /// Category.
        kind: &'static str,
        /// Message.
        message: String,
    },
    /// The plan failed validation; nothing of it runs.
    #[error("plugin {plugin} on host {host} returned an invalid plan: {problem}")]
    InvalidPlan {
        /// `name version`.
        plugin: String,
        /// Host.
        host: String,
        /// What is wrong, naming the action.
        problem: String,
    },
    /// An action exceeds declared or granted capabilities; nothing runs.
    #[error("plugin {plugin} on host {host}: {problem}")]
    NotAllowed {
        /// `name version`.
        plugin: String,
        /// Host.
        host: String,
        /// Which action and what it lacks.
        problem: String,
        /// The workflow's grants (not the plugin's declaration) refused it.
        by_grant: bool,
    },
    /// Cache or engine trouble.
    #[error("plugin runtime: {0}")]
    Runtime(String),
}
