//! Consecutive actions of one step sent in one round trip: one `sh -s`
//! whose script runs each action (after its guard, with its retries) and
//! prints delimited results, stopping at the first failure. Each action
//! behaves as it would on its own channel: same command line, same
//! elevation, stdin from `/dev/null` (or, for a file upload, the content).
//!
//! Batched: `run` without stdin, and `put-file` whose content is text
//! ending in a newline (it travels in a quoted here-document, so never on a
//! command line) up to 64 KiB. Not batched: reboots, fetches, runs with
//! stdin, and everything when sudo needs a password (it goes on stdin).

use super::action::{HostRunner, Outcome, PUT_BATCHED, file_mode_umask};
use crate::facts::GatherScript;
use crate::output::ActionStatus;
use crate::plan::{Action, ActionKind, Program, PutFile, Run};
use crate::ssh::{Elevation, SshError, build_command, quote};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Largest file content sent inside a batch script.
const MAX_BATCHED_CONTENT: usize = 64 * 1024;

fn batchable_put(f: &PutFile) -> bool {
    f.content.len() <= MAX_BATCHED_CONTENT
        && f.content.last() == Some(&b'\n')
        && !f.content.contains(&0)
        && std::str::from_utf8(&f.content).is_ok()
}

/// What one batched action looks like on the wire.
struct Item {
    /// The command line shown in reports.
    shown: String,
    /// Shell code: runs the action, leaves its exit code in `rc`, its stdout
    /// on the batch's stdout and its stderr in "$t".
    code: String,
}

