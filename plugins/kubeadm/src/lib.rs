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
//!
//! "Initialised" is decided from the cluster, not from a file: the API
//! server answers (`kubectl get --raw=/healthz`), kubeadm's upload-config
//! phase stored the kubeadm-config ConfigMap, and this host is a registered
//! node. `kubeadm init` writes admin.conf, the kubelet config and the static
//! pod manifests before it waits for the control plane (cmd/kubeadm/app/cmd/
//! init.go, phase order at v1.21.10), and that wait timing out is the
//! commonest failure: a host with those files but no working cluster is
//! half-built, and a plain re-run of init fails preflight on them. This
//! plugin then stops with an explanation, or, with `reset_failed_init =
//! true`, runs `kubeadm reset -f` (refused at run time if the control plane
//! answers with kubeadm-config after all) and init again.
//!
//! The join command kept for the workers is re-created when its token is no
//! longer listed by `kubeadm token list` (expired, deleted, or the cluster
//! was re-initialised) or its CA hash is not the current CA's.

use plait_sdk::prelude::*;
use serde::Deserialize;

const JOIN_FILE: &str = "/etc/kubernetes/plait-join-command";
/// The worker's JoinConfiguration, present only while `kubeadm join` runs.
const JOIN_CONFIG: &str = "/etc/kubernetes/plait-join.yaml";

// Shell probes are scripts (probe_script): their braces are the shell's.

/// What the control-plane probe prints, one word per line, then `node/NAME`
/// for every registered node (only when the API server answers).
const CONTROL_PLANE_PROBE: &str = "k='kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=10s'; \
[ -f /etc/kubernetes/admin.conf ] && echo admin_conf; \
[ -f /etc/kubernetes/manifests/kube-apiserver.yaml ] && echo manifests; \
if [ -f /etc/kubernetes/admin.conf ] && $k get --raw=/healthz >/dev/null 2>&1; then echo api_healthy; \
$k -n kube-system get configmap kubeadm-config -o name >/dev/null 2>&1 && echo kubeadm_config; \
$k get nodes -o name 2>/dev/null; fi; true";

/// Whether the kept join command still works: prints `current`, `missing`,
/// `token not listed` or `CA hash differs`, never the token. The CA hash is
/// computed as the kubeadm join documentation shows (SHA-256 of the CA's
/// DER public key).
const JOIN_FILE_PROBE: &str = "f=/etc/kubernetes/plait-join-command; [ -s $f ] || { echo missing; exit 0; }; \
set -- $(cat $f); tok=; hash=; while [ $# -gt 1 ]; do case $1 in --token) tok=$2 ;; --discovery-token-ca-cert-hash) hash=$2 ;; esac; shift; done; \
listed=; kubeadm token list 2>/dev/null | { while read t rest; do [ \"$t\" = \"$tok\" ] && exit 0; done; exit 1; } && listed=1; \
[ -n \"$listed\" ] || { echo 'token not listed'; exit 0; }; \
ca=$(openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl rsa -pubin -outform der 2>/dev/null | sha256sum); \
[ \"$hash\" = \"sha256:${ca%% *}\" ] || { echo 'CA hash differs'; exit 0; }; echo current";

/// Reset a half-built control plane, unless it turns out to answer with
/// kubeadm's configuration uploaded (then init did complete: refuse).
const RESET_SCRIPT: &str = "k='kubectl --kubeconfig=/etc/kubernetes/admin.conf --request-timeout=10s'; \
if [ -f /etc/kubernetes/admin.conf ] && $k get --raw=/healthz >/dev/null 2>&1 && $k -n kube-system get configmap kubeadm-config -o name >/dev/null 2>&1; then \
echo 'refusing to reset: the control plane answers and kubeadm init completed' >&2; exit 1; fi; kubeadm reset -f";

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
    container_runtime: String,
    kubectl_on_workers: bool,
    cluster: bool,
    reset_failed_init: bool,
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
/// The first field of `sha256sum` output, if it printed one.
fn sha_of(out: &str) -> Option<&str> {
    out.split_whitespace().next().filter(|s| s.len() == 64)
}

