//! One host's run: connect once, then for each step that targets it,
//! [`HostRun::facts_for`] (gather, or reuse what is still valid),
//! [`HostRun::plan_step`] (the plugin in the sandbox, again while a
//! variable is missing) and [`HostRun::apply`] (the plan, batched). Each
//! returns `Err(HostStop)` when the host cannot go on; [`HostRun::run`] is
//! the one place that turns that into events and the recap.

use super::Mode;
use super::known::{Gathered, Known, Probes};
use super::outcome::Outcome;
use super::rollout::{Entry, Rollout};
use super::runner::HostRunner;
use super::shared::Shared;
use super::transport::{GatherFailed, SshTransport, Transport, gather};
use super::vars::WaitOutcome;
use crate::facts::{GatherError, GatherScript, gather_script, parse_gathered, parse_probes_only};
use crate::model::PlanContext;
use crate::model::{ActionKind, FactSet, HostFacts};
use crate::output::event::Failure;
use crate::output::{ActionStatus, Event, HostRecap, HostState};
use crate::plugin::PlanOutput as Plan;
use crate::plugin::PluginError;
use crate::ssh::{Elevation, connect_options};
use crate::workflow::BoundStep;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

fn tail(s: &str, lines: usize) -> Option<String> {
    let v: Vec<&str> = s.lines().collect();
    let t = v[v.len().saturating_sub(lines)..].join("\n");
    (!t.trim().is_empty()).then_some(t)
}