impl HostRunner<'_> {
    /// Whether `a` can go in a batch.
    pub fn batchable(&self, a: &Action) -> bool {
        self.elevation != Elevation::SudoPassword
            && match &a.kind {
                ActionKind::Run(r) => r.stdin.is_none(),
                ActionKind::PutFile(f) => batchable_put(f),
                _ => false,
            }
    }

    /// End (exclusive) of the batch starting at `start`: at least one action.
    pub fn batch_end(&self, actions: &[Action], start: usize) -> usize {
        let mut end = start;
        while end < actions.len() && self.batchable(&actions[end]) {
            end += 1;
        }
        end.max(start + 1)
    }

    fn run_item(&self, r: &Run) -> Item {
        let line = build_command(&r.program, &r.env, self.elevation(r.sudo), r.timeout_secs).line;
        // Retries as the single-action path does them: same delay, the last
        // attempt's stderr kept, `a` = attempts made before the last.
        let code = format!(
            "a=0\nwhile :; do\n{{ {line}\n}} </dev/null 2>\"$t\" 3>&-; rc=$?\n[ \"$rc\" -eq 0 ] || [ \"$a\" -ge {retries} ] && break\na=$((a + 1)); sleep {delay}\ndone\n",
            retries = r.retries,
            delay = r.retry_delay_secs,
        );
        Item { shown: line, code }
    }

    fn put_item(&self, f: &PutFile, boundary: &str, k: usize) -> Item {
        let sha = hex::encode(Sha256::digest(&f.content));
        let dir = std::path::Path::new(&f.path).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|| "/".into());
        let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
        let umask = f.mode.and_then(file_mode_umask).map(|u| format!("{u:03o}")).unwrap_or_default();
        let args: Vec<&str> = vec![&f.path, &sha, &mode, f.owner.as_deref().unwrap_or(""), f.group.as_deref().unwrap_or(""), &dir, &umask];
        let program = Program::Argv(["sh", "-c", PUT_BATCHED, "sh"].into_iter().chain(args).map(String::from).collect());
        let line = build_command(&program, &[], self.elevation, None).line;
        let delim = format!("PLAIT_EOF_{boundary}_{k}");
        let content = String::from_utf8_lossy(&f.content);
        let code = format!("a=0\n{{ {line}\n}} 2>\"$t\" 3>&- <<'{delim}'\n{content}{delim}\nrc=$?\n");
        Item { shown: format!("upload {} ({} bytes, sha256 {})", f.path, f.content.len(), &sha[..12]), code }
    }

    /// Run `actions` (all batchable) in one round trip. Returns one outcome
    /// per action, or fewer ending with the failure that stopped the batch;
    /// and, when every action succeeded, the output of `then` (the next
    /// step's gather script) run after them.
    pub async fn execute_batch(
        &self,
        host: &str,
        actions: &[Action],
        then: Option<&GatherScript>,
    ) -> Result<(Vec<Outcome>, Option<String>), SshError> {
        let boundary = format!("@@plait-{}@@", uuid::Uuid::new_v4().simple());
        let token = uuid::Uuid::new_v4().simple().to_string();
        // The batch's output goes to a file and back in one piece at the end
        // (one `cat`), instead of a packet per line: far fewer packets for
        // sshd to send and for plait to read. Actions run without fd 3 (the
        // channel), so nothing they leave running can hold the channel open.
        let mut script = format!(
            "B={}\nd=$(mktemp -d) || exit 97\nt=\"$d/err\"\ntrap 'exec >&3; cat \"$d/out\"; rm -rf \"$d\"' EXIT\nexec 3>&1 >\"$d/out\"\n",
            quote(&boundary)
        );
        let mut limit = Duration::from_secs(30);
        let mut items = Vec::with_capacity(actions.len());
        for (k, a) in actions.iter().enumerate() {
            let (item, guard) = match &a.kind {
                ActionKind::Run(r) => {
                    let per_try = r.timeout_secs.map(|t| Duration::from_secs(u64::from(t) + 30)).unwrap_or(self.default_timeout);
                    limit += per_try * (r.retries + 1) + Duration::from_secs(u64::from(r.retry_delay_secs) * u64::from(r.retries));
                    (self.run_item(r), r.unless.as_ref().map(|g| build_command(g, &r.env, self.elevation(r.sudo), Some(120)).line))
                }
                ActionKind::PutFile(f) => {
                    limit += Duration::from_secs(630);
                    (self.put_item(f, &token, k), None)
                }
                _ => unreachable!("only run and put-file actions are batched"),
            };
            script.push_str(&format!("printf '%s action {k}\\n' \"$B\"\n"));
            let report = format!(
                "printf '\\n%s exit {k} %s %s\\n' \"$B\" \"$rc\" \"$a\"; [ -s \"$t\" ] && cat \"$t\"; printf '\\n%s stderr-end {k}\\n' \"$B\"\n[ \"$rc\" -eq 0 ] || exit 0\n"
            );
            match guard {
                Some(g) => script.push_str(&format!(
                    "if {{ {g}\n}} >/dev/null 2>&1 </dev/null 3>&-; then printf '\\n%s ok {k}\\n' \"$B\"; else\n{}{report}fi\n",
                    item.code
                )),
                None => {
                    script.push_str(&item.code);
                    script.push_str(&report);
                }
            }
            items.push(item);
        }
        if let Some(g) = then {
            script.push_str("printf '%s gather\\n' \"$B\"\n");
            script.push_str(&g.script);
            limit += Duration::from_secs(120);
        }
        let sh = build_command(&Program::Argv(vec!["sh".into(), "-s".into()]), &[], Elevation::None, None);
        let out = self.session.exec(&sh.line, Some(script.as_bytes()), limit).await?;
        let mut text = out.stdout_text();
        let gathered = match text.find(&format!("{boundary} gather\n")) {
            Some(i) if then.is_some() => {
                let g = text[i + boundary.len() + " gather\n".len()..].to_string();
                text.truncate(i);
                Some(g)
            }
            _ => None,
        };
        let mut outcomes = Vec::with_capacity(actions.len());
        for (k, a) in actions.iter().enumerate() {
            let start = format!("{boundary} action {k}\n");
            let Some(pos) = text.find(&start) else { break };
            let body = &text[pos + start.len()..];
            let ok_marker = format!("\n{boundary} ok {k}\n");
            let exit_marker = format!("\n{boundary} exit {k} ");
            // A passing guard prints nothing else before its marker.
            if body.starts_with(&ok_marker) {
                let guard = match &a.kind {
                    ActionKind::Run(r) => r.unless.as_ref().map(Program::display).unwrap_or_default(),
                    _ => String::new(),
                };
                outcomes.push(Outcome {
                    status: ActionStatus::Ok,
                    note: Some(format!("already done (guard `{guard}` passed)")),
                    command: Some(items[k].shown.clone()),
                    exit_code: Some(0),
                    stdout: String::new(),
                    stderr: String::new(),
                });
                continue;
            }
            let Some(e) = body.find(&exit_marker) else {
                return Err(SshError::Lost {
                    host: host.to_string(),
                    detail: format!("the batch stopped inside action {} ({}) without a result", k + 1, a.summary),
                });
            };
            let stdout = body[..e].to_string();
            let after = &body[e + exit_marker.len()..];
            let (fields, rest) = after.split_once('\n').unwrap_or((after, ""));
            let mut fields = fields.split_whitespace();
            let code: i32 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
            let retried: u32 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let end_marker = format!("\n{boundary} stderr-end {k}\n");
            let stderr = rest.find(&end_marker).map(|i| rest[..i].to_string()).unwrap_or_default();
            let outcome = match &a.kind {
                ActionKind::Run(r) => self.run_outcome(host, r, code, retried, stdout, stderr, &items[k].shown),
                ActionKind::PutFile(f) => put_outcome(f, code, stdout, stderr, &items[k].shown),
                _ => unreachable!(),
            };
            let failed = outcome.status == ActionStatus::Failed;
            outcomes.push(outcome);
            if failed {
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
                command: Some(items[k].shown.clone()),
                exit_code: Some(out.exit_code),
                stdout: String::new(),
                stderr: out.stderr_text(),
            });
        }
        Ok((outcomes, gathered))
    }
}

/// The batched upload prints `up to date` or why it wrote the file.
fn put_outcome(f: &PutFile, code: i32, stdout: String, stderr: String, shown: &str) -> Outcome {
    let said = stdout.trim().to_string();
    let (status, note) = match (code, said.as_str()) {
        (0, "up to date") => (ActionStatus::Ok, "up to date".to_string()),
        (0, why) => (ActionStatus::Changed, format!("wrote {} bytes ({why})", f.content.len())),
        (_, _) => (ActionStatus::Failed, format!("writing {} failed", f.path)),
    };
    Outcome { status, note: Some(note), command: Some(shown.to_string()), exit_code: Some(code), stdout: String::new(), stderr }
}
