//! The plugin SDK this binary carries (its source, embedded by build.rs),
//! so `plait new-plugin` scaffolds a crate that builds on a machine that
//! has only the plait binary and a Rust toolchain: the SDK is written once
//! under the user's data folder and the crate points at it.

use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/sdk.rs"));

/// The SDK's version, from its manifest (`None`: built without it).
pub fn version() -> Option<String> {
    let (_, manifest) = SDK_FILES.iter().find(|(p, _)| *p == "Cargo.toml")?;
    let text = std::str::from_utf8(manifest).ok()?;
    let table: toml::Table = text.parse().ok()?;
    Some(table.get("package")?.get("version")?.as_str()?.to_string())
}

/// Where the SDK goes: `$XDG_DATA_HOME/plait/sdk`, else `~/.local/share/plait/sdk`.
pub fn data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("plait/sdk"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/plait/sdk")))
}

/// Write the SDK to `DIR/plait-sdk-VERSION` unless it is there already,
/// byte for byte; its folder. Written beside and renamed into place, so a
/// crate never sees half an SDK.
pub fn install(dir: &Path) -> std::io::Result<PathBuf> {
    let version = version().ok_or_else(|| std::io::Error::other("this plait binary was built without the SDK"))?;
    let target = dir.join(format!("plait-sdk-{version}"));
    let current = SDK_FILES.iter().all(|(rel, bytes)| std::fs::read(target.join(rel)).is_ok_and(|b| b == *bytes));
    if current {
        return Ok(target);
    }
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new().prefix(".plait-sdk-").tempdir_in(dir)?;
    for (rel, bytes) in SDK_FILES {
        let path = tmp.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    std::fs::rename(tmp.keep(), &target)?;
    Ok(target)
}
