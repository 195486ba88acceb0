//! On-disk cache of compiled components, keyed by the component's sha256,
//! the wasmtime version and the engine's compatibility hash (so a different
//! engine configuration never loads an incompatible artifact).

use super::error::PluginError;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled components live.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
}

/// Whether a load hit the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Deserialized a cached artifact.
    Hit,
    /// Compiled (and stored, when the cache is enabled).
    Compiled,
}

impl ComponentCache {
    /// A cache in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        ComponentCache { dir: Some(dir.into()) }
    }

    /// No caching: always compile.
    pub fn disabled() -> Self {
        ComponentCache { dir: None }
    }

    /// `$PLAIT_CACHE_DIR`, else `$XDG_CACHE_HOME/plait`, else `~/.cache/plait`.
    pub fn default_location() -> Self {
        let dir = std::env::var_os("PLAIT_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("plait")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/plait")));
        ComponentCache { dir }
    }

    /// The cache directory, if enabled.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn artifact_path(&self, engine: &Engine, sha256: &str) -> Option<PathBuf> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let engine_key = format!("{:016x}", h.finish());
        let dir = self.dir.as_ref()?.join("components").join(format!("wasmtime-{}-{engine_key}", wasmtime_version()));
        Some(dir.join(format!("{sha256}.cwasm")))
    }

    /// Load the component for `bytes`, from the cache when possible.
    pub fn load(&self, engine: &Engine, path: &Path, bytes: &[u8], sha256: &str) -> Result<(Component, CacheOutcome), PluginError> {
        let artifact = self.artifact_path(engine, sha256);
        if let Some(a) = &artifact
            && a.is_file()
            && let Ok(c) = deserialize_trusted(engine, a)
        {
            return Ok((c, CacheOutcome::Hit));
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(|e| PluginError::Invalid { path: path.to_path_buf(), detail: format!("{:#}", e.root_cause()) })?;
        if let Some(a) = &artifact {
            // Best effort: a read-only cache dir only costs a recompile next time.
            if let Err(e) = store_atomically(a, &compiled) {
                tracing::warn!("cannot write plugin cache {}: {e}", a.display());
            }
        }
        let component = deserialize_bytes(engine, &compiled)
            .map_err(|e| PluginError::Runtime(format!("loading freshly compiled {}: {e:#}", path.display())))?;
        Ok((component, CacheOutcome::Compiled))
    }
}

fn wasmtime_version() -> &'static str {
    // The crate version pins the artifact format together with the engine hash.
    "48"
}

fn store_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("c"), std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[expect(unsafe_code, reason = "deserializing artifacts that this cache itself compiled and wrote")]
fn deserialize_trusted(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file was produced by `precompile_component` with an engine
    // of the same compatibility hash (part of the path) and written by us
    // through an atomic rename into the user's private cache directory.
    unsafe { Component::deserialize_file(engine, path) }
}

#[expect(unsafe_code, reason = "deserializing bytes produced by precompile_component just now")]
fn deserialize_bytes(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `bytes` come straight from `Engine::precompile_component` on this engine.
    unsafe { Component::deserialize(engine, bytes) }
}
