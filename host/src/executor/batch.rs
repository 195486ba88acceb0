//! Several consecutive `run` actions of one step sent in one round trip:
//! one `sh -s` whose script runs each action (after its guard) and prints
//! delimited results, stopping at the first failure. Only plain actions are
//! batched (no stdin, capture, secret or retries; no sudo password), so each
//! one behaves exactly as it would on its own channel.

use super::action::{HostRunner, Outcome};
use crate::output::ActionStatus;
use crate::plan::{Action, ActionKind, Program};
use crate::ssh::{Elevation, SshError, build_command, quote};
use std::time::Duration;

impl HostRunner<'_> {
    fn batchable(&self, a: &Action) -> bool {
        self.elevation != Elevation::SudoPassword
            && matches!(&a.kind, ActionKind::Run(r) if r.stdin.is_none() && r.capture.is_none() && !r.secret && r.retries == 0)
    }

    /// End (exclusive) of the batch starting at `start`: at least one action.
    pub fn batch_end(&self, actions: &[Action], start: usize) -> usize {
        let mut end = start;
        while end < actions.len() && self.batchable(&actions[end]) {
            end += 1;
        }
        end.max(start + 1)
    }

    /// Run `actions` (all batchable) in one round trip. Returns one outcome
    /// per action, or fewer ending with the failure that stopped the batch.
    pub async fn execute_batch(&self, actions: &[Action]) -> Result<Vec<Outcome>, SshError> {
        let boundary = format!("@@plait-{}@@", uuid::Uuid::new_v4().simple());
        let mut script = format!("B={}\nt=$(mktemp) || exit 97\ntrap 'rm -f \"$t\"' EXIT\n", quote(&boundary));
        let mut limit = Duration::from_secs(30);
        let mut lines = Vec::with_capacity(actions.len());
        for (k, a) in actions.iter().enumerate() {
            let ActionKind::Run(r) = &a.kind else { unreachable!("only run actions are batched") };
            let elevation = if r.sudo { self.elevation } else { Elevation::None };
            let line = build_command(&r.program, &r.env, elevation, r.timeout_secs).line;
            limit += r.timeout_secs.map(|t| Duration::from_secs(u64::from(t) + 30)).unwrap_or(self.default_timeout);
            script.push_str(&format!("printf '%s action {k}\\n' \"$B\"\n"));
            let run = format!(
                "{{ {line}\n}} </dev/null 2>\"$t\"; rc=$?\nprintf '\\n%s exit {k} %s\\n' \"$B\" \"$rc\"; cat \"$t\"; printf '\\n%s stderr-end {k}\\n' \"$B\"\n[ \"$rc\" -eq 0 ] || exit 0\n"
            );
            match &r.unless {
                Some(g) => {
                    let guard = build_command(g, &r.env, elevation, Some(120)).line;
                    script.push_str(&format!(
                        "if {{ {guard}\n}} >/dev/null 2>&1 </dev/null; then printf '\\n%s ok {k}\\n' \"$B\"; else\n{run}fi\n"
                    ));
                }
                None => script.push_str(&run),
            }
            lines.push(line);
        }
        let sh = build_command(&Program::Argv(vec!["sh".into(), "-s".into()]), &[], Elevation::None, None);
        let out = self.session.exec(&sh.line, Some(script.as_bytes()), limit).await?;
        let text = out.stdout_text();
        let mut outcomes = Vec::with_capacity(actions.len());
        for (k, a) in actions.iter().enumerate() {
            let ActionKind::Run(r) = &a.kind else { unreachable!() };
            let start = format!("{boundary} action {k}\n");
            let Some(pos) = text.find(&start) else { break };
            let body = &text[pos + start.len()..];
            let ok_marker = format!("\n{boundary} ok {k}\n");
            let exit_marker = format!("\n{boundary} exit {k} ");
            // A passing guard prints nothing else before its marker.
            if body.starts_with(&ok_marker) {
                let guard = r.unless.as_ref().map(Program::display).unwrap_or_default();
                outcomes.push(Outcome {
                    status: ActionStatus::Ok,
                    note: Some(format!("already done (guard `{guard}` passed)")),
                    command: Some(lines[k].clone()),
                    exit_code: Some(0),
                    stdout: String::new(),
                    stderr: String::new(),
                });
                continue;
            }
            let Some(e) = body.find(&exit_marker) else {
                return Err(SshError::Lost {
                    host: a.summary.clone(),
                    detail: format!("the batch stopped inside action {} without a result", k + 1),
                });
            };
            let stdout = body[..e].to_string();
            let after = &body[e + exit_marker.len()..];
            let (code, rest) = after.split_once('\n').unwrap_or((after, ""));
            let code: i32 = code.trim().parse().unwrap_or(-1);
            let end_marker = format!("\n{boundary} stderr-end {k}\n");
            let stderr = rest.find(&end_marker).map(|i| rest[..i].to_string()).unwrap_or_default();
            let status = match (code, r.read_only) {
                (0, true) => ActionStatus::Ok,
                (0, false) => ActionStatus::Changed,
                _ => ActionStatus::Failed,
            };
            let note = match (status, r.timeout_secs, code) {
                (ActionStatus::Failed, Some(t), 124 | 137) => Some(format!("timed out after {t} s; the remote command was killed")),
                (ActionStatus::Failed, _, _) => Some("command failed".to_string()),
                _ => None,
            };
            outcomes.push(Outcome { status, note, command: Some(lines[k].clone()), exit_code: Some(code), stdout, stderr });
            if status == ActionStatus::Failed {
                break;
            }
        }
        if outcomes.is_empty() || (outcomes.len() < actions.len() && outcomes.last().is_none_or(|o| o.status != ActionStatus::Failed)) {
            // The script ended early without reporting a failure (killed, or
            // mktemp failed): say so on the first action without a result.
            let k = outcomes.len();
            outcomes.push(Outcome {
                status: ActionStatus::Failed,
                note: Some(format!("no result (the batch exited with code {}: {})", out.exit_code, out.stderr_text().trim())),
                command: Some(lines[k].clone()),
                exit_code: Some(out.exit_code),
                stdout: String::new(),
                stderr: out.stderr_text(),
            });
        }
        Ok(outcomes)
    }
}
