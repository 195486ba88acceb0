//! Executing actions on one host: the only code that changes a host, single
//! actions and batches alike. Every path that changes anything takes an
//! [`Apply`], which exists only in a runner made for `Mode::Apply`: a dry
//! run cannot reach them (the compiler checks it), it only reads.

use super::Mode;
use super::batch;
use super::outcome::Outcome;
use super::transport::Transport;
use super::upload::{self, Put};
use super::vars::{MAX_VARIABLE, VarStore};
use crate::facts::GatherScript;
use crate::model::{Action, ActionKind, FetchFile, Program, PutFile, Run};
use crate::output::{ActionStatus, Secrets};
use crate::ssh::{Elevation, ExecOutput, SshError, build_bounded, build_command, timeout_secs};
use std::time::{Duration, Instant};

/// Proof that this run may change hosts: only [`HostRunner::new`] makes
/// one, and only in `Mode::Apply`.
#[derive(Debug, Clone, Copy)]
pub struct Apply {
    _private: (),
}

/// A secret `run` may carry secrets in its arguments or print them (a join
/// command, `kubeadm init`'s token): its command line and stdout are kept
/// out of every report; stderr stays, for diagnosis.
fn hide_if_secret(secret: bool, mut o: Outcome) -> Outcome {
    if secret {
        o.command = Some("(secret command line hidden)".into());
        o.stdout = String::new();
    }
    o
}

fn argv(words: &[&str]) -> Program {
    Program::Argv(words.iter().map(|w| w.to_string()).collect())
}

/// Everything an action needs from its host.
pub struct HostRunner<'a, T: Transport> {
    /// The connection.
    pub transport: T,
    /// Elevation for actions that ask for root.
    pub elevation: Elevation,
    /// The sudo password, when `Elevation::SudoPassword`.
    pub password: Option<String>,
    apply: Option<Apply>,
    /// Captured variables.
    pub vars: &'a VarStore,
    /// Secrets registry.
    pub secrets: &'a Secrets,
    /// Limit for commands without their own timeout.
    pub default_timeout: Duration,
    /// The step whose actions run (variables are keyed by it).
    pub step: usize,
    /// The step may use root (`grants = { sudo = false }` takes it away
    /// from every kind of action, file writes and reads included).
    pub root: bool,
    /// A dry run may start the step's read-only actions and guards that
    /// are not known queries (`grants = { dry_run_reads = true }`).
    pub dry_reads: bool,
    /// Paths the step may read (its `reads`): a dry run shows the current
    /// content of a file it would write only within them.
    pub readable: Vec<String>,
}

impl<'a, T: Transport> HostRunner<'a, T> {
    /// A runner; it may change the host only in `Mode::Apply`.
    pub fn new(
        transport: T,
        elevation: Elevation,
        password: Option<String>,
        mode: Mode,
        vars: &'a VarStore,
        secrets: &'a Secrets,
        default_timeout: Duration,
    ) -> Self {
        let apply = (mode == Mode::Apply).then_some(Apply { _private: () });
        HostRunner {
            transport,
            elevation,
            password,
            apply,
            vars,
            secrets,
            default_timeout,
            step: 0,
            root: true,
            dry_reads: false,
            readable: Vec::new(),
        }
    }

    /// The right to change the host (none in a dry run).
    pub fn apply(&self) -> Option<Apply> {
        self.apply
    }

    pub(super) fn elevation(&self, sudo: bool) -> Elevation {
        if sudo { self.elevation } else { Elevation::None }
    }

    /// Run a program; with a sudo password, it goes first on stdin.
    async fn exec(
        &self,
        program: &Program,
        env: &[(String, String)],
        sudo: bool,
        timeout: Option<u32>,
        stdin: Option<&[u8]>,
    ) -> Result<(String, ExecOutput), SshError> {
        let cmd = build_bounded(program, env, self.elevation(sudo), timeout, self.default_timeout);
        let mut input: Option<Vec<u8>> = stdin.map(<[u8]>::to_vec);
        // The environment block goes ahead of the program's input...
        if !cmd.stdin_prefix.is_empty() {
            let mut v = cmd.stdin_prefix.clone();
            v.extend(input.unwrap_or_default());
            input = Some(v);
        }
        // ...and the password ahead of both (the sudo wrapper reads it first).
        if cmd.needs_password {
            let mut v = format!("{}\n", self.password.as_deref().unwrap_or("")).into_bytes();
            v.extend(input.unwrap_or_default());
            input = Some(v);
        }
        let limit = Duration::from_secs(u64::from(timeout.unwrap_or_else(|| timeout_secs(self.default_timeout))) + 30);
        let out = self.transport.exec(&cmd.line, input.as_deref(), limit).await?;
        Ok((cmd.shown, out))
    }

