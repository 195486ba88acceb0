//! Plugin golden tests: `tests/golden/<plugin>/<case>.json` gives a host's
//! facts (a recorded facts file plus overrides), probe results, parameters
//! and inventory; the plugin runs through the real wasm runtime and its
//! validated plan must equal `expect`. `PLAIT_UPDATE_GOLDEN=1` rewrites
//! `expect` from the current output (review the diff before committing).

use plait::facts::{FactsFile, HostFacts, ProbeResult};
use plait::model::{InventoryHost, PlanContext, Variable};
use plait::plugin::{ComponentCache, Limits, LoadedPlugin, Runtime};
use plait_tests::{plugin_path, repo_root, updating};
use serde_json::{Value, json};
use std::path::Path;

fn runtime() -> Runtime {
    Runtime::new(ComponentCache::at(repo_root().join("target/test-cache")), Limits::default()).expect("runtime")
}

fn merge(base: &mut Value, patch: &Value) {
    if patch.is_null() {
        return;
    }
    if let (Value::Object(b), Value::Object(p)) = (&mut *base, patch) {
        for (k, v) in p {
            merge(b.entry(k.clone()).or_insert(Value::Null), v);
        }
    } else {
        *base = patch.clone();
    }
}

fn default_inventory() -> Vec<InventoryHost> {
    [("master", "192.168.100.100", "control-plane"), ("node1", "192.168.100.101", "workers"), ("node2", "192.168.100.102", "workers")]
        .into_iter()
        .map(|(n, a, g)| InventoryHost { name: n.into(), address: a.into(), groups: vec![g.into()], vars: vec![] })
        .collect()
}

fn run_case(rt: &Runtime, plugin: &LoadedPlugin, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut case: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let host = case["host"].as_str().ok_or("case needs \"host\"")?.to_string();

    // Facts: the named recorded file's host, with overrides.
    let facts_file = repo_root().join("tests/fixtures/facts").join(case["facts_file"].as_str().ok_or("case needs \"facts_file\"")?);
    let recorded = FactsFile::load(&facts_file).map_err(|e| e.one_line())?;
    let rec = recorded.hosts.get(&host).ok_or_else(|| format!("{} has no host {host}", facts_file.display()))?;
    let mut facts = serde_json::to_value(&rec.facts).unwrap();
    merge(&mut facts, &case["facts"]);
    let facts: HostFacts = serde_json::from_value(facts).map_err(|e| format!("facts override: {e}"))?;
    let mut probes = serde_json::to_value(rec.probes.get(&plugin.info.name).cloned().unwrap_or_default()).unwrap();
    merge(&mut probes, &case["probes"]);
    let probes: std::collections::BTreeMap<String, ProbeResult> =
        serde_json::from_value(probes).map_err(|e| format!("probes override: {e}"))?;

    let mut inventory = default_inventory();
    if let Some(vars) = case["host_vars"].as_object() {
        for h in &mut inventory {
            if let Some(Value::Object(v)) = vars.get(&h.name) {
                h.vars = v.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
            }
        }
    }
    let me = inventory.iter().find(|h| h.name == host).cloned().ok_or_else(|| format!("host {host} not in the inventory"))?;

    let mut params = case["params"].as_object().cloned().unwrap_or_default();
    for spec in &plugin.info.params {
        if let (false, Some(d)) = (params.contains_key(&spec.name), &spec.default) {
            params.insert(spec.name.clone(), d.clone());
        }
    }
    let vars = case["vars"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| Variable {
                    host: v["host"].as_str().unwrap_or_default().into(),
                    name: v["name"].as_str().unwrap_or_default().into(),
                    value: v["value"].as_str().map(String::from),
                    step: 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let ctx = PlanContext {
        host: me,
        facts,
        probes: probes.into_iter().collect(),
        inventory: inventory.into(),
        params: Value::Object(params),
        vars,
        offline: case["offline"].as_bool().unwrap_or(false),
    };

    let actual = match plugin.plan(&ctx, &plugin.info.capabilities) {
        Ok(out) => json!({ "actions": out.actions, "reason": out.reason }),
        Err(e) => json!({ "error": e.to_string() }),
    };
    let _ = rt;
    if updating() {
        case.as_object_mut().unwrap().insert("expect".into(), actual);
        std::fs::write(path, serde_json::to_string_pretty(&case).unwrap() + "\n").map_err(|e| e.to_string())?;
        return Ok(());
    }
    if case["expect"] != actual {
        return Err(format!(
            "{}: plan differs (PLAIT_UPDATE_GOLDEN=1 to accept)\nexpected: {}\nactual:   {}",
            path.display(),
            serde_json::to_string_pretty(&case["expect"]).unwrap(),
            serde_json::to_string_pretty(&actual).unwrap()
        ));
    }
    Ok(())
}

#[test]
fn plugin_plans_match_golden_files() {
    let rt = runtime();
    let root = repo_root().join("tests/golden");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let plugin = LoadedPlugin::load(&rt, &plugin_path(&name), None).unwrap_or_else(|e| panic!("loading {name}: {e}"));
        let mut cases: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
        cases.sort();
        for case in cases {
            count += 1;
            if let Err(e) = run_case(&rt, &plugin, &case) {
                failures.push(e);
            }
        }
    }
    assert!(count >= 8, "expected golden cases, found {count}");
    assert!(failures.is_empty(), "{} of {count} golden cases failed:\n{}", failures.len(), failures.join("\n\n"));
}
