//! Reading and checking a workflow file on its own (no plugins yet).

use super::raw::{RawPluginSource, RawWorkflow};
use super::strategy::Strategy;
use crate::diagnostic::{Source, SourceError};
use crate::inventory::{Inventory, RawInventory, ansible};
use crate::plugin::{Grants, PluginSource};
use indexmap::IndexMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One step, targets resolved.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position.
    pub number: usize,
    /// Name.
    pub name: String,
    /// Plugin source.
    pub plugin: PluginSource,
    /// Span of the `plugin` value.
    pub plugin_span: Range<usize>,
    /// Indices into the inventory, in inventory order.
    pub hosts: Vec<usize>,
    /// Parameters as written.
    pub params: IndexMap<String, Spanned<toml::Value>>,
    /// Span of the params table (or of the step when absent).
    pub params_span: Range<usize>,
    /// Narrowing grants.
    pub grants: Grants,
    /// Span of the grants table (or of the plugin when absent).
    pub grants_span: Range<usize>,
    /// Rolling strategy: the step's own, else the workflow's default.
    pub strategy: Option<Strategy>,
    /// Span of the whole step.
    pub span: Range<usize>,
    /// `vars_from`: consumed variable → the name of the step it comes
    /// from, with the span of that name.
    pub vars_from: IndexMap<String, Spanned<String>>,
}

/// A loaded workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// File.
    pub path: PathBuf,
    /// Its text, for diagnostics.
    pub source: Source,
    /// `[workflow].name`.
    pub name: String,
    /// `[workflow].description`.
    pub description: Option<String>,
    /// The inventory in force.
    pub inventory: Inventory,
    /// Steps in order.
    pub steps: Vec<Step>,
}

fn read(path: &Path) -> Result<(String, Source), Box<SourceError>> {
    let text = std::fs::read_to_string(path).map_err(|e| Box::new(SourceError::io(path, e)))?;
    let source = Source::new(path, &text);
    Ok((text, source))
}

fn folder(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."))
}

