//! Kubernetes manifests applied with kubectl, from a URL or bundled with the
//! plugin (its `NAME.assets/` folder, mounted at `/assets` when the workflow
//! grants `assets = true`) for clusters without internet access.

use crate::{Action, Plan, PluginError, file};

/// Where kubectl reads a manifest from, and what must happen first.
#[derive(Debug, Clone)]
pub struct ManifestSource {
    /// The argument of `kubectl apply -f` / `delete -f`.
    pub location: String,
    /// For a bundled manifest: the upload that puts it on the host.
    pub upload: Option<Action>,
    /// For a bundled manifest: its text, so the plugin can read names from it.
    pub text: Option<String>,
}

/// Resolve `mode` (`"url"` or `"bundled"`) for the manifest of `plugin` at
/// `version`. `url_template` may contain `{version}`; a bundled manifest is
/// `/assets/<plugin>-<version>.yaml`, uploaded under /etc/kubernetes/plait.
/// Offline (a printed plan), a missing asset becomes a placeholder.
pub fn source(plugin: &str, mode: &str, version: &str, url_template: &str, offline: bool) -> Result<ManifestSource, PluginError> {
    match mode {
        "url" => {
            let url = url_template.replace("{version}", version);
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(PluginError::bad_params(format!("manifest_url {url:?} is not an http(s) URL")));
            }
            Ok(ManifestSource { location: url, upload: None, text: None })
        }
        "bundled" => {
            let name = format!("{plugin}-{version}.yaml");
            if name.contains('/') || name.contains("..") {
                return Err(PluginError::bad_params(format!("invalid version {version:?}")));
            }
            let remote = format!("/etc/kubernetes/plait/{name}");
            let content = match std::fs::read(format!("/assets/{name}")) {
                Ok(c) => c,
                Err(_) if offline => b"<bundled manifest>".to_vec(),
                Err(e) => {
                    return Err(PluginError::unsupported(format!(
                        "bundled manifest {name} is not readable ({e}): put it in the plugin's {plugin}.assets/ folder and grant the step `assets = true`"
                    )));
                }
            };
            let text = String::from_utf8_lossy(&content).into_owned();
            let upload = file::put(remote.as_str(), content).mode(0o644).summary(format!("upload the bundled {name}")).into();
            Ok(ManifestSource { location: remote, upload: Some(upload), text: Some(text) })
        }
        other => Err(PluginError::bad_params(format!("manifest must be \"url\" or \"bundled\", not {other:?}"))),
    }
}

impl ManifestSource {
    /// `plan` with the upload first when it has anything to do (the host
    /// leaves an up-to-date file alone).
    pub fn before(&self, mut plan: Plan) -> Plan {
        if let Some(u) = &self.upload
            && !plan.actions.is_empty()
        {
            plan.actions.insert(0, u.clone());
            plan.reason = None;
        }
        plan
    }
}
