//! `plait run WORKFLOW` and live `plait plan WORKFLOW`: connect to the
//! hosts, then apply (or only assess) every step.

use super::CommandError;
use crate::executor::{Mode, RunOptions, run};
use crate::exit_codes;
use crate::output::{Format, Reporter, Secrets};
use crate::plugin::{Registry, Runtime};
use crate::ssh::HostKeyPolicy;
use crate::workflow::{Workflow, bind};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `plait run` (and of live `plait plan`, with `Mode::DryRun`).
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// Workflow file.
    pub workflow: PathBuf,
    /// Inventory file replacing the inline one.
    pub inventory: Option<PathBuf>,
    /// Apply or dry run.
    pub mode: Mode,
    /// Output format.
    pub format: Format,
    /// Parallel hosts.
    pub forks: usize,
    /// known_hosts file (overrides the inventory's).
    pub known_hosts: Option<PathBuf>,
    /// Record unknown host keys.
    pub accept_new_host_keys: bool,
    /// Stop all at the first failure.
    pub fail_fast: bool,
    /// Stop the others above this failure percentage.
    pub max_fail_percent: u8,
    /// Continue the latest run.
    pub resume: bool,
    /// Ask for the sudo password once.
    pub ask_become_pass: bool,
    /// Read the sudo password from a file.
    pub become_pass_file: Option<PathBuf>,
    /// Journal location (default: `.plait` beside the workflow).
    pub state_dir: Option<PathBuf>,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// SSH keepalive interval.
    pub keepalive: Duration,
}

fn default_known_hosts() -> PathBuf {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/known_hosts")).unwrap_or_else(|| PathBuf::from(".ssh/known_hosts"))
}

/// Run and report; returns the exit code.
pub fn run_workflow(args: &RunArgs, runtime: &Runtime) -> Result<i32, CommandError> {
    let workflow = Workflow::load(&args.workflow, args.inventory.as_deref())?;
    let registry = Registry::standard(Some(&args.workflow));
    workflow.inventory.check_identity_files()?;
    let bound = Arc::new(bind(workflow, &registry, runtime)?);
    let known_hosts = args.known_hosts.clone().or_else(|| bound.workflow.inventory.known_hosts.clone()).unwrap_or_else(default_known_hosts);
    let become_password = if args.ask_become_pass {
        Some(rpassword::prompt_password("sudo password: ").map_err(|e| CommandError::Other(format!("reading the sudo password: {e}")))?)
    } else if let Some(f) = &args.become_pass_file {
        let text =
            std::fs::read_to_string(f).map_err(|e| CommandError::Other(format!("reading the sudo password from {}: {e}", f.display())))?;
        Some(text.lines().next().unwrap_or("").to_string())
    } else {
        None
    };
    let opts = RunOptions {
        mode: args.mode,
        forks: args.forks,
        host_keys: HostKeyPolicy { known_hosts, accept_new: args.accept_new_host_keys },
        connect_timeout: args.connect_timeout,
        keepalive: args.keepalive,
        command_timeout: Duration::from_secs(2 * 3600),
        fail_fast: args.fail_fast,
        max_fail_percent: args.max_fail_percent,
        become_password,
        resume: args.resume,
    };
    let state_dir = args.state_dir.clone().unwrap_or_else(|| bound.workflow.folder().join(".plait"));
    // One thread: the run mostly waits on hosts, and a single-threaded
    // runtime saves the cross-thread wake-ups (about a fifth of the
    // controller's CPU at 10 hosts). Plugins plan on blocking threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Other(format!("starting the async runtime: {e}")))?;
    let format = args.format;
    let summary = rt
        .block_on(run(bound, opts, move |journal| Reporter::new(format, Secrets::default(), journal), &state_dir))
        .map_err(|e| CommandError::Other(e.to_string()))?;
    Ok(if summary.interrupted {
        exit_codes::INTERRUPTED
    } else if summary.failed() > 0 {
        exit_codes::HOSTS_FAILED
    } else {
        exit_codes::OK
    })
}
