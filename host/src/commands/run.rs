//! `plait run WORKFLOW` and live `plait plan WORKFLOW`: connect to the
//! hosts, then apply (or only assess) every step.

use super::CommandError;
use super::Connection;
use crate::executor::{Mode, RunOptions, run};
use crate::exit_codes;
use crate::output::{Format, Reporter, Secrets};
use crate::plugin::{Registry, Runtime};
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
    /// How hosts are reached.
    pub connection: Connection,
    /// Stop all at the first failure.
    pub fail_fast: bool,
    /// Stop the others above this failure percentage.
    pub max_fail_percent: u8,
    /// Continue the latest run.
    pub resume: bool,
    /// Journal location (default: `.plait` beside the workflow).
    pub state_dir: Option<PathBuf>,
    /// A dry run exits `CHANGES_PENDING` when something would change.
    pub detailed_exitcode: bool,
    /// Only these hosts and groups (`--limit`).
    pub limit: Option<String>,
    /// Resume even though the workflow or a plugin changed.
    pub force: bool,
    /// Limit of commands without their own timeout (`--command-timeout`).
    pub command_timeout: Duration,
}

/// Run and report; returns the exit code.
pub fn run_workflow(args: &RunArgs, runtime: &Runtime) -> Result<i32, CommandError> {
    let workflow = Workflow::load(&args.workflow, args.inventory.as_deref())?;
    let registry = Registry::standard(Some(&args.workflow));
    workflow.inventory.check_identity_files()?;
    let bound = Arc::new(bind(workflow, &registry, runtime)?);
    let limit = args.limit.as_deref().map(|l| bound.workflow.inventory.limit(l)).transpose().map_err(CommandError::Invalid)?;
    let opts = RunOptions {
        mode: args.mode,
        forks: args.connection.forks,
        connect: args.connection.settings(&bound.workflow.inventory),
        command_timeout: args.command_timeout,
        fail_fast: args.fail_fast,
        max_fail_percent: args.max_fail_percent,
        become_password: args.connection.become_password()?,
        resume: args.resume,
        limit,
        force: args.force,
    };
    let state_dir = args.state_dir.clone().unwrap_or_else(|| bound.workflow.folder().join(".plait"));
    let (old, new) = crate::executor::raise_open_files();
    tracing::debug!(?old, ?new, "open-file limit");
    // One thread: the run mostly waits on hosts, and a single-threaded
    // runtime saves the cross-thread wake-ups (about a fifth of the
    // controller's CPU at 10 hosts). Plugins plan on blocking threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError::Other(format!("starting the async runtime: {e}")))?;
    let format = args.format;
    let summary = rt.block_on(run(bound, opts, move |journal| Reporter::new(format, Secrets::default(), journal), &state_dir))?;
    Ok(if summary.interrupted {
        exit_codes::INTERRUPTED
    } else if summary.failed() > 0 {
        exit_codes::HOSTS_FAILED
    } else if args.detailed_exitcode && args.mode == crate::executor::Mode::DryRun && summary.changed() > 0 {
        exit_codes::CHANGES_PENDING
    } else {
        exit_codes::OK
    })
}
