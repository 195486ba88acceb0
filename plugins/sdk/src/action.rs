//! Builders for the four kinds of action.
//!
//! Every builder converts into [`Action`] with `.into()`. Commands are argv
//! lists by default, so a value from facts or parameters is always exactly
//! one argument and never parsed by a shell. Actions run as root (through
//! sudo for non-root SSH users) unless [`cmd::RunBuilder::as_user`] is called.

use crate::{Action, ActionKind, FetchFile, Program, PutFile, Reboot, Run};

fn describe_program(p: &Program) -> String {
    match p {
        Program::Argv(argv) => crate::shell::join(argv),
        Program::Script(s) => s.lines().next().unwrap_or("").to_string(),
    }
}

/// Commands: [`cmd::run`] for argv, [`cmd::script`] for shell code.
pub mod cmd {
    use super::*;

    /// Build a `run` action.
    #[derive(Debug, Clone)]
    pub struct RunBuilder {
        summary: Option<String>,
        run: Run,
    }

    /// Run a program with these arguments; no shell is involved.
    pub fn run<I, S>(argv: I) -> RunBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RunBuilder::new(Program::Argv(argv.into_iter().map(Into::into).collect()))
    }

    /// Run shell code with `/bin/sh -c`. Quote every interpolated value with
    /// [`crate::shell::quote`]; the plugin must declare the `shell` capability.
    pub fn script(code: impl Into<String>) -> RunBuilder {
        RunBuilder::new(Program::Script(code.into()))
    }

    /// An argv program, for guards.
    pub fn argv<I, S>(argv: I) -> Program
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Program::Argv(argv.into_iter().map(Into::into).collect())
    }

    impl RunBuilder {
        fn new(program: Program) -> Self {
            RunBuilder {
                summary: None,
                run: Run {
                    program,
                    sudo: true,
                    stdin: None,
                    env: Vec::new(),
                    timeout_secs: None,
                    retries: 0,
                    retry_delay_secs: 0,
                    unless: None,
                    capture: None,
                    secret: false,
                    read_only: false,
                },
            }
        }
        /// Human description shown in plans and progress.
        pub fn summary(mut self, s: impl Into<String>) -> Self {
            self.summary = Some(s.into());
            self
        }
        /// Run as the SSH user instead of root.
        pub fn as_user(mut self) -> Self {
            self.run.sudo = false;
            self
        }
        /// Feed these bytes to standard input.
        pub fn stdin(mut self, s: impl Into<String>) -> Self {
            self.run.stdin = Some(s.into());
            self
        }
        /// Set an environment variable for the command.
        pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
            self.run.env.push((k.into(), v.into()));
            self
        }
        /// Kill the remote process after this many seconds.
        pub fn timeout_secs(mut self, secs: u32) -> Self {
            self.run.timeout_secs = Some(secs);
            self
        }
        /// Try again up to `retries` times, waiting `delay_secs` between tries.
        pub fn retries(mut self, retries: u32, delay_secs: u32) -> Self {
            self.run.retries = retries;
            self.run.retry_delay_secs = delay_secs;
            self
        }
        /// Skip the action (as ok) when this read-only check exits 0.
        pub fn unless(mut self, guard: Program) -> Self {
            self.run.unless = Some(guard);
            self
        }
        /// Store trimmed stdout in the workflow variable `name`.
        pub fn capture(mut self, name: impl Into<String>) -> Self {
            self.run.capture = Some(name.into());
            self
        }
        /// Mask the captured value and stdin everywhere; keep the command
        /// line and stdout out of every report.
        pub fn secret(mut self) -> Self {
            self.run.secret = true;
            self
        }
        /// The command only reads (a check, a wait, a report): it counts as
        /// ok, not as a change, and runs in dry runs too.
        pub fn read_only(mut self) -> Self {
            self.run.read_only = true;
            self
        }
    }

    impl From<RunBuilder> for Action {
        fn from(b: RunBuilder) -> Action {
            let summary = b.summary.unwrap_or_else(|| describe_program(&b.run.program));
            Action { summary, kind: ActionKind::Run(b.run), when_changed: Vec::new() }
        }
    }
}

/// Files: [`file::put`].
pub mod file {
    use super::*;

    /// Build a `put-file` action.
    #[derive(Debug, Clone)]
    pub struct FileBuilder {
        summary: Option<String>,
        file: PutFile,
    }

    /// Ensure `path` has exactly `content`. The host uploads only when the
    /// remote checksum differs, through a temporary file and a rename.
    pub fn put(path: impl Into<String>, content: impl Into<Vec<u8>>) -> FileBuilder {
        FileBuilder { summary: None, file: PutFile { path: path.into(), content: content.into(), mode: None, owner: None, group: None } }
    }

    impl FileBuilder {
        /// Human description.
        pub fn summary(mut self, s: impl Into<String>) -> Self {
            self.summary = Some(s.into());
            self
        }
        /// Permission bits, e.g. `0o644`.
        pub fn mode(mut self, mode: u32) -> Self {
            self.file.mode = Some(mode);
            self
        }
        /// Owner user and group.
        pub fn owner(mut self, user: impl Into<String>, group: impl Into<String>) -> Self {
            self.file.owner = Some(user.into());
            self.file.group = Some(group.into());
            self
        }
    }

    impl From<FileBuilder> for Action {
        fn from(b: FileBuilder) -> Action {
            let summary = b.summary.unwrap_or_else(|| format!("write {}", b.file.path));
            Action { summary, kind: ActionKind::PutFile(b.file), when_changed: Vec::new() }
        }
    }
}

/// Reboots: [`reboot::host`].
pub mod reboot {
    use super::*;

    /// Reboot and wait up to `timeout_secs` for a new boot id.
    pub fn host(timeout_secs: u32) -> Action {
        Action { summary: "reboot".into(), kind: ActionKind::Reboot(Reboot { timeout_secs }), when_changed: Vec::new() }
    }
}

/// Reading remote files: [`fetch::file`].
pub mod fetch {
    use super::*;

    /// Read `path` into the workflow variable `into`.
    pub fn file(path: impl Into<String>, into: impl Into<String>, secret: bool) -> Action {
        let path = path.into();
        Action {
            summary: format!("read {path}"),
            kind: ActionKind::FetchFile(FetchFile { path, into: into.into(), secret }),
            when_changed: Vec::new(),
        }
    }
}
