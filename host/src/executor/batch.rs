//! Consecutive actions of one step in one round trip: one `sh -s` whose
//! script runs each action (after its guard, with its retries) and prints
//! framed results ([`crate::frame`]), stopping at the first failure. Each
//! action behaves as it would on its own channel: same command line, same
//! elevation, stdin from `/dev/null` (or, for a file upload, the content in
//! a quoted here-document, so never on a command line). The runner sends
//! it ([`super::runner::HostRunner::execute_batch`]); this module builds the
//! script and reads its output, and does no I/O.

use super::outcome::Outcome;
use super::upload::{self, Put};
use crate::facts::GatherScript;
use crate::frame::{self, Frame};
use crate::model::{Action, ActionKind, Program, PutFile, Run};
use crate::output::ActionStatus;
use crate::ssh::{Elevation, ExecOutput, RemoteCommand, SshError, build_bounded, build_command, quote};
use std::time::Duration;

/// Largest file content sent inside a batch script.
const MAX_BATCHED_CONTENT: usize = 64 * 1024;

fn batchable_put(f: &PutFile) -> bool {
    f.content.len() <= MAX_BATCHED_CONTENT
        && f.content.last() == Some(&b'\n')
        && !f.content.contains(&0)
        && std::str::from_utf8(&f.content).is_ok()
}

/// Whether an action can go in a batch (whatever the elevation).
pub fn batchable(a: &Action) -> bool {
    match &a.kind {
        ActionKind::Run(r) => r.stdin.is_none(),
        ActionKind::PutFile(f) => batchable_put(f),
        _ => false,
    }
}

/// A batch script, and what is needed to read its output.
pub struct Script<'a> {
    /// The script for `sh -s`.
    pub text: String,
    /// How long the whole batch may take.
    pub limit: Duration,
    boundary: String,
    actions: &'a [Action],
    /// How each action is shown in reports.
    shown: Vec<String>,
    gathers: bool,
}

/// Where a batched command's stdin comes from: nothing, or the
/// environment block in a here-document (literal: quoted delimiter).
fn stdin_of(prefix: &[u8], delim: &str) -> String {
    if prefix.is_empty() { "</dev/null\n".to_string() } else { format!("<<'{delim}'\n{}{delim}\n", String::from_utf8_lossy(prefix)) }
}

fn run_code(r: &Run, elevation: Elevation, default_timeout: Duration, delim: &str) -> (String, String) {
    let elevation = if r.sudo { elevation } else { Elevation::None };
    let RemoteCommand { line, shown, stdin_prefix, .. } = build_bounded(&r.program, &r.env, elevation, r.timeout_secs, default_timeout);
    let input = stdin_of(&stdin_prefix, delim);
    // Retries as the single-action path does them: same delay, the last
    // attempt's stderr kept, `a` = attempts made before the last.
    let code = format!(
        "a=0\nwhile :; do\n{{ {line}\n}} 2>\"$t\" 3>&- {input}rc=$?\n[ \"$rc\" -eq 0 ] || [ \"$a\" -ge {retries} ] && break\na=$((a + 1)); sleep {delay}\ndone\n",
        retries = r.retries,
        delay = r.retry_delay_secs,
    );
    (shown, code)
}

fn put_code(f: &PutFile, elevation: Elevation, delim: &str) -> String {
    // Batched content is text ending in a newline (`batchable_put`).
    let line = build_command(&upload::program(f, Put::WriteText), &[], elevation, None).line;
    let content = String::from_utf8_lossy(&f.content);
    format!("a=0\n{{ {line}\n}} 2>\"$t\" 3>&- <<'{delim}'\n{content}{delim}\nrc=$?\n")
}