    /// Whether a dry run may start `p` as a read: a known query
    /// ([`crate::plugin::is_dry_run_query`]), or any under the step's grant.
    fn may_read_in_dry_run(&self, p: &Program, stdin: bool) -> bool {
        self.dry_reads || (!stdin && matches!(p, Program::Argv(argv) if crate::plugin::is_dry_run_query(argv)))
    }

    /// Execute one action, or in a dry run assess it (reads only).
    pub async fn execute(&mut self, host: &str, action: &Action) -> Result<Outcome, SshError> {
        match (&action.kind, self.apply) {
            (ActionKind::Run(r), apply) => self.run(host, r, apply).await,
            (ActionKind::PutFile(f), apply) => self.put_file(f, apply).await,
            (ActionKind::Reboot(r), Some(apply)) => self.reboot(apply, r.timeout_secs).await,
            (ActionKind::Reboot(_), None) => Ok(Outcome::new(ActionStatus::Changed, "would reboot")),
            (ActionKind::FetchFile(f), _) => self.fetch(host, f).await,
        }
    }

    async fn run(&self, host: &str, r: &Run, apply: Option<Apply>) -> Result<Outcome, SshError> {
        if r.secret
            && let Some(s) = &r.stdin
        {
            self.secrets.add(s);
        }
        if let Some(guard) = r.unless.as_ref().filter(|g| apply.is_some() || self.may_read_in_dry_run(g, false)) {
            let (line, out) = self.exec(guard, &r.env, r.sudo, Some(120), None).await?;
            if out.exit_code == 0 {
                return Ok(Outcome::from_exec(
                    ActionStatus::Ok,
                    Some(format!("already done (guard `{}` passed)", guard.display())),
                    &line,
                    &out,
                ));
            }
        }
        if apply.is_none() && !(r.read_only && self.may_read_in_dry_run(&r.program, r.stdin.is_some())) {
            let cmd = build_command(&r.program, &r.env, self.elevation(r.sudo), r.timeout_secs);
            let (status, note) = if r.read_only {
                (
                    ActionStatus::Skipped,
                    "read-only by the plugin's word, not a query plait knows: not run in a dry run (grants = { dry_run_reads = true } runs it)",
                )
            } else {
                (ActionStatus::Changed, "would run")
            };
            let mut o = Outcome::new(status, note);
            o.command = Some(cmd.shown);
            return Ok(hide_if_secret(r.secret, o));
        }
        let mut attempt = 0;
        loop {
            let (line, out) = self.exec(&r.program, &r.env, r.sudo, r.timeout_secs, r.stdin.as_deref().map(str::as_bytes)).await?;
            if out.exit_code != 0 && apply.is_none() {
                // A read-only check in a dry run sees the host before the
                // earlier actions: its failure is information, not a failure.
                let first = out.stderr_text().lines().next().unwrap_or("").to_string();
                return Ok(Outcome::from_exec(
                    ActionStatus::Skipped,
                    Some(format!("fails before the earlier actions run: {first}")),
                    &line,
                    &out,
                ));
            }
            if out.exit_code == 0 || attempt >= r.retries {
                return Ok(self.run_outcome(host, r, out.exit_code, attempt, out.stdout_text(), out.stderr_text(), &line));
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_secs(u64::from(r.retry_delay_secs))).await;
        }
    }

