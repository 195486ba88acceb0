//! Every exit code plait uses, in one place.

/// Success (for `plan`: the plan was computed, changes or not).
pub const OK: i32 = 0;
/// The command ran but some hosts failed.
pub const HOSTS_FAILED: i32 = 1;
/// Invalid input: command line, workflow, inventory or facts file.
pub const INVALID_INPUT: i32 = 2;
/// A plugin could not be loaded, or failed or misbehaved while planning.
pub const PLUGIN_FAILED: i32 = 3;
/// Another run of the same workflow holds its lock (nothing was done).
pub const BUSY: i32 = 4;
/// `plait plan --detailed-exitcode`: the plan has changes (Terraform's
/// convention is 2, which plait uses for invalid input).
pub const CHANGES_PENDING: i32 = 5;
/// Interrupted (Ctrl-C).
pub const INTERRUPTED: i32 = 130;
