//! The light fleet (issue 16): `fleet up --light` hosts share one
//! provisioning and sit on a /16 behind permanent neighbour entries, yet are
//! real SSH hosts with the simulated tools. The scale workload converges
//! every one of them, and a second run changes nothing. (The 1,000-host
//! figures come from `bench/run --light`, not from a test.)

use plait_tests::fleet::{Fleet, skip_unless_available};
use serde_json::Value;

fn recap(o: &std::process::Output) -> Vec<Value> {
    let text = String::from_utf8_lossy(&o.stdout);
    let r = text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).rfind(|e| e["event"] == "recap");
    r.unwrap_or_else(|| panic!("no recap in {text}{}", String::from_utf8_lossy(&o.stderr)))["hosts"].as_array().unwrap().clone()
}

#[test]
fn a_light_fleet_runs_the_scale_workload_on_every_host_and_a_second_run_changes_nothing() {
    if skip_unless_available() {
        return;
    }
    let n = 12;
    let fleet = Fleet::up_with(n, &["--light"]);
    let inv = fleet.dir().join("inventory.toml");
    let inv = inv.to_str().unwrap();
    let address = std::fs::read_to_string(fleet.dir().join("hosts/node11/address")).unwrap();
    assert_eq!(address.trim(), "10.200.0.13", "light hosts live on 10.200.0.0/16");

    let o = fleet.plait(&["run", "workflows/bench-scale.toml", "-i", inv, "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let hosts = recap(&o);
    assert_eq!(hosts.len(), n);
    for h in &hosts {
        assert_eq!(h["state"], "converged", "{h}");
        assert!(h["changed"].as_u64().unwrap() >= 10, "a fresh light host is prepared: {h}");
    }
    // Each host has its own writable layers over the shared template.
    for name in ["master", "node5", "node11"] {
        assert_eq!(fleet.exec(name, "cat /etc/hostname").trim(), name);
        assert_eq!(fleet.exec(name, "sed -n 's/^SELINUX=//p' /etc/selinux/config").trim(), "disabled");
    }
    assert_eq!(fleet.exec("node4", "cat /etc/hostname").trim(), "node4", "one host's write is not another's");

    let o = fleet.plait(&["run", "workflows/bench-scale.toml", "-i", inv, "--output", "json"]);
    assert_eq!(o.status.code(), Some(0));
    for h in recap(&o) {
        assert_eq!(h["changed"], 0, "{h}");
    }
}
