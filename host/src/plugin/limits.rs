//! What one plugin call may use: time (counted in epoch ticks) and memory.

use std::time::Duration;

/// How often the epoch advances; the time limit is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-call limits for plugins.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock time for one call.
    pub time: Duration,
    /// Linear memory, in bytes.
    pub memory: usize,
    /// Bytes kept of the plugin's stdout and of its stderr.
    pub stdio: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { time: Duration::from_secs(5), memory: 256 << 20, stdio: 64 << 10 }
    }
}
