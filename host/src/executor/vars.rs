//! Workflow variables captured during a run, shared by all hosts.
//!
//! A plugin that needs a variable not captured yet answers `missing-variable`;
//! its host then waits until another host captures something new. When every
//! host still running is waiting, nobody can produce anything: all of them
//! fail instead of hanging.

use crate::model::Variable;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::sync::Notify;

/// The most a captured variable may hold: every plan of every later step
/// receives all variables, so one runaway capture must not make each of
/// them megabytes (remote output itself is capped at 64 MiB per stream).
pub const MAX_VARIABLE: usize = 1 << 20;

#[derive(Debug, Default)]
struct Inner {
    vars: Vec<Variable>,
    version: u64,
    active: usize,
    waiting: usize,
    interrupted: bool,
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
    /// The run was stopped (Ctrl-C, fail-fast): stop waiting.
    Interrupted,
}

/// Marks a host done when dropped, so that a host task that ends in any
/// way (a panic included: drop runs while unwinding) no longer counts as a
/// possible producer, and hosts waiting on it are told.
pub struct Running<'a>(&'a VarStore);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.host_done();
    }
}

/// Counts a host as waiting while it waits for something other than a
/// variable (its batch of a rolling step): it captures nothing meanwhile,
/// so hosts waiting for a variable only it would capture must not hang.
pub struct Parked<'a>(&'a VarStore);

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        if let Ok(mut i) = self.0.inner.lock() {
            i.waiting = i.waiting.saturating_sub(1);
        }
        self.0.changed.notify_waiters();
    }
}

/// What a plugin may see of `all`: the variables it consumes, from the
/// steps bound as their producers, the latest capture of each host's.
pub fn visible(all: Vec<Variable>, sources: &BTreeMap<String, Vec<usize>>) -> Vec<Variable> {
    let mut out: Vec<Variable> = Vec::new();
    for v in all {
        if !sources.get(&v.name).is_some_and(|steps| steps.contains(&v.step)) {
            continue;
        }
        out.retain(|o| !(o.host == v.host && o.name == v.name));
        out.push(v);
    }
    out
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

    /// Store (or replace) `name` captured on `host` by step `step`.
    /// Variables are keyed by their producing step: a later step of
    /// another plugin that captures the same name does not replace it.
    pub fn set(&self, step: usize, host: &str, name: &str, value: String) {
        if let Ok(mut i) = self.inner.lock() {
            i.vars.retain(|v| !(v.step == step && v.host == host && v.name == name));
            i.vars.push(Variable { host: host.into(), name: name.into(), value: Some(value), step });
            i.version += 1;
        }
        self.changed.notify_waiters();
    }

    /// The guard of a running host: [`VarStore::host_done`] when dropped.
    pub fn running(&self) -> Running<'_> {
        Running(self)
    }

    /// The guard of a host parked outside [`VarStore::wait_for_new`].
    pub fn parked(&self) -> Parked<'_> {
        if let Ok(mut i) = self.inner.lock() {
            i.waiting += 1;
        }
        self.changed.notify_waiters();
        Parked(self)
    }

    /// The run stops: every waiting host wakes up with `Interrupted`.
    pub fn interrupt(&self) {
        if let Ok(mut i) = self.inner.lock() {
            i.interrupted = true;
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
                if i.interrupted {
                    break WaitOutcome::Interrupted;
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_plugin_sees_only_what_it_consumes_from_its_producers() {
        let store = VarStore::new(1);
        store.set(3, "master", "admin_conf", "kubeadm's".into());
        store.set(2, "master", "admin_conf", "an earlier plugin's".into());
        store.set(3, "master", "join_command", "secret".into());
        store.set(1, "master", "token", "t".into());
        store.set(4, "master", "token", "t2".into());
        let sources: BTreeMap<String, Vec<usize>> = [("admin_conf".to_string(), vec![3]), ("token".to_string(), vec![1, 4])].into();
        let seen = visible(store.snapshot(), &sources);
        let names: Vec<(&str, Option<&str>)> = seen.iter().map(|v| (v.name.as_str(), v.value.as_deref())).collect();
        // Not join_command (not consumed), not step 2's admin_conf (another
        // producer), and the newest token of the plugin's own steps.
        assert_eq!(names, [("admin_conf", Some("kubeadm's")), ("token", Some("t2"))]);
        // A step's capture does not replace another step's of the same name.
        assert_eq!(store.snapshot().iter().filter(|v| v.name == "admin_conf").count(), 2);
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn a_stop_wakes_a_waiting_host() {
        rt().block_on(async {
            let store = Arc::new(VarStore::new(2));
            let s = store.clone();
            let waiter = tokio::spawn(async move { s.wait_for_new(0).await });
            tokio::task::yield_now().await;
            store.interrupt();
            assert_eq!(waiter.await.unwrap(), WaitOutcome::Interrupted);
        });
    }

    #[test]
    fn a_host_task_that_panics_still_counts_as_done() {
        rt().block_on(async {
            let store = Arc::new(VarStore::new(2));
            let s = store.clone();
            // The producer panics: its guard is dropped while unwinding.
            let producer = tokio::spawn(async move {
                let _running = s.running();
                panic!("a bug in a host task");
            });
            assert!(producer.await.is_err());
            // The other host, waiting for its variable, is not left hanging.
            let _me = store.running();
            assert_eq!(store.wait_for_new(0).await, WaitOutcome::Stalled);
        });
    }

    #[test]
    fn a_host_parked_for_its_batch_cannot_hold_up_a_waiting_host() {
        rt().block_on(async {
            let store = VarStore::new(2);
            let _a = store.running();
            let _b = store.running();
            // The other host waits for its batch: it captures nothing.
            let parked = store.parked();
            assert_eq!(store.wait_for_new(0).await, WaitOutcome::Stalled);
            drop(parked);
        });
    }
}
