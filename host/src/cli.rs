//! Command-line types (clap derive only; behaviour lives in the library).

use clap::{Parser, Subcommand};
use plait::output::Format;
use std::path::PathBuf;

/// Provision fleets of Linux machines with TOML workflows made of sandboxed
/// WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "plait", version, about, max_term_width = 100)]
pub struct Cli {
    /// More log output (-v info, -vv debug, including plugin logs).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Plugin time limit per call, in milliseconds.
    #[arg(long, global = true, default_value_t = 5000, value_name = "MS")]
    pub plugin_timeout_ms: u64,

    /// Plugin memory limit, in MiB.
    #[arg(long, global = true, default_value_t = 256, value_name = "MIB")]
    pub plugin_memory_mib: usize,

    /// Do not read or write the compiled-plugin cache.
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Never write or change plait.lock: an OCI plugin it does not pin is
    /// an error (for CI).
    #[arg(long, global = true, env = "PLAIT_LOCKED")]
    pub locked: bool,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what a workflow would do on each host, without changing anything:
    /// offline from recorded facts (--facts), or live (connects, gathers facts,
    /// runs only read-only probes and guards).
    Plan {
        /// The workflow file.
        workflow: PathBuf,
        /// Plan offline from a recorded facts file (one table per host).
        #[arg(long, value_name = "FILE")]
        facts: Option<PathBuf>,
        /// Inventory file; replaces the workflow's inline inventory.
        #[arg(short, long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        output: Format,
        /// Exit 0 when nothing would change and 5 when changes are pending
        /// (for drift checks in CI); errors keep their own codes.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Only these hosts and groups (comma-separated names; `all`).
        #[arg(long, value_name = "HOSTS|GROUPS")]
        limit: Option<String>,
        /// Connection settings (live plan).
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Apply a workflow to its hosts over SSH.
    Run {
        /// The workflow file.
        workflow: PathBuf,
        /// Inventory file; replaces the workflow's inline inventory.
        #[arg(short, long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Output format: human lines, or one JSON event per line.
        #[arg(long, value_enum, default_value = "human")]
        output: Format,
        /// Only these hosts and groups (comma-separated names; `all`).
        /// Steps still target the others' names; variables they would
        /// capture are missing (a clear error, naming --limit).
        #[arg(long, value_name = "HOSTS|GROUPS")]
        limit: Option<String>,
        /// Connection settings.
        #[command(flatten)]
        conn: ConnArgs,
        /// Stop every host at the first failure.
        #[arg(long)]
        fail_fast: bool,
        /// Stop the other hosts once more than this percentage failed (0: keep going).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
        max_fail_percent: u8,
        /// Continue the latest run of this workflow: failed or unreached hosts
        /// restart at the step that failed; completed steps are skipped.
        #[arg(long)]
        resume: bool,
        /// With --resume: continue even though the workflow file or a
        /// step's plugin changed since that run (refused otherwise).
        #[arg(long, requires = "resume")]
        force: bool,
        /// Where the journal and lock live (default: .plait beside the workflow).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Longest a command without its own timeout may run; past it the
        /// command is killed on the host (coreutils `timeout`) and fails.
        #[arg(long, value_name = "SECS", default_value_t = 7200, value_parser = clap::value_parser!(u32).range(1..))]
        command_timeout: u32,
    },
    /// Gather facts and the workflow's probes from live hosts; print them or
    /// record a facts file for `plait plan --facts`.
    Facts {
        /// The workflow file (inventory and plugins).
        workflow: PathBuf,
        /// Only these hosts.
        hosts: Vec<String>,
        /// Inventory file; replaces the workflow's inline inventory.
        #[arg(short, long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Write a facts file instead of printing.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
        /// Write a template instead, without connecting: sample CentOS 7.9
        /// facts and a placeholder for every probe of the workflow's steps.
        #[arg(long, value_name = "FILE", conflicts_with = "record")]
        template: Option<PathBuf>,
        /// Only these hosts and groups (comma-separated names; `all`).
        #[arg(long, value_name = "HOSTS|GROUPS")]
        limit: Option<String>,
        /// Connection settings.
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Check a workflow and its plugins without planning.
    Check {
        /// The workflow file.
        workflow: PathBuf,
        /// Inventory file; replaces the workflow's inline inventory.
        #[arg(short, long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Grants that take away what a plugin declares, or grant what it
        /// never declares, are errors (exit 2) instead of warnings.
        #[arg(long)]
        strict: bool,
    },
    /// List the plugins found in the search path.
    Plugins {
        /// Also search the plugins/ folder beside this workflow.
        #[arg(long, value_name = "FILE")]
        workflow: Option<PathBuf>,
    },
    /// Scaffold an out-of-tree plugin crate (SDK dependency, example plan,
    /// unit tests, golden facts fixture, README).
    NewPlugin {
        /// Plugin name: lowercase letters, digits and '-'.
        name: String,
        /// Folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Build against this plait-sdk source folder (a checkout's
        /// plugins/sdk, or an unpacked crate) instead of crates.io: written
        /// as a `[patch.crates-io]` entry.
        #[arg(long, value_name = "DIR")]
        sdk_path: Option<PathBuf>,
    },
    /// Work with one plugin.
    Plugin {
        /// What to do.
        #[command(subcommand)]
        action: PluginCommand,
    },
}

/// How to reach hosts.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnArgs {
    /// Hosts worked on at once.
    #[arg(long, default_value_t = 50)]
    pub forks: usize,
    /// known_hosts file (default: the inventory's, else ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Record the keys of hosts not yet in known_hosts (a changed key is always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// Seconds allowed to connect and authenticate.
    #[arg(long, default_value_t = 15, value_name = "SECS")]
    pub connect_timeout: u64,
    /// New SSH connections started per second, each at a random point of
    /// its slot (0: no limit). Keeps a large `--forks` from opening every
    /// connection in the same instant.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub connect_rate: u32,
    /// Seconds between SSH keepalives; a host silent for four is given up on.
    #[arg(long, default_value_t = 15, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub keepalive: u64,
    /// Ask once for the sudo password of non-root users (never echoed, logged
    /// or put on a command line: it reaches sudo on stdin).
    #[arg(long)]
    pub ask_become_pass: bool,
    /// Read the sudo password from the first line of this file (for
    /// non-interactive runs; keep it readable only by you).
    #[arg(long, value_name = "FILE", conflicts_with = "ask_become_pass")]
    pub become_pass_file: Option<PathBuf>,
}

/// `plait plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's parameters, probes and capabilities.
    Inspect {
        /// Plugin name (searched) or path to a .wasm file.
        name: String,
    },
    /// Fetch an OCI plugin into the cache; print its digest and sha256.
    Pull {
        /// `oci://REGISTRY/NAMESPACE/NAME:TAG`.
        reference: String,
    },
    /// Publish a component as an OCI Wasm artifact; print its digest.
    Push {
        /// The `.wasm` file.
        file: PathBuf,
        /// `oci://REGISTRY/NAMESPACE/NAME:TAG`.
        reference: String,
    },
}
