//! Run events. The same stream feeds the terminal, `--output json` and the
//! journal, after secret masking.

use serde::{Deserialize, Serialize};

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Nothing to do (its guard passed, the file was already right, a read).
    Ok,
    /// Changed the host (or, in a dry run, would change it).
    Changed,
    /// Not attempted (an earlier failure, or interrupted).
    Skipped,
    /// Failed.
    Failed,
}

/// Where a host ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Every step finished.
    Converged,
    /// A step failed; later steps were not run.
    Failed,
    /// Could not connect.
    Unreachable,
    /// Interrupted before finishing.
    Interrupted,
    /// A rolling step's rollout stopped before this host's batch: the host
    /// never started it (nor what follows).
    NotStarted,
    /// Nothing left to do (resume found every step done).
    Skipped,
}

/// One host's line of the recap.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostRecap {
    /// Host.
    pub host: String,
    /// Final state.
    pub state: HostState,
    /// Actions ok.
    pub ok: usize,
    /// Actions changed.
    pub changed: usize,
    /// Actions failed.
    pub failed: usize,
    /// Actions skipped.
    pub skipped: usize,
    /// Failed step (number and name) and cause.
    pub failure: Option<Failure>,
}

/// Why a host failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// Step number, if the failure belongs to one.
    pub step: Option<usize>,
    /// Step name.
    pub step_name: Option<String>,
    /// The command, when a command failed.
    pub command: Option<String>,
    /// Exit code, when a command failed.
    pub exit_code: Option<i32>,
    /// Cause.
    pub error: String,
    /// Last lines of stderr.
    pub stderr_tail: Option<String>,
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run starts.
    RunStart {
        /// Workflow name.
        workflow: String,
        /// Run id (journal folder name).
        run_id: String,
        /// Hosts in the run.
        hosts: Vec<String>,
        /// Steps.
        steps: usize,
        /// `apply` or `dry-run`.
        mode: String,
        /// What each step's probes run (shown before a dry run).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        probes: Vec<crate::workflow::StepProbes>,
    },
    /// Connected to a host.
    HostConnected {
        /// Host.
        host: String,
        /// Milliseconds to connect.
        ms: u64,
    },
    /// Facts and probes gathered before a step.
    Facts {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
        /// Milliseconds.
        ms: u64,
    },
    /// A step was planned on a host.
    StepPlanned {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
        /// Step name.
        name: String,
        /// `plugin version`.
        plugin: String,
        /// Number of actions.
        actions: usize,
        /// Why nothing needs doing.
        reason: Option<String>,
    },
    /// A step was already done in the run being resumed.
    StepResumed {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
        /// Step name.
        name: String,
    },
    /// An action started.
    ActionStart {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
        /// 1-based index in the step's plan.
        index: usize,
        /// Summary.
        summary: String,
    },
    /// An action finished.
    Action {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
        /// 1-based index in the step's plan.
        index: usize,
        /// Summary.
        summary: String,
        /// Outcome.
        status: ActionStatus,
        /// Why (guard passed, file up to date, would run, error).
        note: Option<String>,
        /// The remote command, if any.
        command: Option<String>,
        /// Exit code, if a command ran.
        exit_code: Option<i32>,
        /// Milliseconds.
        ms: u64,
        /// Last lines of stdout.
        stdout_tail: Option<String>,
        /// Last lines of stderr.
        stderr_tail: Option<String>,
        /// A dry run's diff of a file it would write.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        diff: Option<String>,
    },
    /// A batch of a rolling step opens.
    BatchStarted {
        /// Step number.
        step: usize,
        /// Step name.
        name: String,
        /// Batch number (1-based).
        batch: usize,
        /// How many batches the step has.
        batches: usize,
        /// The batch's hosts.
        hosts: Vec<String>,
    },
    /// A host did not start a rolling step: its rollout stopped.
    NotStarted {
        /// Host.
        host: String,
        /// Step number.
        step: usize,
        /// Step name.
        name: String,
        /// Hosts that failed the step before it stopped.
        failed: usize,
        /// Failures the strategy tolerated.
        tolerated: usize,
    },
    /// A host failed (connection, plugin or action).
    HostFailed {
        /// Host.
        host: String,
        /// What failed.
        failure: Failure,
    },
    /// The end.
    Recap {
        /// Per host.
        hosts: Vec<HostRecap>,
        /// Wall time in milliseconds.
        ms: u64,
        /// Dry run.
        dry_run: bool,
        /// How each rolling step's rollout went.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rollouts: Vec<RolloutRecap>,
    },
}

/// How a rolling step's rollout went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RolloutRecap {
    /// Step number.
    pub step: usize,
    /// Step name.
    pub name: String,
    /// Batches started.
    pub started: usize,
    /// Batches in all.
    pub batches: usize,
    /// Hosts that failed the step.
    pub failed: usize,
    /// Failures the strategy tolerated.
    pub tolerated: usize,
    /// Whether too many failures stopped it.
    pub stopped: bool,
    /// Hosts that never started the step because it stopped.
    pub not_started: Vec<String>,
}