/// What the control-plane probe found.
#[derive(Debug, Default, PartialEq)]
struct ControlPlane {
    admin_conf: bool,
    manifests: bool,
    api_healthy: bool,
    kubeadm_config: bool,
    registered: bool,
}

/// Whether `kubeadm init` completed on this host.
#[derive(Debug, PartialEq)]
enum Condition {
    /// Nothing of an init is here.
    Fresh,
    /// The API server answers, kubeadm-config is uploaded, the node is registered.
    Complete,
    /// Traces of an init that did not complete (why).
    HalfBuilt(String),
}

impl ControlPlane {
    fn parse(out: &str, hostname: &str) -> ControlPlane {
        // kubeadm names the node after the hostname, lowercased.
        let node = format!("node/{}", hostname.to_ascii_lowercase());
        let has = |w: &str| out.lines().any(|l| l.trim() == w);
        ControlPlane {
            admin_conf: has("admin_conf"),
            manifests: has("manifests"),
            api_healthy: has("api_healthy"),
            kubeadm_config: has("kubeadm_config"),
            registered: has(&node),
        }
    }

    fn condition(&self) -> Condition {
        if !self.admin_conf && !self.manifests {
            return Condition::Fresh;
        }
        if self.api_healthy && self.kubeadm_config && self.registered {
            return Condition::Complete;
        }
        let why = if !self.admin_conf {
            "static pod manifests without /etc/kubernetes/admin.conf"
        } else if !self.api_healthy {
            "/etc/kubernetes/admin.conf exists but the API server does not answer"
        } else if !self.kubeadm_config {
            "the API server answers but kubeadm never uploaded its kubeadm-config ConfigMap"
        } else {
            "this host is not a registered node of the cluster"
        };
        Condition::HalfBuilt(why.to_string())
    }
}

/// What a worker needs from `kubeadm token create --print-join-command`.
#[derive(Debug, PartialEq)]
struct JoinArgs {
    endpoint: String,
    token: String,
    ca_hash: String,
}

/// Read a captured join command (`kubeadm join EP --token T
/// --discovery-token-ca-cert-hash sha256:H`), refusing anything else: it
/// came from a host, not from us.
fn join_args(cmd: &str) -> Result<JoinArgs, PluginError> {
    let words: Vec<&str> = cmd.split_whitespace().filter(|w| *w != "\\").collect();
    if words.len() < 3 || words[0] != "kubeadm" || words[1] != "join" {
        return Err(PluginError::internal(format!("the captured join command does not start with `kubeadm join` ({} words)", words.len())));
    }
    if !words.iter().all(|w| w.chars().all(|c| c.is_ascii_alphanumeric() || "-.:=_/".contains(c))) {
        return Err(PluginError::internal("the captured join command holds unexpected characters"));
    }
    let (mut token, mut ca_hash) = (None, None);
    let mut rest = words[3..].iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().map(|v| v.to_string());
        match *flag {
            "--token" => token = value,
            "--discovery-token-ca-cert-hash" => ca_hash = value,
            other => return Err(PluginError::internal(format!("the captured join command has an unexpected argument `{other}`"))),
        }
    }
    match (token, ca_hash) {
        (Some(token), Some(ca_hash)) => Ok(JoinArgs { endpoint: words[2].to_string(), token, ca_hash }),
        _ => Err(PluginError::internal("the captured join command lacks --token or --discovery-token-ca-cert-hash")),
    }
}