/// Why facts and probes could not be read.
#[derive(Debug, thiserror::Error)]
enum FactsError {
    /// The round trip failed.
    #[error(transparent)]
    Gather(#[from] GatherFailed),
    /// Its output cannot be understood.
    #[error(transparent)]
    Parse(#[from] GatherError),
}

/// Why a host stops before its last step.
#[derive(Debug)]
enum HostStop {
    /// It failed (reported, the rest skipped).
    Failed(Failure),
    /// The run was stopped (Ctrl-C, fail-fast): the rest is skipped.
    Interrupted,
}

#[derive(Debug, Default)]
struct Counts {
    ok: usize,
    changed: usize,
    failed: usize,
    skipped: usize,
}

/// Run every targeted step on host `hi`; the host is done for the
/// variable store whatever happens (no other host waits on it forever).
pub async fn run_host(shared: Arc<Shared>, hi: usize) -> HostRecap {
    // Done for the store however the task ends, a panic included.
    let _running = shared.vars.running();
    // Not coming (again) to any rolling step, however the task ends.
    let _rolling = shared.rollouts.leaving(hi);
    connect_and_run(&shared, hi).await
}

async fn connect_and_run(shared: &Shared, hi: usize) -> HostRecap {
    let host = &shared.bound.workflow.inventory.hosts[hi];
    let name = host.name.clone();
    let steps: Vec<&BoundStep> = shared.bound.steps.iter().filter(|s| s.step.hosts.contains(&hi)).collect();
    let done_before: Vec<usize> = shared.resume_from.get(&name).cloned().unwrap_or_default();
    for s in steps.iter().filter(|s| done_before.contains(&s.step.number)) {
        shared.reporter.emit(Event::StepResumed { host: name.clone(), step: s.step.number, name: s.step.name.clone() });
        // Done in the earlier run: its batch need not wait for it.
        if let Some(r) = shared.rollouts.get(s.step.number) {
            r.leave(hi, Some(false));
        }
    }
    // Steps done in the run being resumed are skipped, except that those
    // whose plugin captures variables run their read-only captures again:
    // hosts still unfinished may need those values (a join command), and
    // the journal does not keep them (they may be secrets).
    let recapture: Vec<usize> = steps
        .iter()
        .filter(|s| done_before.contains(&s.step.number) && !s.plugin.info.produces.is_empty())
        .map(|s| s.step.number)
        .collect();
    let pending: Vec<&BoundStep> =
        steps.into_iter().filter(|s| !done_before.contains(&s.step.number) || recapture.contains(&s.step.number)).collect();
    let recap = |state: HostState, counts: Counts, failure: Option<Failure>| HostRecap {
        host: name.clone(),
        state,
        ok: counts.ok,
        changed: counts.changed,
        failed: counts.failed,
        skipped: counts.skipped,
        failure,
    };
    if pending.is_empty() {
        shared.mark_converged(&name);
        return recap(if done_before.is_empty() { HostState::Converged } else { HostState::Skipped }, Counts::default(), None);
    }
    let only_recapture = pending.iter().all(|s| recapture.contains(&s.step.number));

    let permit = shared.forks.acquire().await.ok();
    let start = Instant::now();
    let transport = match SshTransport::connect(connect_options(host, &shared.connect)).await {
        Ok(t) => t,
        Err(e) => {
            let failure = Failure { step: None, step_name: None, command: None, exit_code: None, error: e.to_string(), stderr_tail: None };
            shared.reporter.emit(Event::HostFailed { host: name.clone(), failure: failure.clone() });
            shared.note_failure();
            return recap(HostState::Unreachable, Counts { skipped: pending.len(), ..Counts::default() }, Some(failure));
        }
    };
    shared.reporter.emit(Event::HostConnected { host: name.clone(), ms: start.elapsed().as_millis() as u64 });
    let runner = HostRunner::new(
        transport,
        Elevation::for_user(&host.user, shared.become_password.is_some()),
        shared.become_password.clone(),
        shared.mode,
        &shared.vars,
        shared.reporter.secrets(),
        shared.command_timeout,
    );
    let run =
        HostRun { shared, hi, name: name.clone(), pending, recapture, counts: Counts::default(), known: Known::default(), runner, permit };
    let (state, counts, failure) = run.run().await;
    // A host that only captured again was done before: it stays "skipped".
    let state = if only_recapture && state == HostState::Converged { HostState::Skipped } else { state };
    recap(state, counts, failure)
}

/// A connected host working through its pending steps.
struct HostRun<'a, T: Transport> {
    shared: &'a Shared,
    hi: usize,
    name: String,
    pending: Vec<&'a BoundStep>,
    /// Steps (numbers) done before, run again only for their captures.
    recapture: Vec<usize>,
    counts: Counts,
    known: Known,
    runner: HostRunner<'a, T>,
    /// This host's place among `--forks`; given up while it waits for its
    /// batch of a rolling step, so the hosts it waits for can run.
    permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl<'a, T: Transport> HostRun<'a, T> {
    /// Every pending step, then close; the recap's state, counts and failure.
    async fn run(mut self) -> (HostState, Counts, Option<Failure>) {
        let n = self.pending.len();
        let mut end = (HostState::Converged, None);
        for pos in 0..n {
            if self.shared.stop.load(Ordering::SeqCst) {
                self.counts.skipped += n - pos;
                end = (HostState::Interrupted, None);
                break;
            }
            let again = self.recapture.contains(&self.pending[pos].step.number);
            let rollout = if again { None } else { self.shared.rollouts.get(self.pending[pos].step.number) };
            if let Some(r) = rollout {
                if let Entry::Stopped { failed, tolerated } = self.enter_batch(pos, r).await {
                    let s = &self.pending[pos].step;
                    self.shared.reporter.emit(Event::NotStarted {
                        host: self.name.clone(),
                        step: s.number,
                        name: s.name.clone(),
                        failed,
                        tolerated,
                    });
                    self.counts.skipped += n - pos;
                    end = (HostState::NotStarted, None);
                    break;
                }
                if self.shared.stop.load(Ordering::SeqCst) {
                    self.counts.skipped += n - pos;
                    end = (HostState::Interrupted, None);
                    break;
                }
            }
            let result = match self.plan_step(pos).await {
                Ok(mut plan) => {
                    if again {
                        // Only what reads a value into a variable; the
                        // step's changes were made in the earlier run.
                        plan.actions.retain(|a| {
                            a.when_changed.is_empty()
                                && match &a.kind {
                                    ActionKind::Run(r) => r.read_only && r.capture.is_some(),
                                    ActionKind::FetchFile(_) => true,
                                    _ => false,
                                }
                        });
                    }
                    self.apply(pos, &plan).await
                }
                Err(stop) => Err(stop),
            };
            if let Some(r) = rollout {
                r.leave(
                    self.hi,
                    match &result {
                        Ok(()) => Some(false),
                        Err(HostStop::Failed(_)) => Some(true),
                        Err(HostStop::Interrupted) => None,
                    },
                );
            }
            match result {
                Ok(()) if again => {}
                Ok(()) => {
                    if self.shared.mode == Mode::Apply {
                        self.shared.mark_step_done(&self.name, self.pending[pos].step.number);
                    }
                }
                Err(stop) => {
                    self.counts.skipped += n - pos - 1;
                    end = match stop {
                        HostStop::Interrupted => (HostState::Interrupted, None),
                        HostStop::Failed(f) => {
                            self.shared.reporter.emit(Event::HostFailed { host: self.name.clone(), failure: f.clone() });
                            self.shared.note_failure();
                            (HostState::Failed, Some(f))
                        }
                    };
                    break;
                }
            }
        }
        self.runner.transport.close().await;
        if end.0 == HostState::Converged && self.shared.mode == Mode::Apply {
            self.shared.mark_converged(&self.name);
        }
        (end.0, self.counts, end.1)
    }

    /// Wait for this host's batch of rolling step `r`, announcing the batch
    /// when this host opens it. While waiting, the host gives up its fork
    /// and counts as parked for the variable store.
    async fn enter_batch(&mut self, pos: usize, r: &Rollout) -> Entry {
        let entry = match r.check(self.hi) {
            Some(entry) => entry,
            None => {
                let parked = self.shared.vars.parked();
                self.permit = None;
                let entry = r.enter(self.hi).await;
                drop(parked);
                self.permit = self.shared.forks.acquire().await.ok();
                entry
            }
        };
        if let Entry::Go { opened: Some((batch, batches, hosts)) } = &entry {
            let s = &self.pending[pos].step;
            let inv = &self.shared.bound.workflow.inventory;
            self.shared.reporter.emit(Event::BatchStarted {
                step: s.number,
                name: s.name.clone(),
                batch: *batch,
                batches: *batches,
                hosts: hosts.iter().map(|&h| inv.hosts[h].name.clone()).collect(),
            });
        }
        entry
    }

    fn step_failure(&self, pos: usize, error: String) -> HostStop {
        let s = &self.pending[pos].step;
        HostStop::Failed(Failure {
            step: Some(s.number),
            step_name: Some(s.name.clone()),
            command: None,
            exit_code: None,
            error,
            stderr_tail: None,
        })
    }

    /// Facts and probes for step `pos`: what the previous step's last batch
    /// read, or facts and probes read ahead while nothing changed, or one
    /// round trip (which, with valid facts, also reads what later steps
    /// need that is not known yet). Only the fact groups the step's plugin
    /// declares are read.
    async fn facts_for(&mut self, pos: usize) -> Result<Gathered, HostStop> {
        let s = self.pending[pos];
        if let Some(g) = self.known.take(s.step.number, s.plugin.info.facts) {
            return Ok(g);
        }
        let gathered = match self.known.facts() {
            Some(facts) => self.gather_ahead(pos, facts.clone()).await,
            None => self.gather(s).await,
        };
        gathered.map_err(|e| self.step_failure(pos, e.to_string()))
    }

    /// Plan step `pos` in the sandbox, planning again while a variable the
    /// plugin needs is not captured yet (until no host can capture it).
    async fn plan_step(&mut self, pos: usize) -> Result<Plan, HostStop> {
        let s = self.pending[pos];
        let bound = &self.shared.bound;
        let host = &bound.workflow.inventory.hosts[self.hi];
        loop {
            let seen = self.shared.vars.version();
            let t = Instant::now();
            let (facts, probes) = self.facts_for(pos).await?;
            self.shared.reporter.emit(Event::Facts { host: self.name.clone(), step: s.step.number, ms: t.elapsed().as_millis() as u64 });
            self.known.read(facts.clone());
            let dry = self.shared.mode == Mode::DryRun;
            // Only what the plugin consumes, from the step that produces it.
            let mut vars = super::vars::visible(self.shared.vars.snapshot(), &s.var_sources);
            if dry {
                // Nothing ran, so nothing will be captured: placeholders, as offline.
                for v in &s.plugin.info.consumes {
                    if !vars.iter().any(|x| x.name == *v) {
                        vars.push(crate::model::placeholder(v));
                    }
                }
            }
            let ctx = PlanContext {
                host: host.for_plugins(),
                facts,
                probes: probes.into_iter().collect(),
                inventory: self.shared.plugin_inventory.clone(),
                params: s.params.clone(),
                vars,
                offline: dry,
            };
            let plugin = s.plugin.clone();
            let caps = s.caps.clone();
            match tokio::task::spawn_blocking(move || plugin.plan(&ctx, &caps)).await {
                Ok(Ok(plan)) => {
                    let secrets = self.shared.reporter.secrets();
                    for l in &plan.logs {
                        tracing::debug!(plugin = %s.plugin.label(), host = %self.name, source = ?l.source, "{}", secrets.mask(&l.message));
                    }
                    self.shared.reporter.emit(Event::StepPlanned {
                        host: self.name.clone(),
                        step: s.step.number,
                        name: s.step.name.clone(),
                        plugin: s.plugin.label(),
                        actions: plan.actions.len(),
                        reason: plan.reason.clone(),
                    });
                    return Ok(plan);
                }
                Ok(Err(PluginError::Refused { kind: "missing variable", message, .. })) => {
                    // Probes read ahead must not outlive a wait: other hosts
                    // may change what they read (the cluster) meanwhile.
                    self.known.forget_ahead();
                    match self.shared.vars.wait_for_new(seen).await {
                        WaitOutcome::NewValues => {}
                        WaitOutcome::Stalled => {
                            let limit = match self.shared.left_out {
                                0 => String::new(),
                                n => format!("; --limit leaves out {n} host{} that might", if n == 1 { "" } else { "s" }),
                            };
                            let why = format!("plugin {}: {message} (no other host can capture it{limit})", s.plugin.label());
                            return Err(self.step_failure(pos, why));
                        }
                        WaitOutcome::Interrupted => return Err(HostStop::Interrupted),
                    }
                }
                Ok(Err(e)) => return Err(self.step_failure(pos, s.locate(e).to_string())),
                Err(join) => return Err(self.step_failure(pos, format!("planning crashed: {join}"))),
            }
        }
    }

    /// Execute step `pos`'s plan: consecutive batchable actions in one
    /// round trip, the step's last batch also reading the next step's facts.
    async fn apply(&mut self, pos: usize, plan: &Plan) -> Result<(), HostStop> {
        let s = self.pending[pos];
        self.runner.step = s.step.number;
        self.runner.root = s.caps.sudo;
        self.runner.dry_reads = s.caps.dry_run_reads;
        self.runner.readable = s.caps.reads.clone();
        let mut changed = vec![false; plan.actions.len()];
        let mut i = 0;
        while i < plan.actions.len() {
            if self.shared.stop.load(Ordering::SeqCst) {
                self.counts.skipped += plan.actions.len() - i;
                return Err(HostStop::Interrupted);
            }
            let after = &plan.actions[i].when_changed;
            if !after.is_empty() && !after.iter().any(|&k| changed.get(k as usize) == Some(&true)) {
                let list: Vec<String> = after.iter().map(|k| (k + 1).to_string()).collect();
                let dry = if self.runner.apply().is_some() { "" } else { "would run if it changes; " };
                let note = format!("{dry}runs only when action {} changes, and it did not", list.join(" or "));
                self.report(pos, i, &plan.actions[i].summary, &Outcome::new(ActionStatus::Skipped, note), 0);
                i += 1;
                continue;
            }
            // An action that depends on others starts a batch of its own.
            let end = self.runner.batch_end(&plan.actions, i);
            let end = (i + 1..end).find(|&k| !plan.actions[k].when_changed.is_empty()).unwrap_or(end);
            self.shared.reporter.emit(Event::ActionStart {
                host: self.name.clone(),
                step: s.step.number,
                index: i + 1,
                summary: plan.actions[i].summary.clone(),
            });
            let t = Instant::now();
            let outcomes = self.execute(pos, &plan.actions[i..end], end == plan.actions.len()).await?;
            // A batch's time is shared by its actions.
            let ms = t.elapsed().as_millis() as u64 / outcomes.len().max(1) as u64;
            for (k, outcome) in outcomes.into_iter().enumerate() {
                let idx = i + k;
                changed[idx] = outcome.status == ActionStatus::Changed;
                self.report(pos, idx, &plan.actions[idx].summary, &outcome, ms);
                if outcome.status == ActionStatus::Failed {
                    self.counts.skipped += plan.actions.len() - idx - 1;
                    let action = &plan.actions[idx];
                    return Err(HostStop::Failed(Failure {
                        step: Some(s.step.number),
                        step_name: Some(s.step.name.clone()),
                        command: outcome.command.clone(),
                        exit_code: outcome.exit_code,
                        error: format!("action {} ({}) failed: {}", idx + 1, action.summary, outcome.note.clone().unwrap_or_default()),
                        stderr_tail: tail(&outcome.stderr, 5),
                    }));
                }
            }
            i = end;
        }
        Ok(())
    }

    /// Execute `actions` (one, or a batch); a batch that ends the step also
    /// reads the next step's facts and probes.
    async fn execute(&mut self, pos: usize, actions: &[crate::model::Action], last: bool) -> Result<Vec<Outcome>, HostStop> {
        let Some(apply) = self.runner.apply() else {
            // A dry run assesses one action at a time and changes nothing.
            return Ok(vec![self.runner.execute(&self.name, &actions[0]).await.unwrap_or_else(|e| Outcome::lost(&e))]);
        };
        let next = self.pending.get(pos + 1).filter(|_| last && self.runner.batchable(&actions[0]));
        let next_gather = next.map(|n| self.gather_script(n)).filter(|g| g.root.is_none());
        if actions.len() == 1 && next_gather.is_none() {
            return Ok(vec![self.runner.execute(&self.name, &actions[0]).await.unwrap_or_else(|e| Outcome::lost(&e))]);
        }
        match self.runner.execute_batch(apply, &self.name, actions, next_gather.as_ref()).await {
            Ok((outcomes, gathered)) => {
                if let (Some(g), Some(out)) = (&next_gather, gathered) {
                    // Unparsable output is not fatal here: the next step
                    // then gathers on its own.
                    if let Ok(next) = parse_gathered(&self.name, &out, g) {
                        self.known.prefetched(next);
                    }
                }
                Ok(outcomes)
            }
            Err(e) => Ok(vec![Outcome::lost(&e)]),
        }
    }

    /// Count and report one action's outcome; anything but `ok` means the
    /// host changed (or may have), so what was read about it is stale.
    fn report(&mut self, pos: usize, idx: usize, summary: &str, outcome: &Outcome, ms: u64) {
        if outcome.status != ActionStatus::Ok {
            self.known.changed();
        }
        match outcome.status {
            ActionStatus::Ok => self.counts.ok += 1,
            ActionStatus::Changed => self.counts.changed += 1,
            ActionStatus::Skipped => self.counts.skipped += 1,
            ActionStatus::Failed => self.counts.failed += 1,
        }
        self.shared.reporter.emit(Event::Action {
            host: self.name.clone(),
            step: self.pending[pos].step.number,
            index: idx + 1,
            summary: summary.to_string(),
            status: outcome.status,
            note: outcome.note.clone(),
            command: outcome.command.clone(),
            exit_code: outcome.exit_code,
            ms,
            stdout_tail: tail(&outcome.stdout, 10),
            stderr_tail: tail(&outcome.stderr, 10),
            diff: outcome.diff.clone(),
        });
    }

    /// The gather script for step `s`: the facts its plugin reads, and its probes.
    fn gather_script(&self, s: &BoundStep) -> GatherScript {
        gather_script(&s.probe_commands(""), self.runner.elevation, self.runner.password.as_deref(), Some(s.plugin.info.facts))
    }

    /// Facts and step `s`'s probes, in one round trip.
    async fn gather(&self, s: &BoundStep) -> Result<Gathered, FactsError> {
        let g = self.gather_script(s);
        let out = gather(&self.runner.transport, &g).await?;
        Ok(parse_gathered(&self.name, &out, &g)?)
    }

    /// With valid `facts` (nothing changed since they were read): the probes
    /// of step `pos` and, in the same round trip, of every later step, plus
    /// the fact groups any of them reads that `facts` lacks; kept to use
    /// while the host still changes nothing.
    async fn gather_ahead(&mut self, pos: usize, mut facts: HostFacts) -> Result<Gathered, FactsError> {
        let steps = &self.pending[pos..];
        let mut probes = Vec::new();
        let mut groups = FactSet::EMPTY;
        for s in steps {
            probes.extend(s.probe_commands(&format!("{}/", s.step.number)));
            groups = groups.union(s.plugin.info.facts);
        }
        let missing = groups.minus(facts.gathered);
        let core = (!missing.is_empty()).then_some(missing);
        let g = gather_script(&probes, self.runner.elevation, self.runner.password.as_deref(), core);
        let out = gather(&self.runner.transport, &g).await?;
        let read = if core.is_some() {
            let (newer, probes) = parse_gathered(&self.name, &out, &g)?;
            facts.merge(newer);
            probes
        } else {
            parse_probes_only(&self.name, &out, &g)?
        };
        let mut by_step: BTreeMap<usize, Probes> = steps.iter().map(|s| (s.step.number, Probes::new())).collect();
        for (key, result) in read {
            if let Some((n, name)) = key.split_once('/')
                && let Some(m) = n.parse().ok().and_then(|n: usize| by_step.get_mut(&n))
            {
                m.insert(name.to_string(), result);
            }
        }
        let first = by_step.remove(&steps[0].step.number).unwrap_or_default();
        self.known.ahead(by_step);
        Ok((facts, first))
    }
}
