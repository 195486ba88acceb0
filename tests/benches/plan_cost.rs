//! Plugin cost (issue 8's targets), printed, not asserted:
//! - compiling the seed plugins cold vs loading them from the cache;
//! - instantiate + plan per host-step, warm (every plan call is a fresh
//!   store and instance from the pre-linked `InstancePre`);
//! - `plait plan` of the whole seed workflow offline, as a process, warm.
//!
//! Run: `cargo bench -p plait-tests --bench plan_cost` (after
//! `scripts/build-plugins` and `cargo build --release -p plait`).

use plait::commands::{offline_context, plan_offline};
use plait::facts::FactsFile;
use plait::plugin::{ComponentCache, Limits, Registry, Runtime};
use plait::workflow::{Workflow, bind};
use plait_tests::{plait, repo_root};
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let root = repo_root();
    let workflow_path = root.join("workflows/k8s-centos7.toml");
    let cache = tempfile::tempdir().expect("temp cache");
    let load = || {
        let rt = Runtime::new(ComponentCache::at(cache.path().to_path_buf()), Limits::default()).expect("runtime");
        let wf = Workflow::load(&workflow_path, None).expect("seed workflow");
        let t = Instant::now();
        let bound = bind(wf, &Registry::standard(Some(&workflow_path)), &rt).expect("bind");
        (t.elapsed(), bound, rt)
    };
    let (cold, _, _) = load();
    let (warm, bound, _rt) = load();
    println!("seed plugins ({} steps): cold load (compile) {:.0} ms, warm load (cache) {:.1} ms", bound.steps.len(), ms(cold), ms(warm));

    for fixture in ["centos79-fresh.toml", "centos79-converged.toml"] {
        let facts = FactsFile::load(&root.join("tests/fixtures/facts").join(fixture)).expect("fixture");
        // Every (host, step) context, built once; then plan each many times.
        let inv = &bound.workflow.inventory;
        let mut cells = Vec::new();
        for s in &bound.steps {
            for &hi in &s.step.hosts {
                let h = &inv.hosts[hi];
                let ctx = offline_context(s, h, &facts.hosts[&h.name], &inv.for_plugins());
                cells.push((s, ctx));
            }
        }
        let rounds = 200;
        let mut samples = Vec::with_capacity(rounds * cells.len());
        for _ in 0..rounds {
            for (s, ctx) in &cells {
                let t = Instant::now();
                let out = s.plugin.plan(ctx, &s.caps);
                samples.push(t.elapsed());
                std::hint::black_box(out.ok());
            }
        }
        samples.sort();
        let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
        let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
        println!(
            "{fixture}: instantiate + plan per host-step over {} calls: mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms (target <= 0.2 ms)",
            samples.len(),
            ms(mean),
            ms(pct(0.5)),
            ms(pct(0.99))
        );
        let t = Instant::now();
        let n = 20;
        for _ in 0..n {
            std::hint::black_box(plan_offline(&bound, &facts, fixture, None).expect("offline plan"));
        }
        println!("{fixture}: whole seed workflow offline, in process: {:.2} ms", ms(t.elapsed() / n));
    }

    // As a user runs it: a fresh process each time, compiled plugins cached.
    let facts = root.join("tests/fixtures/facts/centos79-fresh.toml");
    let run = || {
        let t = Instant::now();
        let out = plait(&["plan", workflow_path.to_str().unwrap(), "--facts", facts.to_str().unwrap()], cache.path());
        assert!(out.status.success(), "plait plan failed: {}", String::from_utf8_lossy(&out.stderr));
        t.elapsed()
    };
    run();
    let mut times: Vec<Duration> = (0..10).map(|_| run()).collect();
    times.sort();
    println!(
        "`plait plan` seed workflow offline, warm process: median {:.1} ms, min {:.1} ms (target <= 300 ms)",
        ms(times[5]),
        ms(times[0])
    );
}