/// A kubeadm.k8s.io/v1beta2 JoinConfiguration (the API kubeadm v1.21
/// reads; apis/kubeadm/v1beta2/types.go `Discovery.BootstrapToken`). The
/// TLS bootstrap token defaults to the discovery token (v1beta2
/// defaults.go `SetDefaults_Discovery`). `nodeRegistration.criSocket`
/// names a runtime other than Docker's dockershim (the default).
fn join_configuration(a: &JoinArgs, cri_socket: Option<&str>) -> String {
    let mut s = format!(
        "apiVersion: kubeadm.k8s.io/v1beta2\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: \"{}\"\n    token: \"{}\"\n    caCertHashes:\n    - \"{}\"\n",
        a.endpoint, a.token, a.ca_hash
    );
    if let Some(socket) = cri_socket {
        s.push_str(&format!("nodeRegistration:\n  criSocket: \"{socket}\"\n"));
    }
    s
}

/// containerd's CRI endpoint (its default `grpc.address`), as kubeadm's
/// `--cri-socket` and crictl take it.
const CONTAINERD_SOCKET: &str = "unix:///run/containerd/containerd.sock";

/// The container runtime kubeadm and the kubelet use.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Runtime {
    /// Docker Engine through the kubelet's dockershim (up to 1.23).
    Docker,
    /// containerd's CRI plugin (the `containerd` step).
    Containerd,
}

impl Runtime {
    fn parse(s: &str) -> Result<Runtime, PluginError> {
        match s {
            "docker" => Ok(Runtime::Docker),
            "containerd" => Ok(Runtime::Containerd),
            other => Err(PluginError::bad_params(format!("container_runtime must be \"docker\" or \"containerd\", not {other:?}"))),
        }
    }

    /// kubeadm's `--cri-socket`, when not dockershim's default.
    fn cri_socket(self) -> Option<&'static str> {
        (self == Runtime::Containerd).then_some(CONTAINERD_SOCKET)
    }
}

