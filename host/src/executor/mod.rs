//! Running a bound workflow against live hosts: one task per host (bounded
//! by `--forks`), steps in order, facts re-read when they may have changed,
//! every remote change through [`runner`] (which can change a host only
//! with an `Apply`, which a dry run never has), all of it over a
//! [`Transport`], and a journal for `--resume`.

mod batch;
mod fd_limit;
mod host;
mod journal;
mod known;
#[cfg(test)]
mod mock;
mod outcome;
mod rollout;
mod run;
mod runner;
mod shared;
mod transport;
mod upload;
mod vars;

pub use fd_limit::raise_open_files;
pub use journal::{Journal, JournalError, RunState};
pub use outcome::Outcome;
pub use run::{RunOptions, RunSummary, run};
pub use runner::{Apply, HostRunner};
pub use transport::{GatherFailed, SshTransport, Transport, gather};
pub use vars::VarStore;

/// Apply changes, or only report what would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Execute.
    Apply,
    /// Connect, gather, plan, check guards and files; change nothing.
    DryRun,
}
