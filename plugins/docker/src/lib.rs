//! `docker`: the tutorial's "安装docker并配置" section. The docker-ce
//! repository (the tutorial `wget`s the mirror's .repo file into the wrong
//! directory, `/etc/yum.repo`; this writes it to /etc/yum.repos.d), the
//! pinned packages, /etc/docker/daemon.json with every field a parameter,
//! daemon-reload, enable, start; a restart only when daemon.json changed.

use plait_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Params {
    repo_file: String,
    repo_baseurl: String,
    repo_gpgkey: String,
    packages: Vec<String>,
    exec_opts: Vec<String>,
    registry_mirrors: Vec<String>,
    live_restore: bool,
    log_driver: String,
    log_opts: serde_json::Map<String, Value>,
    max_concurrent_downloads: i64,
    max_concurrent_uploads: i64,
    storage_driver: String,
}

struct Docker;

/// daemon.json with the tutorial's key order, two-space indented.
fn daemon_json(p: &Params) -> String {
    let fields: Vec<(&str, Value)> = vec![
        ("exec-opts", Value::from(p.exec_opts.clone())),
        ("registry-mirrors", Value::from(p.registry_mirrors.clone())),
        ("live-restore", Value::from(p.live_restore)),
        ("log-driver", Value::from(p.log_driver.clone())),
        ("log-opts", Value::Object(p.log_opts.clone())),
        ("max-concurrent-downloads", Value::from(p.max_concurrent_downloads)),
        ("max-concurrent-uploads", Value::from(p.max_concurrent_uploads)),
        ("storage-driver", Value::from(p.storage_driver.clone())),
    ];
    let mut s = String::from("{\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        let v = serde_json::to_string_pretty(v).unwrap_or_default().replace('\n', "\n  ");
        s.push_str(&format!("  \"{k}\": {v}{}\n", if i + 1 < fields.len() { "," } else { "" }));
    }
    s.push_str("}\n");
    s
}

impl Plugin for Docker {
    fn describe() -> PluginInfo {
        docker_ce_repo::params(info("docker", env!("CARGO_PKG_VERSION"), "docker-ce from a mirror, pinned, with daemon.json"))
            // The tutorial pins docker-ce-cli-3:..., but Docker's el7 repository
            // publishes docker-ce-cli with epoch 1 (docker/docker-ce-packaging,
            // rpm/SPECS/docker-ce-cli.spec `Epoch: 1`; docker-ce.spec has
            // `Epoch: 3`): with epoch 3 yum finds nothing, skips the name and
            // docker-ce pulls in the newest CLI.
            .param(param::string_list(
                "packages",
                &["docker-ce-3:20.10.8-3.el7.x86_64", "docker-ce-cli-1:20.10.8-3.el7.x86_64", "containerd.io"],
                "yum specs: name, or name-epoch:version-release.arch to pin",
            ))
            .param(param::string_list("exec_opts", &["native.cgroupdriver=systemd"], "daemon.json exec-opts"))
            .param(param::string_list(
                "registry_mirrors",
                &["https://du3ia00u.mirror.aliyuncs.com", "https://hub-mirror.c.163.com", "https://mirror.baidubce.com"],
                "daemon.json registry-mirrors",
            ))
            .param(param::boolean("live_restore", true, "daemon.json live-restore"))
            .param(param::string("log_driver", "json-file", "daemon.json log-driver"))
            .param(param::table("log_opts", serde_json::json!({ "max-size": "500m", "max-file": "3" }), "daemon.json log-opts"))
            .param(param::integer("max_concurrent_downloads", 10, "daemon.json max-concurrent-downloads"))
            .param(param::integer("max_concurrent_uploads", 5, "daemon.json max-concurrent-uploads"))
            .param(param::string("storage_driver", "overlay2", "daemon.json storage-driver"))
            .probe_script("packages", rpm::PROBE_SCRIPT, "{packages}")
            .probe("daemon_json", "cat /etc/docker/daemon.json")
            .probe("enabled", "systemctl is-enabled docker")
            .probe("active", "systemctl is-active docker")
            .programs(["yum", "rpm", "systemctl"])
            // The package probe loops over the pins in shell code.
            .shell()
            .writes(["/etc/yum.repos.d/", "/etc/docker/"])
            .reads(["/etc/yum.repos.d/", "/etc/docker/"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "docker")?;
        let p: Params = ctx.params()?;
        let mut actions: Vec<Action> = Vec::new();
        let mut done = Vec::new();

        docker_ce_repo::converge(ctx, &p.repo_file, &p.repo_baseurl, &p.repo_gpgkey, &mut actions, &mut done)?;

        let pins: Vec<rpm::Pin> = p.packages.iter().map(|s| rpm::Pin::parse(s)).collect();
        let pinned = rpm::state(&pins, &ctx.probe("packages")?.stdout);
        let installing = !pinned.converged();
        if installing {
            actions.extend(rpm::converge(&pins, &pinned, &[]));
        } else {
            done.push("docker packages installed at the pinned versions".into());
        }

        let config = daemon_json(&p);
        let d = ctx.probe("daemon_json")?;
        let config_changed = !(d.exit_code == 0 && d.stdout == config);
        if config_changed {
            actions.push(file::put("/etc/docker/daemon.json", config).mode(0o644).summary("write /etc/docker/daemon.json").into());
        }
        if config_changed || installing {
            actions.push(cmd::run(["systemctl", "daemon-reload"]).summary("reload systemd units").into());
        }
        if ctx.probe("enabled")?.stdout.trim() != "enabled" {
            actions.push(cmd::run(["systemctl", "enable", "docker"]).summary("start docker at boot").into());
        }
        let active = ctx.probe("active")?.stdout.trim() == "active";
        if !active {
            actions.push(cmd::run(["systemctl", "start", "docker"]).summary("start docker").into());
        } else if config_changed || installing {
            let why = if config_changed { "daemon.json changed" } else { "packages changed" };
            actions.push(cmd::run(["systemctl", "restart", "docker"]).summary(format!("restart docker ({why})")).into());
        }
        if !config_changed && active {
            done.push("daemon.json is current and docker is running".into());
        }
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(Docker);
