//! Executing one action on one host: the single place where plait changes a
//! host, and where a dry run stops short of doing so.

use super::Mode;
use super::vars::VarStore;
use crate::output::{ActionStatus, Secrets};
use crate::plan::{Action, ActionKind, FetchFile, Program, PutFile, Run};
use crate::ssh::{ConnectOptions, Elevation, ExecOutput, Session, SshError, build_command};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// What happened.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Status.
    pub status: ActionStatus,
    /// Why.
    pub note: Option<String>,
    /// The remote command line.
    pub command: Option<String>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Output.
    pub stdout: String,
    /// Errors.
    pub stderr: String,
}

impl Outcome {
    fn new(status: ActionStatus, note: impl Into<String>) -> Self {
        Outcome { status, note: Some(note.into()), command: None, exit_code: None, stdout: String::new(), stderr: String::new() }
    }
    fn from_exec(status: ActionStatus, note: Option<String>, command: &str, out: &ExecOutput) -> Self {
        Outcome {
            status,
            note,
            command: Some(command.to_string()),
            exit_code: Some(out.exit_code),
            stdout: out.stdout_text(),
            stderr: out.stderr_text(),
        }
    }
}

/// Everything an action needs from its host.
pub struct HostRunner<'a> {
    /// Connection (replaced after a reboot).
    pub session: Session,
    /// How to reconnect.
    pub connect: ConnectOptions,
    /// Elevation for actions that ask for root.
    pub elevation: Elevation,
    /// The sudo password, when `Elevation::SudoPassword`.
    pub password: Option<String>,
    /// Apply or dry run.
    pub mode: Mode,
    /// Captured variables.
    pub vars: &'a VarStore,
    /// Secrets registry.
    pub secrets: &'a Secrets,
    /// Limit for commands without their own timeout.
    pub default_timeout: Duration,
}

/// Upload: write stdin to a temporary file beside the target, verify its
/// checksum, set mode and owner (or copy them from the file it replaces),
/// then rename over the target. Arguments: path, sha256, mode, owner, group.
const UPLOAD: &str = r#"set -e
p=$1
t="$p.plait-tmp.$$"
trap 'rm -f "$t"' EXIT
mkdir -p -- "$(dirname -- "$p")"
umask 077
cat > "$t"
printf '%s  %s\n' "$2" "$t" | sha256sum -c --status - || { echo "checksum mismatch after upload" >&2; exit 3; }
if [ -n "$3" ]; then chmod "$3" "$t"; elif [ -e "$p" ]; then chmod --reference="$p" "$t"; else chmod 644 "$t"; fi
if [ -n "$4" ]; then chown "$4" "$t"; elif [ -e "$p" ]; then chown --reference="$p" "$t"; fi
if [ -n "$5" ]; then chgrp "$5" "$t"; fi
mv -f "$t" "$p"
trap - EXIT"#;

/// Upload inside a batch (see `batch.rs`): the content comes on stdin from a
/// here-document; nothing is written when the file is already as wanted
/// (prints `up to date`), else prints why it wrote. Arguments: path, sha256,
/// mode, owner, group, parent folder, umask (set when the mode can be had
/// at creation, which saves a `chmod`). Spawns as few processes as it can:
/// `sha256sum` (+ `stat` with a mode or owner) for an existing file, `cat`
/// and `mv` (+ `mkdir` for a new folder) to write.
pub const PUT_BATCHED: &str = r#"p=$1 want=$2 mode=$3 owner=$4 group=$5 dir=$6 um=$7
why="new file"
if [ -e "$p" ]; then
  set -- $(sha256sum -- "$p" 2>/dev/null)
  if [ "${1:-}" = "$want" ]; then
    why=
    if [ -n "$mode$owner$group" ]; then
      set -- $(stat -c '%a %U %G' -- "$p" 2>/dev/null)
      { [ -z "$mode" ] || [ "${1:-}" = "$mode" ]; } && { [ -z "$owner" ] || [ "${2:-}" = "$owner" ]; } && { [ -z "$group" ] || [ "${3:-}" = "$group" ]; } || why="mode or owner differs"
    fi
    [ -n "$why" ] || { echo "up to date"; exit 0; }
  else
    why="content differs"
  fi
