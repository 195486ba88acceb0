//! Binding a workflow to its plugins: load each plugin once, then check
//! every step's parameters and variables against its declaration.

use super::load::{Step, Workflow};
use crate::diagnostic::{Category, SourceError};
use crate::facts::{ProbeCommand, render as render_probe};
use crate::inventory::toml_to_json;
use crate::plugin::{Capabilities, LoadedPlugin, PluginError, Registry, Runtime, check_probes};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// A step with its plugin loaded and its parameters complete.
#[derive(Debug, Clone)]
pub struct BoundStep {
    /// The step.
    pub step: Step,
    /// Its plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// Parameters with defaults filled in.
    pub params: serde_json::Value,
    /// Declared capabilities narrowed by the step's grants.
    pub caps: Capabilities,
    /// Where the step's grants are written (`FILE:LINE:COL`), if it has any.
    pub grants_at: Option<String>,
    /// The plugin's probes with this step's parameters substituted (quoted),
    /// rendered once when the workflow is bound.
    pub probes: Vec<ProbeCommand>,
    /// Each variable the plugin consumes and the numbers of the steps whose
    /// captures it receives: the steps up to this one whose plugin produces
    /// the name, all of them the same component (one plugin used in
    /// several steps, as kube-node's remove and reset).
    pub var_sources: BTreeMap<String, Vec<usize>>,
}

impl BoundStep {
    /// A plan refused by the step's grants points at them in the workflow.
    pub fn locate(&self, e: PluginError) -> PluginError {
        match (e, &self.grants_at) {
            (PluginError::NotAllowed { plugin, host, problem, by_grant: true }, Some(at)) => {
                PluginError::NotAllowed { plugin, host, problem: format!("{problem}; the grants are at {at}"), by_grant: true }
            }
            (e, _) => e,
        }
    }

    /// The step's rendered probes, each named `prefix` + the probe's name.
    pub fn probe_commands(&self, prefix: &str) -> Vec<ProbeCommand> {
        self.probes.iter().map(|p| ProbeCommand { name: format!("{prefix}{}", p.name), ..p.clone() }).collect()
    }
}

/// A workflow ready to plan or run.
#[derive(Debug, Clone)]
pub struct BoundWorkflow {
    /// The workflow.
    pub workflow: Workflow,
    /// Its steps.
    pub steps: Vec<BoundStep>,
}

impl BoundWorkflow {
    /// The values of every parameter a plugin declares secret (strings, and
    /// the strings inside lists and tables), to mask wherever they appear.
    pub fn secret_values(&self) -> Vec<String> {
        fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::String(s) => out.push(s.clone()),
                serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
                serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
                other => out.push(other.to_string()),
            }
        }
        let mut out = Vec::new();
        for s in &self.steps {
            for p in s.plugin.info.params.iter().filter(|p| p.secret) {
                if let Some(v) = s.params.get(&p.name) {
                    strings(v, &mut out);
                }
            }
        }
        out
    }
}

