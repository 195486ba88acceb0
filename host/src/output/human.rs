//! Plain-line rendering of events for people (also used when stdout is not
//! a terminal).

use super::event::{ActionStatus, Event, HostState};
use std::fmt::Write;

/// Renders events one line at a time.
#[derive(Debug, Default)]
pub struct HumanReporter {
    width: usize,
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl HumanReporter {
    /// The text for one event, if it shows anything.
    pub fn render(&mut self, e: &Event) -> Option<String> {
        let mut o = String::new();
        match e {
            Event::RunStart { workflow, hosts, steps, mode, run_id, probes } => {
                self.width = hosts.iter().map(|h| h.len()).max().unwrap_or(4);
                let _ = writeln!(
                    o,
                    "{} {workflow}: {} step{} on {} host{} (run {run_id})",
                    if mode == "dry-run" { "Dry run of" } else { "Running" },
                    steps,
                    if *steps == 1 { "" } else { "s" },
                    hosts.len(),
                    if hosts.len() == 1 { "" } else { "s" }
                );
                if mode == "dry-run" {
                    o.push_str(&crate::workflow::render_probes(probes));
                }
            }
            Event::HostConnected { host, ms } => {
                let _ = writeln!(o, "{host:w$}  connected ({ms} ms)", w = self.width);
            }
            Event::Facts { .. } | Event::ActionStart { .. } => return None,
            Event::StepResumed { host, step, name } => {
                let _ = writeln!(o, "{host:w$}  step {step} {name}: done in the resumed run, skipped", w = self.width);
            }
            Event::StepPlanned { host, step, name, plugin, actions, reason } => {
                if *actions == 0 {
                    let _ = writeln!(
                        o,
                        "{host:w$}  step {step} {name} [{plugin}]: nothing to do ({})",
                        reason.as_deref().unwrap_or(""),
                        w = self.width
                    );
                } else {
                    let _ = writeln!(
                        o,
                        "{host:w$}  step {step} {name} [{plugin}]: {actions} action{}",
                        if *actions == 1 { "" } else { "s" },
                        w = self.width
                    );
                }
            }
            Event::Action { host, summary, status, note, exit_code, ms, stderr_tail, diff, .. } => {
                let word = match status {
                    ActionStatus::Ok => "ok",
                    ActionStatus::Changed => "changed",
                    ActionStatus::Skipped => "skipped",
                    ActionStatus::Failed => "FAILED",
                };
                let _ = write!(o, "{host:w$}    {word:<8} {summary} ({ms} ms)", w = self.width);
                if let Some(n) = note {
                    let _ = write!(o, " - {n}");
                }
                o.push('\n');
                for l in diff.iter().flat_map(|d| d.lines()) {
                    let _ = writeln!(o, "{:w$}      {l}", "", w = self.width);
                }
                if *status == ActionStatus::Failed {
                    if let Some(c) = exit_code {
                        let _ = writeln!(o, "{:w$}      exit code {c}", "", w = self.width);
                    }
                    if let Some(t) = stderr_tail.as_deref().filter(|t| !t.trim().is_empty()) {
                        for l in tail(t, 5).lines() {
                            let _ = writeln!(o, "{:w$}      | {l}", "", w = self.width);
                        }
                    }
                }
            }
            Event::BatchStarted { step, name, batch, batches, hosts } => {
                let _ = writeln!(o, "step {step} {name}: batch {batch} of {batches}: {}", hosts.join(", "));
            }
            Event::NotStarted { host, step, name, failed, tolerated } => {
                let _ = writeln!(
                    o,
                    "{host:w$}  step {step} {name}: NOT STARTED: the rollout stopped after {failed} failed host{} ({tolerated} tolerated)",
                    if *failed == 1 { "" } else { "s" },
                    w = self.width
                );
            }
            Event::HostFailed { host, failure } => {
                let at = failure.step.map(|s| format!(" at step {s} {}", failure.step_name.as_deref().unwrap_or(""))).unwrap_or_default();
                let _ = writeln!(o, "{host:w$}  FAILED{at}: {}", failure.error, w = self.width);
            }
            Event::Recap { hosts, ms, dry_run, rollouts } => {
                let _ = writeln!(
                    o,
                    "\n{} ({:.1} s):",
                    if *dry_run { "Dry-run recap (changed = would change)" } else { "Recap" },
                    *ms as f64 / 1000.0
                );
                for h in hosts {
                    let state = match h.state {
                        HostState::Converged => "converged",
                        HostState::Failed => "FAILED",
                        HostState::Unreachable => "UNREACHABLE",
                        HostState::Interrupted => "interrupted",
                        HostState::Skipped => "already done",
                        HostState::NotStarted => "NOT STARTED (rollout stopped)",
                    };
                    let _ = writeln!(
                        o,
                        "  {:w$}  ok={:<3} changed={:<3} failed={:<3} skipped={:<3} {state}",
                        h.host,
                        h.ok,
                        h.changed,
                        h.failed,
                        h.skipped,
                        w = self.width
                    );
                }
                for h in hosts {
                    if let Some(f) = &h.failure {
                        let step = f
                            .step
                            .map(|s| format!("step {s} {}", f.step_name.as_deref().unwrap_or("")))
                            .unwrap_or_else(|| "connecting".into());
                        let _ = writeln!(o, "\n  {} failed at {step}: {}", h.host, f.error);
                        if let Some(c) = &f.command {
                            let _ = writeln!(o, "    command: {c}");
                        }
                        if let Some(c) = f.exit_code {
                            let _ = writeln!(o, "    exit code: {c}");
                        }
                        if let Some(t) = f.stderr_tail.as_deref().filter(|t| !t.trim().is_empty()) {
                            for l in tail(t, 5).lines() {
                                let _ = writeln!(o, "    | {l}");
                            }
                        }
                    }
                }
                for r in rollouts {
                    let how = if r.stopped {
                        format!(
                            "STOPPED after {} failed host{} ({} tolerated); not started: {}",
                            r.failed,
                            if r.failed == 1 { "" } else { "s" },
                            r.tolerated,
                            r.not_started.join(", ")
                        )
                    } else {
                        format!("{} failed ({} tolerated)", r.failed, r.tolerated)
                    };
                    let _ = writeln!(o, "\n  step {} {}: rolled out {} of {} batches, {how}", r.step, r.name, r.started, r.batches);
                }
            }
        }
        Some(o)
    }
}
