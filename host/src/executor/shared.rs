//! What every host task of a run shares: the bound workflow, the reporter,
//! captured variables, the forks semaphore, the stop flag, the settings,
//! and the run's state and journal.

use super::Mode;
use super::journal::{Journal, Progress, RunState};
use super::rollout::Rollouts;
use super::vars::VarStore;
use crate::model::InventoryHost;
use crate::output::Reporter;
use crate::ssh::ConnectSettings;
use crate::workflow::BoundWorkflow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// What every host task shares.
pub(crate) struct Shared {
    pub bound: Arc<BoundWorkflow>,
    /// The inventory as plugins see it, built once for every plan call.
    pub plugin_inventory: Arc<[InventoryHost]>,
    pub reporter: Arc<Reporter>,
    pub vars: VarStore,
    /// Rolling steps' batches (apply mode only).
    pub rollouts: Rollouts,
    pub forks: Semaphore,
    pub stop: AtomicBool,
    pub mode: Mode,
    pub connect: ConnectSettings,
    pub command_timeout: Duration,
    pub become_password: Option<String>,
    pub resume_from: BTreeMap<String, Vec<usize>>,
    pub failures: AtomicUsize,
    pub fail_fast: bool,
    pub max_fail_percent: u8,
    pub hosts: usize,
    /// Inventory hosts `--limit` leaves out (they run nothing).
    pub left_out: usize,
    pub state: Mutex<RunState>,
    pub journal: Option<Journal>,
}

impl Shared {
    pub fn note_failure(&self) {
        let n = self.failures.fetch_add(1, Ordering::SeqCst) + 1;
        let over = self.max_fail_percent > 0 && n * 100 > usize::from(self.max_fail_percent) * self.hosts;
        if self.fail_fast || over {
            self.stop();
        }
    }

    /// Stop the run: no host starts anything new, and hosts waiting for a
    /// variable stop waiting.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.vars.interrupt();
    }

    pub fn save(&self) {
        if let (Some(j), Ok(state)) = (&self.journal, self.state.lock())
            && let Err(e) = j.save(&state)
        {
            tracing::warn!("{e}");
        }
    }

    fn progress(&self, p: Progress) {
        if let Ok(mut s) = self.state.lock() {
            s.apply(&p);
        }
        if let Some(j) = &self.journal
            && let Err(e) = j.record(&p)
        {
            tracing::warn!("{e}");
        }
    }

    pub fn mark_step_done(&self, host: &str, step: usize) {
        self.progress(Progress::Step { host: host.to_string(), step });
    }

    pub fn mark_converged(&self, host: &str) {
        self.progress(Progress::Host { host: host.to_string() });
    }
}