/// Load every step's plugin and check parameters and variables.
pub fn bind(workflow: Workflow, registry: &Registry, runtime: &Runtime) -> Result<BoundWorkflow, Box<SourceError>> {
    let src = workflow.source.clone();
    let base = workflow.folder();
    let mut loaded: HashMap<PathBuf, Arc<LoadedPlugin>> = HashMap::new();
    let mut steps = Vec::with_capacity(workflow.steps.len());

    for step in &workflow.steps {
        let at_plugin = |e: PluginError| {
            // A plugin that is missing, unreadable or not the pinned one is
            // the workflow's mistake (invalid input, exit 2); one that loads
            // and misbehaves is the plugin's (exit 3).
            let input = matches!(
                e,
                PluginError::NotFound { .. } | PluginError::Read { .. } | PluginError::HashMismatch { .. } | PluginError::Oci { .. }
            );
            let mut err = src.error(step.plugin_span.clone(), format!("step {} ({}): {e}", step.number, step.name), "this plugin");
            if !input {
                err.category = Category::Plugin;
            }
            Box::new(err)
        };
        let r = registry.resolve(&step.plugin, &base).map_err(|e| {
            let oci = matches!(e, PluginError::Oci { .. });
            let mut err = at_plugin(e);
            err.help = Some(if oci {
                crate::plugin::oci::REGISTRY_HINT.into()
            } else {
                "put NAME.wasm in the workflow's plugins/ folder, in ~/.local/share/plait/plugins, or in a folder of PLAIT_PLUGIN_PATH (in a plait checkout, scripts/build-plugins builds the first-party ones)".into()
            });
            err
        })?;
        let key = std::fs::canonicalize(&r.path).unwrap_or_else(|_| r.path.clone());
        let plugin = match loaded.get(&key) {
            Some(p) if r.sha256.as_deref().is_none_or(|s| s == p.sha256) => p.clone(),
            _ => {
                let p = Arc::new(LoadedPlugin::load(runtime, &r.path, r.sha256.as_deref()).map_err(at_plugin)?);
                loaded.insert(key, p.clone());
                p
            }
        };
        if let Some(expected) = &r.name
            && *expected != plugin.info.name
        {
            return Err(at_plugin(PluginError::NameMismatch {
                path: r.path.clone(),
                expected: expected.clone(),
                actual: plugin.info.name.clone(),
            }));
        }

        let label = plugin.label();
        let mut params = serde_json::Map::new();
        for (key, value) in &step.params {
            let Some(spec) = plugin.info.param(key) else {
                let known: Vec<&str> = plugin.info.params.iter().map(|p| p.name.as_str()).collect();
                return Err(Box::new(
                    src.error(
                        value.span(),
                        format!("step {} ({}): plugin {label} has no parameter `{key}`", step.number, step.name),
                        "unknown parameter",
                    )
                    .with_help(if known.is_empty() {
                        "this plugin takes no parameters".to_string()
                    } else {
                        format!("its parameters are: {}", known.join(", "))
                    }),
                ));
            };
            let json = toml_to_json(value.get_ref());
            if !spec.ty.accepts(&json) {
                return Err(Box::new(src.error(
                    value.span(),
                    format!(
                        "step {} ({}): parameter `{key}` of {label} must be a {}, found {}",
                        step.number,
                        step.name,
                        spec.ty.name(),
                        toml_type(value.get_ref())
                    ),
                    format!("expected {}", spec.ty.name()),
                )));
            }
            if let Err(why) = spec.rules.check(&json) {
                return Err(Box::new(
                    src.error(
                        value.span(),
                        format!("step {} ({}): parameter `{key}` of {label}: {why}", step.number, step.name),
                        "invalid value",
                    )
                    .with_help(format!("`{key}`: {}", spec.doc)),
                ));
            }
            params.insert(key.clone(), json);
        }
        for spec in &plugin.info.params {
            if params.contains_key(&spec.name) {
                continue;
            }
            match &spec.default {
                Some(d) => {
                    params.insert(spec.name.clone(), d.clone());
                }
                None => {
                    return Err(Box::new(
                        src.error(
                            step.params_span.clone(),
                            format!("step {} ({}): {label} requires parameter `{}`", step.number, step.name, spec.name),
                            "missing parameter",
                        )
                        .with_help(format!("`{}`: {}", spec.name, spec.doc)),
                    ));
                }
            }
        }

        let params = serde_json::Value::Object(params);
        // The plugin's own check of the whole set (combinations no single
        // rule can say), before any host.
        if let Err(e) = plugin.check_params(&params) {
            let bad = matches!(&e, PluginError::Refused { kind: "bad parameters", .. });
            let mut err = src.error(step.params_span.clone(), format!("step {} ({}): {e}", step.number, step.name), "these parameters");
            if !bad {
                err.category = Category::Plugin;
            }
            return Err(Box::new(err));
        }
        // Every probe renders with these parameters (else it would fail
        // only when a host is reached); once, here, for every host and step.
        let mut probes = Vec::with_capacity(plugin.info.probes.len());
        for p in &plugin.info.probes {
            match render_probe(&p.source, &params) {
                Ok(run) => probes.push(ProbeCommand { name: p.name.clone(), run, sudo: p.sudo }),
                Err(e) => {
                    let mut err = src.error(
                        step.plugin_span.clone(),
                        format!("step {} ({}): plugin {label} probe `{}`: {e}", step.number, step.name, p.name),
                        "this plugin",
                    );
                    err.category = Category::Plugin;
                    return Err(Box::new(err));
                }
            }
        }

        let caps = plugin.info.capabilities.narrow(&step.grants);
        // Probes run before every plan, dry runs included: they need the
        // same consent as actions, checked before any host is contacted.
        if let Err(r) = check_probes(&plugin.info.probes, &plugin.info.capabilities, &caps, &step.grants) {
            let probe = probes.iter().find(|p| p.name == r.probe).map_or(String::new(), ProbeCommand::display);
            let (span, label) = if r.by_grant { (step.grants_span.clone(), "grants") } else { (step.plugin_span.clone(), "this plugin") };
            let mut err = src
                .error(
                    span,
                    format!(
                        "step {} ({}): {label_} may not run its probe `{}`: {}",
                        step.number,
                        step.name,
                        r.probe,
                        r.reason,
                        label_ = plugin.label()
                    ),
                    label,
                )
                .with_help(format!(
                    "the probe runs `{probe}`{}; {}",
                    if plugin.info.probes.iter().any(|p| p.name == r.probe && p.sudo) { " as root" } else { "" },
                    if r.by_grant {
                        "widen the step's grants to allow it, or use another plugin"
                    } else {
                        "the plugin must declare what its probes run (a plugin bug: report it to its author)"
                    }
                ));
            if !r.by_grant {
                err.category = Category::Plugin;
            }
            return Err(Box::new(err));
        }
        let grants_at = (step.grants != Default::default()).then(|| {
            let (line, col) = src.line_col(step.grants_span.start);
            format!("{}:{line}:{col}", src.name)
        });
        steps.push(BoundStep { step: step.clone(), plugin, params, caps, grants_at, probes, var_sources: BTreeMap::new() });
    }

    // Every variable a step consumes comes from one producer: the steps up
    // to it whose plugin captures the name, all one component (two would
    // let either replace the other's value, a secret kubeconfig included).
    for i in 0..steps.len() {
        let mut sources = BTreeMap::new();
        let s = &steps[i];
        for (v, named) in &s.step.vars_from {
            if !s.plugin.info.consumes.contains(v) {
                return Err(Box::new(src.error(
                    named.span(),
                    format!("step {} ({}): vars_from names `{v}`, which {} does not consume", s.step.number, s.step.name, s.plugin.label()),
                    "not consumed",
                )));
            }
        }
        for v in &s.plugin.info.consumes {
            // The workflow names the producer: that step alone.
            if let Some(named) = s.step.vars_from.get(v) {
                let Some(p) = steps[..=i].iter().find(|p| p.step.name == *named.get_ref() && p.plugin.info.produces.contains(v)) else {
                    return Err(Box::new(src.error(
                        named.span(),
                        format!(
                            "step {} ({}): no step up to this one named `{}` produces `{v}`",
                            s.step.number,
                            s.step.name,
                            named.get_ref()
                        ),
                        "no such producer",
                    )));
                };
                sources.insert(v.clone(), vec![p.step.number]);
                continue;
            }
            let producers: Vec<&BoundStep> = steps[..=i].iter().filter(|p| p.plugin.info.produces.contains(v)).collect();
            let at = |message: String, help: &str| {
                Box::new(src.error(s.step.plugin_span.clone(), message, "consumer").with_help(help.to_string()))
            };
            let Some(first) = producers.first() else {
                return Err(at(
                    format!("step {} ({}) consumes variable `{v}`, but no step before it produces it", s.step.number, s.step.name),
                    "add the step whose plugin captures it earlier in the workflow",
                ));
            };
            if let Some(other) = producers.iter().find(|p| p.plugin.sha256 != first.plugin.sha256) {
                return Err(at(
                    format!(
                        "step {} ({}) consumes variable `{v}`, which two plugins produce: step {} ({}, {}) and step {} ({}, {})",
                        s.step.number,
                        s.step.name,
                        first.step.number,
                        first.step.name,
                        first.plugin.label(),
                        other.step.number,
                        other.step.name,
                        other.plugin.label()
                    ),
                    "a variable has one producer, or another could replace its value: name the step this one reads it from, vars_from = { NAME = \"STEP NAME\" }",
                ));
            }
            sources.insert(v.clone(), producers.iter().map(|p| p.step.number).collect());
        }
        steps[i].var_sources = sources;
    }

    Ok(BoundWorkflow { workflow, steps })
}

fn toml_type(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}
