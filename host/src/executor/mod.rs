//! Running a bound workflow against live hosts: one task per host (bounded
//! by `--forks`), steps in order, facts re-read before each step, every
//! remote change through [`action::execute`] (the one place that decides
//! between doing and only reporting), a journal for `--resume`.

mod action;
mod batch;
mod host;
mod journal;
mod run;
mod vars;

pub use journal::{Journal, JournalError, RunState};
pub use run::{RunOptions, RunSummary, run};
pub use vars::VarStore;

/// Apply changes, or only report what would change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Execute.
    Apply,
    /// Connect, gather, plan, check guards and files; change nothing.
    DryRun,
}
