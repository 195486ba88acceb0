//! One host's run: connect once, then for each step that targets it:
//! gather facts and probes, plan in the sandbox, execute the plan.

use super::Mode;
use super::action::{HostRunner, Outcome};
use super::run::Shared;
use super::vars::WaitOutcome;
use crate::facts::{GatherScript, exec_gather, gather_script, parse_gathered, parse_probes_only};
use crate::output::event::Failure;
use crate::output::{ActionStatus, Event, HostRecap, HostState};
use crate::plan::PlanContext;
use crate::plugin::PluginError;
use crate::ssh::{Elevation, Session, connect_options};
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

struct Counts {
    ok: usize,
    changed: usize,
    failed: usize,
    skipped: usize,
}

/// Run every targeted step on host `hi`.
pub async fn run_host(shared: Arc<Shared>, hi: usize) -> HostRecap {
    let recap = run_host_inner(&shared, hi).await;
    shared.vars.host_done();
    recap
}

async fn run_host_inner(shared: &Shared, hi: usize) -> HostRecap {
    let bound = &shared.bound;
    let host = &bound.workflow.inventory.hosts[hi];
    let name = host.name.clone();
    let mut counts = Counts { ok: 0, changed: 0, failed: 0, skipped: 0 };
    let steps: Vec<&BoundStep> = bound.steps.iter().filter(|s| s.step.hosts.contains(&hi)).collect();
    let done_before: Vec<usize> = shared.resume_from.get(&name).cloned().unwrap_or_default();
    let pending: Vec<&BoundStep> = steps.iter().copied().filter(|s| !done_before.contains(&s.step.number)).collect();
    let recap = |state: HostState, counts: &Counts, failure: Option<Failure>| HostRecap {
        host: name.clone(),
        state,
        ok: counts.ok,
        changed: counts.changed,
        failed: counts.failed,
        skipped: counts.skipped,
        failure,
    };
    for s in steps.iter().filter(|s| done_before.contains(&s.step.number)) {
        shared.reporter.emit(Event::StepResumed { host: name.clone(), step: s.step.number, name: s.step.name.clone() });
    }
    if pending.is_empty() {
        shared.mark_converged(&name);
        return recap(if done_before.is_empty() { HostState::Converged } else { HostState::Skipped }, &counts, None);
    }

    let _permit = shared.forks.acquire().await.ok();
    let connect = connect_options(host, &shared.connect);
    let start = Instant::now();
    let session = match Session::connect(&connect).await {
        Ok(s) => s,
        Err(e) => {
            let failure = Failure { step: None, step_name: None, command: None, exit_code: None, error: e.to_string(), stderr_tail: None };
            shared.reporter.emit(Event::HostFailed { host: name.clone(), failure: failure.clone() });
            counts.skipped = pending.len();
            shared.note_failure();
            return recap(HostState::Unreachable, &counts, Some(failure));
        }
    };
    shared.reporter.emit(Event::HostConnected { host: name.clone(), ms: start.elapsed().as_millis() as u64 });
    let elevation = Elevation::for_user(&host.user, shared.become_password.is_some());
    let mut runner = HostRunner {
        session,
        connect,
        elevation,
        password: shared.become_password.clone(),
        mode: shared.mode,
        vars: &shared.vars,
        secrets: shared.reporter.secrets(),
        default_timeout: shared.command_timeout,
    };

    let mut facts_cache: Option<crate::facts::HostFacts> = None;
    // Facts and probes for the next step, read at the end of this step's
    // last batch (one round trip fewer per step).
    let mut prefetched: Option<Gathered> = None;
    // Probes of later steps read ahead while nothing changes on the host
    // (valid until something does): a converged host needs two round trips.
    let mut ahead: BTreeMap<usize, Probes> = BTreeMap::new();
    for (pos, s) in pending.iter().enumerate() {
        let fail = |counts: &mut Counts, failure: Failure| {
            shared.reporter.emit(Event::HostFailed { host: name.clone(), failure: failure.clone() });
            counts.skipped += pending.len() - pos - 1;
            shared.note_failure();
            failure
        };
        if shared.stop.load(Ordering::SeqCst) {
            counts.skipped += pending.len() - pos;
            runner.session.close().await;
            return recap(HostState::Interrupted, &counts, None);
        }
        let step_failure = |error: String| Failure {
            step: Some(s.step.number),
            step_name: Some(s.step.name.clone()),
            command: None,
            exit_code: None,
            error,
            stderr_tail: None,
        };

        // Plan, re-planning while a variable the plugin needs is still missing.
        let plan = loop {
            let seen = shared.vars.version();
            let t = Instant::now();
            // Facts are re-read before a step unless nothing changed on this
            // host since they were read (then they cannot differ).
            let gathered = match (prefetched.take(), ahead.remove(&s.step.number), &facts_cache) {
                (Some(g), _, _) => Ok(g),
                (None, Some(probes), Some(facts)) => Ok((facts.clone(), probes)),
                (None, _, Some(facts)) => gather_ahead(&runner, &pending[pos..], &name, facts).await.map(|(g, later)| {
                    ahead = later;
                    g
                }),
                (None, _, None) => gather(&runner, s, &name).await,
            };
            let (facts, probes) = match gathered {
                Ok(x) => x,
                Err(e) => {
                    let f = fail(&mut counts, step_failure(e));
                    runner.session.close().await;
                    return recap(HostState::Failed, &counts, Some(f));
                }
            };
            shared.reporter.emit(Event::Facts { host: name.clone(), step: s.step.number, ms: t.elapsed().as_millis() as u64 });
            facts_cache = Some(facts.clone());
            let dry = shared.mode == Mode::DryRun;
            let mut vars = shared.vars.snapshot();
            if dry {
                // Nothing ran, so nothing will be captured: placeholders, as offline.
                for v in &s.plugin.info.consumes {
                    if !vars.iter().any(|x| x.name == *v) {
                        vars.push(crate::plan::placeholder(v));
                    }
                }
            }
            let ctx = PlanContext {
                host: host.for_plugins(),
                facts,
                probes: probes.into_iter().collect(),
                inventory: bound.workflow.inventory.for_plugins(),
                params: s.params.clone(),
                vars,
                offline: dry,
            };
            let plugin = s.plugin.clone();
            let caps = s.caps.clone();
            let planned = tokio::task::spawn_blocking(move || plugin.plan(&ctx, &caps)).await;
            match planned {
                Ok(Ok(p)) => break p,
                Ok(Err(PluginError::Refused { kind: "missing variable", message, .. })) => {
                    // Probes read ahead must not outlive a wait: other hosts
                    // may change what they read (the cluster) meanwhile.
                    ahead.clear();
                    if shared.vars.wait_for_new(seen).await == WaitOutcome::Stalled {
                        let f = fail(
                            &mut counts,
                            step_failure(format!("plugin {}: {message} (no other host can capture it)", s.plugin.label())),
                        );
                        runner.session.close().await;
                        return recap(HostState::Failed, &counts, Some(f));
                    }
                }
                Ok(Err(e)) => {
                    let f = fail(&mut counts, step_failure(e.to_string()));
                    runner.session.close().await;
                    return recap(HostState::Failed, &counts, Some(f));
                }
                Err(join) => {
                    let f = fail(&mut counts, step_failure(format!("planning crashed: {join}")));
                    runner.session.close().await;
                    return recap(HostState::Failed, &counts, Some(f));
                }
            }
        };
        shared.reporter.emit(Event::StepPlanned {
            host: name.clone(),
            step: s.step.number,
            name: s.step.name.clone(),
            plugin: s.plugin.label(),
            actions: plan.actions.len(),
            reason: plan.reason.clone(),
        });

        let mut i = 0;
        while i < plan.actions.len() {
            if shared.stop.load(Ordering::SeqCst) {
                counts.skipped += plan.actions.len() - i + (pending.len() - pos - 1);
                runner.session.close().await;
                return recap(HostState::Interrupted, &counts, None);
            }
            // Consecutive plain commands go in one round trip when applying.
            let end = if shared.mode == Mode::Apply { runner.batch_end(&plan.actions, i) } else { i + 1 };
            shared.reporter.emit(Event::ActionStart {
                host: name.clone(),
                step: s.step.number,
                index: i + 1,
                summary: plan.actions[i].summary.clone(),
            });
            let t = Instant::now();
            let lost = |e: crate::ssh::SshError| Outcome {
                status: ActionStatus::Failed,
                note: Some(e.to_string()),
                command: None,
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
            };
            // The step's last batch also reads the facts and probes of the
            // host's next step, once every action of this one succeeded.
            let next = pending
                .get(pos + 1)
                .filter(|_| shared.mode == Mode::Apply && end == plan.actions.len() && runner.batchable(&plan.actions[i]));
            let next_gather = match next.map(|n| gather_script_for(&runner, n)).transpose() {
                Ok(g) => g,
                Err(e) => {
                    let f = fail(&mut counts, step_failure(e));
                    runner.session.close().await;
                    return recap(HostState::Failed, &counts, Some(f));
                }
            };
            let outcomes: Vec<Outcome> = if end - i > 1 || next_gather.is_some() {
                match runner.execute_batch(&name, &plan.actions[i..end], next_gather.as_ref()).await {
                    Ok((outcomes, gather_out)) => {
                        if let (Some(g), Some(out)) = (&next_gather, gather_out) {
                            // Unparsable output is not fatal here: the next
                            // step then gathers on its own.
                            prefetched = parse_gathered(&name, &out, g).ok();
                        }
                        outcomes
                    }
                    Err(e) => vec![lost(e)],
                }
            } else {
                vec![runner.execute(&name, &plan.actions[i]).await.unwrap_or_else(lost)]
            };
            // A batch's time is shared by its actions.
            let ms = t.elapsed().as_millis() as u64 / outcomes.len().max(1) as u64;
            for (k, outcome) in outcomes.into_iter().enumerate() {
                let idx = i + k;
                let action = &plan.actions[idx];
                if outcome.status != ActionStatus::Ok {
                    facts_cache = None;
                    ahead.clear();
                }
                match outcome.status {
                    ActionStatus::Ok => counts.ok += 1,
                    ActionStatus::Changed => counts.changed += 1,
                    ActionStatus::Skipped => counts.skipped += 1,
                    ActionStatus::Failed => counts.failed += 1,
                }
                shared.reporter.emit(Event::Action {
                    host: name.clone(),
                    step: s.step.number,
                    index: idx + 1,
                    summary: action.summary.clone(),
                    status: outcome.status,
                    note: outcome.note.clone(),
                    command: outcome.command.clone(),
                    exit_code: outcome.exit_code,
                    ms,
                    stdout_tail: tail(&outcome.stdout, 10),
                    stderr_tail: tail(&outcome.stderr, 10),
                });
                if outcome.status == ActionStatus::Failed {
                    counts.skipped += plan.actions.len() - idx - 1;
                    let failure = Failure {
                        step: Some(s.step.number),
                        step_name: Some(s.step.name.clone()),
                        command: outcome.command.clone(),
                        exit_code: outcome.exit_code,
                        error: format!("action {} ({}) failed: {}", idx + 1, action.summary, outcome.note.clone().unwrap_or_default()),
                        stderr_tail: tail(&outcome.stderr, 5),
                    };
                    let f = fail(&mut counts, failure);
                    runner.session.close().await;
                    return recap(HostState::Failed, &counts, Some(f));
                }
            }
            i = end;
        }
        if shared.mode == Mode::Apply {
            shared.mark_step_done(&name, s.step.number);
        }
    }
    runner.session.close().await;
    if shared.mode == Mode::Apply {
        shared.mark_converged(&name);
    }
    recap(HostState::Converged, &counts, None)
}