impl<'a> Script<'a> {
    /// The script for `actions` (all [`batchable`]), then `then`'s gather.
    pub fn new(actions: &'a [Action], elevation: Elevation, default_timeout: Duration, then: Option<&GatherScript>) -> Self {
        let boundary = frame::boundary();
        // Here-document delimiters: random too, so no content can end one.
        let token = uuid::Uuid::new_v4().simple().to_string();
        // The batch's output goes to a file and back in one piece at the end
        // (one `cat`), instead of a packet per line: far fewer packets for
        // sshd to send and for plait to read. Actions run without fd 3 (the
        // channel), so nothing they leave running can hold the channel open.
        let mut text = format!(
            "B={}\nd=$(mktemp -d) || exit 97\nt=\"$d/err\"\ntrap 'exec >&3; cat \"$d/out\"; rm -rf \"$d\"' EXIT\nexec 3>&1 >\"$d/out\"\n",
            quote(&boundary)
        );
        let mut limit = Duration::from_secs(30);
        let mut shown = Vec::with_capacity(actions.len());
        for (k, a) in actions.iter().enumerate() {
            let (line, code, guard) = match &a.kind {
                ActionKind::Run(r) => {
                    let per_try = r.timeout_secs.map(|t| Duration::from_secs(u64::from(t) + 30)).unwrap_or(default_timeout);
                    limit += per_try * (r.retries + 1) + Duration::from_secs(u64::from(r.retry_delay_secs) * u64::from(r.retries));
                    let (line, code) = run_code(r, elevation, default_timeout, &format!("PLAIT_ENV_{token}_{k}"));
                    let guard = r.unless.as_ref().map(|g| {
                        let c = build_command(g, &r.env, if r.sudo { elevation } else { Elevation::None }, Some(120));
                        (c.line, stdin_of(&c.stdin_prefix, &format!("PLAIT_GUARD_{token}_{k}")))
                    });
                    (line, code, guard)
                }
                ActionKind::PutFile(f) => {
                    limit += Duration::from_secs(630);
                    (upload::shown(f), put_code(f, elevation, &format!("PLAIT_EOF_{token}_{k}")), None)
                }
                _ => unreachable!("only run and put-file actions are batched"),
            };
            text.push_str(&frame::marker(&format!("\"action {k}\"")));
            let report = format!(
                "{}[ -s \"$t\" ] && cat \"$t\"\n{}[ \"$rc\" -eq 0 ] || exit 0\n",
                frame::marker(&format!("\"exit {k} $rc $a\"")),
                frame::marker(&format!("\"stderr-end {k}\"")),
            );
            match guard {
                Some((g, input)) => text.push_str(&format!(
                    "if {{ {g}\n}} >/dev/null 2>&1 3>&- {input}then {}else\n{code}{report}fi\n",
                    frame::marker(&format!("\"ok {k}\""))
                )),
                None => {
                    text.push_str(&code);
                    text.push_str(&report);
                }
            }
            shown.push(line);
        }
        if let Some(g) = then {
            text.push_str(&frame::marker("gather"));
            text.push_str(&g.script);
            limit += Duration::from_secs(120);
        }
        Script { text, limit, boundary, actions, shown, gathers: then.is_some() }
    }

    /// Read the batch's output: one outcome per action that ran (`run`s
    /// through `run_outcome`, which captures variables and hides secrets),
    /// and the gather output when every action succeeded.
    #[expect(clippy::result_large_err, reason = "a lost connection is reported as the transport's own error")]
    pub fn read(
        &self,
        host: &str,
        out: &ExecOutput,
        run_outcome: impl Fn(&Run, i32, u32, String, String, &str) -> Outcome,
    ) -> Result<(Vec<Outcome>, Option<String>), SshError> {
        let text = out.stdout_text();
        let (_, frames) = frame::split(&text, &self.boundary);
        let gathered = frames.iter().find(|f| f.kind() == "gather").filter(|_| self.gathers).map(|f| text[f.offset..].to_string());
        let mut frames = frames.iter().filter(|f| f.kind() != "gather").peekable();
        let mut outcomes = Vec::with_capacity(self.actions.len());
        for (k, a) in self.actions.iter().enumerate() {
            let ks = k.to_string();
            let is = |f: &Frame<'_>, kind: &str| f.kind() == kind && f.args().next() == Some(ks.as_str());
            let Some(start) = frames.next_if(|f| is(f, "action")) else { break };
            if frames.next_if(|f| is(f, "ok")).is_some() {
                let (guard, secret) = match &a.kind {
                    ActionKind::Run(r) => (r.unless.as_ref().map(Program::display).unwrap_or_default(), r.secret),
                    _ => (String::new(), false),
                };
                outcomes.push(Outcome {
                    status: ActionStatus::Ok,
                    note: Some(format!("already done (guard `{guard}` passed)")),
                    // A secret action's command line is never shown, skipped or not.
                    command: Some(if secret { "(secret command line hidden)".into() } else { self.shown[k].clone() }),
                    exit_code: Some(0),
                    stdout: String::new(),
                    stderr: String::new(),
                    diff: None,
                });
                continue;
            }
            let Some(exit) = frames.next_if(|f| is(f, "exit")) else {
                return Err(SshError::Lost {
                    host: host.to_string(),
                    detail: format!("the batch stopped inside action {} ({}) without a result", k + 1, a.summary),
                });
            };
            frames.next_if(|f| is(f, "stderr-end"));
            let mut fields = exit.args().skip(1);
            let code: i32 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(-1);
            let retried: u32 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let (stdout, stderr) = (start.body.to_string(), exit.body.to_string());
            let outcome = match &a.kind {
                ActionKind::Run(r) => run_outcome(r, code, retried, stdout, stderr, &self.shown[k]),
                ActionKind::PutFile(f) => upload::outcome(f, Put::WriteText, code, &stdout, stderr),
                _ => unreachable!("only run and put-file actions are batched"),
            };
            let failed = outcome.status == ActionStatus::Failed;
            outcomes.push(outcome);
            if failed {
                break;
            }
        }
        if outcomes.is_empty() || (outcomes.len() < self.actions.len() && outcomes.last().is_none_or(|o| o.status != ActionStatus::Failed))
        {
            // The script ended early without reporting a failure (killed, or
            // mktemp failed): say so on the first action without a result.
            let k = outcomes.len();
            outcomes.push(Outcome {
                status: ActionStatus::Failed,
                note: Some(format!("no result (the batch exited with code {}: {})", out.exit_code, out.stderr_text().trim())),
                command: Some(self.shown[k].clone()),
                exit_code: Some(out.exit_code),
                stdout: String::new(),
                stderr: out.stderr_text(),
                diff: None,
            });
        }
        // The gather runs only after every action succeeded (the script
        // exits at the first failure).
        Ok((outcomes, gathered))
    }
}
