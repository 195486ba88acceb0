//! On-disk cache of compiled components, keyed by the component's sha256,
//! the wasmtime version and the engine's compatibility hash (so a different
//! engine configuration never loads an incompatible artifact).
//!
//! A cached artifact is native code that is loaded without compiling, so the
//! cache is trusted only as far as it is the user's own: its folders are
//! made 0700, entries 0600; an entry (or a folder above it) that is not
//! owned by the user or is writable by others is ignored; and every entry
//! starts with a header binding it to the sha256 of the component it was
//! compiled from and to the sha256 of its own artifact, both checked before
//! anything is deserialised. A planted entry (another plugin's artifact in
//! this plugin's slot) is refused, and the component is compiled again.
//!
//! A checksum proves nothing against whoever can write the entry (a CI
//! cache restored from a fork's run is the user's own file): the header
//! carries an HMAC-SHA256 of the source sha256 and the artifact under a
//! per-user key kept outside the cache (`$XDG_STATE_HOME/plait/cache-key`,
//! else `~/.local/state/plait/cache-key`; 0600, made on first use). An
//! entry whose MAC does not verify is compiled again; without a key there
//! is no caching.

use super::error::PluginError;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// First bytes of every entry: format tag, source sha256, then the MAC.
const MAGIC: &str = "plait-cwasm-2";

type Mac = hmac::Hmac<sha2_11::Sha256>;

/// The MAC of an entry: over the component's sha256 and the artifact.
fn mac(key: &[u8], sha256: &str, code: &[u8]) -> Mac {
    use hmac::{KeyInit, Mac as _};
    let mut m = <Mac as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(sha256.as_bytes());
    m.update(b"\n");
    m.update(code);
    m
}

