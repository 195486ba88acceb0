//! Plugins from OCI registries, the WebAssembly ecosystem's convention
//! (wasm-pkg-tools, Spin, wasmCloud): a component is an OCI artifact whose
//! manifest has the config `application/vnd.wasm.config.v0+json` and one
//! layer `application/wasm`. A workflow names one as
//! `plugin = "oci://HOST[:PORT]/NAMESPACE/NAME:TAG"` (or `@sha256:...`).
//!
//! Digests are pinned in `plait.lock` beside the workflow: the first resolve
//! of a reference records the manifest digest and the component's sha256;
//! later resolves pull by that digest (never the moving tag) and refuse a
//! component whose sha256 differs. Pulled components are kept in the cache
//! (`oci/<sha256>.wasm`), so a locked workflow runs offline. The registry
//! client is the `oci-client` crate (which also checks every blob against
//! its digest); registries named in `PLAIT_INSECURE_REGISTRIES`
//! (comma-separated `host:port`) are reached over plain HTTP, others over
//! HTTPS. Access is anonymous.

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The manifest config media type of a Wasm component artifact.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The layer media type of a Wasm component.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";

/// Why an OCI plugin could not be had.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// Not `oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]`.
    #[error("invalid OCI reference `{reference}`: {detail}")]
    Reference {
        /// As written.
        reference: String,
        /// Why.
        detail: String,
    },
    /// The registry could not be reached or refused.
    #[error("registry for `{reference}`: {detail}")]
    Registry {
        /// Reference.
        reference: String,
        /// Why.
        detail: String,
    },
    /// What the registry served is not what the lock file pins, or not a component artifact.
    #[error("`{reference}`: {detail}")]
    Mismatch {
        /// Reference.
        reference: String,
        /// Why.
        detail: String,
    },
    /// Reading or writing the lock file or the cache.
    #[error("{}: {source}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The lock file is not valid.
    #[error("{}: {detail}", path.display())]
    Lock {
        /// File.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

/// One pinned plugin in `plait.lock`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    /// The manifest digest (`sha256:...`).
    pub digest: String,
    /// The component's sha256 (hex).
    pub sha256: String,
}

impl Locked {
    /// The pin is what plait writes: `sha256:` and 64 hex digits, and 64
    /// hex digits (the sha256 names a file in the cache).
    fn validate(&self) -> Result<(), String> {
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if !self.digest.strip_prefix("sha256:").is_some_and(hex64) {
            return Err(format!("digest {:?} is not sha256: and 64 lowercase hex digits", self.digest));
        }
        if !hex64(&self.sha256) {
            return Err(format!("sha256 {:?} is not 64 lowercase hex digits", self.sha256));
        }
        Ok(())
    }
}

/// What to do when a registry cannot be reached, for every command that
/// talks to one.
pub const REGISTRY_HINT: &str =
    "plait.lock beside the workflow pins the digest; plain-HTTP registries must be listed in PLAIT_INSECURE_REGISTRIES (host:port)";

/// An error for the command line, with [`REGISTRY_HINT`] when the registry
/// itself failed.
pub fn with_hint(e: OciError) -> String {
    match e {
        e @ OciError::Registry { .. } => format!("{e} ({REGISTRY_HINT})"),
        e => e.to_string(),
    }
}

/// `--locked` (CI): the lock file is only read; a reference it does not
/// pin is an error instead of a new pin. One policy for the whole process,
/// set once from the command line before any workflow is bound.
static LOCKED: AtomicBool = AtomicBool::new(false);

/// Refuse to write or change any `plait.lock` from now on.
pub fn set_locked(locked: bool) {
    LOCKED.store(locked, Ordering::SeqCst);
}

/// The plugin name a reference promises: its repository's last part
/// (`oci://r.example/ns/os-prep:1` → `os-prep`). The component must
/// describe itself by this name.
pub fn expected_name(reference: &str) -> Option<String> {
    let r = parse(reference).ok()?;
    r.repository().rsplit('/').next().map(str::to_string)
}

/// `plait.lock`: OCI reference → pin.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockFile {
    /// Pins by reference as written in workflows.
    #[serde(default)]
    pub plugins: BTreeMap<String, Locked>,
}

