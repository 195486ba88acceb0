//! `containerd`: containerd as the Kubernetes container runtime, a drop-in
//! for the `docker` step (then give the kubeadm step `container_runtime =
//! "containerd"`). Kubernetes 1.24 removed dockershim, so every cluster
//! past 1.23 needs a CRI runtime such as this one.
//!
//! containerd.io comes from Docker's el7 repository (the same repository
//! file as the docker step). Its RPM installs /etc/containerd/config.toml
//! with `disabled_plugins = ["cri"]` (docker/containerd-packaging,
//! common/containerd.toml, `%config(noreplace)`): Docker Engine does not
//! need the CRI plugin, and with that file the kubelet and kubeadm fail
//! ("unknown service runtime.v1alpha2.RuntimeService"). This step writes the
//! whole file: config version 2 (containerd 1.5+), the CRI plugin with the
//! sandbox (pause) image from the mirror (a remote runtime ignores the
//! kubelet's --pod-infra-container-image), runc with `SystemdCgroup = true`
//! (kubeadm 1.21+ sets the kubelet's cgroupDriver to systemd; the two must
//! agree), and registry mirrors for docker.io. Then /etc/crictl.yaml (so
//! crictl talks to containerd instead of probing default sockets), the
//! `overlay` module at boot and now, the service enabled and started, and
//! restarted only when the config changed. A read-only check after that
//! asks containerd whether its CRI plugin loaded (`ctr plugins ls`).

use plait_sdk::prelude::*;
use serde::Deserialize;

const CONFIG: &str = "/etc/containerd/config.toml";
const CRICTL: &str = "/etc/crictl.yaml";
const MODULES: &str = "/etc/modules-load.d/containerd.conf";
/// containerd's CRI endpoint (its default `grpc.address`).
pub const SOCKET: &str = "unix:///run/containerd/containerd.sock";

#[derive(Deserialize)]
struct Params {
    repo_file: String,
    repo_baseurl: String,
    repo_gpgkey: String,
    packages: Vec<String>,
    sandbox_image: String,
    systemd_cgroup: bool,
    registry_mirrors: Vec<String>,
}

struct Containerd;

/// A TOML basic string. JSON's string escapes (`\"`, `\\`, `\n`, `\u00XX`
/// for other control characters) are all valid in TOML basic strings.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn config(p: &Params) -> String {
    let cri = "plugins.\"io.containerd.grpc.v1.cri\"";
    let mut s = format!(
        "# Written by plait (containerd step). containerd 1.6, config version 2.\nversion = 2\n\n[{cri}]\n  sandbox_image = {}\n\n[{cri}.containerd.runtimes.runc]\n  runtime_type = \"io.containerd.runc.v2\"\n\n[{cri}.containerd.runtimes.runc.options]\n  SystemdCgroup = {}\n",
        toml_str(&p.sandbox_image),
        p.systemd_cgroup
    );
    if !p.registry_mirrors.is_empty() {
        let list: Vec<String> = p.registry_mirrors.iter().map(|m| toml_str(m)).collect();
        s.push_str(&format!("\n[{cri}.registry.mirrors.\"docker.io\"]\n  endpoint = [{}]\n", list.join(", ")));
    }
    s
}

fn crictl_yaml() -> String {
    format!("runtime-endpoint: {SOCKET}\nimage-endpoint: {SOCKET}\ntimeout: 10\ndebug: false\n")
}

/// Whether the CRI plugin loaded: `ctr plugins ls` lists loaded plugins
/// only (containerd 1.6, cmd/ctr/commands/plugins), with their status.
const CRI_CHECK: &str = "ctr plugins ls | awk '$1 == \"io.containerd.grpc.v1\" && $2 == \"cri\" && $NF == \"ok\" { found = 1 } END { if (!found) { print \"containerd did not load its CRI plugin (io.containerd.grpc.v1 cri)\" > \"/dev/stderr\"; exit 1 } }'";

