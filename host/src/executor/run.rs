//! The run: one task per host, a shared variable store, the journal, Ctrl-C.

use super::Mode;
use super::host::run_host;
use super::journal::{Journal, JournalError, RunState};
use super::rollout::Rollouts;
use super::shared::Shared;
use super::vars::VarStore;
use crate::output::{Event, HostRecap, HostState, Reporter};
use crate::ssh::ConnectSettings;
use crate::workflow::BoundWorkflow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Options of `plait run` / live `plait plan`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Apply or dry run.
    pub mode: Mode,
    /// Most hosts worked on at once.
    pub forks: usize,
    /// How every connection is made (host keys, timeouts, keepalive).
    pub connect: ConnectSettings,
    /// Limit for commands without their own timeout.
    pub command_timeout: Duration,
    /// Stop every host at the first failure.
    pub fail_fast: bool,
    /// Stop the others once more than this percentage of hosts failed (0: never).
    pub max_fail_percent: u8,
    /// Sudo password for non-root users.
    pub become_password: Option<String>,
    /// Continue the latest earlier run.
    pub resume: bool,
    /// Only these hosts (inventory indices); all when none.
    pub limit: Option<Vec<usize>>,
    /// Resume even when the workflow or a plugin changed.
    pub force: bool,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Per host.
    pub hosts: Vec<HostRecap>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
    /// The journal folder.
    pub journal_dir: std::path::PathBuf,
}

impl RunSummary {
    /// Hosts that did not converge.
    pub fn failed(&self) -> usize {
        self.hosts
            .iter()
            .filter(|h| matches!(h.state, HostState::Failed | HostState::Unreachable | HostState::Interrupted | HostState::NotStarted))
            .count()
    }
    /// Total changed actions.
    pub fn changed(&self) -> usize {
        self.hosts.iter().map(|h| h.changed).sum()
    }
}

/// Run `bound` on its hosts. The journal goes to `state_dir` in apply mode.
pub async fn run(
    bound: Arc<BoundWorkflow>,
    opts: RunOptions,
    reporter_for: impl FnOnce(Option<std::fs::File>) -> Reporter,
    state_dir: &std::path::Path,
) -> Result<RunSummary, JournalError> {
    let start = Instant::now();
    let wf_name = bound.workflow.name.clone();
    let journal = match opts.mode {
        Mode::Apply => Some(Journal::open(state_dir, &wf_name)?),
        Mode::DryRun => None,
    };
    let mut state = RunState {
        workflow: wf_name.clone(),
        workflow_sha256: std::fs::read(&bound.workflow.path).map(|b| crate::plugin::sha256_hex(&b)).unwrap_or_default(),
        steps: bound.steps.iter().map(|s| (s.step.number, format!("{} {}", s.plugin.info.name, s.plugin.sha256))).collect(),
        ..Default::default()
    };
    let mut resume_from = BTreeMap::new();
    if opts.resume {
        let dir = journal.as_ref().map(|j| j.dir.clone()).unwrap_or_default();
        let previous = Journal::latest(state_dir, &wf_name, &dir)?;
        if let Some(what) = previous.changed_since(&state)
            && !opts.force
        {
            return Err(JournalError::Changed { what });
        }
        resume_from = previous.completed.clone();
        state.completed = previous.completed;
    }
    let events = match &journal {
        Some(j) => Some(j.events_file()?),
        None => None,
    };
    let reporter = Arc::new(reporter_for(events));
    let run_id = journal.as_ref().map(|j| j.run_id.clone()).unwrap_or_else(|| "dry-run".into());
    let journal_dir = journal.as_ref().map(|j| j.dir.clone()).unwrap_or_default();
    let inv = &bound.workflow.inventory;
    let selected: Vec<usize> = opts.limit.clone().unwrap_or_else(|| (0..inv.hosts.len()).collect());
    reporter.emit(Event::RunStart {
        workflow: wf_name.clone(),
        run_id,
        hosts: selected.iter().map(|&hi| inv.hosts[hi].name.clone()).collect(),
        steps: bound.steps.len(),
        mode: if opts.mode == Mode::Apply { "apply".into() } else { "dry-run".into() },
        probes: bound.probe_listing(),
    });

    let shared = Arc::new(Shared {
        bound: bound.clone(),
        plugin_inventory: inv.for_plugins().into(),
        reporter: reporter.clone(),
        vars: VarStore::new(selected.len()),
        // A dry run changes nothing, so it has nothing to roll out.
        rollouts: match opts.mode {
            Mode::Apply => Rollouts::new(&bound, &selected),
            Mode::DryRun => Rollouts::default(),
        },
        forks: Semaphore::new(opts.forks.max(1)),
        stop: AtomicBool::new(false),
        mode: opts.mode,
        connect: opts.connect.clone(),
        command_timeout: opts.command_timeout,
        become_password: opts.become_password.clone(),
        resume_from,
        failures: AtomicUsize::new(0),
        fail_fast: opts.fail_fast,
        max_fail_percent: opts.max_fail_percent,
        hosts: selected.len(),
        left_out: inv.hosts.len() - selected.len(),
        state: Mutex::new(state),
        journal,
    });
    if let Some(p) = &opts.become_password {
        reporter.secrets().add(p);
    }
    for v in bound.secret_values() {
        reporter.secrets().add(&v);
    }
    shared.save();

    // Ctrl-C: start nothing new; running actions finish; the journal stays.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let shared = shared.clone();
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                shared.stop();
                eprintln!("\ninterrupted: finishing running actions, starting no new ones (Ctrl-C again to abort)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(crate::exit_codes::INTERRUPTED);
                }
            }
        });
    }

    let tasks: Vec<_> = selected.iter().map(|&hi| tokio::spawn(run_host(shared.clone(), hi))).collect();
    let mut hosts = Vec::with_capacity(tasks.len());
    for (&hi, t) in selected.iter().zip(tasks) {
        hosts.push(t.await.unwrap_or_else(|e| HostRecap {
            host: inv.hosts[hi].name.clone(),
            state: HostState::Failed,
            ok: 0,
            changed: 0,
            failed: 1,
            skipped: 0,
            failure: Some(crate::output::event::Failure {
                step: None,
                step_name: None,
                command: None,
                exit_code: None,
                error: format!("internal error: {e}"),
                stderr_tail: None,
            }),
        }));
    }
    shared.save();
    reporter.emit(Event::Recap {
        hosts: hosts.clone(),
        ms: start.elapsed().as_millis() as u64,
        dry_run: opts.mode == Mode::DryRun,
        rollouts: shared.rollouts.recap(&bound),
    });
    Ok(RunSummary { hosts, interrupted: interrupted.load(Ordering::SeqCst), journal_dir })
}