impl Workflow {
    /// Load `path`; an inventory file, when given, replaces the inline one.
    pub fn load(path: &Path, inventory_file: Option<&Path>) -> Result<Self, Box<SourceError>> {
        let (text, source) = read(path)?;
        let raw: RawWorkflow = toml::from_str(&text).map_err(|e| Box::new(SourceError::from_toml(path, &text, &e)))?;
        let meta_span = raw.workflow.span();

        let inventory = match (inventory_file, raw.inventory) {
            (Some(inv_path), _) => {
                let (inv_text, inv_source) = read(inv_path)?;
                let raw_inv: RawInventory = match ansible::Format::of(inv_path) {
                    ansible::Format::Toml => {
                        toml::from_str(&inv_text).map_err(|e| Box::new(SourceError::from_toml(inv_path, &inv_text, &e)))?
                    }
                    // Ansible's INI and YAML inventories, read as Ansible does.
                    format => ansible::parse(&inv_text, format).map_err(|e| {
                        let span = ansible::span_of_line(&inv_text, e.line);
                        Box::new(
                            inv_source
                                .error(span, e.message.clone(), "here")
                                .with_help("an inventory ending in .toml is plait's; .yml/.yaml is Ansible YAML; any other is Ansible INI"),
                        )
                    })?,
                };
                Inventory::from_raw(raw_inv, inv_source, &folder(inv_path))?
            }
            (None, Some(inv)) => Inventory::from_raw(inv.into_inner(), source.clone(), &folder(path))?,
            (None, None) => {
                return Err(Box::new(
                    source
                        .error(meta_span, "the workflow has no inventory", "in this workflow")
                        .with_help("add an [inventory] table with [inventory.hosts.NAME] entries, or pass --inventory FILE"),
                ));
            }
        };

        if raw.steps.is_empty() {
            return Err(Box::new(
                source.error(meta_span, "the workflow has no steps", "here").with_help("add [[steps]] entries naming a plugin"),
            ));
        }

        let meta = raw.workflow.into_inner();
        let default_strategy = meta.strategy.as_ref().map(|s| Strategy::from_raw(s, &source)).transpose()?;
        // The name becomes journal paths (`.plait/NAME.lock`, run folders):
        // a word, never a path.
        let name_ok = !meta.name.is_empty()
            && meta.name.len() <= 100
            && !meta.name.starts_with('.')
            && meta.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !name_ok {
            return Err(Box::new(
                source.error(meta_span, format!("invalid workflow name {:?}", meta.name), "in this table").with_help(
                    "a workflow name is letters, digits, '.', '_' and '-' (not starting with '.'); it names the journal's files",
                ),
            ));
        }
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, spanned) in raw.steps.into_iter().enumerate() {
            let span = spanned.span();
            let s = spanned.into_inner();
            let plugin_span = s.plugin.span();
            let plugin = match s.plugin.into_inner() {
                RawPluginSource::Name(n) if n.starts_with("oci://") => {
                    crate::plugin::oci::parse(&n).map_err(|e| {
                        Box::new(source.error(plugin_span.clone(), e.to_string(), "plugin").with_help(
                            "an OCI plugin is oci://REGISTRY/NAMESPACE/NAME:TAG (or @sha256:DIGEST); its digest is pinned in plait.lock",
                        ))
                    })?;
                    PluginSource::Oci(n)
                }
                RawPluginSource::Name(n) => {
                    if n.is_empty() || !n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                        return Err(Box::new(
                            source
                                .error(plugin_span, format!("invalid plugin name {n:?}"), "plugin")
                                .with_help("names are lowercase letters, digits and '-'; give a file as { path, sha256 }"),
                        ));
                    }
                    PluginSource::Name(n)
                }
                RawPluginSource::Path { path, sha256 } => {
                    if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(Box::new(source.error(plugin_span, "sha256 must be 64 hexadecimal digits", "pin")));
                    }
                    PluginSource::Path { path: PathBuf::from(path), sha256: sha256.to_ascii_lowercase() }
                }
            };
            let name = s.name.clone().unwrap_or_else(|| match &plugin {
                PluginSource::Name(n) => n.clone(),
                PluginSource::Path { path, .. } => path.file_stem().map(|f| f.to_string_lossy().replace('_', "-")).unwrap_or_default(),
                PluginSource::Oci(r) => r.rsplit('/').next().unwrap_or(r).split([':', '@']).next().unwrap_or_default().to_string(),
            });

            let targets: Vec<Spanned<String>> = match s.targets {
                Some(t) => {
                    let tspan = t.span();
                    let t = t.into_inner();
                    if t.is_empty() {
                        return Err(Box::new(source.error(tspan, format!("step {} ({name}) targets no hosts", i + 1), "empty list")));
                    }
                    t
                }
                None => vec![Spanned::new(span.clone(), "all".to_string())],
            };
            let mut hosts = Vec::new();
            for t in &targets {
                let matched = inventory.matching(t.get_ref());
                if matched.is_empty() {
                    let groups = inventory.groups();
                    let names: Vec<&str> = inventory.hosts.iter().map(|h| h.name.as_str()).collect();
                    return Err(Box::new(
                        source
                            .error(
                                t.span(),
                                format!(
                                    "step {} ({name}) targets `{}`, which is neither a group nor a host of the inventory",
                                    i + 1,
                                    t.get_ref()
                                ),
                                "unknown target",
                            )
                            .with_help(format!(
                                "groups: {}; hosts: {}",
                                if groups.is_empty() { "none".into() } else { groups.join(", ") },
                                names.join(", ")
                            )),
                    ));
                }
                for m in matched {
                    if !hosts.contains(&m) {
                        hosts.push(m);
                    }
                }
            }
            hosts.sort_unstable();

            let (params, params_span) = match s.params {
                Some(p) => {
                    let ps = p.span();
                    (p.into_inner(), ps)
                }
                None => (IndexMap::new(), span.clone()),
            };
            steps.push(Step {
                number: i + 1,
                name,
                plugin,
                plugin_span: plugin_span.clone(),
                hosts,
                params,
                params_span,
                grants_span: s.grants.as_ref().map_or_else(|| plugin_span.clone(), |g| g.span()),
                grants: s.grants.map(Spanned::into_inner).unwrap_or_default(),
                strategy: match &s.strategy {
                    Some(st) => Some(Strategy::from_raw(st, &source)?),
                    None => default_strategy,
                },
                span,
                vars_from: s.vars_from.unwrap_or_default(),
            });
        }

        Ok(Workflow { path: path.to_path_buf(), source, name: meta.name, description: meta.description, inventory, steps })
    }

    /// The folder relative plugin paths are resolved against.
    pub fn folder(&self) -> PathBuf {
        folder(&self.path)
    }
}