    /// The outcome of a `run` that ended (success, or failure on its last
    /// attempt after `retried` retries): notes, the captured variable,
    /// secrets kept out. Shared by the single-action and the batched paths.
    #[expect(clippy::too_many_arguments, reason = "the parts of a finished run, from either path")]
    pub(super) fn run_outcome(&self, host: &str, r: &Run, code: i32, retried: u32, stdout: String, stderr: String, line: &str) -> Outcome {
        let mut notes = Vec::new();
        let status = match (code, r.read_only) {
            (0, true) => ActionStatus::Ok,
            (0, false) => ActionStatus::Changed,
            _ => ActionStatus::Failed,
        };
        if status != ActionStatus::Failed {
            if retried > 0 {
                notes.push(format!("succeeded on attempt {}", retried + 1));
            }
            if let Some(name) = &r.capture
                && stdout.trim().len() > MAX_VARIABLE
            {
                notes.push(too_big(name, stdout.trim().len()));
                let o = Outcome {
                    status: ActionStatus::Failed,
                    note: Some(notes.join("; ")),
                    command: Some(line.to_string()),
                    exit_code: Some(code),
                    stdout: String::new(),
                    stderr,
                    diff: None,
                };
                return hide_if_secret(r.secret, o);
            }
            if let Some(name) = &r.capture {
                let value = stdout.trim().to_string();
                if r.secret {
                    self.secrets.add(&value);
                } else {
                    let shown: String = value.chars().take(80).collect();
                    notes.push(format!("captured `{name}` = {shown}{}", if value.chars().count() > 80 { "…" } else { "" }));
                }
                self.vars.set(self.step, host, name, value);
            }
        } else {
            notes.push(match (r.timeout_secs, code) {
                (Some(t), 124 | 137) => format!("timed out after {t} s; the remote command was killed"),
                _ if r.retries > 0 => format!("failed after {} attempts", retried + 1),
                _ => "command failed".to_string(),
            });
        }
        let o = Outcome {
            status,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            command: Some(line.to_string()),
            exit_code: Some(code),
            stdout,
            stderr,
            diff: None,
        };
        hide_if_secret(r.secret, o)
    }

    /// Check the file (no content sent); write it only when it differs and
    /// the run may change the host.
    async fn put_file(&self, f: &PutFile, apply: Option<Apply>) -> Result<Outcome, SshError> {
        let (_, out) = self.exec(&upload::program(f, Put::Check), &[], self.root, Some(60), None).await?;
        let check = upload::outcome(f, Put::Check, out.exit_code, &out.stdout_text(), out.stderr_text());
        match (check.status, apply) {
            (ActionStatus::Changed, Some(apply)) => self.write_file(apply, f).await,
            // A dry run shows what would change: the host's file (read
            // only, up to 1 MiB) against the planned content.
            (ActionStatus::Changed, None) if !self.readable.iter().any(|r| crate::plugin::path_within(&f.path, r)) => {
                let mut check = check;
                check.diff =
                    Some(format!("(no diff: the step may not read {}; a plugin declares `reads` for what a plan may show)", f.path));
                Ok(check)
            }
            (ActionStatus::Changed, None) => {
                let mut check = check;
                let read = argv(&["head", "-c", "1048577", "--", &f.path]);
                let (_, out) = self.exec(&read, &[], self.root, Some(60), None).await?;
                check.diff = Some(if out.exit_code != 0 {
                    crate::output::files::diff(&f.path, None, &f.content)
                } else if out.stdout.len() > 1 << 20 {
                    "(the file on the host is larger than 1 MiB; no diff)".to_string()
                } else {
                    crate::output::files::diff(&f.path, Some(&out.stdout), &f.content)
                });
                Ok(check)
            }
            _ => Ok(check),
        }
    }

    async fn write_file(&self, _apply: Apply, f: &PutFile) -> Result<Outcome, SshError> {
        let (_, out) = self.exec(&upload::program(f, Put::Write), &[], self.root, Some(600), Some(&f.content)).await?;
        Ok(upload::outcome(f, Put::Write, out.exit_code, &out.stdout_text(), out.stderr_text()))
    }

    async fn boot_id(&self) -> Result<String, SshError> {
        let (_, out) = self.exec(&argv(&["cat", "/proc/sys/kernel/random/boot_id"]), &[], false, Some(30), None).await?;
        Ok(out.stdout_text().trim().to_string())
    }

