//! Human rendering of a plan: per host, per step, every action with its
//! command, guard and file details, or the reason nothing needs doing.

use super::offline::{OfflinePlan, StepOutcome};
use crate::model::{Action, ActionKind, Program};
use std::fmt::Write;

fn program_line(p: &Program) -> String {
    match p {
        Program::Argv(_) => format!("$ {}", p.display()),
        Program::Script(s) => {
            let mut out = String::from("$ sh -c <<'SCRIPT'");
            for l in s.lines() {
                out.push_str("\n    ");
                out.push_str(l);
            }
            out.push_str("\n  SCRIPT");
            out
        }
    }
}

/// What an action does, in lines under its summary.
fn action_detail(a: &Action) -> String {
    let mut d = action_kind_detail(a);
    if !a.when_changed.is_empty() {
        let list: Vec<String> = a.when_changed.iter().map(|k| (k + 1).to_string()).collect();
        let _ = write!(d, "\n  only when action {} changes", list.join(" or "));
    }
    d
}

fn action_kind_detail(a: &Action) -> String {
    match &a.kind {
        ActionKind::Run(r) => {
            let mut d = program_line(&r.program);
            if let Some(g) = &r.unless {
                let _ = write!(d, "\n  unless {}", program_line(g).trim_start_matches("$ "));
            }
            if !r.env.is_empty() {
                let env: Vec<String> = r.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = write!(d, "\n  env {}", env.join(" "));
            }
            if !r.sudo {
                d.push_str("\n  as the SSH user");
            }
            if r.read_only {
                d.push_str("\n  read-only (never a change)");
            }
            if let Some(c) = &r.capture {
                let _ = write!(d, "\n  capture stdout into `{c}`{}", if r.secret { " (secret)" } else { "" });
            }
            if r.retries > 0 {
                let _ = write!(d, "\n  retries {} every {} s", r.retries, r.retry_delay_secs);
            }
            if let Some(t) = r.timeout_secs {
                let _ = write!(d, "\n  timeout {t} s");
            }
            if r.stdin.is_some() {
                d.push_str(if r.secret { "\n  stdin: (secret)" } else { "\n  with stdin" });
            }
            d
        }
        ActionKind::PutFile(f) => {
            let mut d = format!("write {} ({} bytes", f.path, f.content.len());
            if let Some(m) = f.mode {
                let _ = write!(d, ", mode {m:04o}");
            }
            if let (Some(o), Some(g)) = (&f.owner, &f.group) {
                let _ = write!(d, ", owner {o}:{g}");
            }
            d.push(')');
            d.push('\n');
            d.push_str(&crate::output::files::preview(&f.content));
            d
        }
        ActionKind::Reboot(r) => {
            format!("reboot, wait up to {} s for a new boot id", r.timeout_secs)
        }
        ActionKind::FetchFile(f) => {
            format!("read {} into `{}`{}", f.path, f.into, if f.secret { " (secret)" } else { "" })
        }
    }
}

fn indent(text: &str, pad: &str) -> String {
    text.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

/// Render a plan for a terminal (no colour; stable for snapshots).
pub fn render_human(plan: &OfflinePlan) -> String {
    let mut out = String::new();
    for h in &plan.hosts {
        let _ = writeln!(out, "{} ({})", h.host, h.address);
        if h.steps.is_empty() {
            let _ = writeln!(out, "  no step targets this host");
        }
        for c in &h.steps {
            let _ = write!(out, "  step {} {} [{}]", c.step, c.step_name, c.plugin);
            match &c.outcome {
                StepOutcome::NothingToDo { reason, reads } => {
                    let _ = writeln!(out, ": nothing to do\n{}", indent(&format!("({reason})"), "      "));
                    for (i, a) in reads.iter().enumerate() {
                        let _ = writeln!(out, "    read {}. {}", i + 1, a.summary);
                        let _ = writeln!(out, "{}", indent(&action_detail(a), "       "));
                    }
                }
                StepOutcome::Failed { error } => {
                    let _ = writeln!(out, ": FAILED\n      {error}");
                }
                StepOutcome::Changes { actions } => {
                    let _ = writeln!(out, ": {} action{}", actions.len(), if actions.len() == 1 { "" } else { "s" });
                    for (i, a) in actions.iter().enumerate() {
                        let _ = writeln!(out, "    {}. {}", i + 1, a.summary);
                        let detail = action_detail(a);
                        let _ = writeln!(out, "{}", indent(&detail, "       "));
                    }
                }
            }
        }
        out.push('\n');
    }
    let hosts_changing = plan.hosts.iter().filter(|h| h.steps.iter().any(|c| matches!(c.outcome, StepOutcome::Changes { .. }))).count();
    let _ = writeln!(
        out,
        "Plan: {} action{} on {} of {} host{}; {}{} failure{}.",
        plan.action_count(),
        if plan.action_count() == 1 { "" } else { "s" },
        hosts_changing,
        plan.hosts.len(),
        if plan.hosts.len() == 1 { "" } else { "s" },
        match plan.read_count() {
            0 => String::new(),
            n => format!("{n} read{} on converged steps; ", if n == 1 { "" } else { "s" }),
        },
        plan.failures(),
        if plan.failures() == 1 { "" } else { "s" },
    );
    out
}
