//! The shared wasmtime engine, its epoch ticker and the linker.

use super::bindings::{v0_1, v0_2, v0_3};
use super::cache::ComponentCache;
use super::error::PluginError;
use super::limits::{EPOCH_TICK, Limits};
use super::sandbox::State;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

/// One engine and linker shared by every plugin of a run.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<State>,
    pub(crate) cache: ComponentCache,
    pub(crate) limits: Limits,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("cache", &self.cache).field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Runtime {
    /// An engine with epoch interruption, a ticker thread, and a linker that
    /// offers WASI p2 (denied by default in each store) and `plait:plugin/host`
    /// of every contract version.
    pub fn new(cache: ComponentCache, limits: Limits) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| PluginError::Runtime(format!("creating the wasm engine: {e:#}")))?;

        // The ticker holds only a weak reference, so it ends with the engine.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("plait-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| PluginError::Runtime(format!("starting the epoch thread: {e}")))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| PluginError::Runtime(format!("linking WASI: {e:#}")))?;
        // Each contract version imports its own `plait:plugin/host@X`.
        v0_1::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| PluginError::Runtime(format!("linking plait:plugin/host@0.1.0: {e:#}")))?;
        v0_2::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| PluginError::Runtime(format!("linking plait:plugin/host@0.2.0: {e:#}")))?;
        v0_3::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| PluginError::Runtime(format!("linking plait:plugin/host@0.3.0: {e:#}")))?;
        Ok(Runtime { engine, linker, cache, limits })
    }
}