impl LockFile {
    /// Read `path` (empty when missing).
    pub fn load(path: &Path) -> Result<LockFile, OciError> {
        match std::fs::read_to_string(path) {
            Ok(t) => {
                let lock: LockFile = toml::from_str(&t).map_err(|e| OciError::Lock { path: path.to_path_buf(), detail: e.to_string() })?;
                for (reference, pin) in &lock.plugins {
                    pin.validate()
                        .map_err(|d| OciError::Lock { path: path.to_path_buf(), detail: format!("the pin of `{reference}`: {d}") })?;
                }
                Ok(lock)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile::default()),
            Err(source) => Err(OciError::Io { path: path.to_path_buf(), source }),
        }
    }

    /// Write `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), OciError> {
        let text = format!(
            "# Written by plait: the OCI plugins of the workflows in this folder, pinned.\n# Commit it; plait pulls these digests and refuses anything else.\n{}",
            toml::to_string(self).unwrap_or_default()
        );
        let tmp = path.with_extension(format!("lock.tmp.{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| OciError::Io { path: path.to_path_buf(), source })
    }
}

/// The registry reference inside `oci://...`.
pub fn parse(reference: &str) -> Result<Reference, OciError> {
    let bad = |detail: &str| OciError::Reference { reference: reference.to_string(), detail: detail.to_string() };
    let rest = reference.strip_prefix("oci://").ok_or_else(|| bad("it must start with oci://"))?;
    if !rest.contains('/') {
        return Err(bad("it needs a registry and a repository: oci://HOST/NAMESPACE/NAME:TAG"));
    }
    rest.parse::<Reference>().map_err(|e| bad(&e.to_string()))
}

fn client() -> Client {
    // reqwest is built without a bundled crypto provider; russh already uses ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let insecure: Vec<String> = std::env::var("PLAIT_INSECURE_REGISTRIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    Client::new(ClientConfig { protocol: ClientProtocol::HttpsExcept(insecure), ..ClientConfig::default() })
}

/// Run `f` on a runtime of its own, on a thread of its own (callers may be
/// inside another runtime or none).
fn block_on<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> Result<T, String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        Ok(rt.block_on(f))
    })
    .join()
    .map_err(|_| "the registry client panicked".to_string())?
}

/// Pull `reference` (pinned to `digest` when given): the component, the
/// manifest digest.
fn pull(reference: &str, digest: Option<&str>) -> Result<(Vec<u8>, String), OciError> {
    let mut r = parse(reference)?;
    if let Some(d) = digest {
        r = Reference::with_digest(r.registry().to_string(), r.repository().to_string(), d.to_string());
    }
    let name = reference.to_string();
    let result =
        block_on(async move { client().pull(&r, &RegistryAuth::Anonymous, vec![LAYER_MEDIA_TYPE]).await.map_err(|e| e.to_string()) })
            .and_then(|r| r);
    let image = result.map_err(|detail| OciError::Registry { reference: name.clone(), detail })?;
    let mismatch = |detail: String| OciError::Mismatch { reference: name.clone(), detail };
    if image.config.media_type != CONFIG_MEDIA_TYPE {
        return Err(mismatch(format!("its config is {}, not a Wasm component's ({CONFIG_MEDIA_TYPE})", image.config.media_type)));
    }
    let [layer] = image.layers.as_slice() else {
        return Err(mismatch(format!("it has {} layers; a plugin artifact has one {LAYER_MEDIA_TYPE} layer", image.layers.len())));
    };
    // oci-client checked the layer against the manifest as it downloaded;
    // check again here, where the bytes are used.
    let wanted = image.manifest.as_ref().and_then(|m| m.layers.first()).map(|l| l.digest.clone()).unwrap_or_default();
    let got = format!("sha256:{}", hex::encode(Sha256::digest(&layer.data)));
    if got != wanted {
        return Err(mismatch(format!("the component's digest is {got}, the manifest says {wanted}")));
    }
    let manifest_digest = image.digest.clone().ok_or_else(|| mismatch("the registry gave no manifest digest".into()))?;
    if let Some(d) = digest
        && d != manifest_digest
    {
        return Err(mismatch(format!("the registry served manifest {manifest_digest}, plait.lock pins {d}")));
    }
    Ok((layer.data.to_vec(), manifest_digest))
}

/// Where pulled components are kept: `oci/` in the cache.
fn cache_dir() -> PathBuf {
    super::builtin::cache_root().join("oci")
}

