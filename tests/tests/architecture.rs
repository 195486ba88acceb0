//! The module graph of `host/src` has no cycles: between top-level modules
//! (`crate::x` paths) and between the files of each module (`super::file`
//! paths), so every arrow points one way (docs/architecture.md, "Layers").
//! The graph is read from the source text; `mod.rs` files only declare and
//! re-export, so they are left out of the file-level graph.

use plait_tests::repo_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Identifiers that follow `prefix` in `code` (`crate::` → `model`, ...).
fn after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    code.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &code[i + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// `super::{a, b::c}` groups: the first identifier of each item.
fn super_groups(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("super::{") {
        let rest = &code[i + "super::{".len()..];
        let Some(end) = rest.find('}') else { continue };
        out.extend(rest[..end].split(',').filter_map(|item| item.trim().split("::").next()).map(str::trim).filter(|s| !s.is_empty()));
    }
    out
}

/// Code without comments (doc links must not count as uses).
fn code_of(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's strongly connected components; any with two or more nodes is a cycle.
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t =
        T { g: graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), next: 0, out: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn the_module_graph_has_no_cycles() {
    let src = repo_root().join("host/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let top_level: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| !matches!(m.as_str(), "lib" | "main" | "cli"))
        .collect();
    let mut modules: BTreeMap<String, BTreeSet<String>> = top_level.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    let mut within: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
        let top = parts[0].clone();
        if !top_level.contains(&top) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        for m in after(&code, "crate::") {
            if m != top && top_level.contains(m) {
                modules.get_mut(&top).unwrap().insert(m.to_string());
            }
        }
        // Files of a module directory (not its mod.rs).
        if parts.len() == 2 && parts[1] != "mod" {
            let dir = src.join(&top);
            let siblings: BTreeSet<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
                .filter(|s| s != "mod")
                .collect();
            let me = parts[1].clone();
            let edges = within.entry(top.clone()).or_default().entry(me.clone()).or_default();
            for s in after(&code, "super::").into_iter().chain(super_groups(&code)) {
                if s != me && siblings.contains(s) {
                    edges.insert(s.to_string());
                }
            }
            for s in after(&code, &format!("crate::{top}::")) {
                if s != me && siblings.contains(s) {
                    edges.insert(s.to_string());
                }
            }
        }
    }
    let mut problems = Vec::new();
    for c in cycles(&modules) {
        problems.push(format!("modules {}", c.join(" <-> ")));
    }
    for (m, g) in &within {
        for c in cycles(g) {
            problems.push(format!("files of {m}/: {}", c.join(" <-> ")));
        }
    }
    let layers: Vec<String> = modules.iter().map(|(m, d)| format!("{m} -> {}", d.iter().cloned().collect::<Vec<_>>().join(", "))).collect();
    assert!(problems.is_empty(), "cycles in the module graph:\n{}\n\nthe graph:\n{}", problems.join("\n"), layers.join("\n"));
    // The data model is the bottom layer: it depends on no other module.
    assert!(modules["model"].is_empty(), "model depends on {:?}", modules["model"]);
}

#[test]
fn the_checker_finds_a_cycle() {
    let g: BTreeMap<String, BTreeSet<String>> =
        [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")].iter().fold(BTreeMap::new(), |mut g, (x, y)| {
            g.entry(x.to_string()).or_insert_with(BTreeSet::new).insert(y.to_string());
            g.entry(y.to_string()).or_default();
            g
        });
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    assert_eq!(super_groups("use super::{host::run_host, vars::VarStore, Mode};"), vec!["host", "vars", "Mode"]);
}
