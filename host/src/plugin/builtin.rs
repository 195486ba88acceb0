//! The first-party plugins built into the binary (by `build.rs`), so plait
//! runs the seed workflows from any directory, copied or installed.
//!
//! A built-in plugin is written out before use, into the user's cache
//! (`builtin/<sha256>/NAME.wasm` and `NAME.assets/`, folders 0700, owned by
//! the user), because the runtime loads plugins and mounts assets from
//! files. The file is then loaded pinned to the embedded bytes' sha256, so
//! a changed file is refused, and assets are rewritten whenever they differ.

use sha2::{Digest, Sha256};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One built-in plugin.
#[derive(Debug)]
pub struct Builtin {
    /// Plugin name.
    pub name: &'static str,
    /// The component.
    pub wasm: &'static [u8],
    /// Bundled read-only files: (path under `NAME.assets/`, content).
    pub assets: &'static [(&'static str, &'static [u8])],
}

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The built-in plugin `name`, if this binary has one.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTIN.iter().find(|b| b.name == name)
}

/// Every built-in plugin.
pub fn all() -> &'static [Builtin] {
    BUILTIN
}

/// The user's plait cache (the compiled-plugin cache's folder, else a
/// per-user folder in the temporary directory): built-in plugins and pulled
/// OCI plugins are kept below it.
pub(super) fn cache_root() -> PathBuf {
    match super::cache::ComponentCache::default_location().dir() {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("plait-{}", rustix::process::geteuid().as_raw())),
    }
}

/// Where built-in plugins are written: `builtin/` in the cache.
pub fn root() -> PathBuf {
    cache_root().join("builtin")
}

/// A folder of ours: made 0700 if missing; refused when another user owns
/// it or others may write it.
pub(super) fn own_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let m = std::fs::metadata(dir)?;
    if m.uid() != rustix::process::geteuid().as_raw() || m.permissions().mode() & 0o022 != 0 {
        return Err(std::io::Error::other(format!("{} is not the user's own folder (owner or mode)", dir.display())));
    }
    Ok(())
}

/// Write `content` to `path` unless it is already there, via a rename.
pub(super) fn ensure_file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|c| c == content) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent)?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

/// Write `b` out under `root`; its `.wasm` path and sha256.
pub fn materialize(b: &Builtin, root: &Path) -> std::io::Result<(PathBuf, String)> {
    let sha = hex::encode(Sha256::digest(b.wasm));
    let dir = root.join(&sha[..16]);
    own_dir(root)?;
    own_dir(&dir)?;
    let wasm = dir.join(format!("{}.wasm", b.name));
    ensure_file(&wasm, b.wasm)?;
    let assets_dir = dir.join(format!("{}.assets", b.name));
    if std::fs::symlink_metadata(&assets_dir).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(&assets_dir)?;
    }
    for (rel, content) in b.assets {
        let rel = Path::new(rel);
        if rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return Err(std::io::Error::other(format!("asset path {} of {} is not plain", rel.display(), b.name)));
        }
        ensure_file(&dir.join(format!("{}.assets", b.name)).join(rel), content)?;
    }
    // Only the embedded assets: whatever else is in the folder (planted in
    // the user's cache) would be mounted at /assets and uploaded.
    prune(&dir.join(format!("{}.assets", b.name)), Path::new(""), b.assets)?;
    Ok((wasm, sha))
}

/// Remove from `dir` every entry that is not one of `keep` (paths relative
/// to the assets folder), links included, never followed.
fn prune(dir: &Path, rel: &Path, keep: &[(&str, &[u8])]) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for e in entries {
        let e = e?;
        let (path, rel) = (e.path(), rel.join(e.file_name()));
        let kind = e.file_type()?;
        let wanted = |r: &Path| keep.iter().any(|(k, _)| Path::new(k) == r);
        let wanted_dir = |r: &Path| keep.iter().any(|(k, _)| Path::new(k).starts_with(r));
        if kind.is_dir() && wanted_dir(&rel) {
            prune(&path, &rel, keep)?;
        } else if kind.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else if kind.is_symlink() || !wanted(&rel) {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_written_once_verified_and_repaired() {
        static B: Builtin = Builtin { name: "demo", wasm: b"\0asm not really", assets: &[("dir/a.yaml", b"a: 1\n")] };
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("builtin");
        let (wasm, sha) = materialize(&B, &root).unwrap();
        assert_eq!(sha, hex::encode(Sha256::digest(B.wasm)));
        assert_eq!(std::fs::read(&wasm).unwrap(), B.wasm);
        assert_eq!(std::fs::metadata(&root).unwrap().permissions().mode() & 0o777, 0o700);
        let asset = wasm.parent().unwrap().join("demo.assets/dir/a.yaml");
        // A file planted beside the embedded assets is removed (second review).
        std::fs::write(wasm.parent().unwrap().join("demo.assets/dir/evil.yaml"), "kind: Pod\n").unwrap();
        std::fs::create_dir_all(wasm.parent().unwrap().join("demo.assets/more")).unwrap();
        materialize(&B, &root).unwrap();
        assert!(!wasm.parent().unwrap().join("demo.assets/dir/evil.yaml").exists(), "a planted asset was kept");
        assert!(!wasm.parent().unwrap().join("demo.assets/more").exists());
        // A changed asset is put back.
        std::fs::write(&asset, "tampered").unwrap();
        materialize(&B, &root).unwrap();
        assert_eq!(std::fs::read(&asset).unwrap(), b"a: 1\n");
        // A folder others may write is refused.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(materialize(&B, &root).is_err());
    }
}
