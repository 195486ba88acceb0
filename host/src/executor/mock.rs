//! A transport that answers from a script of expected calls, so the
//! executor's decisions (batching, guards, retries, capture, secrets, the
//! dry-run stop) are tested without a host, with the exact command lines
//! and scripts pinned. Random boundaries are replaced by `@@B@@` (and
//! here-document tokens by `TOKEN`) before comparing.

#![expect(clippy::result_large_err, reason = "replies mirror Transport::exec's result")]

use super::Mode;
use super::runner::HostRunner;
use super::transport::Transport;
use super::vars::VarStore;
use crate::model::{Action, ActionKind, Program, PutFile, Run};
use crate::output::{ActionStatus, Secrets};
use crate::ssh::{Elevation, ExecOutput, SshError};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;

/// How the "host" answers: given the normalised stdin and its boundary.
type Reply = Box<dyn Fn(&str, &str) -> Result<ExecOutput, SshError>>;

/// One exec the test expects, and how the "host" answers it.
pub struct Expect {
    /// The command line, exactly.
    pub line: String,
    /// When set, the stdin (normalised), exactly.
    pub stdin: Option<String>,
    /// The answer, given the normalised stdin and the boundary found in it.
    pub reply: Reply,
}

/// What was sent.
#[derive(Debug, Clone)]
pub struct Call {
    /// Command line.
    pub line: String,
    /// Stdin, normalised.
    pub stdin: Option<String>,
}

#[derive(Default)]
pub struct MockTransport {
    expected: RefCell<VecDeque<Expect>>,
    pub calls: RefCell<Vec<Call>>,
    pub reconnects: RefCell<usize>,
}

/// Replace every `@@plait-<hex>@@` boundary with `@@B@@` and every
/// `PLAIT_EOF_<hex>_` with `PLAIT_EOF_TOKEN_`; returns the text and the
/// first boundary found.
pub fn normalise(text: &str) -> (String, String) {
    let mut out = String::with_capacity(text.len());
    let mut first = String::new();
    let mut rest = text;
    loop {
        let b = rest.find("@@plait-");
        let t = rest.find("PLAIT_EOF_");
        match (b, t) {
            (Some(i), _) if t.is_none_or(|j| i < j) => {
                out.push_str(&rest[..i]);
                let after = &rest[i + 8..];
                let end = after.find("@@").unwrap_or(0);
                if first.is_empty() {
                    first = rest[i..i + 8 + end + 2].to_string();
                }
                out.push_str("@@B@@");
                rest = &after[end + 2..];
            }
            (_, Some(j)) => {
                out.push_str(&rest[..j]);
                let after = &rest[j + 10..];
                let end = after.find('_').unwrap_or(0);
                out.push_str("PLAIT_EOF_TOKEN_");
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(rest);
                return (out, first);
            }
        }
    }
}

impl MockTransport {
    pub fn expect(&self, line: &str, stdin: Option<&str>, reply: impl Fn(&str, &str) -> Result<ExecOutput, SshError> + 'static) {
        self.expected.borrow_mut().push_back(Expect { line: line.into(), stdin: stdin.map(String::from), reply: Box::new(reply) });
    }

    /// Every expected call was made.
    pub fn done(&self) {
        let left: Vec<String> = self.expected.borrow().iter().map(|e| e.line.clone()).collect();
        assert!(left.is_empty(), "expected calls not made: {left:?}");
    }
}

impl Transport for MockTransport {
    async fn exec(&self, line: &str, stdin: Option<&[u8]>, _limit: Duration) -> Result<ExecOutput, SshError> {
        let (stdin_n, boundary) = match stdin {
            Some(s) => {
                let (n, b) = normalise(&String::from_utf8_lossy(s));
                (Some(n), b)
            }
            None => (None, String::new()),
        };
        self.calls.borrow_mut().push(Call { line: line.to_string(), stdin: stdin_n.clone() });
        let e = self.expected.borrow_mut().pop_front().unwrap_or_else(|| panic!("unexpected exec: {line}"));
        assert_eq!(line, e.line, "command line");
        if let Some(want) = &e.stdin {
            assert_eq!(stdin_n.as_deref(), Some(want.as_str()), "stdin of {line}");
        }
        (e.reply)(stdin_n.as_deref().unwrap_or(""), &boundary)
    }

    async fn reconnect(&mut self, _within: Duration) -> Result<(), SshError> {
        *self.reconnects.borrow_mut() += 1;
        Ok(())
    }

    async fn close(&self) {}
}

pub fn out(code: i32, stdout: &str, stderr: &str) -> Result<ExecOutput, SshError> {
    Ok(ExecOutput { exit_code: code, stdout: stdout.as_bytes().to_vec(), stderr: stderr.as_bytes().to_vec() })
}

