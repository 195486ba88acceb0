//! Command-line types (clap derive only; behaviour lives in the library).

use clap::{Parser, Subcommand, ValueEnum};
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

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Output {
    /// For people.
    Human,
    /// JSON.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print what a workflow would do on each host, without changing anything.
    Plan {
        /// The workflow file.
        workflow: PathBuf,
        /// Plan offline from a recorded facts file (one table per host).
        #[arg(long, value_name = "FILE")]
        facts: PathBuf,
        /// Inventory file; replaces the workflow's inline inventory.
        #[arg(short, long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        output: Output,
    },
    /// Check a workflow and its plugins without planning.
    Check {
        /// The workflow file.
        workflow: PathBuf,
        /// Inventory file; replaces the workflow's inline inventory.
        #[arg(short, long, value_name = "FILE")]
        inventory: Option<PathBuf>,
    },
    /// List the plugins found in the search path.
    Plugins {
        /// Also search the plugins/ folder beside this workflow.
        #[arg(long, value_name = "FILE")]
        workflow: Option<PathBuf>,
    },
    /// Work with one plugin.
    Plugin {
        /// What to do.
        #[command(subcommand)]
        action: PluginCommand,
    },
}

/// `plait plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's parameters, probes and capabilities.
    Inspect {
        /// Plugin name (searched) or path to a .wasm file.
        name: String,
    },
}
