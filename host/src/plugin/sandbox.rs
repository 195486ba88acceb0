//! The per-call sandbox: a fresh `Store` whose WASI context grants nothing
//! (no preopened directory, no environment, no arguments, no network, no
//! inherited stdio), with a memory cap and an epoch deadline.

use super::bindings::{v0_1, v0_2, v0_3};
use super::limits::{EPOCH_TICK, Limits};
use serde::Serialize;
use std::path::Path;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

/// Where a plugin message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// `log(debug, ..)`.
    Debug,
    /// `log(info, ..)`.
    Info,
    /// `log(warn, ..)`.
    Warn,
    /// `log(error, ..)`.
    Error,
    /// Captured standard output.
    Stdout,
    /// Captured standard error.
    Stderr,
}

/// Most log lines kept per call, so a chatty plugin cannot exhaust the host.
const MAX_LOG_LINES: usize = 1000;
/// Longest kept log line.
const MAX_LOG_LINE: usize = 4096;

/// Store state of one call.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub(crate) logs: Vec<(LogSource, String)>,
    dropped_logs: usize,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// `plait:plugin/host` of one contract version: `log` goes to the call's logs.
macro_rules! host_import {
    ($v:ident) => {
        impl $v::plait::plugin::host::Host for State {
            fn log(&mut self, level: $v::plait::plugin::host::Level, message: String) {
                use $v::plait::plugin::host::Level;
                let src = match level {
                    Level::Debug => LogSource::Debug,
                    Level::Info => LogSource::Info,
                    Level::Warn => LogSource::Warn,
                    Level::Error => LogSource::Error,
                };
                self.push_log(src, message);
            }
        }

        impl $v::plait::plugin::types::Host for State {}
    };
}

host_import!(v0_1);
host_import!(v0_2);
host_import!(v0_3);

impl State {
    fn push_log(&mut self, src: LogSource, mut message: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.dropped_logs += 1;
            return;
        }
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" [truncated]");
        }
        self.logs.push((src, message));
    }
}

/// A fresh store plus handles to its captured stdio.
pub struct Sandbox {
    pub(crate) store: Store<State>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl Sandbox {
    /// Deny-by-default WASI, memory cap, epoch deadline. `assets`, when
    /// granted, is the one directory the plugin sees: read-only at `/assets`.
    pub fn new(engine: &Engine, limits: &Limits, assets: Option<&Path>) -> Self {
        let stdout = MemoryOutputPipe::new(limits.stdio);
        let stderr = MemoryOutputPipe::new(limits.stdio);
        // WasiCtx::builder() starts with nothing: no preopens, env, args,
        // sockets or name lookups; stdin reads as closed.
        let mut builder = WasiCtx::builder();
        builder.stdout(stdout.clone()).stderr(stderr.clone());
        if let Some(dir) = assets {
            // Opened with cap-std by wasmtime-wasi: nothing outside `dir` is reachable.
            if let Err(e) = builder.preopened_dir(dir, "/assets", FsPerms::ReadOnly) {
                tracing::warn!("cannot mount plugin assets {}: {e:#}", dir.display());
            }
        }
        let wasi = builder.build();
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.memory)
            .table_elements(1 << 20)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build();
        let mut store =
            Store::new(engine, State { wasi, table: ResourceTable::new(), limits: store_limits, logs: Vec::new(), dropped_logs: 0 });
        store.limiter(|s| &mut s.limits);
        let ticks = (limits.time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        Sandbox { store, stdout, stderr }
    }

    /// Everything the plugin said, stdout and stderr included, in order of
    /// kind: log calls first, then captured output line by line.
    pub fn into_logs(mut self) -> Vec<(LogSource, String)> {
        for (src, pipe) in [(LogSource::Stdout, self.stdout.clone()), (LogSource::Stderr, self.stderr.clone())] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes).lines() {
                self.store.data_mut().push_log(src, line.to_string());
            }
        }
        let state = self.store.data_mut();
        if state.dropped_logs > 0 {
            let n = state.dropped_logs;
            state.logs.push((LogSource::Warn, format!("{n} further log lines dropped")));
        }
        std::mem::take(&mut state.logs)
    }
}

/// How a failed call ended.
#[derive(Debug)]
pub enum CallFailure {
    /// Epoch deadline.
    Timeout,
    /// Memory growth refused.
    OutOfMemory,
    /// Anything else, with its root cause.
    Other(String),
}

/// Classify a wasmtime error from a call.
pub fn classify(e: &wasmtime::Error) -> CallFailure {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>()
        && *trap == wasmtime::Trap::Interrupt
    {
        return CallFailure::Timeout;
    }
    let root = format!("{}", e.root_cause());
    // StoreLimits with trap_on_grow_failure reports a plain error, not a Trap.
    if root.contains("forcing trap when growing memory") || root.contains("forcing a memory growth failure") {
        return CallFailure::OutOfMemory;
    }
    CallFailure::Other(root)
}
