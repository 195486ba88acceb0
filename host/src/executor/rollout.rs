//! Rolling steps: a step with a strategy runs on its hosts one batch at a
//! time. Hosts run their steps independently, so each host asks the step's
//! [`Rollout`] before it starts the step and tells it when it is done (or
//! that it will never get there); a batch opens when the one before it has
//! finished, and once more hosts failed than the strategy tolerates, the
//! rollout stops and hosts of later batches never start the step.

use crate::output::RolloutRecap;
use crate::workflow::BoundWorkflow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use tokio::sync::Notify;

/// What a host may do with a rolling step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Run it. `opened` is set for the first host of a batch: the batch
    /// number (1-based), the number of batches, and the batch's hosts.
    Go {
        /// The batch just opened, to announce.
        opened: Option<(usize, usize, Vec<usize>)>,
    },
    /// The rollout stopped before this host's batch: do not start.
    Stopped {
        /// Hosts that failed the step.
        failed: usize,
        /// How many failures were tolerated.
        tolerated: usize,
    },
}

#[derive(Debug)]
struct State {
    /// The batch that may run now.
    open: usize,
    /// Hosts that finished the step, failed it, or will never start it.
    reported: BTreeSet<usize>,
    /// Hosts that failed the step so far.
    failed: usize,
    stopped: bool,
    /// Batches already announced.
    announced: Vec<bool>,
    /// Hosts turned away because the rollout stopped.
    turned_away: BTreeSet<usize>,
}

/// One rolling step.
#[derive(Debug)]
pub struct Rollout {
    batches: Vec<Vec<usize>>,
    tolerated: usize,
    state: Mutex<State>,
    changed: Notify,
}

impl Rollout {
    fn new(batches: Vec<Vec<usize>>, tolerated: usize) -> Self {
        let announced = vec![false; batches.len()];
        Rollout {
            batches,
            tolerated,
            state: Mutex::new(State {
                open: 0,
                reported: BTreeSet::new(),
                failed: 0,
                stopped: false,
                announced,
                turned_away: BTreeSet::new(),
            }),
            changed: Notify::new(),
        }
    }

    fn batch_of(&self, hi: usize) -> Option<usize> {
        self.batches.iter().position(|b| b.contains(&hi))
    }

    /// Whether host `hi` may start now: `None` while its batch is not open.
    pub fn check(&self, hi: usize) -> Option<Entry> {
        let Some(b) = self.batch_of(hi) else { return Some(Entry::Go { opened: None }) };
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.stopped && b > s.open {
            s.turned_away.insert(hi);
            return Some(Entry::Stopped { failed: s.failed, tolerated: self.tolerated });
        }
        if s.open >= b {
            let opened = (!s.announced[b]).then(|| (b + 1, self.batches.len(), self.batches[b].clone()));
            s.announced[b] = true;
            return Some(Entry::Go { opened });
        }
        None
    }

    /// Wait until host `hi`'s batch is open (or the rollout stopped).
    pub async fn enter(&self, hi: usize) -> Entry {
        loop {
            let notified = self.changed.notified();
            if let Some(entry) = self.check(hi) {
                return entry;
            }
            notified.await;
        }
    }

