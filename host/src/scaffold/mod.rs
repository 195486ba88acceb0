//! `plait new-plugin NAME`: an out-of-tree plugin crate that depends on the
//! SDK, with an example plan, unit tests, a golden facts fixture and a README.

use std::path::{Path, PathBuf};

/// Files of the template: (path in the new crate, text).
const FILES: [(&str, &str); 6] = [
    ("Cargo.toml", include_str!("template/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("template/lib.rs.tmpl")),
    ("README.md", include_str!("template/README.md.tmpl")),
    ("golden/facts.toml", include_str!("template/facts.toml.tmpl")),
    ("golden/workflow.toml", include_str!("template/workflow.toml.tmpl")),
    ("golden/expected-plan.txt", include_str!("template/expected-plan.txt.tmpl")),
];

/// The SDK this plait was built with (its source tree).
pub fn sdk_path() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).join("plugins/sdk")
}

/// Why a plugin could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// Bad name.
    #[error("invalid plugin name `{0}`: use lowercase letters, digits and '-', starting with a letter")]
    Name(String),
    /// Already there.
    #[error("{} already exists; choose another name or --dir", .0.display())]
    Exists(PathBuf),
    /// File system trouble.
    #[error("writing {}: {source}", path.display())]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

fn type_name(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Create `dir/name/` from the template; returns the crate's folder.
pub fn new_plugin(name: &str, dir: &Path) -> Result<PathBuf, ScaffoldError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && name.len() <= 64;
    if !valid {
        return Err(ScaffoldError::Name(name.into()));
    }
    let root = dir.join(name);
    if root.exists() {
        return Err(ScaffoldError::Exists(root));
    }
    let sdk = sdk_path();
    let sdk = std::fs::canonicalize(&sdk).unwrap_or(sdk);
    for (rel, text) in FILES {
        let path = root.join(rel);
        let body = text
            .replace("{{name}}", name)
            .replace("{{file}}", &name.replace('-', "_"))
            .replace("{{type}}", &type_name(name))
            // "Hello from NAME.\n", the golden workflow's message.
            .replace("{{bytes}}", &(13 + name.len()).to_string())
            .replace("{{sdk_path}}", &sdk.display().to_string());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ScaffoldError::Io { path: parent.to_path_buf(), source })?;
        }
        std::fs::write(&path, body).map_err(|source| ScaffoldError::Io { path: path.clone(), source })?;
    }
    Ok(root)
}
