//! `kubeadm`: the tutorial's "安装kubernetes", "下载镜像所需文件",
//! "部署master节点" and "让node节点也能用kubectl" sections.
//!
//! On every host: the Kubernetes repository, kubelet/kubeadm/kubectl at the
//! pinned version, /etc/sysconfig/kubelet, kubelet enabled and started, the
//! control-plane images pre-pulled from the mirror with coredns re-tagged.
//! On the control-plane host: `kubeadm init` (advertising its own address;
//! the tutorial's `--apiserver-advertise-address=192.168.100.101` names node1
//! by mistake), the kubeconfig for root, a join command kept in a root-only
//! file and read into the secret variable `join_command`, and admin.conf read
//! into `admin_conf`. On workers: `kubeadm join` with that command, and
//! admin.conf as root's kubeconfig. Hosts already initialised or joined are
//! left alone.

use plait_sdk::prelude::*;
use serde::Deserialize;

const JOIN_FILE: &str = "/etc/kubernetes/plait-join-command";

#[derive(Deserialize)]
struct Params {
    version: String,
    repo_file: String,
    repo_baseurl: String,
    repo_gpgkeys: Vec<String>,
    kubelet_extra_args: String,
    kube_proxy_mode: String,
    image_repository: String,
    pause_version: String,
    etcd_version: String,
    coredns_version: String,
    control_plane_group: String,
    advertise_address: String,
    service_cidr: String,
    pod_network_cidr: String,
    token_ttl: String,
    kubectl_on_workers: bool,
    cluster: bool,
}

struct Kubeadm;

fn repo_file(p: &Params) -> String {
    format!(
        "[kubernetes]\nname=Kubernetes\nbaseurl={}\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\ngpgkey={}\n",
        p.repo_baseurl,
        p.repo_gpgkeys.join(" ")
    )
}

fn images(p: &Params) -> Vec<String> {
    let r = &p.image_repository;
    let v = format!("v{}", p.version);
    vec![
        format!("{r}/kube-apiserver:{v}"),
        format!("{r}/kube-controller-manager:{v}"),
        format!("{r}/kube-scheduler:{v}"),
        format!("{r}/kube-proxy:{v}"),
        format!("{r}/pause:{}", p.pause_version),
        format!("{r}/etcd:{}", p.etcd_version),
        format!("{r}/coredns:{}", p.coredns_version),
    ]
}

/// Where kubeadm 1.21 looks for coredns under a custom image repository.
fn coredns_target(p: &Params) -> String {
    format!("{}/coredns/coredns:{}", p.image_repository, p.coredns_version)
}

/// `repo:tag` of every image `docker images` lists.
fn local_images(out: &str) -> Vec<String> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(format!("{}:{}", w.next()?, w.next()?))
        })
        .collect()
}

/// Split a captured join command into argv, refusing anything but the
/// words `kubeadm join` prints (it came from a host, not from us).
fn join_argv(cmd: &str) -> Result<Vec<String>, PluginError> {
    let words: Vec<String> = cmd.split_whitespace().filter(|w| *w != "\\").map(String::from).collect();
    if words.len() < 3 || words[0] != "kubeadm" || words[1] != "join" {
        return Err(PluginError::internal(format!("the captured join command does not start with `kubeadm join` ({} words)", words.len())));
    }
    if !words.iter().all(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || "-.:=_/".contains(c))) {
        return Err(PluginError::internal("the captured join command holds unexpected characters"));
    }
    Ok(words)
}

