//! Binding a workflow to its plugins: load each plugin once, then check
//! every step's parameters and variables against its declaration.

use super::load::{Step, Workflow};
use crate::diagnostic::{Category, Source, SourceError};
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

    // Every variable a step consumes comes from one producer: its own
    // component's steps up to it, or the step the workflow names.
    for i in 0..steps.len() {
        steps[i].var_sources = var_sources(&src, &steps, i)?;
    }

    Ok(BoundWorkflow { workflow, steps })
}

/// Where step `i`'s consumed variables come from: the steps up to it whose
/// plugin is the same component and produces the name (one plugin used in
/// several steps, as kube-node's remove and reset), or the one step
/// `vars_from` names. Another plugin's variable (a token, a kubeconfig) is
/// read only when the workflow names its step; a name two plugins produce
/// is an error unless named, since either could replace the other's value.
fn var_sources(src: &Source, steps: &[BoundStep], i: usize) -> Result<BTreeMap<String, Vec<usize>>, Box<SourceError>> {
    let s = &steps[i];
    let who = format!("step {} ({})", s.step.number, s.step.name);
    for (v, named) in &s.step.vars_from {
        if !s.plugin.info.consumes.contains(v) {
            let msg = format!("{who}: vars_from names `{v}`, which {} does not consume", s.plugin.label());
            return Err(Box::new(src.error(named.span(), msg, "not consumed")));
        }
    }
    let mut sources = BTreeMap::new();
    for v in &s.plugin.info.consumes {
        let all: Vec<&BoundStep> = steps[..=i].iter().filter(|p| p.plugin.info.produces.contains(v)).collect();
        if let Some(named) = s.step.vars_from.get(v) {
            let named_steps: Vec<&&BoundStep> = all.iter().filter(|p| p.step.name == *named.get_ref()).collect();
            let [p] = named_steps.as_slice() else {
                let why = if named_steps.is_empty() { "no step up to this one is named" } else { "more than one step is named" };
                let msg = format!("{who}: {why} `{}` and produces `{v}`", named.get_ref());
                return Err(Box::new(src.error(named.span(), msg, "not one producer")));
            };
            sources.insert(v.clone(), vec![p.step.number]);
            continue;
        }
        let at =
            |message: String, help: &str| Box::new(src.error(s.step.plugin_span.clone(), message, "consumer").with_help(help.to_string()));
        let (own, others): (Vec<&BoundStep>, Vec<&BoundStep>) = all.iter().partition(|p| p.plugin.sha256 == s.plugin.sha256);
        let step_of = |p: &BoundStep| format!("step {} ({}, {})", p.step.number, p.step.name, p.plugin.label());
        let name_it = "name the step it comes from: vars_from = { NAME = \"STEP NAME\" }";
        match (own.first(), others.first()) {
            (None, None) => {
                return Err(at(
                    format!("{who} consumes variable `{v}`, but no step before it produces it"),
                    "add the step whose plugin captures it earlier in the workflow",
                ));
            }
            (Some(first), Some(other)) => {
                return Err(at(
                    format!("{who} consumes variable `{v}`, which two plugins produce: {} and {}", step_of(first), step_of(other)),
                    name_it,
                ));
            }
            (None, Some(other)) => {
                return Err(at(
                    format!("{who}: {} consumes variable `{v}`, which only another plugin produces: {}", s.plugin.label(), step_of(other)),
                    &format!("a plugin reads another plugin's variable only when the workflow says so: {name_it}"),
                ));
            }
            (Some(_), None) => {
                sources.insert(v.clone(), own.iter().map(|p| p.step.number).collect());
            }
        }
    }
    Ok(sources)
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