/// Where compiled components live.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    /// The MAC key's file, outside the cache.
    key: Option<PathBuf>,
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
    /// A cache in `dir`, its key in the file `DIR.key` beside it.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let key = dir.with_extension("key");
        ComponentCache { dir: Some(dir), key: Some(key) }
    }

    /// No caching: always compile.
    pub fn disabled() -> Self {
        ComponentCache { dir: None, key: None }
    }

    /// `$PLAIT_CACHE_DIR`, else `$XDG_CACHE_HOME/plait`, else `~/.cache/plait`.
    pub fn default_location() -> Self {
        let dir = std::env::var_os("PLAIT_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("plait")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/plait")));
        let key = std::env::var_os("XDG_STATE_HOME")
            .filter(|d| !d.is_empty())
            .map(|d| PathBuf::from(d).join("plait/cache-key"))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/plait/cache-key")));
        ComponentCache { dir, key }
    }

    /// The MAC key: read, or made on first use (32 random bytes, 0600, in a
    /// 0700 folder). A key file that is not the user's own, is readable by
    /// others or is a link is not used (and nothing is cached).
    fn key(&self) -> Result<Vec<u8>, String> {
        let path = self.key.as_deref().ok_or("no place for the cache key")?;
        let made = || -> std::io::Result<()> {
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
            let random: Vec<u8> = (0..2).flat_map(|_| *uuid::Uuid::new_v4().as_bytes()).collect();
            f.write_all(&random)?;
            f.sync_all()
        };
        match made() {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
        let m = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if m.file_type().is_symlink() || m.uid() != rustix::process::geteuid().as_raw() || m.mode() & 0o077 != 0 {
            return Err(format!("{} is not a private file of this user", path.display()));
        }
        let key = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if key.len() < 16 {
            return Err(format!("{} is too short to be a key", path.display()));
        }
        Ok(key)
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

    /// Load the component for `bytes`, from the cache when a trusted entry
    /// for exactly these bytes is there; else compile (and store).
    pub fn load(&self, engine: &Engine, path: &Path, bytes: &[u8], sha256: &str) -> Result<(Component, CacheOutcome), PluginError> {
        let artifact = self.artifact_path(engine, sha256);
        if let Some(a) = &artifact
            && a.is_file()
        {
            match self.read_trusted(a, sha256) {
                Ok(code) => {
                    if let Ok(c) = deserialize_checked(engine, &code) {
                        return Ok((c, CacheOutcome::Hit));
                    }
                }
                Err(why) => tracing::warn!("ignoring cached {} for {}: {why}", a.display(), path.display()),
            }
        }
        let compiled = engine
            .precompile_component(bytes)
            .map_err(|e| PluginError::Invalid { path: path.to_path_buf(), detail: format!("{:#}", e.root_cause()) })?;
        if let Some(a) = &artifact {
            // Best effort: a read-only cache dir only costs a recompile next time.
            if let Err(e) = self.store(a, sha256, &compiled) {
                tracing::warn!("cannot write plugin cache {}: {e}", a.display());
            }
        }
        let component = deserialize_checked(engine, &compiled)
            .map_err(|e| PluginError::Runtime(format!("loading freshly compiled {}: {e:#}", path.display())))?;
        Ok((component, CacheOutcome::Compiled))
    }

    /// The artifact of entry `path`, if the entry and the folders up to the
    /// cache root are the user's own and its header binds it to `sha256`.
    fn read_trusted(&self, path: &Path, sha256: &str) -> Result<Vec<u8>, String> {
        let root = self.dir.as_deref().ok_or("no cache")?;
        let uid = rustix::process::geteuid().as_raw();
        let mut p = Some(path);
        while let Some(x) = p {
            let m = std::fs::symlink_metadata(x).map_err(|e| format!("{}: {e}", x.display()))?;
            if m.uid() != uid {
                return Err(format!("{} is owned by uid {}, not by this user", x.display(), m.uid()));
            }
            if m.mode() & 0o022 != 0 {
                return Err(format!("{} is writable by others (mode {:o})", x.display(), m.mode() & 0o7777));
            }
            if m.file_type().is_symlink() {
                return Err(format!("{} is a symbolic link", x.display()));
            }
            p = if x == root { None } else { x.parent().filter(|q| q.starts_with(root)) };
        }
        let key = self.key()?;
        let data = std::fs::read(path).map_err(|e| e.to_string())?;
        let header_len = MAGIC.len() + 1 + 64 + 1 + 64 + 1;
        let header = data.get(..header_len).and_then(|h| std::str::from_utf8(h).ok()).ok_or("no header")?;
        let mut fields = header.split('\n');
        if fields.next() != Some(MAGIC) {
            return Err("not a plait cache entry".into());
        }
        let (source, tag) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        if source != sha256 {
            return Err(format!("compiled from another component (sha256 {source})"));
        }
        let code = data[header_len..].to_vec();
        let tag = hex::decode(tag).map_err(|_| "its MAC is not hex")?;
        use hmac::Mac as _;
        mac(&key, sha256, &code).verify_slice(&tag).map_err(|_| "its MAC does not verify under this user's cache key")?;
        Ok(code)
    }

    /// Store an entry: folders 0700, the file 0600, written then renamed.
    fn store(&self, path: &Path, sha256: &str, code: &[u8]) -> std::io::Result<()> {
        let key = self.key().map_err(std::io::Error::other)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        // Folders below the root made before this version (or through a
        // umask) are narrowed too; the root is the user's choice and is
        // only checked, never changed.
        // A folder below the root that is a link (planted to send the write
        // elsewhere) is refused, never followed.
        if let Some(root) = self.dir.as_deref() {
            let mut p = Some(dir);
            while let Some(x) = p.filter(|x| x.starts_with(root) && *x != root) {
                if std::fs::symlink_metadata(x)?.file_type().is_symlink() {
                    return Err(std::io::Error::other(format!("{} is a symbolic link", x.display())));
                }
                std::fs::set_permissions(x, std::fs::Permissions::from_mode(0o700))?;
                p = x.parent();
            }
        }
        // A fresh name, created exclusively (0600): a planted file or link
        // at a guessable name is never written through.
        let mut f = tempfile::Builder::new().prefix(".plait-cwasm-").tempfile_in(dir)?;
        use hmac::Mac as _;
        let tag = hex::encode(mac(&key, sha256, code).finalize().into_bytes());
        f.write_all(format!("{MAGIC}\n{sha256}\n{tag}\n").as_bytes())?;
        f.write_all(code)?;
        f.as_file().sync_all()?;
        f.persist(path).map(|_| ()).map_err(|e| e.error)
    }
}

fn wasmtime_version() -> &'static str {
    // The crate version pins the artifact format together with the engine hash.
    "48"
}

#[expect(
    unsafe_code,
    reason = "deserializing artifacts compiled by this engine: just now, or read from the user's own cache after checking the entry's binding and MAC"
)]
fn deserialize_checked(engine: &Engine, code: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `code` is either fresh from `Engine::precompile_component` on
    // this engine, or a cache entry that is the user's own (owner and mode
    // checked up to the cache root), whose header binds it to this
    // component's sha256 under an HMAC with the user's private key (only
    // this user's plait could have written it); the entry's folder is
    // named after this engine's compatibility hash.
    unsafe { Component::deserialize(engine, code) }
}
