//! The seam under the executor: everything it does on a host is a command
//! line with optional stdin and a time limit, plus a reconnect after a
//! reboot. [`SshTransport`] does it over one SSH connection; tests use a
//! mock that pins the exact command lines and scripts (`mock.rs`).

use crate::facts::GatherScript;
use crate::model::Program;
use crate::ssh::{ConnectOptions, Elevation, ExecOutput, Session, SshError, build_command};
use std::future::Future;
use std::time::Duration;

/// A connection to one host.
pub trait Transport {
    /// Run the remote command `line`, feed it `stdin`, and wait at most
    /// `limit` for its exit status and output.
    fn exec(&self, line: &str, stdin: Option<&[u8]>, limit: Duration) -> impl Future<Output = Result<ExecOutput, SshError>>;

    /// Drop the connection and connect again, within `within` (after a reboot).
    fn reconnect(&mut self, within: Duration) -> impl Future<Output = Result<(), SshError>>;

    /// Close the connection.
    fn close(&self) -> impl Future<Output = ()>;
}

/// One SSH connection and how to make it again.
pub struct SshTransport {
    session: Session,
    options: ConnectOptions,
}

impl SshTransport {
    /// Connect.
    pub async fn connect(options: ConnectOptions) -> Result<SshTransport, SshError> {
        Ok(SshTransport { session: Session::connect(&options).await?, options })
    }
}

impl Transport for SshTransport {
    async fn exec(&self, line: &str, stdin: Option<&[u8]>, limit: Duration) -> Result<ExecOutput, SshError> {
        self.session.exec(line, stdin, limit).await
    }

    async fn reconnect(&mut self, within: Duration) -> Result<(), SshError> {
        self.session.close().await;
        let mut opts = self.options.clone();
        opts.connect_timeout = opts.connect_timeout.min(within).max(Duration::from_millis(500));
        self.session = Session::connect(&opts).await?;
        Ok(())
    }

    async fn close(&self) {
        self.session.close().await;
    }
}

/// Run a gather script (one `sh -s` round trip); its output.
pub async fn gather<T: Transport>(t: &T, g: &GatherScript) -> Result<String, GatherFailed> {
    let sh = build_command(&Program::Argv(vec!["sh".into(), "-s".into()]), &[], Elevation::None, None);
    let run = |script: &str| {
        let line = sh.line.clone();
        let script = script.as_bytes().to_vec();
        async move {
            let out = t.exec(&line, Some(&script), Duration::from_secs(120)).await?;
            if out.exit_code != 0 && out.stdout.is_empty() {
                return Err(GatherFailed::Exit { code: out.exit_code, stderr: out.stderr_text().trim().to_string() });
            }
            Ok(out.stdout_text())
        }
    };
    // The root probes' shell (with the password) is a session of its own,
    // run beside the other on the same connection.
    match &g.root {
        None => run(&g.script).await,
        Some(root) => {
            let (user, root) = tokio::try_join!(run(&g.script), run(root))?;
            Ok(user + "\n" + &root)
        }
    }
}

/// Why reading facts and probes failed.
#[derive(Debug, thiserror::Error)]
pub enum GatherFailed {
    /// The connection failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// The script failed before printing anything.
    #[error("gathering facts failed with exit code {code}: {stderr}")]
    Exit {
        /// Exit status.
        code: i32,
        /// What it printed on stderr.
        stderr: String,
    },
}