    /// Host `hi` finished the step (`Some(failed)`), or will never start it
    /// (`None`: it stopped at an earlier step, could not connect, or its
    /// batch never opened). A batch is over once each of its hosts reported;
    /// then the next opens, unless more hosts failed than tolerated.
    pub fn leave(&self, hi: usize, failed: Option<bool>) {
        if self.batch_of(hi).is_none() {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.reported.insert(hi) {
            return;
        }
        if failed == Some(true) {
            s.failed += 1;
        }
        while !s.stopped && self.batches[s.open].iter().all(|h| s.reported.contains(h)) {
            if s.failed > self.tolerated {
                s.stopped = true;
            } else if s.open + 1 < self.batches.len() {
                s.open += 1;
            } else {
                break;
            }
        }
        drop(s);
        self.changed.notify_waiters();
    }

    /// How the rollout went, for the recap.
    fn recap(&self, step: usize, name: &str, host_name: impl Fn(usize) -> String) -> RolloutRecap {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        RolloutRecap {
            step,
            name: name.to_string(),
            started: s.announced.iter().filter(|a| **a).count(),
            batches: self.batches.len(),
            failed: s.failed,
            tolerated: self.tolerated,
            stopped: s.stopped,
            not_started: s.turned_away.iter().map(|&h| host_name(h)).collect(),
        }
    }
}

/// The rollouts of a run, by step number (only steps with a strategy).
#[derive(Debug, Default)]
pub struct Rollouts {
    by_step: BTreeMap<usize, Rollout>,
}

impl Rollouts {
    /// Rollouts for every step with a strategy, over the hosts that run.
    pub fn new(bound: &BoundWorkflow, selected: &[usize]) -> Self {
        let by_step = bound
            .steps
            .iter()
            .filter_map(|s| {
                let strategy = s.step.strategy?;
                let hosts: Vec<usize> = s.step.hosts.iter().copied().filter(|h| selected.contains(h)).collect();
                if hosts.is_empty() {
                    return None;
                }
                Some((s.step.number, Rollout::new(strategy.batches(&hosts), strategy.tolerated(hosts.len()))))
            })
            .collect();
        Rollouts { by_step }
    }

    /// The rollout of step `n`, if it has a strategy.
    pub fn get(&self, n: usize) -> Option<&Rollout> {
        self.by_step.get(&n)
    }

    /// How every rollout went, for the recap.
    pub fn recap(&self, bound: &BoundWorkflow) -> Vec<RolloutRecap> {
        let name = |h: usize| bound.workflow.inventory.hosts[h].name.clone();
        bound.steps.iter().filter_map(|s| Some(self.get(s.step.number)?.recap(s.step.number, &s.step.name, name))).collect()
    }

    /// A guard that, when dropped, tells every rollout that host `hi` will
    /// not come (again): a host task that ends in any way, a panic
    /// included, never holds up a later batch.
    pub fn leaving(&self, hi: usize) -> Leaving<'_> {
        Leaving { rollouts: self, hi }
    }
}

/// See [`Rollouts::leaving`].
pub struct Leaving<'a> {
    rollouts: &'a Rollouts,
    hi: usize,
}

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        for r in self.rollouts.by_step.values() {
            r.leave(self.hi, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn batches_open_in_turn_and_a_failure_past_the_allowance_stops_the_rest() {
        rt().block_on(async {
            let r = Arc::new(Rollout::new(vec![vec![0], vec![1], vec![2]], 0));
            assert_eq!(r.enter(0).await, Entry::Go { opened: Some((1, 3, vec![0])) });
            // Host 1 waits for batch 1 to finish.
            let r1 = r.clone();
            let waiting = tokio::spawn(async move { r1.enter(1).await });
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished());
            r.leave(0, Some(false));
            assert_eq!(waiting.await.unwrap(), Entry::Go { opened: Some((2, 3, vec![1])) });
            r.leave(1, Some(true));
            assert_eq!(r.enter(2).await, Entry::Stopped { failed: 1, tolerated: 0 });
        });
    }

    #[test]
    fn hosts_that_never_come_do_not_hold_up_their_batch() {
        rt().block_on(async {
            let r = Rollout::new(vec![vec![0, 1], vec![2]], 1);
            // Host 1 failed an earlier step: it reports that it will not come.
            r.leave(1, None);
            assert!(matches!(r.enter(0).await, Entry::Go { .. }));
            r.leave(0, Some(true));
            // One failure is tolerated: the next batch opens.
            assert!(matches!(r.enter(2).await, Entry::Go { opened: Some((2, 2, _)) }));
        });
    }
}