type Probes = BTreeMap<String, crate::facts::ProbeResult>;
type Gathered = (crate::facts::HostFacts, Probes);

/// With valid `facts` (nothing changed since they were read): the probes of
/// `steps[0]` and, in the same round trip, of every later step; those are
/// returned by step number, to use while the host still changes nothing.
async fn gather_ahead(
    runner: &HostRunner<'_>,
    steps: &[&BoundStep],
    host: &str,
    facts: &crate::facts::HostFacts,
) -> Result<(Gathered, BTreeMap<usize, Probes>), String> {
    let mut probes = Vec::new();
    for s in steps {
        probes.extend(s.probe_commands(&format!("{}/", s.step.number))?);
    }
    let g = gather_script(&probes, runner.elevation, runner.password.as_deref(), false);
    let out = exec_gather(&runner.session, &g).await?;
    let mut by_step: BTreeMap<usize, Probes> = steps.iter().map(|s| (s.step.number, Probes::new())).collect();
    for (key, result) in parse_probes_only(host, &out, &g).map_err(|e| e.to_string())? {
        if let Some((n, name)) = key.split_once('/')
            && let Some(m) = n.parse().ok().and_then(|n: usize| by_step.get_mut(&n))
        {
            m.insert(name.to_string(), result);
        }
    }
    let first = by_step.remove(&steps[0].step.number).unwrap_or_default();
    Ok(((facts.clone(), first), by_step))
}

/// The gather script for step `s`: the core facts and this step's probes.
fn gather_script_for(runner: &HostRunner<'_>, s: &BoundStep) -> Result<GatherScript, String> {
    Ok(gather_script(&s.probe_commands("")?, runner.elevation, runner.password.as_deref(), true))
}

/// Facts and this step's probes, in one round trip.
async fn gather(runner: &HostRunner<'_>, s: &BoundStep, host: &str) -> Result<Gathered, String> {
    let g = gather_script_for(runner, s)?;
    let out = exec_gather(&runner.session, &g).await?;
    parse_gathered(host, &out, &g).map_err(|e| e.to_string())
}
