//! `plait new-plugin NAME`: an out-of-tree plugin crate that depends on the
//! SDK, with an example plan, unit tests, a golden facts fixture and a README.

mod sdk;

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

/// Why a plugin could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// Bad name.
    #[error("invalid plugin name `{0}`: use lowercase letters, digits and '-', starting with a letter")]
    Name(String),
    /// `--sdk-path` is not a crate.
    #[error("{} has no Cargo.toml: --sdk-path takes the plait-sdk crate's folder (plugins/sdk in a plait checkout)", .0.display())]
    Sdk(PathBuf),
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

/// The `[patch.crates-io]` section pointing `plait-sdk` at `path`.
fn patch_section(path: &Path, why: &str) -> String {
    // TOML basic strings escape `\` and `"`; a path has no others worth escaping.
    let quoted = path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
    format!("\n# {why}\n[patch.crates-io]\nplait-sdk = {{ path = \"{quoted}\" }}\n")
}

/// Where the new crate gets its SDK from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSource {
    /// The copy this binary carries, written to this folder.
    Carried(PathBuf),
    /// A folder given with `--sdk-path`.
    Path(PathBuf),
    /// crates.io (a binary built without the SDK, or no data folder).
    Registry,
}

/// Create `dir/name/` from the template; returns the crate's folder and
/// where its SDK comes from. The crate depends on `plait-sdk = "0.3"`; a
/// `[patch.crates-io]` entry builds it against `sdk_path` when given, else
/// against the SDK this binary carries, written once under the user's data
/// folder (deleting that section builds against crates.io).
pub fn new_plugin(name: &str, dir: &Path, sdk_path: Option<&Path>) -> Result<(PathBuf, SdkSource), ScaffoldError> {
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
    let source = match sdk_path {
        Some(p) => {
            if !p.join("Cargo.toml").is_file() {
                return Err(ScaffoldError::Sdk(p.to_path_buf()));
            }
            SdkSource::Path(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
        }
        None => match (sdk::version(), sdk::data_dir()) {
            (Some(_), Some(data)) => {
                let at = sdk::install(&data).map_err(|source| ScaffoldError::Io { path: data.clone(), source })?;
                SdkSource::Carried(at)
            }
            _ => SdkSource::Registry,
        },
    };
    let patch = match &source {
        SdkSource::Path(p) => patch_section(p, "Build against a local plait-sdk (plait new-plugin --sdk-path)."),
        SdkSource::Carried(p) => patch_section(
            p,
            "The plait-sdk this plait binary carries (plait new-plugin wrote it there). Delete this section to build against crates.io.",
        ),
        SdkSource::Registry => String::new(),
    };
    for (rel, text) in FILES {
        let path = root.join(rel);
        let body = text
            .replace("{{name}}", name)
            .replace("{{file}}", &name.replace('-', "_"))
            .replace("{{type}}", &type_name(name))
            // "Hello from NAME.\n", the golden workflow's message.
            .replace("{{bytes}}", &(13 + name.len()).to_string())
            .replace("{{sdk_patch}}", &patch);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ScaffoldError::Io { path: parent.to_path_buf(), source })?;
        }
        std::fs::write(&path, body).map_err(|source| ScaffoldError::Io { path: path.clone(), source })?;
    }
    Ok((root, source))
}