/// Whether `path` is a component pulled into the cache: it has no assets
/// (a pull never writes any, so only someone else could have).
pub fn is_pulled(path: &Path) -> bool {
    path.starts_with(cache_dir())
}

fn cached(sha256: &str) -> PathBuf {
    cache_dir().join(format!("{sha256}.wasm"))
}

/// Keep a pulled component in the cache (the user's own folder, as for
/// built-in plugins); its path and sha256.
fn store(bytes: &[u8]) -> Result<(PathBuf, String), OciError> {
    let sha = hex::encode(Sha256::digest(bytes));
    let dir = cache_dir();
    super::builtin::own_dir(&dir).map_err(|source| OciError::Io { path: dir.clone(), source })?;
    let path = cached(&sha);
    super::builtin::ensure_file(&path, bytes).map_err(|source| OciError::Io { path: path.clone(), source })?;
    Ok((path, sha))
}

/// Resolve `reference` for a workflow whose lock file is `lock_path`: the
/// component's file and sha256 (the caller loads it pinned to that hash).
/// Records the pin on first use; afterwards uses the cache when it holds
/// the pinned component, else pulls the pinned digest.
pub fn resolve(reference: &str, lock_path: &Path) -> Result<(PathBuf, String), OciError> {
    let written = parse(reference)?.digest().map(str::to_string);
    let mut lock = LockFile::load(lock_path)?;
    if let Some(pin) = lock.plugins.get(reference).cloned() {
        // A digest in the workflow is the workflow author's word: the lock
        // may not replace it.
        if let Some(d) = &written
            && *d != pin.digest
        {
            return Err(OciError::Mismatch {
                reference: reference.to_string(),
                detail: format!("the workflow pins {d}, {} pins {}", lock_path.display(), pin.digest),
            });
        }
        let path = cached(&pin.sha256);
        if std::fs::read(&path).is_ok_and(|b| hex::encode(Sha256::digest(&b)) == pin.sha256) {
            return Ok((path, pin.sha256));
        }
        let (bytes, _) = pull(reference, Some(&pin.digest))?;
        let (path, sha) = store(&bytes)?;
        if sha != pin.sha256 {
            return Err(OciError::Mismatch {
                reference: reference.to_string(),
                detail: format!("the component's sha256 is {sha}, plait.lock pins {}", pin.sha256),
            });
        }
        return Ok((path, sha));
    }
    if LOCKED.load(Ordering::SeqCst) {
        return Err(OciError::Lock {
            path: lock_path.to_path_buf(),
            detail: format!("`{reference}` is not pinned, and --locked forbids adding it (run once without --locked, and commit the lock)"),
        });
    }
    let (bytes, digest) = pull(reference, written.as_deref())?;
    let (path, sha) = store(&bytes)?;
    lock.plugins.insert(reference.to_string(), Locked { digest, sha256: sha.clone() });
    lock.save(lock_path)?;
    tracing::info!("pinned {reference} in {}", lock_path.display());
    Ok((path, sha))
}

/// `plait plugin pull`: fetch into the cache; the manifest digest and sha256.
pub fn pull_to_cache(reference: &str) -> Result<(String, String), OciError> {
    let (bytes, digest) = pull(reference, None)?;
    let (_, sha) = store(&bytes)?;
    Ok((digest, sha))
}

/// `plait plugin push`: publish a component; the manifest digest.
pub fn push(wasm: &[u8], reference: &str) -> Result<String, OciError> {
    let r = parse(reference)?;
    let name = reference.to_string();
    let layer_digest = format!("sha256:{}", hex::encode(Sha256::digest(wasm)));
    let config = serde_json::json!({ "architecture": "wasm", "os": "wasip2", "layerDigests": [layer_digest] });
    let data = wasm.to_vec();
    let result = block_on(async move {
        let c = client();
        let layers = [ImageLayer::new(data, LAYER_MEDIA_TYPE.to_string(), None)];
        let config = Config::new(config.to_string().into_bytes(), CONFIG_MEDIA_TYPE.to_string(), None);
        c.push(&r, &layers, config, &RegistryAuth::Anonymous, None).await.map_err(|e| e.to_string())?;
        c.fetch_manifest_digest(&r, &RegistryAuth::Anonymous).await.map_err(|e| e.to_string())
    })
    .and_then(|r| r);
    result.map_err(|detail| OciError::Registry { reference: name, detail })
}
