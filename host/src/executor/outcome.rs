//! The outcome of one action, as the executor reports it.

use crate::output::ActionStatus;
use crate::ssh::{ExecOutput, SshError};

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A dry run's diff of a file it would write.
    pub diff: Option<String>,
}

impl Outcome {
    /// An outcome with a note and nothing run (or nothing worth showing).
    pub fn new(status: ActionStatus, note: impl Into<String>) -> Self {
        Outcome {
            status,
            note: Some(note.into()),
            command: None,
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            diff: None,
        }
    }
    /// The outcome of a command that ran.
    pub fn from_exec(status: ActionStatus, note: Option<String>, command: &str, out: &ExecOutput) -> Self {
        Outcome {
            status,
            note,
            command: Some(command.to_string()),
            exit_code: Some(out.exit_code),
            stdout: out.stdout_text(),
            stderr: out.stderr_text(),
            diff: None,
        }
    }
    /// A connection failure as the outcome of the action it interrupted.
    pub fn lost(e: &SshError) -> Self {
        Outcome::new(ActionStatus::Failed, e.to_string())
    }
}