impl Plugin for Containerd {
    fn describe() -> PluginInfo {
        docker_ce_repo::params(info(
            "containerd",
            env!("CARGO_PKG_VERSION"),
            "containerd.io as the Kubernetes CRI runtime (a drop-in for the docker step)",
        ))
        .param(param::string_list(
            "packages",
            &["containerd.io-1.6.33-3.1.el7.x86_64"],
            "yum specs: name, or name-version-release.arch to pin",
        ))
        .param(param::string(
            "sandbox_image",
            "registry.cn-hangzhou.aliyuncs.com/google_containers/pause:3.4.1",
            "the pod sandbox (pause) image; match the kubeadm step's image repository and pause version",
        ))
        .param(param::boolean("systemd_cgroup", true, "runc's SystemdCgroup (the kubelet's cgroup driver is systemd)"))
        .param(param::string_list(
            "registry_mirrors",
            &["https://du3ia00u.mirror.aliyuncs.com", "https://hub-mirror.c.163.com", "https://mirror.baidubce.com"],
            "mirrors for docker.io images",
        ))
        .probe_script("packages", rpm::PROBE_SCRIPT, "{packages}")
        .probe("config", "cat /etc/containerd/config.toml")
        .probe("crictl", "cat /etc/crictl.yaml")
        .probe("modules_file", "cat /etc/modules-load.d/containerd.conf")
        .probe("enabled", "systemctl is-enabled containerd")
        .probe("active", "systemctl is-active containerd")
        .facts([Fact::Modules])
        .programs(["yum", "rpm", "systemctl", "modprobe", "ctr", "awk"])
        // The package probe loops over the pins, and the CRI check pipes.
        .shell()
        .writes(["/etc/yum.repos.d/", "/etc/containerd/", CRICTL, "/etc/modules-load.d/"])
        .reads(["/etc/yum.repos.d/", "/etc/containerd/", CRICTL, "/etc/modules-load.d/"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "containerd")?;
        let p: Params = ctx.params()?;
        if p.sandbox_image.trim().is_empty() {
            return Err(PluginError::bad_params("sandbox_image must name an image"));
        }
        let mut actions: Vec<Action> = Vec::new();
        let mut done = Vec::new();

        docker_ce_repo::converge(ctx, &p.repo_file, &p.repo_baseurl, &p.repo_gpgkey, &mut actions, &mut done)?;
        let pins: Vec<rpm::Pin> = p.packages.iter().map(|s| rpm::Pin::parse(s)).collect();
        let pinned = rpm::state(&pins, &ctx.probe("packages")?.stdout);
        let installing = !pinned.converged();
        if installing {
            actions.extend(rpm::converge(&pins, &pinned, &[]));
        } else {
            done.push("containerd.io installed at the pinned version".to_string());
        }

        // overlayfs, containerd's default snapshotter.
        let m = ctx.probe("modules_file")?;
        if !(m.exit_code == 0 && m.stdout.lines().any(|l| l.trim() == "overlay")) {
            actions.push(file::put(MODULES, "overlay\n").mode(0o644).summary("load overlay at boot").into());
        }
        if !ctx.module_loaded("overlay")? {
            actions.push(cmd::run(["modprobe", "overlay"]).summary("load overlay").into());
        }

        let want = config(&p);
        let c = ctx.probe("config")?;
        let config_changed = !(c.exit_code == 0 && c.stdout == want);
        if config_changed {
            let why = if c.stdout.lines().any(|l| l.trim_start().starts_with("disabled_plugins") && l.contains("\"cri\"")) {
                " (the package's file disables the CRI plugin)"
            } else {
                ""
            };
            actions.push(file::put(CONFIG, want).mode(0o644).summary(format!("write {CONFIG}{why}")).into());
        }
        let y = ctx.probe("crictl")?;
        if !(y.exit_code == 0 && y.stdout == crictl_yaml()) {
            actions.push(file::put(CRICTL, crictl_yaml()).mode(0o644).summary(format!("point crictl at {SOCKET}")).into());
        }
        if installing {
            actions.push(cmd::run(["systemctl", "daemon-reload"]).summary("reload systemd units").into());
        }
        if ctx.probe("enabled")?.stdout.trim() != "enabled" {
            actions.push(cmd::run(["systemctl", "enable", "containerd"]).summary("start containerd at boot").into());
        }
        let active = ctx.probe("active")?.stdout.trim() == "active";
        if !active {
            actions.push(cmd::run(["systemctl", "start", "containerd"]).summary("start containerd").into());
        } else if config_changed || installing {
            let why = if config_changed { "config.toml changed" } else { "packages changed" };
            actions.push(cmd::run(["systemctl", "restart", "containerd"]).summary(format!("restart containerd ({why})")).into());
        } else {
            done.push("config.toml is current and containerd is running".into());
        }
        actions.push(cmd::script(CRI_CHECK).read_only().summary("check that containerd serves the CRI").into());
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(Containerd);

#[cfg(test)]
mod tests {
    use super::*;
    use plait_sdk::testing::ContextBuilder;

    fn params() -> Params {
        Params {
            repo_file: String::new(),
            repo_baseurl: String::new(),
            repo_gpgkey: String::new(),
            packages: vec![],
            sandbox_image: "mirror/pause:3.4.1".into(),
            systemd_cgroup: true,
            registry_mirrors: vec!["https://a.example".into(), "https://b\"q".into()],
        }
    }

    #[test]
    fn the_config_enables_cri_with_systemd_cgroups_and_quotes_values() {
        let c = config(&params());
        assert!(c.starts_with("# Written by plait"));
        assert!(c.contains("\nversion = 2\n"));
        assert!(!c.contains("disabled_plugins"));
        assert!(c.contains("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n"));
        assert!(c.contains("sandbox_image = \"mirror/pause:3.4.1\""));
        assert!(c.contains("endpoint = [\"https://a.example\", \"https://b\\\"q\"]"), "{c}");
    }

    fn host(config: &str, active: &str) -> Context {
        ContextBuilder::centos7("node1")
            .facts(|f| f.modules = Some(vec!["overlay".into()]))
            .probe(
                "repo_file",
                0,
                &docker_ce_repo::content(
                    "https://mirrors.aliyun.com/docker-ce/linux/centos/$releasever/$basearch/stable",
                    "https://mirrors.aliyun.com/docker-ce/linux/centos/gpg",
                ),
            )
            .probe("packages", 0, "containerd.io-1.6.33-3.1.el7.x86_64\n")
            .probe("config", 0, config)
            .probe("crictl", 0, &crictl_yaml())
            .probe("modules_file", 0, "overlay\n")
            .probe("enabled", 0, "enabled\n")
            .probe("active", if active == "active" { 0 } else { 3 }, &format!("{active}\n"))
            .build::<Containerd>()
    }

    fn summaries(p: &Plan) -> Vec<String> {
        p.actions.iter().map(|a| a.summary.clone()).collect()
    }

    #[test]
    fn the_packaged_config_that_disables_cri_is_replaced_and_containerd_restarted() {
        let docker_host = host("disabled_plugins = [\"cri\"]\n", "active");
        let s = summaries(&Containerd::plan(&docker_host).unwrap());
        assert_eq!(
            s,
            [
                "write /etc/containerd/config.toml (the package's file disables the CRI plugin)",
                "restart containerd (config.toml changed)",
                "check that containerd serves the CRI"
            ]
        );
    }

    #[test]
    fn a_converged_host_only_checks() {
        let ctx = ContextBuilder::centos7("node1").params(serde_json::json!({})).build::<Containerd>();
        let p: Params = ctx.params().unwrap();
        let plan = Containerd::plan(&host(&config(&p), "active")).unwrap();
        assert_eq!(summaries(&plan), ["check that containerd serves the CRI"]);
    }
}