    async fn reboot(&mut self, _apply: Apply, timeout_secs: u32) -> Result<Outcome, SshError> {
        let start = Instant::now();
        let before = self.boot_id().await?;
        // Detached, so the command returns before the connection drops.
        let trigger = argv(&["sh", "-c", "(sleep 1; reboot) >/dev/null 2>&1 </dev/null &"]);
        match self.exec(&trigger, &[], true, Some(30), None).await {
            Ok((_, out)) if out.exit_code != 0 => {
                return Ok(Outcome::from_exec(ActionStatus::Failed, Some("the reboot command failed".into()), "reboot", &out));
            }
            // A dropped session here means the reboot already began.
            _ => {}
        }
        let deadline = start + Duration::from_secs(u64::from(timeout_secs));
        let mut last_error = String::from("no answer");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        while Instant::now() < deadline {
            match self.transport.reconnect(deadline.saturating_duration_since(Instant::now())).await {
                Ok(()) => match self.boot_id().await {
                    Ok(id) if !id.is_empty() && id != before => {
                        return Ok(Outcome::new(
                            ActionStatus::Changed,
                            format!("back after {:.1} s with a new boot id", start.elapsed().as_secs_f64()),
                        ));
                    }
                    Ok(_) => last_error = "still the old boot id".into(),
                    Err(e) => last_error = e.to_string(),
                },
                // A changed host key after a reboot is never accepted.
                Err(e @ (SshError::ChangedHostKey { .. } | SshError::UnknownHostKey { .. })) => return Err(e),
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(Outcome::new(
            ActionStatus::Failed,
            format!("the host did not come back with a new boot id within {timeout_secs} s ({last_error})"),
        ))
    }

    async fn fetch(&self, host: &str, f: &FetchFile) -> Result<Outcome, SshError> {
        let (line, out) = self.exec(&argv(&["cat", "--", &f.path]), &[], self.root, Some(60), None).await?;
        if out.exit_code != 0 && self.apply.is_none() {
            return Ok(Outcome::new(ActionStatus::Skipped, format!("{} is not readable yet (earlier actions would create it)", f.path)));
        }
        if out.exit_code != 0 {
            return Ok(Outcome::from_exec(ActionStatus::Failed, Some(format!("cannot read {}", f.path)), &line, &out));
        }
        if out.stdout.len() > MAX_VARIABLE {
            let mut o = Outcome::from_exec(ActionStatus::Failed, Some(too_big(&f.into, out.stdout.len())), &line, &out);
            o.stdout = String::new();
            return Ok(o);
        }
        let value = out.stdout_text();
        if f.secret {
            self.secrets.add(&value);
        }
        self.vars.set(self.step, host, &f.into, value);
        let mut o = Outcome::from_exec(ActionStatus::Ok, Some(format!("read {} bytes into `{}`", out.stdout.len(), f.into)), &line, &out);
        o.stdout = String::new();
        Ok(o)
    }

    /// Whether `a` can go in a batch: `run` without stdin, `put-file` whose
    /// content is text small enough for a here-document; nothing when sudo
    /// needs a password (it goes on stdin).
    pub fn batchable(&self, a: &Action) -> bool {
        // A batched upload writes as root: not for a step without root.
        let root_only = matches!(a.kind, ActionKind::PutFile(_)) && !self.root;
        self.elevation != Elevation::SudoPassword && !root_only && batch::batchable(a)
    }

    /// End (exclusive) of the batch starting at `start`: at least one
    /// action; a single action when the run may not change the host.
    pub fn batch_end(&self, actions: &[Action], start: usize) -> usize {
        if self.apply.is_none() {
            return start + 1;
        }
        let mut end = start;
        while end < actions.len() && self.batchable(&actions[end]) {
            end += 1;
        }
        end.max(start + 1)
    }

    /// Run `actions` (all batchable) in one round trip; see [`batch`].
    /// Returns one outcome per action, or fewer ending with the failure that
    /// stopped the batch; and, when every action succeeded, the output of
    /// `then` (the next step's gather script) run after them.
    pub async fn execute_batch(
        &self,
        _apply: Apply,
        host: &str,
        actions: &[Action],
        then: Option<&GatherScript>,
    ) -> Result<(Vec<Outcome>, Option<String>), SshError> {
        let script = batch::Script::new(actions, self.elevation, self.default_timeout, then);
        let sh = build_command(&Program::Argv(vec!["sh".into(), "-s".into()]), &[], Elevation::None, None);
        let out = self.transport.exec(&sh.line, Some(script.text.as_bytes()), script.limit).await?;
        script.read(host, &out, |r, code, retried, stdout, stderr, shown| self.run_outcome(host, r, code, retried, stdout, stderr, shown))
    }
}

/// Why a capture or fetch over [`MAX_VARIABLE`] fails.
fn too_big(name: &str, len: usize) -> String {
    format!("`{name}` would hold {len} bytes, more than a variable may ({} bytes)", MAX_VARIABLE)
}