impl Plugin for Kubeadm {
    fn describe() -> PluginInfo {
        info("kubeadm", env!("CARGO_PKG_VERSION"), "kubelet, kubeadm and kubectl; kubeadm init on the control plane, join on workers")
            .param(param::string("version", "1.21.10", "Kubernetes version (packages, images, init)"))
            .param(param::string("repo_file", "/etc/yum.repos.d/kubernetes.repo", "where the repository definition goes"))
            .param(param::string(
                "repo_baseurl",
                "https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64",
                "Kubernetes package mirror",
            ))
            .param(param::string_list(
                "repo_gpgkeys",
                &[
                    "https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg",
                    "https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg",
                ],
                "repository keys",
            ))
            .param(param::string("kubelet_extra_args", "--cgroup-driver=systemd", "KUBELET_EXTRA_ARGS in /etc/sysconfig/kubelet"))
            .param(param::string("kube_proxy_mode", "ipvs", "KUBE_PROXY_MODE in /etc/sysconfig/kubelet"))
            .param(param::string(
                "image_repository",
                "registry.cn-hangzhou.aliyuncs.com/google_containers",
                "image mirror for the control plane",
            ))
            .param(param::string("pause_version", "3.4.1", "pause image tag"))
            .param(param::string("etcd_version", "3.4.13-0", "etcd image tag"))
            .param(param::string("coredns_version", "v1.8.0", "coredns image tag"))
            .param(param::string("control_plane_group", "control-plane", "inventory group of the (single) control-plane host"))
            .param(param::string("advertise_address", "", "API server address (default: the control-plane host's inventory address)"))
            .param(param::string("service_cidr", "10.96.0.0/16", "--service-cidr"))
            .param(param::string("pod_network_cidr", "10.244.0.0/16", "--pod-network-cidr"))
            .param(param::string("token_ttl", "0", "join token lifetime (0: never expires)"))
            .param(param::boolean("kubectl_on_workers", true, "copy admin.conf to root's kubeconfig on workers"))
            .param(param::boolean("cluster", true, "init and join; false stops after packages, kubelet config and images"))
            .probe("repo_file", "cat {repo_file}")
            .probe("packages", "rpm -q kubelet kubeadm kubectl")
            .probe("sysconfig", "cat /etc/sysconfig/kubelet")
            .probe("kubelet_enabled", "systemctl is-enabled kubelet")
            .probe("kubelet_active", "systemctl is-active kubelet")
            .probe_sudo("docker_images", "docker images")
            .probe("initialized", "test -f /etc/kubernetes/admin.conf")
            .probe("joined", "test -f /etc/kubernetes/kubelet.conf")
            .probe_sudo("root_kubeconfig", "cmp -s /etc/kubernetes/admin.conf /root/.kube/config")
            .probe_sudo("root_kubeconfig_sha", "sha256sum /root/.kube/config")
            .probe_sudo("join_file", "test -s /etc/kubernetes/plait-join-command")
            .programs(["yum", "systemctl", "docker", "kubeadm", "install", "cmp", "test"])
            .shell()
            .writes(["/etc/yum.repos.d/", "/etc/sysconfig/kubelet", "/root/.kube/"])
            .reads(["/etc/kubernetes/admin.conf", JOIN_FILE])
            .produces(["join_command", "admin_conf"])
            .consumes(["join_command", "admin_conf"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "kubeadm")?;
        let p: Params = ctx.params()?;
        let control: Vec<&InventoryHost> = ctx.hosts_in(&p.control_plane_group).collect();
        let cp = match control.as_slice() {
            [one] => *one,
            [] => return Err(PluginError::bad_params(format!("no host is in group `{}`", p.control_plane_group))),
            _ => {
                return Err(PluginError::bad_params(format!(
                    "group `{}` has {} hosts; this plugin sets up a single control-plane host",
                    p.control_plane_group,
                    control.len()
                )));
            }
        };
        let is_cp = cp.name == ctx.host.name;
        let mut actions: Vec<Action> = Vec::new();
        let mut done: Vec<String> = Vec::new();

        // Packages and kubelet configuration, everywhere.
        let repo = repo_file(&p);
        let r = ctx.probe("repo_file")?;
        if !(r.exit_code == 0 && r.stdout == repo) {
            actions.push(file::put(&p.repo_file, repo).mode(0o644).summary("add the Kubernetes repository").into());
        }
        let pk = ctx.probe("packages")?.stdout.clone();
        let missing: Vec<String> = ["kubelet", "kubeadm", "kubectl"]
            .iter()
            .filter(|n| !pk.lines().any(|l| l.starts_with(&format!("{n}-{}-", p.version))))
            .map(|n| format!("{n}-{}", p.version))
            .collect();
        if missing.is_empty() {
            done.push(format!("kubelet, kubeadm, kubectl {} installed", p.version));
        } else {
            let mut argv = vec!["yum".to_string(), "install".into(), "-y".into()];
            argv.extend(["kubelet", "kubeadm", "kubectl"].iter().map(|n| format!("{n}-{}", p.version)));
            actions.push(cmd::run(argv).timeout_secs(1800).summary(format!("install {}", missing.join(" "))).into());
        }
        let sysconfig = format!(
            "KUBELET_EXTRA_ARGS=\"{}\"\nKUBE_PROXY_MODE=\"{}\"\n",
            p.kubelet_extra_args.replace('"', ""),
            p.kube_proxy_mode.replace('"', "")
        );
        let sc = ctx.probe("sysconfig")?;
        if !(sc.exit_code == 0 && sc.stdout == sysconfig) {
            actions.push(
                file::put("/etc/sysconfig/kubelet", sysconfig).mode(0o644).summary("configure kubelet (cgroup driver, proxy mode)").into(),
            );
        }
        if ctx.probe("kubelet_enabled")?.stdout.trim() != "enabled" {
            actions.push(cmd::run(["systemctl", "enable", "kubelet"]).summary("start kubelet at boot").into());
        }
        if ctx.probe("kubelet_active")?.stdout.trim() != "active" {
            actions.push(cmd::run(["systemctl", "start", "kubelet"]).summary("start kubelet").into());
        }

        // Images from the mirror; kubeadm 1.21 wants coredns under coredns/coredns.
        let have = local_images(&ctx.probe("docker_images")?.stdout);
        let mut pulls = 0;
        for img in images(&p) {
            if !have.contains(&img) {
                actions
                    .push(cmd::run(["docker", "pull", img.as_str()]).retries(2, 5).timeout_secs(900).summary(format!("pull {img}")).into());
                pulls += 1;
            }
        }
        let coredns = format!("{}/coredns:{}", p.image_repository, p.coredns_version);
        let target = coredns_target(&p);
        if !have.contains(&target) {
            actions.push(cmd::run(["docker", "tag", coredns.as_str(), target.as_str()]).summary(format!("tag coredns as {target}")).into());
        } else if pulls == 0 {
            done.push("control-plane images present".into());
        }

        if !p.cluster {
            done.push("cluster = false: no init or join".into());
        } else if is_cp {
            let addr = if p.advertise_address.is_empty() { cp.address.clone() } else { p.advertise_address.clone() };
            if ctx.probe_ok("initialized")? {
                done.push("the control plane is initialised".into());
            } else {
                let v = format!("--kubernetes-version=v{}", p.version);
                actions.push(
                    cmd::run([
                        "kubeadm".to_string(),
                        "init".into(),
                        format!("--apiserver-advertise-address={addr}"),
                        format!("--image-repository={}", p.image_repository),
                        v,
                        format!("--service-cidr={}", p.service_cidr),
                        format!("--pod-network-cidr={}", p.pod_network_cidr),
                    ])
                    .timeout_secs(900)
                    // Its output carries a bootstrap token: kept out of every report.
                    .secret()
                    .summary(format!("kubeadm init, advertising {addr}"))
                    .into(),
                );
            }
            if !ctx.probe_ok("root_kubeconfig")? {
                actions.push(
                    cmd::run(["install", "-D", "-m", "600", "/etc/kubernetes/admin.conf", "/root/.kube/config"])
                        .unless(cmd::argv(["cmp", "-s", "/etc/kubernetes/admin.conf", "/root/.kube/config"]))
                        .summary("kubeconfig for root ($HOME/.kube/config)")
                        .into(),
                );
            }
            if !ctx.probe_ok("join_file")? {
                let script = format!(
                    "umask 077 && kubeadm token create --ttl {} --print-join-command > {JOIN_FILE}.tmp && mv -f {JOIN_FILE}.tmp {JOIN_FILE}",
                    shell::quote(&p.token_ttl)
                );
                actions.push(
                    cmd::script(script).unless(cmd::argv(["test", "-s", JOIN_FILE])).summary("create a join token for the workers").into(),
                );
            }
            // Read-only: every run hands the workers what they need.
            actions.push(fetch::file(JOIN_FILE, "join_command", true));
            actions.push(fetch::file("/etc/kubernetes/admin.conf", "admin_conf", true));
        } else {
            let join =
                ctx.var(&cp.name, "join_command").or_else(|| if ctx.offline { ctx.var_any("join_command").map(|(_, v)| v) } else { None });
            let admin =
                ctx.var(&cp.name, "admin_conf").or_else(|| if ctx.offline { ctx.var_any("admin_conf").map(|(_, v)| v) } else { None });
            let joined = ctx.probe_ok("joined")?;
            if joined {
                done.push("this node has joined the cluster".into());
            } else {
                let Some(cmdline) = join else {
                    return Err(PluginError::missing_variable(format!("join_command from {} is not captured yet", cp.name)));
                };
                let argv = if ctx.offline && cmdline.starts_with('<') {
                    vec!["kubeadm".to_string(), "join".into(), cmdline.to_string()]
                } else {
                    join_argv(cmdline)?
                };
                actions.push(cmd::run(argv).secret().timeout_secs(600).summary(format!("kubeadm join the cluster at {}", cp.name)).into());
            }
            if p.kubectl_on_workers {
                match admin {
                    Some(conf) if !(ctx.offline && conf.starts_with('<')) => {
                        let current = ctx.probe("root_kubeconfig_sha")?.stdout.split_whitespace().next().unwrap_or("").to_string();
                        if current != guard::sha256_hex(conf.as_bytes()) {
                            actions.push(
                                file::put("/root/.kube/config", conf)
                                    .mode(0o600)
                                    .owner("root", "root")
                                    .summary("kubeconfig for root (kubectl on this node)")
                                    .into(),
                            );
                        } else {
                            done.push("root's kubeconfig is admin.conf".into());
                        }
                    }
                    // Offline, the content is a placeholder: an existing kubeconfig is compared at run time.
                    Some(_) if ctx.probe_ok("root_kubeconfig_sha")? => {
                        done.push("root has a kubeconfig (compared with admin.conf at run time)".into())
                    }
                    Some(_) => actions.push(
                        file::put("/root/.kube/config", "<admin.conf from the control plane>")
                            .mode(0o600)
                            .summary("kubeconfig for root (kubectl on this node)")
                            .into(),
                    ),
                    None => return Err(PluginError::missing_variable(format!("admin_conf from {} is not captured yet", cp.name))),
                }
            }
        }
        Ok(Plan::new(actions, done.join("; ")))
    }
}

register_plugin!(Kubeadm);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_commands_become_argv_or_are_refused() {
        let argv =
            join_argv("kubeadm join 192.168.100.100:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00ff \n")
                .unwrap();
        assert_eq!(argv.len(), 7);
        assert!(join_argv("kubeadm join x; rm -rf /").is_err());
        assert!(join_argv("rm -rf /").is_err());
    }

    #[test]
    fn lists_local_images() {
        let out = "REPOSITORY TAG IMAGE ID\nregistry/x/pause 3.4.1 abc\n";
        assert_eq!(local_images(out), vec!["registry/x/pause:3.4.1"]);
    }
}