fi
[ -d "$dir" ] || mkdir -p -- "$dir" || exit 1
t="$p.plait-tmp.$$"
trap 'rm -f "$t"' EXIT
if [ -n "$um" ]; then umask "$um"; else umask 077; fi
cat > "$t" || exit 1
if [ -n "$um" ]; then :; elif [ -n "$mode" ]; then chmod "$mode" "$t"; elif [ -e "$p" ]; then chmod --reference="$p" "$t"; else chmod 644 "$t"; fi || exit 1
if [ -n "$owner" ]; then chown "$owner" "$t"; elif [ -e "$p" ]; then chown --reference="$p" "$t"; fi || exit 1
if [ -n "$group" ]; then chgrp "$group" "$t" || exit 1; fi
mv -f "$t" "$p" || exit 1
trap - EXIT
echo "$why""#;

/// The umask that creates a file with exactly `mode`, when one can (no
/// execute or special bits: a new file starts from 0666).
pub fn file_mode_umask(mode: u32) -> Option<u32> {
    (mode & !0o666 == 0).then_some(0o777 & !mode)
}

/// Remote state of a file: sha256, then `mode owner group`.
const FILE_STATE: &str = r#"sha256sum -- "$1" 2>/dev/null | cut -d' ' -f1; stat -c '%a %U %G' -- "$1" 2>/dev/null; true"#;

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

