//! `plait facts WORKFLOW [HOST...] [--record FILE]`: gather the core facts
//! and every probe of the workflow's plugins from live hosts, and print them
//! or write a facts file for `plait plan --facts`.

use super::{CommandError, Connection};
use crate::executor::{SshTransport, Transport, gather};
use crate::facts::{FactsFile, HostRecord, ProbeCommand, gather_script, parse_gathered};
use crate::model::FactSet;
use crate::plugin::{Registry, Runtime};
use crate::ssh::{Elevation, connect_options};
use crate::workflow::{Workflow, bind};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `plait facts`.
#[derive(Debug, Clone)]
pub struct FactsArgs {
    /// Workflow (for the inventory and the plugins' probes).
    pub workflow: PathBuf,
    /// Inventory override.
    pub inventory: Option<PathBuf>,
    /// Only these hosts (all when empty).
    pub hosts: Vec<String>,
    /// Only these hosts and groups (`--limit`).
    pub limit: Option<String>,
    /// Write here instead of printing.
    pub record: Option<PathBuf>,
    /// Write a template here instead of connecting.
    pub template: Option<PathBuf>,
    /// How hosts are reached (the same options as `plait run`).
    pub connection: Connection,
}

/// Gather and print or record.
pub fn facts(args: &FactsArgs, runtime: &Runtime) -> Result<i32, CommandError> {
    let workflow = Workflow::load(&args.workflow, args.inventory.as_deref())?;
    let bound = bind(workflow, &Registry::standard(Some(&args.workflow)), runtime)?;
    let inv = &bound.workflow.inventory;
    for h in &args.hosts {
        if inv.host(h).is_none() {
            return Err(CommandError::Invalid(format!("host `{h}` is not in the inventory")));
        }
    }
    let mut only = args.limit.as_deref().map(|l| inv.limit(l)).transpose().map_err(CommandError::Invalid)?;
    if let Some(path) = &args.template {
        if !args.hosts.is_empty() {
            let named: Vec<usize> = inv.hosts.iter().enumerate().filter(|(_, h)| args.hosts.contains(&h.name)).map(|(i, _)| i).collect();
            only = Some(only.map_or(named.clone(), |o| o.into_iter().filter(|i| named.contains(i)).collect()));
        }
        std::fs::write(path, super::facts_template::facts_template(&bound, only.as_deref()))
            .map_err(|e| CommandError::Other(format!("writing {}: {e}", path.display())))?;
        println!(
            "wrote {} (edit the probe results, then: plait plan {} --facts {})",
            path.display(),
            args.workflow.display(),
            path.display()
        );
        return Ok(crate::exit_codes::OK);
    }
    let settings = args.connection.settings(inv);
    let password = args.connection.become_password()?;

    // Every plugin's probes once, rendered with the first step's parameters;
    // names carry the plugin as `plugin/probe` through the gather script.
    let mut probes: Vec<ProbeCommand> = Vec::new();
    for s in &bound.steps {
        for p in s.probe_commands(&format!("{}/", s.plugin.info.name)) {
            if !probes.iter().any(|q| q.name == p.name) {
                probes.push(p);
            }
        }
    }

    crate::executor::raise_open_files();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CommandError::Other(e.to_string()))?;
    let targets: Vec<&crate::inventory::Host> = inv
        .hosts
        .iter()
        .enumerate()
        .filter(|(hi, h)| (args.hosts.is_empty() || args.hosts.contains(&h.name)) && only.as_ref().is_none_or(|o| o.contains(hi)))
        .map(|(_, h)| h)
        .collect();
    let results = rt.block_on(async {
        let forks = Arc::new(tokio::sync::Semaphore::new(args.connection.forks.max(1)));
        let tasks: Vec<_> = targets
            .iter()
            .map(|h| {
                let opts = connect_options(h, &settings);
                let probes = probes.clone();
                let elevation = Elevation::for_user(&h.user, password.is_some());
                let password = password.clone();
                let forks = forks.clone();
                tokio::spawn(async move {
                    let _permit = forks.acquire_owned().await.map_err(|e| e.to_string())?;
                    let host = opts.host.clone();
                    let transport = SshTransport::connect(opts).await.map_err(|e| e.to_string())?;
                    let g = gather_script(&probes, elevation, password.as_deref(), Some(FactSet::all()));
                    let out = gather(&transport, &g).await.map_err(|e| e.to_string());
                    transport.close().await;
                    parse_gathered(&host, &out?, &g).map_err(|e| e.to_string())
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.map_err(|e| e.to_string()).and_then(|r| r));
        }
        out
    });

    let mut file = FactsFile::default();
    let mut failed = 0;
    for (h, r) in targets.iter().zip(results) {
        match r {
            Ok((facts, raw)) => {
                let mut by_plugin: BTreeMap<String, BTreeMap<String, crate::facts::ProbeResult>> = BTreeMap::new();
                for (name, result) in raw {
                    if let Some((plugin, probe)) = name.split_once('/') {
                        by_plugin.entry(plugin.to_string()).or_default().insert(probe.to_string(), result);
                    }
                }
                file.hosts.insert(h.name.clone(), HostRecord { facts, probes: by_plugin });
            }
            Err(e) => {
                eprintln!("error: {}: {e}", h.name);
                failed += 1;
            }
        }
    }
    let text = toml::to_string(&file).map_err(|e| CommandError::Other(format!("encoding facts: {e}")))?;
    match &args.record {
        Some(path) => {
            let header = format!("# Facts recorded by `plait facts` from workflow {}.\n\n", bound.workflow.name);
            std::fs::write(path, header + &text).map_err(|e| CommandError::Other(format!("writing {}: {e}", path.display())))?;
            eprintln!("recorded facts of {} host{} in {}", file.hosts.len(), if file.hosts.len() == 1 { "" } else { "s" }, path.display());
        }
        None => print!("{text}"),
    }
    Ok(if failed > 0 { crate::exit_codes::HOSTS_FAILED } else { crate::exit_codes::OK })
}
