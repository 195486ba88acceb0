//! Workflow variables captured during a run, shared by all hosts.
//!
//! A plugin that needs a variable not captured yet answers `missing-variable`;
//! its host then waits until another host captures something new. When every
//! host still running is waiting, nobody can produce anything: all of them
//! fail instead of hanging.

use crate::model::Variable;
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct Inner {
    vars: Vec<Variable>,
    version: u64,
    active: usize,
    waiting: usize,
}

/// The shared store.
#[derive(Debug, Default)]
pub struct VarStore {
    inner: Mutex<Inner>,
    changed: Notify,
}

/// Why waiting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Something new was captured: plan again.
    NewValues,
    /// Every running host waits: nothing more will come.
    Stalled,
}

impl VarStore {
    /// A store for `hosts` running hosts.
    pub fn new(hosts: usize) -> Self {
        VarStore { inner: Mutex::new(Inner { active: hosts, ..Default::default() }), changed: Notify::new() }
    }

    /// A snapshot of every variable.
    pub fn snapshot(&self) -> Vec<Variable> {
        self.inner.lock().map(|i| i.vars.clone()).unwrap_or_default()
    }

    /// Store (or replace) `name` captured on `host`.
    pub fn set(&self, host: &str, name: &str, value: String) {
        if let Ok(mut i) = self.inner.lock() {
            i.vars.retain(|v| !(v.host == host && v.name == name));
            i.vars.push(Variable { host: host.into(), name: name.into(), value });
            i.version += 1;
        }
        self.changed.notify_waiters();
    }

    /// A host stopped running (finished or failed).
    pub fn host_done(&self) {
        if let Ok(mut i) = self.inner.lock() {
            i.active = i.active.saturating_sub(1);
        }
        self.changed.notify_waiters();
    }

    /// Wait until a variable is captured after `seen` (a version from
    /// [`VarStore::version`]), or until every running host waits.
    pub async fn wait_for_new(&self, seen: u64) -> WaitOutcome {
        if let Ok(mut i) = self.inner.lock() {
            i.waiting += 1;
        }
        self.changed.notify_waiters();
        let outcome = loop {
            let notified = self.changed.notified();
            {
                let i = match self.inner.lock() {
                    Ok(i) => i,
                    Err(_) => break WaitOutcome::Stalled,
                };
                if i.version != seen {
                    break WaitOutcome::NewValues;
                }
                if i.waiting >= i.active {
                    break WaitOutcome::Stalled;
                }
            }
            notified.await;
        };
        if let Ok(mut i) = self.inner.lock() {
            i.waiting = i.waiting.saturating_sub(1);
        }
        outcome
    }

    /// The current version (bumped by every capture).
    pub fn version(&self) -> u64 {
        self.inner.lock().map(|i| i.version).unwrap_or(0)
    }
}