impl HostRunner<'_> {
    pub(super) fn elevation(&self, sudo: bool) -> Elevation {
        if sudo { self.elevation } else { Elevation::None }
    }

    /// Run a command line; with a sudo password, it goes first on stdin.
    async fn exec(
        &self,
        program: &Program,
        env: &[(String, String)],
        sudo: bool,
        timeout: Option<u32>,
        stdin: Option<&[u8]>,
    ) -> Result<(String, ExecOutput), SshError> {
        let cmd = build_command(program, env, self.elevation(sudo), timeout);
        let mut input: Option<Vec<u8>> = stdin.map(<[u8]>::to_vec);
        if cmd.needs_password {
            let mut v = format!("{}\n", self.password.as_deref().unwrap_or("")).into_bytes();
            v.extend(input.unwrap_or_default());
            input = Some(v);
        }
        let limit = timeout.map(|t| Duration::from_secs(u64::from(t) + 30)).unwrap_or(self.default_timeout);
        let out = self.session.exec(&cmd.line, input.as_deref(), limit).await?;
        Ok((cmd.line, out))
    }

    /// Execute (or, in a dry run, assess) one action.
    pub async fn execute(&mut self, host: &str, action: &Action) -> Result<Outcome, SshError> {
        match &action.kind {
            ActionKind::Run(r) => self.run(host, r).await,
            ActionKind::PutFile(f) => self.put_file(f).await,
            ActionKind::Reboot(r) => self.reboot(r.timeout_secs).await,
            ActionKind::FetchFile(f) => self.fetch(host, f).await,
        }
    }

    async fn run(&self, host: &str, r: &Run) -> Result<Outcome, SshError> {
        if r.secret
            && let Some(s) = &r.stdin
        {
            self.secrets.add(s);
        }
        if let Some(guard) = &r.unless {
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
        if self.mode == Mode::DryRun && !r.read_only {
            let cmd = build_command(&r.program, &r.env, self.elevation(r.sudo), r.timeout_secs);
            let mut o = Outcome::new(ActionStatus::Changed, "would run");
            o.command = Some(cmd.line);
            return Ok(hide_if_secret(r.secret, o));
        }
        let mut attempt = 0;
        loop {
            let (line, out) = self.exec(&r.program, &r.env, r.sudo, r.timeout_secs, r.stdin.as_deref().map(str::as_bytes)).await?;
            if out.exit_code != 0 && self.mode == Mode::DryRun {
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
    #[allow(clippy::too_many_arguments)]
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
            if let Some(name) = &r.capture {
                let value = stdout.trim().to_string();
                if r.secret {
                    self.secrets.add(&value);
                } else {
                    let shown: String = value.chars().take(80).collect();
                    notes.push(format!("captured `{name}` = {shown}{}", if value.chars().count() > 80 { "…" } else { "" }));
                }
                self.vars.set(host, name, value);
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
        };
        hide_if_secret(r.secret, o)
    }

    async fn put_file(&self, f: &PutFile) -> Result<Outcome, SshError> {
        let want_sha = hex::encode(Sha256::digest(&f.content));
        let (_, state) = self.exec(&argv(&["sh", "-c", FILE_STATE, "sh", &f.path]), &[], true, Some(60), None).await?;
        let text = state.stdout_text();
        let mut lines = text.lines();
        let sha = lines.next().unwrap_or("").trim();
        let meta: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        let mode_ok = f.mode.is_none_or(|m| meta.first().and_then(|a| u32::from_str_radix(a, 8).ok()) == Some(m));
        let owner_ok = f.owner.as_deref().is_none_or(|o| meta.get(1) == Some(&o));
        let group_ok = f.group.as_deref().is_none_or(|g| meta.get(2) == Some(&g));
        if sha == want_sha && mode_ok && owner_ok && group_ok {
            return Ok(Outcome::new(ActionStatus::Ok, "up to date"));
        }
        let why = if sha.is_empty() {
            "new file"
        } else if sha != want_sha {
            "content differs"
        } else {
            "mode or owner differs"
        };
        if self.mode == Mode::DryRun {
            return Ok(Outcome::new(ActionStatus::Changed, format!("would write {} bytes ({why})", f.content.len())));
        }
        let mode = f.mode.map(|m| format!("{m:o}")).unwrap_or_default();
        let upload = argv(&[
            "sh",
            "-c",
            UPLOAD,
            "sh",
            &f.path,
            &want_sha,
            &mode,
            f.owner.as_deref().unwrap_or(""),
            f.group.as_deref().unwrap_or(""),
        ]);
        let (line, out) = self.exec(&upload, &[], true, Some(600), Some(&f.content)).await?;
        let status = if out.exit_code == 0 { ActionStatus::Changed } else { ActionStatus::Failed };
        let mut o = Outcome::from_exec(status, Some(format!("wrote {} bytes ({why})", f.content.len())), &line, &out);
        // The upload script is long and the same every time: show what it did.
        o.command = Some(format!("upload {} ({} bytes, sha256 {})", f.path, f.content.len(), &want_sha[..12]));
        Ok(o)
    }

    async fn boot_id(&self) -> Result<String, SshError> {
        let (_, out) = self.exec(&argv(&["cat", "/proc/sys/kernel/random/boot_id"]), &[], false, Some(30), None).await?;
        Ok(out.stdout_text().trim().to_string())
    }

    async fn reboot(&mut self, timeout_secs: u32) -> Result<Outcome, SshError> {
        if self.mode == Mode::DryRun {
            return Ok(Outcome::new(ActionStatus::Changed, "would reboot"));
        }
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
        self.session.close().await;
        let deadline = start + Duration::from_secs(u64::from(timeout_secs));
        let mut last_error = String::from("no answer");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        while Instant::now() < deadline {
            let mut opts = self.connect.clone();
            opts.connect_timeout =
                opts.connect_timeout.min(deadline.saturating_duration_since(Instant::now())).max(Duration::from_millis(500));
            match Session::connect(&opts).await {
                Ok(s) => {
                    self.session = s;
                    match self.boot_id().await {
                        Ok(id) if !id.is_empty() && id != before => {
                            return Ok(Outcome::new(
                                ActionStatus::Changed,
                                format!("back after {:.1} s with a new boot id", start.elapsed().as_secs_f64()),
                            ));
                        }
                        Ok(_) => last_error = "still the old boot id".into(),
                        Err(e) => last_error = e.to_string(),
                    }
                }
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
        let (line, out) = self.exec(&argv(&["cat", "--", &f.path]), &[], true, Some(60), None).await?;
        if out.exit_code != 0 && self.mode == Mode::DryRun {
            return Ok(Outcome::new(ActionStatus::Skipped, format!("{} is not readable yet (earlier actions would create it)", f.path)));
        }
        if out.exit_code != 0 {
            return Ok(Outcome::from_exec(ActionStatus::Failed, Some(format!("cannot read {}", f.path)), &line, &out));
        }
        let value = out.stdout_text();
        if f.secret {
            self.secrets.add(&value);
        }
        self.vars.set(host, &f.into, value);
        let mut o = Outcome::from_exec(ActionStatus::Ok, Some(format!("read {} bytes into `{}`", out.stdout.len(), f.into)), &line, &out);
        o.stdout = String::new();
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::file_mode_umask;

    #[test]
    fn umask_gives_the_mode_at_creation_or_nothing() {
        assert_eq!(file_mode_umask(0o644), Some(0o133));
        assert_eq!(0o666 & !file_mode_umask(0o644).unwrap(), 0o644);
        assert_eq!(file_mode_umask(0o600), Some(0o177));
        assert_eq!(file_mode_umask(0o755), None);
        assert_eq!(file_mode_umask(0o4644), None);
    }
}
