//! Errors of the subcommands, with their exit codes.

use super::plan::PlanError;
use crate::diagnostic::{Category, SourceError};
use crate::executor::JournalError;
use crate::exit_codes;
use crate::plugin::PluginError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A problem in a file, with its location.
    #[error(transparent)]
    Source(Box<SourceError>),
    /// The facts file lacks what the plan needs.
    #[error(transparent)]
    Facts(#[from] PlanError),
    /// A plugin failed outside any workflow (e.g. `plait plugin inspect`).
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The run's journal: its lock is held, or it cannot be written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Invalid command-line input (e.g. a `--limit` naming nothing).
    #[error("{0}")]
    Invalid(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl From<Box<SourceError>> for CommandError {
    fn from(e: Box<SourceError>) -> Self {
        CommandError::Source(e)
    }
}

impl CommandError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            // A plugin problem reported at its step still is a plugin problem.
            CommandError::Source(e) if e.category == Category::Plugin => exit_codes::PLUGIN_FAILED,
            CommandError::Source(_) | CommandError::Facts(_) | CommandError::Invalid(_) => exit_codes::INVALID_INPUT,
            CommandError::Plugin(_) => exit_codes::PLUGIN_FAILED,
            CommandError::Journal(JournalError::Locked { .. }) => exit_codes::BUSY,
            CommandError::Journal(JournalError::Changed { .. }) => exit_codes::INVALID_INPUT,
            CommandError::Journal(_) => exit_codes::HOSTS_FAILED,
            CommandError::Other(_) => exit_codes::HOSTS_FAILED,
        }
    }
}
