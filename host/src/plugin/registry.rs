//! Finding plugins: by name in a search path, or by path pinned with sha256.
//!
//! The search path is, in order: the `plugins/` folder beside the workflow,
//! each entry of `PLAIT_PLUGIN_PATH` (colon-separated), the user's plugin
//! folder (`$XDG_DATA_HOME/plait/plugins`, else
//! `~/.local/share/plait/plugins`), then the plugins built into the binary.
//! The first `NAME.wasm` wins, so a folder can replace a built-in plugin.

use super::builtin;
use super::error::PluginError;
use std::path::{Path, PathBuf};

/// How a step names its plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Looked up in the search path.
    Name(String),
    /// A file, relative to the workflow, with its expected sha256.
    Path {
        /// Path as written.
        path: PathBuf,
        /// Expected sha256 (hex).
        sha256: String,
    },
    /// An OCI artifact (`oci://...`), pinned in `plait.lock` beside the workflow.
    Oci(String),
}

/// A resolved plugin file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRef {
    /// File.
    pub path: PathBuf,
    /// Expected name (when looked up by name).
    pub name: Option<String>,
    /// Pinned hash (when given by path).
    pub sha256: Option<String>,
}

/// The search path.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    dirs: Vec<PathBuf>,
    /// Whether the built-in plugins come last.
    builtin: bool,
}

/// The user's plugin folder: `$XDG_DATA_HOME/plait/plugins`, else
/// `~/.local/share/plait/plugins`.
pub fn user_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("plait/plugins"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/plait/plugins")))
}

impl Registry {
    /// Search these directories in order (no built-in plugins).
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Registry { dirs, builtin: false }
    }

    /// The standard search path for a workflow at `workflow` (if any).
    pub fn standard(workflow: Option<&Path>) -> Self {
        let mut dirs = Vec::new();
        if let Some(w) = workflow {
            dirs.push(w.parent().unwrap_or(Path::new(".")).join("plugins"));
        }
        if let Some(p) = std::env::var_os("PLAIT_PLUGIN_PATH") {
            dirs.extend(std::env::split_paths(&p).filter(|d| !d.as_os_str().is_empty()));
        }
        dirs.extend(user_dir());
        Registry { dirs, builtin: true }
    }

    /// The directories, in order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    fn searched(&self) -> String {
        let mut s: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        if self.builtin {
            s.push(format!("{} built-in", builtin::all().len()));
        }
        s.join(", ")
    }

    /// The built-in plugin `name`, written out to a file (see [`builtin`]).
    fn builtin(&self, name: &str) -> Option<Result<PluginRef, PluginError>> {
        let b = builtin::find(name).filter(|_| self.builtin)?;
        let root = builtin::root();
        Some(
            builtin::materialize(b, &root)
                .map(|(path, sha)| PluginRef { path, name: Some(name.to_string()), sha256: Some(sha) })
                .map_err(|source| PluginError::Read { path: root, source }),
        )
    }

    /// Resolve a step's plugin. Paths are relative to `base` (the workflow's folder).
    pub fn resolve(&self, source: &PluginSource, base: &Path) -> Result<PluginRef, PluginError> {
        match source {
            PluginSource::Name(name) => {
                // cargo names a `my-plugin` cdylib `my_plugin.wasm`: accept both.
                let files = [format!("{name}.wasm"), format!("{}.wasm", name.replace('-', "_"))];
                if let Some(path) = self.dirs.iter().flat_map(|d| files.iter().map(move |f| d.join(f))).find(|p| p.is_file()) {
                    return Ok(PluginRef { path, name: Some(name.clone()), sha256: None });
                }
                self.builtin(name).unwrap_or_else(|| Err(PluginError::NotFound { name: name.clone(), searched: self.searched() }))
            }
            PluginSource::Path { path, sha256 } => Ok(PluginRef { path: base.join(path), name: None, sha256: Some(sha256.clone()) }),
            PluginSource::Oci(reference) => {
                let (path, sha256) = super::oci::resolve(reference, &base.join("plait.lock"))
                    .map_err(|e| PluginError::Oci { reference: reference.clone(), detail: e.to_string() })?;
                Ok(PluginRef { path, name: super::oci::expected_name(reference), sha256: Some(sha256) })
            }
        }
    }

    /// Every `NAME.wasm` in the search path, first occurrence of each name.
    pub fn list(&self) -> Vec<(String, PathBuf)> {
        let mut found: Vec<(String, PathBuf)> = Vec::new();
        for d in &self.dirs {
            let Ok(entries) = std::fs::read_dir(d) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                if f.extension().and_then(|e| e.to_str()) != Some("wasm") {
                    continue;
                }
                let Some(name) = f.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
                    continue;
                };
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, f));
                }
            }
        }
        if self.builtin {
            let mut all: Vec<&builtin::Builtin> = builtin::all().iter().collect();
            all.sort_by_key(|b| b.name);
            for b in all {
                if !found.iter().any(|(n, _)| n == b.name)
                    && let Some(Ok(r)) = self.builtin(b.name)
                {
                    found.push((b.name.to_string(), r.path));
                }
            }
        }
        found
    }
}