impl Plugin for Kubeadm {
    fn describe() -> PluginInfo {
        info("kubeadm", env!("CARGO_PKG_VERSION"), "kubelet, kubeadm and kubectl; kubeadm init on the control plane, join on workers")
            .inventory()
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
            .param(param::string(
                "container_runtime",
                "docker",
                "docker (the docker step; dockershim) or containerd (the containerd step; kubeadm --cri-socket)",
            ))
            .param(param::boolean("kubectl_on_workers", true, "copy admin.conf to root's kubeconfig on workers"))
            .param(param::boolean("cluster", true, "init and join; false stops after packages, kubelet config and images"))
            .param(param::boolean(
                "reset_failed_init",
                false,
                "when kubeadm init failed part-way on the control plane, run `kubeadm reset -f` and init again",
            ))
            .probe("repo_file", "cat {repo_file}")
            .probe("packages", "rpm -q kubelet kubeadm kubectl")
            .probe("kubelet_config", "test -f /var/lib/kubelet/config.yaml")
            .probe("sysconfig", "cat /etc/sysconfig/kubelet")
            .probe("kubelet_enabled", "systemctl is-enabled kubelet")
            .probe("kubelet_active", "systemctl is-active kubelet")
            .probe_sudo("docker_images", "docker images")
            .probe_sudo("cri_images", "crictl --image-endpoint unix:///run/containerd/containerd.sock images")
            .probe_script_sudo("control_plane", CONTROL_PLANE_PROBE, "")
            .probe("joined", "test -f /etc/kubernetes/kubelet.conf")
            // sha256sum, not cmp: diffutils is not on a minimal CentOS 7.
            .probe_sudo("admin_conf_sha", "sha256sum /etc/kubernetes/admin.conf")
            .probe_sudo("root_kubeconfig_sha", "sha256sum /root/.kube/config")
            .probe_script_sudo("join_file", JOIN_FILE_PROBE, "")
            .programs(["yum", "rpm", "systemctl", "docker", "crictl", "ctr", "kubeadm", "install"])
            .shell()
            .writes(["/etc/yum.repos.d/", "/etc/sysconfig/kubelet", "/root/.kube/"])
            // Not /root/.kube/: a dry run never shows a kubeconfig.
            .reads(["/etc/kubernetes/admin.conf", JOIN_FILE, "/etc/yum.repos.d/", "/etc/sysconfig/kubelet"])
            .produces(["join_command", "admin_conf"])
            .consumes(["join_command", "admin_conf"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        ctx.require_os_family("rhel", "kubeadm")?;
        let p: Params = ctx.params()?;
        let runtime = Runtime::parse(&p.container_runtime)?;
        let control: Vec<&InventoryHost> = ctx.hosts_in(&p.control_plane_group)?.collect();
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
        let pins: Vec<rpm::Pin> =
            ["kubelet", "kubeadm", "kubectl"].iter().map(|n| rpm::Pin::new(n, &format!("{n}-{}", p.version))).collect();
        let pinned = rpm::state(&pins, &ctx.probe("packages")?.stdout);
        // A newer minor version means the cluster was upgraded (kube-upgrade):
        // a downgrade across minor versions is not supported by kubeadm, and
        // a stale `version` here must not start one.
        let minor = |v: &str| version::numeric_parts(v).into_iter().take(2).collect::<Vec<_>>();
        if let Some((pin, installed)) = pinned.newer.iter().find(|(_, v)| minor(v) != minor(&p.version)) {
            return Err(PluginError::unsupported(format!(
                "{} {installed} is installed, a newer minor version than this step's version = \"{}\" (was the cluster upgraded?): set the kubeadm step's version to the cluster's; kubeadm does not downgrade across minor versions",
                pin.name, p.version
            )));
        }
        if pinned.converged() {
            done.push(format!("kubelet, kubeadm, kubectl {} installed", p.version));
        } else {
            actions.extend(rpm::converge(&pins, &pinned, &[]));
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
        // Until kubeadm init/join writes /var/lib/kubelet/config.yaml the
        // kubelet crash-loops ("activating"), and init/join start it
        // themselves (their kubelet-start phase): starting it earlier, as the
        // tutorial does, changes nothing and would be planned on every run.
        if ctx.probe_ok("kubelet_config")? && ctx.probe("kubelet_active")?.stdout.trim() != "active" {
            actions.push(cmd::run(["systemctl", "start", "kubelet"]).summary("start kubelet").into());
        }

        // Images from the mirror, into the runtime's own store (Docker's, or
        // containerd's k8s.io namespace, where the CRI looks); kubeadm 1.21
        // wants coredns under coredns/coredns.
        let listing = match runtime {
            Runtime::Docker => &ctx.probe("docker_images")?.stdout,
            Runtime::Containerd => &ctx.probe("cri_images")?.stdout,
        };
        let have = local_images(listing);
        let pull = |img: &str| -> Vec<String> {
            match runtime {
                Runtime::Docker => vec!["docker".into(), "pull".into(), img.into()],
                Runtime::Containerd => {
                    vec!["crictl".into(), "--image-endpoint".into(), CONTAINERD_SOCKET.into(), "pull".into(), img.into()]
                }
            }
        };
        let mut pulls = 0;
        for img in images(&p) {
            if !have.contains(&img) {
                actions.push(cmd::run(pull(&img)).retries(2, 5).timeout_secs(900).summary(format!("pull {img}")).into());
                pulls += 1;
            }
        }
        let coredns = format!("{}/coredns:{}", p.image_repository, p.coredns_version);
        let target = coredns_target(&p);
        if !have.contains(&target) {
            let tag: Vec<&str> = match runtime {
                Runtime::Docker => vec!["docker", "tag", coredns.as_str(), target.as_str()],
                Runtime::Containerd => vec!["ctr", "-n", "k8s.io", "images", "tag", coredns.as_str(), target.as_str()],
            };
            actions.push(cmd::run(tag).summary(format!("tag coredns as {target}")).into());
        } else if pulls == 0 {
            done.push("control-plane images present".into());
        }

        if !p.cluster {
            done.push("cluster = false: no init or join".into());
        } else if is_cp {
            let addr = if p.advertise_address.is_empty() { cp.address.clone() } else { p.advertise_address.clone() };
            let cp_state = ControlPlane::parse(&ctx.probe("control_plane")?.stdout, &ctx.facts.hostname);
            let init_needed = match cp_state.condition() {
                Condition::Complete => {
                    done.push("the control plane is initialised (API server healthy, kubeadm-config uploaded, node registered)".into());
                    false
                }
                Condition::Fresh => true,
                Condition::HalfBuilt(why) if p.reset_failed_init => {
                    actions.push(
                        cmd::script(RESET_SCRIPT)
                            .timeout_secs(300)
                            .summary(format!("kubeadm reset -f: the control plane is half-built ({why})"))
                            .into(),
                    );
                    true
                }
                Condition::HalfBuilt(why) => {
                    return Err(PluginError::unsupported(format!(
                        "the control plane on {} is half-built: {why}; an earlier `kubeadm init` failed part-way (often the wait for the control plane timed out). Set `reset_failed_init = true` on this step to run `kubeadm reset -f` and init again, or repair it by hand",
                        ctx.host.name
                    )));
                }
            };
            if init_needed {
                let v = format!("--kubernetes-version=v{}", p.version);
                let mut init = vec![
                    "kubeadm".to_string(),
                    "init".into(),
                    format!("--apiserver-advertise-address={addr}"),
                    format!("--image-repository={}", p.image_repository),
                    v,
                    format!("--service-cidr={}", p.service_cidr),
                    format!("--pod-network-cidr={}", p.pod_network_cidr),
                ];
                init.extend(runtime.cri_socket().map(|s| format!("--cri-socket={s}")));
                actions.push(
                    cmd::run(init)
                        .timeout_secs(900)
                        // Its output carries a bootstrap token: kept out of every report.
                        .secret()
                        .summary(format!("kubeadm init, advertising {addr}"))
                        .into(),
                );
            }
            let admin_sha = sha_of(&ctx.probe("admin_conf_sha")?.stdout);
            if init_needed || admin_sha.is_none() || admin_sha != sha_of(&ctx.probe("root_kubeconfig_sha")?.stdout) {
                actions.push(
                    cmd::run(["install", "-D", "-m", "600", "/etc/kubernetes/admin.conf", "/root/.kube/config"])
                        .summary("kubeconfig for root ($HOME/.kube/config)")
                        .into(),
                );
            }
            let join_file = ctx.probe("join_file")?.stdout.trim().to_string();
            if init_needed || join_file != "current" {
                let why = if init_needed { "for the new control plane".to_string() } else { format!("the kept one: {join_file}") };
                let script = format!(
                    "umask 077 && kubeadm token create --ttl {} --print-join-command > {JOIN_FILE}.tmp && mv -f {JOIN_FILE}.tmp {JOIN_FILE}",
                    shell::quote(&p.token_ttl)
                );
                actions.push(cmd::script(script).summary(format!("create a join command for the workers ({why})")).into());
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
                let config = match join {
                    Some(cmdline) => join_configuration(&join_args(cmdline)?, runtime.cri_socket()),
                    // A dry run before the control plane captured it: the
                    // configuration's shape, its values to come.
                    None if ctx.pending("join_command") => {
                        let later = "<join_command: captured at run time>".to_string();
                        join_configuration(
                            &JoinArgs { endpoint: later.clone(), token: later.clone(), ca_hash: later },
                            runtime.cri_socket(),
                        )
                    }
                    None => return Err(PluginError::missing_variable(format!("join_command from {} is not captured yet", cp.name))),
                };
                // The token never goes on a command line (`ps`, /proc,
                // sudo's log): a root-only JoinConfiguration on stdin, read
                // by `kubeadm join --config` and removed whatever happens.
                actions.push(
                    cmd::run(["install", "-D", "-m", "600", "/dev/stdin", JOIN_CONFIG])
                        .stdin(config)
                        .secret()
                        .summary(format!("write the join configuration for {} (root-only)", cp.name))
                        .into(),
                );
                actions.push(
                    cmd::script(format!("kubeadm join --config {JOIN_CONFIG}; rc=$?; rm -f {JOIN_CONFIG}; exit $rc"))
                        .timeout_secs(600)
                        .summary(format!("kubeadm join the cluster at {}", cp.name))
                        .into(),
                );
            }
            if p.kubectl_on_workers {
                match admin {
                    Some(conf) => {
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
                    // Not captured yet in a dry run: an existing kubeconfig is compared at run time.
                    None if ctx.pending("admin_conf") && ctx.probe_ok("root_kubeconfig_sha")? => {
                        done.push("root has a kubeconfig (compared with admin.conf at run time)".into())
                    }
                    None if ctx.pending("admin_conf") => actions.push(
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
    fn join_commands_become_a_join_configuration_or_are_refused() {
        let a =
            join_args("kubeadm join 192.168.100.100:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00ff \n")
                .unwrap();
        assert_eq!(
            a,
            JoinArgs { endpoint: "192.168.100.100:6443".into(), token: "abcdef.0123456789abcdef".into(), ca_hash: "sha256:00ff".into() }
        );
        assert!(
            join_configuration(&a, None).contains("    token: \"abcdef.0123456789abcdef\"\n    caCertHashes:\n    - \"sha256:00ff\"\n")
        );
        assert!(
            join_configuration(&a, Some(CONTAINERD_SOCKET))
                .ends_with("nodeRegistration:\n  criSocket: \"unix:///run/containerd/containerd.sock\"\n")
        );
        assert!(join_args("kubeadm join x; rm -rf /").is_err());
        assert!(join_args("rm -rf /").is_err());
        assert!(join_args("kubeadm join x:6443 --token t").is_err(), "no CA hash");
        assert!(join_args("kubeadm join x:6443 --token t --discovery-token-ca-cert-hash h --control-plane").is_err());
    }

    #[test]
    fn a_control_plane_is_complete_only_when_the_cluster_says_so() {
        let complete = "admin_conf\nmanifests\napi_healthy\nkubeadm_config\nnode/master\nnode/node1\n";
        assert_eq!(ControlPlane::parse(complete, "Master").condition(), Condition::Complete);
        assert_eq!(ControlPlane::parse("", "master").condition(), Condition::Fresh);
        // The wait for the control plane timed out: files, no API server.
        let timed_out = ControlPlane::parse("admin_conf\nmanifests\n", "master").condition();
        assert!(matches!(timed_out, Condition::HalfBuilt(ref w) if w.contains("does not answer")), "{timed_out:?}");
        let no_config = ControlPlane::parse("admin_conf\nmanifests\napi_healthy\nnode/master\n", "master").condition();
        assert!(matches!(no_config, Condition::HalfBuilt(ref w) if w.contains("kubeadm-config")), "{no_config:?}");
        let other = ControlPlane::parse("admin_conf\nmanifests\napi_healthy\nkubeadm_config\nnode/masterx\n", "master").condition();
        assert!(matches!(other, Condition::HalfBuilt(_)), "node/masterx is not node/master");
    }

    #[test]
    fn an_upgraded_host_is_not_downgraded_across_minor_versions() {
        let ctx = plait_sdk::testing::ContextBuilder::centos7("master")
            .group("control-plane")
            .probe("repo_file", 1, "")
            .probe("packages", 0, "kubelet-1.22.17-0.x86_64\nkubeadm-1.22.17-0.x86_64\nkubectl-1.22.17-0.x86_64\n")
            .build::<Kubeadm>();
        let err = Kubeadm::plan(&ctx).err().expect("refused");
        assert!(err.message.contains("kubelet 1.22.17-0.x86_64 is installed, a newer minor version"), "{}", err.message);
    }

    #[test]
    fn lists_local_images() {
        let out = "REPOSITORY TAG IMAGE ID\nregistry/x/pause 3.4.1 abc\n";
        assert_eq!(local_images(out), vec!["registry/x/pause:3.4.1"]);
    }
}