fn run_action(argv: &[&str]) -> Run {
    Run {
        program: Program::Argv(argv.iter().map(|s| s.to_string()).collect()),
        sudo: true,
        stdin: None,
        env: vec![],
        timeout_secs: None,
        retries: 0,
        retry_delay_secs: 0,
        unless: None,
        capture: None,
        secret: false,
        read_only: false,
    }
}

fn action(summary: &str, kind: ActionKind) -> Action {
    Action { summary: summary.into(), kind, when_changed: Vec::new() }
}

struct Fixture {
    vars: VarStore,
    secrets: Secrets,
}

impl Fixture {
    fn new() -> Self {
        Fixture { vars: VarStore::new(1), secrets: Secrets::default() }
    }
    fn runner(&self, t: MockTransport, mode: Mode, elevation: Elevation) -> HostRunner<'_, MockTransport> {
        HostRunner::new(t, elevation, None, mode, &self.vars, &self.secrets, Duration::from_secs(7200))
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_guard_skips_the_command() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        t.expect("timeout -k 10 120 test -f /etc/done", None, |_, _| out(0, "", ""));
        let mut r = fx.runner(t, Mode::Apply, Elevation::None);
        let mut run = run_action(&["touch", "/etc/done"]);
        run.unless = Some(Program::Argv(vec!["test".into(), "-f".into(), "/etc/done".into()]));
        let o = block_on(r.execute("h", &action("x", ActionKind::Run(run)))).unwrap();
        assert_eq!(o.status, ActionStatus::Ok);
        assert_eq!(o.note.as_deref(), Some("already done (guard `test -f /etc/done` passed)"));
        r.transport.done();
    }

    #[test]
    fn retries_then_success_with_the_exact_command_line() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        for code in [1, 1, 0] {
            t.expect("sudo -n -- timeout -k 10 60 docker pull x", None, move |_, _| out(code, "", "flaky"));
        }
        let mut r = fx.runner(t, Mode::Apply, Elevation::Sudo);
        let mut run = run_action(&["docker", "pull", "x"]);
        run.timeout_secs = Some(60);
        run.retries = 2;
        let o = block_on(r.execute("h", &action("pull", ActionKind::Run(run)))).unwrap();
        assert_eq!(o.status, ActionStatus::Changed);
        assert_eq!(o.note.as_deref(), Some("succeeded on attempt 3"));
        r.transport.done();
    }

    #[test]
    fn a_secret_capture_is_stored_masked_and_hidden() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        t.expect("timeout -k 10 7200 kubeadm token create", None, |_, _| out(0, "  s3cr3t-token \n", ""));
        let mut r = fx.runner(t, Mode::Apply, Elevation::None);
        let mut run = run_action(&["kubeadm", "token", "create"]);
        run.capture = Some("token".into());
        run.secret = true;
        let o = block_on(r.execute("master", &action("token", ActionKind::Run(run)))).unwrap();
        assert_eq!(o.command.as_deref(), Some("(secret command line hidden)"));
        assert_eq!(o.stdout, "");
        assert_eq!(fx.vars.snapshot()[0].value.as_deref(), Some("s3cr3t-token"));
        assert_eq!(fx.secrets.mask("got s3cr3t-token"), "got ********");
    }

    #[test]
    fn a_capture_larger_than_a_variable_may_hold_fails_and_stores_nothing() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        let big = "x".repeat(super::super::vars::MAX_VARIABLE + 1);
        t.expect("timeout -k 10 7200 cat /var/log/huge", None, move |_, _| out(0, &big, ""));
        let mut r = fx.runner(t, Mode::Apply, Elevation::None);
        let mut run = run_action(&["cat", "/var/log/huge"]);
        run.capture = Some("log".into());
        let o = block_on(r.execute("master", &action("log", ActionKind::Run(run)))).unwrap();
        assert_eq!(o.status, ActionStatus::Failed);
        assert!(o.note.as_deref().unwrap().contains("`log` would hold 1048577 bytes, more than a variable may"), "{o:?}");
        assert!(o.stdout.is_empty());
        assert!(fx.vars.snapshot().is_empty());
    }

    #[test]
    fn a_dry_run_reads_but_never_changes() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        // The file is checked (no content sent) and read for the diff; nothing else runs.
        let f = PutFile { path: "/etc/motd".into(), content: b"hi\n".to_vec(), mode: Some(0o644), owner: None, group: None };
        let check =
            crate::ssh::build_command(&super::super::upload::program(&f, super::super::upload::Put::Check), &[], Elevation::None, Some(60))
                .line;
        t.expect(&check, None, |_, _| out(0, "content differs\n", ""));
        t.expect("timeout -k 10 60 head -c 1048577 -- /etc/motd", None, |_, _| out(0, "hello\n", ""));
        let mut r = fx.runner(t, Mode::DryRun, Elevation::None);
        assert!(r.apply().is_none());
        r.readable = vec!["/etc/motd".into()];
        let o = block_on(r.execute("h", &action("motd", ActionKind::PutFile(f.clone())))).unwrap();
        assert_eq!((o.status, o.note.as_deref()), (ActionStatus::Changed, Some("would write 3 bytes (content differs)")));
        assert_eq!(o.diff.as_deref(), Some("--- /etc/motd (on the host)\n+++ /etc/motd (planned)\n@@ -1 +1 @@\n-hello\n+hi"));
        let o = block_on(r.execute("h", &action("rm", ActionKind::Run(run_action(&["rm", "-rf", "/x"]))))).unwrap();
        assert_eq!((o.status, o.note.as_deref()), (ActionStatus::Changed, Some("would run")));
        let o = block_on(r.execute("h", &action("reboot", ActionKind::Reboot(crate::model::Reboot { timeout_secs: 60 })))).unwrap();
        assert_eq!(o.note.as_deref(), Some("would reboot"));
        let three = vec![action("a", ActionKind::Run(run_action(&["true"]))); 3];
        assert_eq!(r.batch_end(&three, 0), 1, "no batches in a dry run");
        let calls = r.transport.calls.borrow().clone();
        assert_eq!(calls.len(), 2, "only the file check and its read ran");
        assert!(calls.iter().all(|c| c.line.contains("/etc/motd") && c.stdin.is_none()), "no content sent: {calls:?}");
        r.transport.done();
        // A file the step may not read (a `writes` grant alone) is not read
        // for a diff: 9b41850 printed its current content.
        r.readable.clear();
        r.transport.expect(&check, None, |_, _| out(0, "content differs\n", ""));
        let o = block_on(r.execute("h", &action("motd", ActionKind::PutFile(f)))).unwrap();
        assert!(o.diff.as_deref().is_some_and(|d| d.starts_with("(no diff: the step may not read /etc/motd")), "{o:?}");
        assert_eq!(r.transport.calls.borrow().len(), 3, "only the check ran");
        r.transport.done();
    }

    #[test]
    fn a_file_already_as_wanted_is_not_sent_and_a_changed_one_is_written_with_its_content() {
        use super::super::upload::{Put, program};
        let fx = Fixture::new();
        let t = MockTransport::default();
        let f = PutFile { path: "/etc/motd".into(), content: b"hi\n".to_vec(), mode: None, owner: None, group: None };
        let line = |p| crate::ssh::build_command(&program(&f, p), &[], Elevation::None, Some(if p == Put::Check { 60 } else { 600 })).line;
        t.expect(&line(Put::Check), None, |_, _| out(0, "up to date\n", ""));
        t.expect(&line(Put::Check), None, |_, _| out(0, "content differs\n", ""));
        t.expect(&line(Put::Write), Some("hi\n"), |_, _| out(0, "content differs\n", ""));
        let mut r = fx.runner(t, Mode::Apply, Elevation::None);
        let a = action("motd", ActionKind::PutFile(f.clone()));
        assert_eq!(block_on(r.execute("h", &a)).unwrap().status, ActionStatus::Ok);
        let o = block_on(r.execute("h", &a)).unwrap();
        assert_eq!((o.status, o.note.as_deref()), (ActionStatus::Changed, Some("wrote 3 bytes (content differs)")));
        r.transport.done();
    }

    #[test]
    fn a_step_without_root_never_batches_an_upload() {
        // A batched upload writes as root (second review of issue 24): under
        // `grants = { sudo = false }` it goes alone, as the SSH user.
        let fx = Fixture::new();
        let mut r = fx.runner(MockTransport::default(), Mode::Apply, Elevation::Sudo);
        let f = PutFile { path: "/tmp/x".into(), content: b"x\n".to_vec(), mode: None, owner: None, group: None };
        let put = action("put", ActionKind::PutFile(f));
        assert!(r.batchable(&put));
        r.root = false;
        assert!(!r.batchable(&put));
        assert!(r.batchable(&action("run", ActionKind::Run(run_action(&["true"])))));
    }

    #[test]
    fn a_batch_is_one_script_and_stops_at_the_first_failure() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        let actions = vec![
            action("one", ActionKind::Run(run_action(&["echo", "1"]))),
            action("two", ActionKind::Run(run_action(&["false"]))),
            action("three", ActionKind::Run(run_action(&["echo", "3"]))),
        ];
        // The pinned script: each action framed, stops at the first failure.
        let expected = "B='@@B@@'\nd=$(mktemp -d) || exit 97\nt=\"$d/err\"\ntrap 'exec >&3; cat \"$d/out\"; rm -rf \"$d\"' EXIT\nexec 3>&1 >\"$d/out\"\n\
printf '\\n%s %s\\n' \"$B\" \"action 0\"\na=0\nwhile :; do\n{ timeout -k 10 7200 echo 1\n} 2>\"$t\" 3>&- </dev/null\nrc=$?\n[ \"$rc\" -eq 0 ] || [ \"$a\" -ge 0 ] && break\na=$((a + 1)); sleep 0\ndone\n\
printf '\\n%s %s\\n' \"$B\" \"exit 0 $rc $a\"\n[ -s \"$t\" ] && cat \"$t\"\nprintf '\\n%s %s\\n' \"$B\" \"stderr-end 0\"\n[ \"$rc\" -eq 0 ] || exit 0\n\
printf '\\n%s %s\\n' \"$B\" \"action 1\"\na=0\nwhile :; do\n{ timeout -k 10 7200 false\n} 2>\"$t\" 3>&- </dev/null\nrc=$?\n[ \"$rc\" -eq 0 ] || [ \"$a\" -ge 0 ] && break\na=$((a + 1)); sleep 0\ndone\n\
printf '\\n%s %s\\n' \"$B\" \"exit 1 $rc $a\"\n[ -s \"$t\" ] && cat \"$t\"\nprintf '\\n%s %s\\n' \"$B\" \"stderr-end 1\"\n[ \"$rc\" -eq 0 ] || exit 0\n\
printf '\\n%s %s\\n' \"$B\" \"action 2\"\na=0\nwhile :; do\n{ timeout -k 10 7200 echo 3\n} 2>\"$t\" 3>&- </dev/null\nrc=$?\n[ \"$rc\" -eq 0 ] || [ \"$a\" -ge 0 ] && break\na=$((a + 1)); sleep 0\ndone\n\
printf '\\n%s %s\\n' \"$B\" \"exit 2 $rc $a\"\n[ -s \"$t\" ] && cat \"$t\"\nprintf '\\n%s %s\\n' \"$B\" \"stderr-end 2\"\n[ \"$rc\" -eq 0 ] || exit 0\n";
        t.expect("sh -s", Some(expected), |_, b| {
            out(
                0,
                &format!(
                    "\n{b} action 0\n1\n\n{b} exit 0 0 0\n\n{b} stderr-end 0\n\n{b} action 1\n\n{b} exit 1 1 0\nno\n\n{b} stderr-end 1\n"
                ),
                "",
            )
        });
        let r = fx.runner(t, Mode::Apply, Elevation::None);
        assert_eq!(r.batch_end(&actions, 0), 3);
        let apply = r.apply().expect("apply mode");
        let (o, gathered) = block_on(r.execute_batch(apply, "h", &actions, None)).unwrap();
        assert!(gathered.is_none());
        let got: Vec<(ActionStatus, &str, &str)> = o.iter().map(|o| (o.status, o.stdout.as_str(), o.stderr.as_str())).collect();
        assert_eq!(got, vec![(ActionStatus::Changed, "1\n", ""), (ActionStatus::Failed, "", "no\n")]);
        // Run under the run's limit on the host; shown as the plugin asked.
        assert_eq!(o[1].command.as_deref(), Some("false"));
        r.transport.done();
    }

    #[test]
    fn a_batch_that_dies_without_results_fails_its_first_action() {
        let fx = Fixture::new();
        let t = MockTransport::default();
        let actions = vec![action("one", ActionKind::Run(run_action(&["echo", "1"])))];
        t.expect("sh -s", None, |_, _| out(97, "", "mktemp: failed"));
        let r = fx.runner(t, Mode::Apply, Elevation::None);
        let (o, _) = block_on(r.execute_batch(r.apply().unwrap(), "h", &actions, None)).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].status, ActionStatus::Failed);
        assert!(o[0].note.as_deref().unwrap().contains("exited with code 97: mktemp: failed"), "{:?}", o[0].note);
    }

    #[test]
    fn normalising_replaces_random_tokens() {
        let (n, b) = normalise("B='@@plait-0123abcd@@'\n<<'PLAIT_EOF_ffee_3'\nx\nPLAIT_EOF_ffee_3\n");
        assert_eq!(n, "B='@@B@@'\n<<'PLAIT_EOF_TOKEN_3'\nx\nPLAIT_EOF_TOKEN_3\n");
        assert_eq!(b, "@@plait-0123abcd@@");
    }
}
