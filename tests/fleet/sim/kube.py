#!/usr/bin/env python3
"""Simulated kubeadm and kubectl for the plait test fleet.

The cluster's "API server" is a JSON document shared by every host of the
fleet (/mnt/cluster/state.json, locked while used). Node-local effects
(/etc/kubernetes/*.conf, ~/.kube/config) land in each host's own files.
Behaviour follows the real tools closely enough for the seed workflow:
kubeadm's preflight checks (swap, bridge-nf-call-iptables, ip_forward, the
container runtime, images), init/join/token, kubectl get/apply/patch/delete/
create/expose/set/rollout/logs with the flags the workflow uses.
"""
import fcntl
import hashlib
import json
import os
import random
import string
import subprocess
import sys
import time

P = "/var/lib/plait-sim"
R = "/run/plait-sim"
CLUSTER = "/mnt/cluster/state.json"
ADMIN_CONF = "/etc/kubernetes/admin.conf"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
CALICO_URLS = (
    "https://projectcalico.docs.tigera.io/v3.19/manifests/calico.yaml",
    "https://docs.projectcalico.org/v3.19/manifests/calico.yaml",
)
FLANNEL_URLS = (
    "https://raw.githubusercontent.com/flannel-io/flannel/v0.17.0/Documentation/kube-flannel.yml",
    "https://raw.githubusercontent.com/coreos/flannel/v0.17.0/Documentation/kube-flannel.yml",
)
KUBE_PROXY_CONFIG = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: {pod_cidr}
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
kind: KubeProxyConfiguration
metricsBindAddress: ""
mode: ""
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForAlphaFeatures: false
udpIdleTimeout: 0s
winkernel:
  enableDSR: false
  networkName: ""
  sourceVip: ""
"""


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def installed(pkg):
    return any(l.split("|")[0] == pkg for l in read(f"{P}/packages").splitlines())


def installed_version(pkg):
    """`v1.21.10` for an installed `kubelet|1.21.10-0.x86_64`: what the
    binary reports (`kubeadm version -o short`, a kubelet's status)."""
    for l in read(f"{P}/packages").splitlines():
        n, _, evra = l.partition("|")
        if n == pkg:
            return "v" + evra.split(":")[-1].split("-")[0]
    return None


def semver(v):
    """(major, minor, patch) of `v1.22.17` or `1.22.17`."""
    parts = (v.lstrip("v").split("-")[0].split(".") + ["0", "0"])[:3]
    try:
        return tuple(int(x) for x in parts)
    except ValueError:
        die(f'couldn\'t parse version "{v}"')


def hostname():
    return subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()


def my_addresses():
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    return {w.split("/")[0] for line in out.splitlines() for i, w in enumerate(line.split()) if i > 0 and line.split()[i - 1] == "inet"}


class Cluster:
    """The shared state, locked for the whole command."""

    def __enter__(self):
        os.makedirs(os.path.dirname(CLUSTER), exist_ok=True)
        self.lock = open(CLUSTER + ".lock", "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.s = json.loads(read(CLUSTER, "{}") or "{}")
        return self.s

    def __exit__(self, *exc):
        if exc[0] is None:
            tmp = CLUSTER + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.s, f, indent=1, sort_keys=True)
            os.replace(tmp, CLUSTER)
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        return False


def new_token():
    a = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))
    b = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(16))
    return f"{a}.{b}"


def sysctl(key):
    return read(f"{R}/sysctl/{key}").strip() or ("1" if key.startswith("net.bridge.") and "br_netfilter" in read(f"{R}/modules").split() else "0")


DOCKERSHIM = "/var/run/dockershim.sock"
CONTAINERD_SOCK = "/run/containerd/containerd.sock"


def is_containerd(socket):
    return (socket or "").replace("unix://", "").replace("/var/run/", "/run/") == CONTAINERD_SOCK


def containerd_state():
    """What the running containerd loaded (sim/cri.py writes it at start)."""
    if not os.path.exists(f"{R}/active/containerd"):
        return None
    return json.loads(read(f"{R}/containerd", "null") or "null")


def cri_error(socket):
    """kubeadm's CRI preflight check (checks.go ContainerRuntimeCheck, v1.21):
    Docker through dockershim needs dockerd; any other socket is asked with
    `crictl -r SOCKET info`."""
    if not is_containerd(socket):
        return None if os.path.exists(f"{R}/docker-running") else "[ERROR CRI]: container runtime is not running: docker is not running"
    st = containerd_state()
    if st is None:
        return f"[ERROR CRI]: container runtime is not running: output: time=\"2026-12-02T04:00:00Z\" level=fatal msg=\"connect: connect endpoint '{socket}', make sure you are running as root and the endpoint has been started: context deadline exceeded\"\n, error: exit status 1"
    if not st["cri"]:
        return ("[ERROR CRI]: container runtime is not running: output: time=\"2026-12-02T04:00:00Z\" level=fatal msg=\"getting status of runtime: rpc error: code = Unimplemented desc = unknown service runtime.v1alpha2.RuntimeService\"\n, error: exit status 1")
    return None


def preflight(images_needed, socket=DOCKERSHIM):
    errors = []
    if os.geteuid() != 0:
        die("[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root")
    if int(read(f"{R}/swap_mb", "0").strip() or 0) > 0:
        errors.append("[ERROR Swap]: running with swap on is not supported. Please disable swap")
    if "br_netfilter" not in read(f"{R}/modules").split():
        errors.append("[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables does not exist")
    elif sysctl("net.bridge.bridge-nf-call-iptables") != "1":
        errors.append("[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1")
    if sysctl("net.ipv4.ip_forward") != "1":
        errors.append("[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1")
    cri = cri_error(socket)
    if cri:
        errors.append(cri)
    if not installed("kubelet"):
        errors.append("[ERROR FileExisting-kubelet]: kubelet not found in system path")
    if is_containerd(socket) and not installed("cri-tools"):
        errors.append("[ERROR FileExisting-crictl]: crictl not found in system path")
    # Images are pulled by the runtime into its own store: Docker's, or
    # containerd's k8s.io namespace (a different set on the same host).
    store = f"{P}/containerd-images" if is_containerd(socket) else f"{P}/docker-images"
    images = set(read(store).split())
    if not cri:
        for img in images_needed:
            if img not in images:
                # Only images the mirror really has can be pulled.
                if "/coredns/coredns:" in img:
                    errors.append(f"[ERROR ImagePull]: failed to pull image {img}: output: Error response from daemon: pull access denied for {img.rsplit(':', 1)[0]}, repository does not exist or may require 'docker login'"
                                  if not is_containerd(socket) else
                                  f"[ERROR ImagePull]: failed to pull image {img}: output: time=\"2026-12-02T04:00:00Z\" level=fatal msg=\"pulling image: rpc error: code = NotFound desc = failed to pull and unpack image \\\"{img}\\\": {img}: not found\"\n, error: exit status 1")
                else:
                    with open(store, "a") as f:
                        f.write(img + "\n")
    warnings = []
    if not is_containerd(socket):
        cfg = json.loads(read(f"{R}/docker-config", "{}") or "{}")
        driver = next((o.split("=", 1)[1] for o in cfg.get("exec-opts", []) if o.startswith("native.cgroupdriver=")), "cgroupfs")
        if driver != "systemd":
            warnings.append('[WARNING IsDockerSystemdCheck]: detected "cgroupfs" as the Docker cgroup driver. The recommended driver is "systemd".')
    for w in warnings:
        print("\t" + w)
    if errors:
        die("[preflight] Some fatal errors occurred:\n" + "\n".join("\t" + e for e in errors) + "\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`")


def kubeadm_flags(socket, repo, version):
    """/var/lib/kubelet/kubeadm-flags.env as kubeadm's kubelet-start phase
    writes it (phases/kubelet/flags.go buildKubeletArgMap, v1.21/1.22):
    dockershim gets `--network-plugin=cni`, any other CRI socket
    `--container-runtime=remote --container-runtime-endpoint=SOCKET`."""
    pause = [i for i in images_for(repo, version) if "/pause:" in i][0]
    if is_containerd(socket):
        args = f"--container-runtime=remote --container-runtime-endpoint={socket} --pod-infra-container-image={pause}"
    else:
        args = f"--network-plugin=cni --pod-infra-container-image={pause}"
    write("/var/lib/kubelet/kubeadm-flags.env", f'KUBELET_KUBEADM_ARGS="{args}"\n', 0o644)


def kubelet_runtime():
    """What the kubelet on this host runs its pods with, from the flags
    kubeadm gave it: status.nodeInfo.containerRuntimeVersion, or "" with
    the reason it cannot (the node is then NotReady). A containerd whose
    runc does not use the systemd cgroup driver while the kubelet does
    (kubeadm 1.21+ defaults the kubelet to systemd) leaves pods failing."""
    flags = read("/var/lib/kubelet/kubeadm-flags.env")
    if "--container-runtime=remote" in flags:
        endpoint = next((w.split("=", 1)[1].strip('"') for w in flags.split() if w.startswith("--container-runtime-endpoint=")), "")
        st = containerd_state() if is_containerd(endpoint) else None
        if st is None:
            return "", f"container runtime is down: {endpoint} does not answer"
        if not st["cri"]:
            return "", "container runtime is down: unknown service runtime.v1alpha2.RuntimeService"
        if not st["systemd_cgroup"]:
            return "", "containerd's runc uses the cgroupfs driver, the kubelet systemd"
        return f"containerd://{st['version']}", ""
    if os.path.exists(f"{R}/docker-running"):
        return "docker://20.10.8", ""
    return "", "container runtime is down: docker is not running"


def images_for(repo, version):
    """`kubeadm config images list` (cmd/kubeadm/app/images/images.go
    GetControlPlaneImages; tags from constants.go: PauseVersion,
    SupportedEtcdVersion, CoreDNSVersion). kubeadm 1.21 puts CoreDNS under
    `coredns/coredns` in any repository, which the Aliyun mirror lacks (the
    tutorial re-tags it); 1.22's GetDNSImage adds `/coredns` only for the
    default registry, so a mirror serves `<repo>/coredns:v1.8.4`."""
    if semver(version)[:2] >= (1, 22):
        pause, etcd, dns = "3.5", "3.5.6-0", f"{repo}/coredns:v1.8.4"
    else:
        pause, etcd, dns = "3.4.1", "3.4.13-0", f"{repo}/coredns/coredns:v1.8.0"
    return [
        f"{repo}/kube-apiserver:{version}",
        f"{repo}/kube-controller-manager:{version}",
        f"{repo}/kube-scheduler:{version}",
        f"{repo}/kube-proxy:{version}",
        f"{repo}/pause:{pause}",
        f"{repo}/etcd:{etcd}",
        dns,
    ]


def flags(args):
    out, rest = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
        elif a.startswith("--") and i + 1 < len(args) and not args[i + 1].startswith("-") and a[2:] in VALUE_FLAGS:
            out[a[2:]] = args[i + 1]
            i += 1
        elif a.startswith("-") and len(a) == 2 and a[1] in "nlfop" and i + 1 < len(args):
            out[{"n": "namespace", "l": "selector", "f": "filename", "o": "output", "p": "patch"}[a[1]]] = args[i + 1]
            i += 1
        elif a.startswith("--"):
            out[a[2:]] = True
        elif a == "-A":
            out["all-namespaces"] = True
        else:
            rest.append(a)
        i += 1
    return out, rest


VALUE_FLAGS = {"config", "raw", "request-timeout", "selector", "filename", "output", "kubeconfig", "image", "port", "type", "patch", "ttl", "timeout", "token", "discovery-token-ca-cert-hash", "cri-socket", "for", "tail", "apiserver-advertise-address", "image-repository", "kubernetes-version", "service-cidr", "pod-network-cidr"}


def write(path, content, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, mode)


def kubeconfig(endpoint, user):
    return f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: c2ltdWxhdGVk\n    server: https://{endpoint}\n  name: kubernetes\ncontexts:\n- context:\n    cluster: kubernetes\n    user: {user}\n  name: {user}@kubernetes\ncurrent-context: {user}@kubernetes\nkind: Config\nusers:\n- name: {user}\n  user:\n    client-certificate-data: c2ltdWxhdGVk\n"


def join_line(s, token):
    return f"kubeadm join {s['endpoint']} --token {token} --discovery-token-ca-cert-hash sha256:{s['ca_hash']} "


def register_node(s, name, role, address, socket=DOCKERSHIM):
    # The kubelet registers its Node with its own version and its runtime's
    # (status.nodeInfo); kubeadm annotates the node with the CRI socket it
    # was given (kubeadm.alpha.kubernetes.io/cri-socket, read back by
    # `kubeadm upgrade`).
    runtime, problem = kubelet_runtime()
    s.setdefault("nodes", {})[name] = {"role": role, "address": address, "kubelet_version": installed_version("kubelet") or s["version"], "since": time.time(),
                                       "cri_socket": socket, "container_runtime": runtime, "runtime_problem": problem}
    start_kube_proxy(s, name)


def start_kube_proxy(s, node):
    """A kube-proxy pod (re)starts on `node`: it reads the ConfigMap now."""
    s.setdefault("kube_proxy", {})[node] = {"mode": kube_proxy_mode(s), "started": time.time()}


def kube_proxy_mode(s):
    cfg = s.get("configmaps", {}).get("kube-system/kube-proxy", {}).get("config.conf", "")
    for line in cfg.splitlines():
        if line.startswith("mode:"):
            return line.split(":", 1)[1].strip().strip('"')
    return ""


def make_ca():
    """A real CA, as kubeadm's certs phase makes one; returns the
    --discovery-token-ca-cert-hash value: the SHA-256 of the CA's
    DER-encoded SubjectPublicKeyInfo (kubeadm's pubkeypin.Hash,
    cmd/kubeadm/app/util/pubkeypin at v1.21.10), the same value as the
    `openssl x509 -pubkey | openssl rsa -pubin -outform der | sha256sum`
    recipe of the kubeadm join documentation."""
    os.makedirs("/etc/kubernetes/pki", exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "/etc/kubernetes/pki/ca.key", "-out",
                    "/etc/kubernetes/pki/ca.crt", "-days", "3650", "-subj", "/CN=kubernetes"], check=True, capture_output=True)
    return ca_hash()


def ca_hash():
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", "/etc/kubernetes/pki/ca.crt"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


def kubeadm_config(s):
    """The kubeadm-config ConfigMap that init's upload-config phase writes;
    calico-node reads `podSubnet:` from it (projectcalico/node,
    pkg/startup/startup.go extractKubeadmCIDRs, v3.19)."""
    return {"ClusterConfiguration": (
        "apiServer:\n  extraArgs:\n    authorization-mode: Node,RBAC\n  timeoutForControlPlane: 4m0s\n"
        "apiVersion: kubeadm.k8s.io/v1beta2\ncertificatesDir: /etc/kubernetes/pki\nclusterName: kubernetes\n"
        f"controlPlaneEndpoint: \"\"\ndns:\n  type: CoreDNS\netcd:\n  local:\n    dataDir: /var/lib/etcd\nimageRepository: {s['image_repository']}\n"
        f"kind: ClusterConfiguration\nkubernetesVersion: {s['version']}\nnetworking:\n  dnsDomain: cluster.local\n"
        + (f"  podSubnet: {s['pod_cidr']}\n" if s.get("pod_cidr") else "")
        + f"  serviceSubnet: {s['service_cidr']}\nscheduler: {{}}\n")}


def fault(name):
    """A fault a test injected on this host ($P/faults/NAME), consumed once."""
    path = f"{P}/faults/{name}"
    if os.path.exists(path):
        value = read(path).strip()
        os.remove(path)
        return value or True
    return None


# ------------------------------------------------------------------ kubeadm
# `kubeadm init` runs its phases in this order (cmd/kubeadm/app/cmd/init.go,
# NewCmdInit at v1.21.10): preflight, certs, kubeconfig, kubelet-start,
# control-plane, etcd, upload-config, upload-certs, mark-control-plane,
# bootstrap-token, kubelet-finalize, addon. wait-control-plane runs between
# etcd and upload-config, and is the commonest failure on real hosts
# ("timed out waiting for the condition" after 4m0s): by then admin.conf,
# the kubelet config and the static pod manifests exist, but kubeadm-config,
# the bootstrap token and the kube-proxy/CoreDNS add-ons do not. A re-run
# then fails preflight on the files and ports left behind, until
# `kubeadm reset -f` removes them (cmd/kubeadm/app/cmd/phases/reset).
INIT_TIMEOUT = """[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "/etc/kubernetes/manifests". This can take up to 4m0s
[kubelet-check] Initial timeout of 40s passed.

	Unfortunately, an error has occurred:
		timed out waiting for the condition

	This error is likely caused by:
		- The kubelet is not running
		- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)
error execution phase wait-control-plane: couldn't initialize a Kubernetes cluster"""


def join_configuration(text):
    """The discovery fields of a kubeadm.k8s.io/v1beta2 JoinConfiguration
    (the shape plait writes: block mappings, a list of CA hashes)."""
    if "kind: JoinConfiguration" not in text:
        die("no JoinConfiguration kind was found in the YAML file")
    out, in_hashes = {}, False
    for line in text.splitlines():
        s = line.strip()
        if in_hashes and s.startswith("- "):
            out.setdefault("caCertHashes", []).append(s[2:].strip().strip('"'))
            continue
        in_hashes = s == "caCertHashes:"
        # nodeRegistration.criSocket (v1beta2 NodeRegistrationOptions).
        for key in ("apiServerEndpoint", "token", "criSocket"):
            if s.startswith(key + ":"):
                out[key] = s.split(":", 1)[1].strip().strip('"')
    return out


def process_listing():
    """Every process's command line, as `ps -eo args` prints them."""
    lines = []
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                lines.append(fh.read().replace(b"\0", b" ").decode(errors="replace").strip())
        except OSError:
            pass
    return "\n".join(lines) + "\n"


def left_behind():
    """Preflight errors for what an earlier init or join left on this node."""
    errs = []
    for f, what in (("/etc/kubernetes/manifests/kube-apiserver.yaml", "etc-kubernetes-manifests-kube-apiserver.yaml"),
                    ("/etc/kubernetes/manifests/etcd.yaml", "etc-kubernetes-manifests-etcd.yaml"),
                    (KUBELET_CONF, "etc-kubernetes-kubelet.conf")):
        if os.path.exists(f):
            errs.append(f"[ERROR FileAvailable--{what}]: {f} already exists")
    if os.path.isdir("/var/lib/etcd") and os.listdir("/var/lib/etcd"):
        errs.append("[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty")
    return errs


def kubeadm(argv):
    if not installed("kubeadm"):
        die("bash: kubeadm: command not found", 127)
    if not argv:
        die("Usage: kubeadm [command]")
    cmd, args = argv[0], argv[1:]
    f, rest = flags(args)
    mine = installed_version("kubeadm")
    if cmd == "version":
        if f.get("output") == "short":
            print(mine)
        else:
            major, minor, _ = semver(mine)
            print(f'kubeadm version: &version.Info{{Major:"{major}", Minor:"{minor}", GitVersion:"{mine}"}}')
    elif cmd == "config" and rest[:2] == ["images", "list"]:
        print("\n".join(images_for(f.get("image-repository", "k8s.gcr.io"), f.get("kubernetes-version", mine))))
    elif cmd == "init":
        if os.geteuid() != 0:
            die("[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root")
        errs = left_behind()
        if errs:
            with Cluster() as s:
                if s.get("api_up"):
                    errs.append("[ERROR Port-6443]: Port 6443 is in use")
            die("[preflight] Some fatal errors occurred:\n" + "\n".join("\t" + e for e in errs)
                + "\n[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`")
        version = f.get("kubernetes-version", mine)
        # constants.MinimumControlPlaneVersion is one minor below kubeadm's
        # own; a kubelet newer than the control plane fails preflight
        # (checks.go KubeletVersionCheck).
        if semver(version)[:2] < (semver(mine)[0], semver(mine)[1] - 1):
            die(f'this version of kubeadm only supports deploying clusters with the control plane version >= 1.{semver(mine)[1] - 1}.0. Current version: "{version}"')
        if semver(version) > semver(mine):
            die(f'[preflight] Some fatal errors occurred:\n\t[ERROR KubeadmVersion]: the kubeadm version {mine} is older than the requested control plane version {version}')
        if semver(installed_version("kubelet") or version) > semver(version):
            die(f"[preflight] Some fatal errors occurred:\n\t[ERROR KubeletVersion]: the kubelet version is higher than the control plane version. This is not a supported version skew and may lead to a malfunctional cluster. Kubelet version: \"{installed_version('kubelet')}\" Control plane version: \"{version}\"")
        repo = f.get("image-repository", "k8s.gcr.io")
        socket = f.get("cri-socket", DOCKERSHIM)
        preflight(images_for(repo, version), socket)
        addr = f.get("apiserver-advertise-address") or sorted(my_addresses() - {"127.0.0.1"})[0]
        endpoint = f"{addr}:6443"
        print("[init] Using Kubernetes version: " + version)
        # certs, kubeconfig, kubelet-start, control-plane, etcd
        ca = make_ca()
        write(ADMIN_CONF, kubeconfig(endpoint, "kubernetes-admin"))
        write(KUBELET_CONF, kubeconfig(endpoint, f"system:node:{hostname()}"))
        write("/var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n", 0o644)
        kubeadm_flags(socket, repo, version)
        os.makedirs(f"{R}/active", exist_ok=True)
        open(f"{R}/active/kubelet", "a").close()
        for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            write(f"/etc/kubernetes/manifests/{c}.yaml", f"# {c}, advertising {addr}\n")
        write("/var/lib/etcd/member/snap/db", "", 0o600)
        with Cluster() as s:
            s.clear()
            s.update({"initialized": False, "api_up": False, "endpoint": endpoint, "version": version, "ca_hash": ca, "image_repository": repo,
                      "service_cidr": f.get("service-cidr", "10.96.0.0/12"), "pod_cidr": f.get("pod-network-cidr", ""),
                      "tokens": [], "cni": None, "daemonsets": {}, "deployments": {}, "services": {}, "configmaps": {}})
        # wait-control-plane: the API server must come up on this host.
        if addr not in my_addresses():
            die(INIT_TIMEOUT + f"\n(the API server cannot bind {addr}: not an address of this host)")
        if fault("kubeadm-init") == "wait-control-plane":
            die(INIT_TIMEOUT)
        with Cluster() as s:
            s["api_up"] = True
            # upload-config, mark-control-plane, bootstrap-token, addon
            s["configmaps"]["kube-system/kubeadm-config"] = kubeadm_config(s)
            s["configmaps"]["kube-system/kube-proxy"] = {"config.conf": KUBE_PROXY_CONFIG.format(pod_cidr=s["pod_cidr"]), "kubeconfig.conf": "kind: Config"}
            s["daemonsets"]["kube-system/kube-proxy"] = {"image": f"{repo}/kube-proxy:{version}", "env": {}, "annotations": {}}
            token = new_token()
            s["tokens"].append({"token": token, "ttl": "24h", "created": time.time()})
            register_node(s, hostname(), "control-plane,master", addr, socket)
            s["initialized"] = True
        print("Your Kubernetes control-plane has initialized successfully!\n\nTo start using your cluster, you need to run the following as a regular user:\n\n  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n")
        print("Then you can join any number of worker nodes by running the following on each as root:\n")
        print(join_line({"endpoint": endpoint, "ca_hash": ca}, token).rstrip() + " ")
    elif cmd == "token":
        if os.geteuid() != 0 or not os.path.exists(ADMIN_CONF):
            die('failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory')
        with Cluster() as s:
            endpoint = server_of(read(ADMIN_CONF))
            if not s.get("api_up") or "https://" + s.get("endpoint", "") != endpoint:
                die(f"failed to list bootstrap tokens: Get \"{endpoint}/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken\": dial tcp {endpoint[8:]}: connect: connection refused")
            if rest[:1] == ["create"]:
                token = new_token()
                s["tokens"].append({"token": token, "ttl": str(f.get("ttl", "24h")), "created": time.time()})
                print(join_line(s, token) if f.get("print-join-command") else token)
            elif rest[:1] == ["list"]:
                # cmd/kubeadm/app/cmd/token.go at v1.21.10: a tab-aligned table,
                # the full token in the first column.
                if s.get("tokens"):
                    print("TOKEN                     TTL         EXPIRES                     USAGES                   DESCRIPTION                                                EXTRA GROUPS")
                for t in s.get("tokens", []):
                    ttl = "<forever>" if t["ttl"] in ("0", "0s") else "23h"
                    print(f"{t['token']}   {ttl:<11} {'<never>' if ttl == '<forever>' else '2026-12-03T04:00:00Z':<27} authentication,signing   <none>                                                     system:bootstrappers:kubeadm:default-node-token")
            elif rest[:1] == ["delete"]:
                for tid in rest[1:]:
                    before = len(s["tokens"])
                    s["tokens"] = [t for t in s["tokens"] if t["token"] != tid and t["token"].split(".")[0] != tid]
                    if len(s["tokens"]) == before:
                        die(f'bootstrap token "{tid}" not found')
                    print(f'bootstrap token "{tid.split(".")[0]}" deleted')
            else:
                die("Usage: kubeadm token [command]")
    elif cmd == "join":
        if "config" in f:
            # kubeadm v1.21.10 cmd/kubeadm/app/cmd/join.go runs
            # validation.ValidateMixedArguments: with --config, only a few
            # flags (ignore-preflight-errors, dry-run, ...) may be given, and
            # the discovery settings come from the file's JoinConfiguration
            # (apis/kubeadm/v1beta2/types.go: discovery.bootstrapToken
            # {token, apiServerEndpoint, caCertHashes}).
            mixed = sorted(k for k in f if k not in ("config", "ignore-preflight-errors", "dry-run", "skip-phases", "v"))
            if mixed:
                die(f"can not mix '--config' with arguments [{' '.join(mixed)}]")
            try:
                text = open(f["config"]).read()
            except OSError as e:
                die(f"unable to read config from \"{f['config']}\" : open {f['config']}: {e.strerror.lower()}")
            conf = join_configuration(text)
            if not conf.get("apiServerEndpoint"):
                die("discovery: Invalid value: \"\": bootstrapToken or file must be set")
            rest = [conf["apiServerEndpoint"]]
            f = {"token": conf.get("token", ""), "discovery-token-ca-cert-hash": conf.get("caCertHashes", [""])[0], "cri-socket": conf.get("criSocket", DOCKERSHIM)}
        if not rest:
            die("discovery: Invalid value: \"\": bootstrapToken or file must be set")
        # What `ps` shows on this host while kubeadm join runs (the issue 18
        # test reads it: the token must not be on any command line).
        write(f"{R}/ps-during-join", process_listing(), 0o600)
        errs = left_behind()
        if os.path.exists("/etc/kubernetes/pki/ca.crt"):
            errs.append("[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists")
        if errs:
            die("[preflight] Some fatal errors occurred:\n" + "\n".join("\t" + e for e in errs))
        endpoint, token, ca = rest[0], f.get("token", ""), f.get("discovery-token-ca-cert-hash", "")
        socket = f.get("cri-socket", DOCKERSHIM)
        with Cluster() as s:
            repo, cluster_version = s.get("image_repository", "k8s.gcr.io"), s.get("version", mine)
        images = images_for(repo, cluster_version)
        preflight([i for i in images if "kube-proxy" in i or "pause" in i], socket)
        with Cluster() as s:
            if not s.get("api_up") or s.get("endpoint") != endpoint:
                die(f"[preflight] Running pre-flight checks\nerror execution phase preflight: couldn't validate the identity of the API Server: Get \"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp {endpoint}: connect: connection refused")
            if token not in [t["token"] for t in s.get("tokens", [])]:
                die(f"error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"{token.split('.')[0]}\"")
            if ca != "sha256:" + s["ca_hash"]:
                die(f"error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"sha256:{s['ca_hash']}\" are pinned")
            addr = sorted(my_addresses() - {"127.0.0.1"})[0]
            kubeadm_flags(socket, repo, cluster_version)
            register_node(s, hostname(), "<none>", addr, socket)
        write("/etc/kubernetes/pki/ca.crt", "-----BEGIN CERTIFICATE-----\nfrom cluster-info\n-----END CERTIFICATE-----\n", 0o644)
        write(KUBELET_CONF, kubeconfig(endpoint, f"system:node:{hostname()}"))
        write("/var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n", 0o644)
        os.makedirs(f"{R}/active", exist_ok=True)
        open(f"{R}/active/kubelet", "a").close()
        print("This node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on the control-plane to see this node join the cluster.")
    elif cmd == "upgrade":
        kubeadm_upgrade(rest, f, mine)
    elif cmd == "reset":
        if os.geteuid() != 0:
            die("[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root")
        if not f.get("force") and "-f" not in args:
            die("[reset] Are you sure you want to proceed? [y/N]: error: won't proceed; the user didn't answer (Y|y) in order to continue")
        # cleanup-node: stop the kubelet, remove the static pods' manifests,
        # etcd's data (on a control-plane node), the kubelet's state and
        # /etc/kubernetes' files; CNI config and iptables are left (it says so).
        was_control_plane = os.path.exists("/etc/kubernetes/manifests/kube-apiserver.yaml")
        for p in (ADMIN_CONF, KUBELET_CONF, "/etc/kubernetes/controller-manager.conf", "/etc/kubernetes/scheduler.conf", "/var/lib/kubelet/config.yaml"):
            if os.path.exists(p):
                os.remove(p)
        for d in ("/etc/kubernetes/manifests", "/etc/kubernetes/pki", "/var/lib/etcd"):
            subprocess.run(["rm", "-rf", d])
        try:
            os.remove(f"{R}/active/kubelet")
        except OSError:
            pass
        # kubeadm v1.21.10 cmd/kubeadm/app/cmd/phases/reset: on a control
        # plane it removes the etcd member (here: the whole single-node
        # cluster goes); it never deletes the Node object of a worker, which
        # stays registered, NotReady, until `kubectl delete node` (the
        # kubeadm docs' "Remove the node": drain, reset, delete).
        with Cluster() as s:
            if was_control_plane:
                s.clear()
            elif hostname() in s.get("nodes", {}):
                s["nodes"][hostname()]["kubelet_stopped"] = True
        print("[reset] Stopping the kubelet service\n[reset] Deleting contents of stateful directories: [/var/lib/etcd /var/lib/kubelet]\n\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d")
    else:
        die(f'unknown command "{cmd}" for "kubeadm"')


# ------------------------------------------------------------------ kubeadm upgrade
# kubeadm v1.22 cmd/kubeadm/app/cmd/upgrade: `plan [version]` reports,
# `apply VERSION` upgrades the control plane of the host it runs on and the
# cluster-wide add-ons, `node` upgrades any other node (the static pods of
# another control-plane host, and on every node the kubelet configuration of
# the cluster's version: phases preflight, control-plane, kubelet-config).
# The kubelet package and its restart are the operator's: a node's reported
# kubelet version changes only when its kubelet restarts.
MAX_UPGRADE_SKEW = 1  # phases/upgrade/policy.go MaximumAllowedMinorVersionUpgradeSkew
MAX_KUBELET_SKEW = 1  # ... MaximumAllowedMinorVersionKubeletSkew


def version_policy(cluster, new, kubeadm_v, kubelets):
    """phases/upgrade/policy.go EnforceVersionPolicies (v1.22): mandatory
    and skippable (`--force`) errors, in its order and words."""
    mandatory, skippable = [], []
    nv, cv, kv = semver(new), semver(cluster), semver(kubeadm_v)
    if nv[:2] < (kv[0], kv[1] - 1):  # constants.MinimumControlPlaneVersion
        mandatory.append(f'Specified version to upgrade to "{new}" is equal to or lower than the minimum supported version "{cluster}". Please specify a higher version to upgrade to')
    if nv[1] > cv[1] + MAX_UPGRADE_SKEW:
        mandatory.append(f'Specified version to upgrade to "{new}" is too high; kubeadm can upgrade only {MAX_UPGRADE_SKEW} minor version at a time')
    if nv[1] < cv[1] - 1:
        mandatory.append(f'Specified version to downgrade to "{new}" is too low; kubeadm can downgrade only 1 minor version at a time')
    if kv < nv:
        if nv[1] > kv[1]:
            mandatory.append(f'Specified version to upgrade to "{new}" is at least one minor release higher than the kubeadm minor release ({nv[1]} > {kv[1]}). Such an upgrade is not supported')
        else:
            skippable.append(f'Specified version to upgrade to "{new}" is higher than the kubeadm version "{kubeadm_v}". Upgrade kubeadm first using the tool you used to install kubeadm')
    if kv[0] > nv[0] or kv[1] > nv[1]:
        skippable.append(f"Kubeadm version {kubeadm_v} can only be used to upgrade to Kubernetes version {kv[0]}.{kv[1]}")
    old = sorted({k for k in kubelets if nv[1] > semver(k)[1] + MAX_KUBELET_SKEW})
    if old:
        skippable.append(f"There are kubelets in this cluster that are too old that have these versions [{' '.join(old)}]")
    return mandatory, skippable


def upgrade_client(kubeconfig):
    """The cluster as `kubeadm upgrade` sees it through `kubeconfig`."""
    if os.geteuid() != 0:
        die("[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root")
    server = server_of(read(kubeconfig))
    if not server:
        die(f"couldn't create a Kubernetes client from file \"{kubeconfig}\": failed to load admin kubeconfig: open {kubeconfig}: no such file or directory")
    return server


def kubeadm_upgrade(rest, f, mine):
    rest = [r for r in rest if not r.startswith("-")]
    sub = rest[0] if rest else die('Usage: kubeadm upgrade [command]')
    if sub in ("plan", "apply"):
        server = upgrade_client(f.get("kubeconfig", ADMIN_CONF))
        new = rest[1] if len(rest) > 1 else (mine if sub == "plan" else die("[upgrade/version] FATAL: missing one or more required arguments. Required arguments: [version]"))
        if not new.startswith("v"):
            new = "v" + new
        with Cluster() as s:
            if not s.get("api_up") or "https://" + s.get("endpoint", "") != server:
                die(f"[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR ControlPlaneNodesReady]: couldn't list control-planes in cluster: Get \"{server}/api/v1/nodes\": dial tcp {server[8:]}: connect: connection refused")
            cluster = s["version"]
            kubelets = {}
            for v in s.get("nodes", {}).values():
                kubelets[v["kubelet_version"]] = kubelets.get(v["kubelet_version"], 0) + 1
            print("[upgrade/config] Making sure the configuration is correct:")
            print(f"[upgrade/versions] Cluster version: {cluster}")
            print(f"[upgrade/versions] kubeadm version: {mine}")
            if sub == "plan":
                # cmd/upgrade/plan.go printAvailableUpgrades.
                if semver(new) <= semver(cluster):
                    print("Awesome, you're up-to-date! Enjoy!")
                    return
                print("Components that must be upgraded manually after you have upgraded the control plane with 'kubeadm upgrade apply':")
                print("COMPONENT   CURRENT        TARGET")
                for i, (v, n) in enumerate(sorted(kubelets.items())):
                    print(f"{'kubelet' if i == 0 else '       '}     {n} x {v}   {new}")
                print(f"\nUpgrade to the latest version in the v{semver(new)[0]}.{semver(new)[1]} series:\n")
                print("COMPONENT                 CURRENT    TARGET")
                for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"):
                    print(f"{c:<25} {cluster}   {new}")
                print(f"\nYou can now apply the upgrade by executing the following command:\n\n\tkubeadm upgrade apply {new}\n")
                if semver(mine) < semver(new):
                    print(f"Note: Before you can perform this upgrade, you have to update kubeadm to {new}.\n")
                return
            # cmd/upgrade/apply.go runApply: version policies, confirmation,
            # image pre-pull, static pods, then upload-config, kubelet-config
            # and the add-ons.
            print(f'[upgrade/version] You have chosen to change the cluster version to "{new}"')
            mandatory, skippable = version_policy(cluster, new, mine, kubelets)
            if mandatory:
                die("[upgrade/version] FATAL: the --version argument is invalid due to these fatal errors:\n\n" + "".join(f"\t- {e}\n" for e in mandatory)
                    + "\nPlease fix the misalignments highlighted above and try upgrading again\nTo see the stack trace of this error execute with --v=5 or higher")
            if skippable and not f.get("force"):
                die("[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n" + "".join(f"\t- {e}\n" for e in skippable)
                    + "\nCan be bypassed if you pass the --force flag\nTo see the stack trace of this error execute with --v=5 or higher")
            if not (f.get("yes") or "-y" in sys.argv or f.get("force")):
                die("[upgrade/confirm] Are you sure you want to proceed with the upgrade? [y/N]: error: won't proceed; the user didn't answer (Y|y) in order to continue")
            repo = s.get("image_repository", "k8s.gcr.io")
            # The runtime to pull with is the node's cri-socket annotation
            # (upgrade/common.go: the NodeRegistration read from the cluster).
            socket = s.get("nodes", {}).get(hostname(), {}).get("cri_socket", DOCKERSHIM)
        preflight(images_for(repo, new), socket)
        if fault("kubeadm-upgrade-apply"):
            die("[upgrade/apply] FATAL: couldn't upgrade control plane. kubeadm has tried to recover everything into the earlier state. Errors faced: timed out waiting for the condition")
        addr = s["endpoint"].rsplit(":", 1)[0]
        for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
            write(f"/etc/kubernetes/manifests/{c}.yaml", f"# {c} {new}, advertising {addr}\n")
        with Cluster() as s:
            s["version"] = new
            s["configmaps"]["kube-system/kubeadm-config"] = kubeadm_config(s)
            # addons/proxy/proxy.go EnsureProxyAddon: CreateOrUpdate of the
            # kube-proxy DaemonSet with kubeadm's own object: the new image,
            # and a pod template without annotations others added; its
            # ConfigMap keeps the component config read from the cluster.
            s["daemonsets"]["kube-system/kube-proxy"] = {"image": f"{repo}/kube-proxy:{new}", "env": {}, "annotations": {}}
            for node in s.get("nodes", {}):
                start_kube_proxy(s, node)
            if hostname() in s.get("nodes", {}):
                s["nodes"][hostname()]["config_version"] = new
        print(f'[upgrade/successful] SUCCESS! Your cluster was upgraded to "{new}". Enjoy!\n\n[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven\'t already done so.')
    elif sub == "node":
        # cmd/upgrade/node.go: the kubeconfig is admin.conf on a control-plane
        # node, else kubelet.conf; the target is the cluster's version.
        kubeconfig = ADMIN_CONF if os.path.exists(ADMIN_CONF) and os.path.exists("/etc/kubernetes/manifests/kube-apiserver.yaml") else KUBELET_CONF
        server = upgrade_client(kubeconfig)
        with Cluster() as s:
            if not s.get("api_up") or "https://" + s.get("endpoint", "") != server:
                die(f"[upgrade] Reading configuration from the cluster...\nunable to fetch the kubeadm-config ConfigMap: failed to get config map: Get \"{server}/api/v1/namespaces/kube-system/configmaps/kubeadm-config?timeout=10s\": dial tcp {server[8:]}: connect: connection refused")
            cluster = s["version"]
        print("[upgrade] Reading configuration from the cluster...\n[preflight] Running pre-flight checks")
        if semver(mine) < semver(cluster) and kubeconfig == ADMIN_CONF:
            die(f'[upgrade/version] FATAL: the kubeadm version "{mine}" is older than the cluster version "{cluster}": upgrade kubeadm first')
        if fault("kubeadm-upgrade-node"):
            die("[upgrade] Backing up kubelet config file to /etc/kubernetes/tmp/kubeadm-kubelet-config123/config.yaml\nerror execution phase kubelet-config: failed to write kubelet configuration to disk: open /var/lib/kubelet/config.yaml: read-only file system\nTo see the stack trace of this error execute with --v=5 or higher")
        if kubeconfig == ADMIN_CONF:
            print("[upgrade] Upgrading your Static Pod-hosted control plane instance to version \"" + cluster + "\"...")
        else:
            print("[upgrade] Skipping phase. Not a control plane node.")
        write("/var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n", 0o644)
        with Cluster() as s:
            if hostname() in s.get("nodes", {}):
                s["nodes"][hostname()]["config_version"] = cluster
        print(f"[kubelet-config] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"\n[upgrade] The configuration for this node was successfully updated!\n[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.")
    else:
        die(f'unknown command "{sub}" for "kubeadm upgrade"')


def kubelet_started(_args):
    """systemctl (re)starts the kubelet: a registered node now reports the
    installed kubelet's version (status.nodeInfo.kubeletVersion)."""
    if not os.path.exists(KUBELET_CONF):
        return
    with Cluster() as s:
        node = s.get("nodes", {}).get(hostname())
        if node is not None and installed_version("kubelet"):
            node["kubelet_version"] = installed_version("kubelet")
            node["container_runtime"], node["runtime_problem"] = kubelet_runtime()


def server_of(cfg):
    return next((l.split("server:", 1)[1].strip() for l in cfg.splitlines() if "server:" in l), None)


# ------------------------------------------------------------------ kubectl
def kubectl(argv):
    if not installed("kubectl"):
        die("bash: kubectl: command not found", 127)
    f, rest = flags(argv)
    cfg_path = f.get("kubeconfig") or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    cfg = read(cfg_path) if isinstance(cfg_path, str) else ""
    with Cluster() as s:
        server = server_of(cfg)
        if not server:
            die("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
        if not s.get("api_up") or server != "https://" + s.get("endpoint", ""):
            die(f"The connection to the server {server[len('https://'):]} was refused - did you specify the right host or port?")
        run_kubectl(s, f, rest)


def manifest_kind(src):
    """A local manifest file stands for the URL of the CNI it deploys."""
    if src.startswith("/") and os.path.isfile(src):
        text = read(src)
        if "calico-node" in text:
            return CALICO_URLS[0]
        if "kube-flannel-ds" in text:
            return FLANNEL_URLS[0]
        die(f'error: unable to recognize "{src}": no matches for the objects in the simulation')
    return src


def flannel_namespace(src):
    """Where a flannel manifest puts its DaemonSet: kube-system up to
    v0.18.x; the kube-flannel namespace from v0.19.0 (flannel-io/flannel
    Documentation/kube-flannel.yml at those tags; flannel#1615)."""
    if src.startswith("/") and os.path.isfile(src):
        text = read(src)
        return "kube-flannel" if "kind: Namespace" in text and "name: kube-flannel\n" in text else "kube-system"
    return "kube-system"  # the URLs the simulation serves are v0.17.0's


def ready(s):
    return s.get("cni") is not None


def pods(s):
    out = []
    cp = next((n for n, v in s.get("nodes", {}).items() if "control-plane" in v["role"]), None)
    for n in s.get("nodes", {}):
        out.append(("kube-system", f"kube-proxy-{n[:5]}", {"k8s-app": "kube-proxy"}, n, "Running"))
        if s.get("cni") == "calico":
            out.append(("kube-system", f"calico-node-{n[:5]}", {"k8s-app": "calico-node"}, n, "Running"))
        if s.get("cni") == "flannel":
            out.append((s.get("flannel_ns", "kube-system"), f"kube-flannel-ds-{n[:5]}", {"app": "flannel"}, n, "Running"))
    if cp:
        for c in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            out.append(("kube-system", f"{c}-{cp}", {"component": c}, cp, "Running"))
        for i in (1, 2):
            out.append(("kube-system", f"coredns-545d6fc579-{i}x", {"k8s-app": "kube-dns"}, cp, "Running" if ready(s) else "Pending"))
        if s.get("cni") == "calico":
            out.append(("kube-system", "calico-kube-controllers-78d6f96c7b-x", {"k8s-app": "calico-kube-controllers"}, cp, "Running"))
    for key, d in s.get("deployments", {}).items():
        ns, name = key.split("/")
        out.append((ns, f"{name}-6d8c9b7f4-abcde", {"app": name}, next(iter(s["nodes"])), "Running" if ready(s) else "Pending"))
    return out


def kube_proxy_log(mode, addr, version="v1.21.10"):
    """What kube-proxy v1.21.10 logs at start (cmd/kube-proxy/app/
    server_others.go, newProxyServer): unstructured klog lines, the proxier
    line followed by the dual-stack one, because IPv6DualStack is on by
    default in 1.21. An empty or unknown mode means iptables on Linux.
    (From 1.23 the same lines are structured: "Using ipvs Proxier".)"""
    proxier = "ipvs" if mode == "ipvs" else "iptables"
    lines = [
        f"I1202 04:00:00.100000       1 node.go:172] Successfully retrieved node IP: {addr}",
        f"I1202 04:00:00.100100       1 server_others.go:140] Detected node IP {addr}",
        "I1202 04:00:00.130000       1 server_others.go:206] kube-proxy running in dual-stack mode, IPv4-primary",
    ]
    if proxier == "ipvs":
        lines += ["I1202 04:00:00.130100       1 server_others.go:274] Using ipvs Proxier.",
                  "I1202 04:00:00.130200       1 server_others.go:276] creating dualStackProxier for ipvs.",
                  "W1202 04:00:00.130300       1 server_others.go:495] detect-local-mode set to ClusterCIDR, but no IPv6 cluster CIDR defined, , defaulting to no-op detect-local for IPv6",
                  'I1202 04:00:00.131000       1 proxier.go:440] "IPVS scheduler not specified, use rr by default"']
    else:
        lines += ["I1202 04:00:00.130100       1 server_others.go:212] Using iptables Proxier.",
                  "I1202 04:00:00.130200       1 server_others.go:219] creating dualStackProxier for iptables.",
                  "W1202 04:00:00.130300       1 server_others.go:495] detect-local-mode set to ClusterCIDR, but no IPv6 cluster CIDR defined, , defaulting to no-op detect-local for IPv6"]
    lines += [f"I1202 04:00:00.140000       1 server.go:643] Version: {version}",
              "I1202 04:00:00.150000       1 shared_informer.go:247] Caches are synced for service config"]
    return lines


def selector_match(labels, sel):
    if not sel:
        return True
    return all(labels.get(k) == v for k, v in (p.split("=", 1) for p in sel.split(",")))


def parse_patch(f):
    """The JSON of `kubectl patch -p`, or kubectl's error."""
    try:
        return json.loads(f.get("patch", ""))
    except ValueError as e:
        die(f"error: unable to parse \"{f.get('patch', '')[:40]}\": {e}")


def run_kubectl(s, f, rest):
    if not rest:
        die("kubectl controls the Kubernetes cluster manager.")
    verb, args = rest[0], rest[1:]
    ns = f.get("namespace", "default")
    out = f.get("output", "")
    if verb == "get" and f.get("raw"):
        # The API server's health endpoint (`kubectl get --raw=/healthz`).
        if f["raw"] in ("/healthz", "/readyz", "/livez"):
            print("ok")
            return
        die(f'Error from server (NotFound): the server could not find the requested resource')
    if verb == "get":
        kind = args[0] if args else die("You must specify the type of resource to get.")
        name = args[1] if len(args) > 1 else None
        if "/" in kind:
            kind, name = kind.split("/", 1)
        kind = {"no": "nodes", "node": "nodes", "po": "pods", "pod": "pods", "cm": "configmap", "configmaps": "configmap", "svc": "service", "services": "service",
                "deploy": "deployment", "deployments": "deployment", "ds": "daemonset", "daemonsets": "daemonset"}.get(kind, kind)
        if kind == "nodes":
            nodes = s.get("nodes", {})
            if name and name not in nodes:
                die(f'Error from server (NotFound): nodes "{name}" not found')
            if out == "name":
                print("\n".join(f"node/{n}" for n in nodes if not name or n == name))
                return
            if out.startswith("jsonpath=") and name:
                # The fields plait reads of one Node object.
                expr, node = out[len("jsonpath="):], nodes[name]
                known = {"{.status.nodeInfo.kubeletVersion}": node["kubelet_version"],
                         "{.status.nodeInfo.containerRuntimeVersion}": node.get("container_runtime", ""),
                         "{.metadata.annotations.kubeadm\\.alpha\\.kubernetes\\.io/cri-socket}": node.get("cri_socket", DOCKERSHIM),
                         "{.spec.unschedulable}": "true" if node.get("unschedulable") else ""}
                if expr not in known:
                    die(f"error: error executing jsonpath {expr!r}: unsupported by the simulation")
                sys.stdout.write(known[expr])
                return
            print("NAME     STATUS     ROLES                  AGE   VERSION")
            for n, v in nodes.items():
                if not name or n == name:
                    print(f"{n}   {'Ready' if ready(s) and v.get('container_runtime', 'docker') else 'NotReady'}   {v['role']}   5m   {v['kubelet_version']}")
        elif kind == "pods":
            sel = f.get("selector")
            rows = [p for p in pods(s) if (f.get("all-namespaces") or p[0] == ns) and selector_match(p[2], sel)]
            if not rows:
                print(f"No resources found in {ns} namespace.", file=sys.stderr)
                return
            print("NAME                                       READY   STATUS    RESTARTS   AGE")
            for p in rows:
                print(f"{p[1]}   {'1/1' if p[4] == 'Running' else '0/1'}   {p[4]}   0   5m")
        elif kind == "configmap":
            cm = s.get("configmaps", {}).get(f"{ns}/{name}")
            if cm is None:
                die(f'Error from server (NotFound): configmaps "{name}" not found')
            if out == "name":
                print(f"configmap/{name}")
                return
            if out.startswith("jsonpath="):
                expr = out[len("jsonpath="):]
                if expr.startswith("{.data.") and expr.endswith("}"):
                    sys.stdout.write(cm.get(expr[len("{.data."):-1].replace("\\.", "."), ""))
                    return
                die(f"error: error executing jsonpath {expr!r}: unsupported by the simulation")
            print(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": cm}, indent=2))
        elif kind in ("ippools.crd.projectcalico.org", "ippools", "ippool"):
            # The IPPool CRD exists once a calico manifest is applied.
            if s.get("cni") != "calico":
                die(f'error: the server doesn\'t have a resource type "{kind}"')
            pools = s.get("ippools", {})
            if out == "jsonpath={.items[*].spec.cidr}":
                sys.stdout.write(" ".join(p["cidr"] for p in pools.values()))
            elif out == "name":
                print("\n".join(f"ippool.crd.projectcalico.org/{n}" for n in pools))
            else:
                die(f"error: output {out!r} of ippools is unsupported by the simulation")
        elif kind in ("daemonset", "deployment", "service"):
            coll = {"daemonset": "daemonsets", "deployment": "deployments", "service": "services"}[kind]
            obj = s.get(coll, {}).get(f"{ns}/{name}")
            if obj is None and f.get("ignore-not-found"):
                return
            if obj is None:
                die(f'Error from server (NotFound): {coll}.apps "{name}" not found' if kind != "service" else f'Error from server (NotFound): services "{name}" not found')
            if out == "name":
                print(f"{kind}.apps/{name}" if kind != "service" else f"service/{name}")
            elif out.startswith("jsonpath="):
                expr = out[len("jsonpath="):]
                known = {
                    "{.spec.ports[0].nodePort}": lambda o: str(o.get("nodePort", "")),
                    "{.spec.template.spec.containers[0].image}": lambda o: o.get("image", ""),
                    '{.spec.template.spec.containers[0].env[?(@.name=="CALICO_IPV4POOL_CIDR")].value}': lambda o: o.get("env", {}).get("CALICO_IPV4POOL_CIDR", ""),
                }
                prefix = "{.spec.template.metadata.annotations."
                if expr.startswith(prefix) and expr.endswith("}"):
                    # kubectl's JSONPath: `\.` is a literal dot in a key.
                    sys.stdout.write(obj.get("annotations", {}).get(expr[len(prefix):-1].replace("\\.", "."), ""))
                    return
                if expr not in known:
                    die(f"error: error executing jsonpath {expr!r}: unsupported by the simulation")
                sys.stdout.write(known[expr](obj))
            else:
                print(json.dumps(obj))
        else:
            die(f'error: the server doesn\'t have a resource type "{kind}"')
    elif verb == "apply":
        raw_src = f.get("filename") or die("error: must specify one of -f and -k")
        src = manifest_kind(raw_src)
        if src in CALICO_URLS:
            created = s.get("cni") != "calico"
            s["cni"] = "calico"
            # The v3.19 manifest leaves CALICO_IPV4POOL_CIDR commented out.
            s.setdefault("daemonsets", {}).setdefault("kube-system/calico-node", {"image": "docker.io/calico/node:v3.19.4", "env": {}})
            s.setdefault("deployments", {})
            s["manifest:calico"] = src
            # calico-node's first start creates the default pool when no pool
            # exists: CALICO_IPV4POOL_CIDR if set, else kubeadm-config's
            # podSubnet, else 192.168.0.0/16 (projectcalico/node,
            # pkg/startup/startup.go configureIPPools and
            # extractKubeadmCIDRs, v3.19). Later env edits create no pool.
            if not s.get("ippools"):
                env = s["daemonsets"]["kube-system/calico-node"].get("env", {}).get("CALICO_IPV4POOL_CIDR")
                kcfg = s.get("configmaps", {}).get("kube-system/kubeadm-config", {}).get("ClusterConfiguration", "")
                sub = next((l.split("podSubnet:", 1)[1].strip() for l in kcfg.splitlines() if "podSubnet:" in l), None)
                s["ippools"] = {"default-ipv4-ippool": {"cidr": env or sub or "192.168.0.0/16"}}
            for obj in ("configmap/calico-config", "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org", "daemonset.apps/calico-node", "deployment.apps/calico-kube-controllers"):
                print(f"{obj} {'created' if created else 'unchanged'}")
        elif src in FLANNEL_URLS:
            created = s.get("cni") != "flannel"
            s["cni"] = "flannel"
            fns = s["flannel_ns"] = flannel_namespace(raw_src)
            # The manifest at tag v0.17.0 still deploys v0.16.3's image (flannel#1561).
            s.setdefault("daemonsets", {}).setdefault(f"{fns}/kube-flannel-ds", {"image": "rancher/mirrored-flannelcni-flannel:v0.16.3", "env": {}})
            s.setdefault("configmaps", {}).setdefault(f"{fns}/kube-flannel-cfg", {"net-conf.json": '{\n  "Network": "10.244.0.0/16",\n  "Backend": {\n    "Type": "vxlan"\n  }\n}\n'})
            objs = (["namespace/kube-flannel"] if fns == "kube-flannel" else []) + ["podsecuritypolicy.policy/psp.flannel.unprivileged", "clusterrole.rbac.authorization.k8s.io/flannel", "serviceaccount/flannel", "configmap/kube-flannel-cfg", "daemonset.apps/kube-flannel-ds"]
            for obj in objs:
                print(f"{obj} {'created' if created else 'unchanged'}")
        elif src.startswith("http"):
            die(f'error: unable to read URL "{src}", server reported 404 Not Found, status code=404')
        else:
            die(f'error: the path "{src}" does not exist')
    elif verb == "delete" and f.get("filename"):
        src = manifest_kind(f["filename"])
        if src in CALICO_URLS or src in FLANNEL_URLS:
            name = "calico" if src in CALICO_URLS else "flannel"
            objs = {"calico": ("daemonset.apps/calico-node", "deployment.apps/calico-kube-controllers", "configmap/calico-config"),
                    "flannel": ("daemonset.apps/kube-flannel-ds", "configmap/kube-flannel-cfg", "serviceaccount/flannel")}[name]
            present = s.get("cni") == name
            if not present and not f.get("ignore-not-found"):
                die(f'Error from server (NotFound): error when deleting "{src}": daemonsets.apps "{objs[0].split("/")[1]}" not found')
            if present:
                s["cni"] = None
                fns = s.get("flannel_ns", "kube-system")
                s.get("daemonsets", {}).pop("kube-system/calico-node" if name == "calico" else f"{fns}/kube-flannel-ds", None)
                if name == "flannel":
                    s.get("configmaps", {}).pop(f"{fns}/kube-flannel-cfg", None)
                else:
                    # Deleting the manifest deletes the CRDs, and with them every IPPool.
                    s.pop("ippools", None)
                for o in objs:
                    kind, name_ = o.split("/")
                    print(f'{kind} "{name_}" deleted')
        else:
            die(f'error: the path "{src}" does not exist')
    elif verb == "drain":
        # kubectl v1.21.10 staging/src/k8s.io/kubectl/pkg/drain: cordon
        # (spec.unschedulable), then evict every pod on the node; pods of a
        # DaemonSet stop the drain unless --ignore-daemonsets, and are then
        # left (their controller ignores unschedulable).
        node = args[0] if args else die("error: USAGE: drain NODE [flags]")
        if node not in s.get("nodes", {}):
            die(f'Error from server (NotFound): nodes "{node}" not found')
        mine = [p for p in pods(s) if p[3] == node]
        ds = [p for p in mine if p[2].get("k8s-app") in ("kube-proxy", "calico-node") or p[2].get("app") == "flannel"]
        s["nodes"][node]["unschedulable"] = True
        print(f"node/{node} cordoned")
        if ds and not f.get("ignore-daemonsets"):
            die(f'error: unable to drain node "{node}" due to error:cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): '
                + ", ".join(f"{p[0]}/{p[1]}" for p in ds) + ", continuing command...")
        if ds:
            print("WARNING: ignoring DaemonSet-managed Pods: " + ", ".join(f"{p[0]}/{p[1]}" for p in ds))
        for p in mine:
            if p not in ds:
                print(f"evicting pod {p[0]}/{p[1]}")
        for p in mine:
            if p not in ds:
                print(f"pod/{p[1]} evicted")
        print(f"node/{node} drained")
    elif verb == "annotate" and args[:1] in (["node"], ["nodes"], ["no"]):
        # kubectl annotate node NAME KEY=VALUE: an existing key needs --overwrite.
        node = args[1] if len(args) > 1 else die("error: one or more resources must be specified as <resource> <name> or <resource>/<name>")
        if node not in s.get("nodes", {}):
            die(f'Error from server (NotFound): nodes "{node}" not found')
        for kv in args[2:]:
            k, _, v = kv.partition("=")
            if k != "kubeadm.alpha.kubernetes.io/cri-socket":
                die(f"error: the simulation annotates only kubeadm.alpha.kubernetes.io/cri-socket, not {k}")
            if s["nodes"][node].get("cri_socket") not in (None, v) and not f.get("overwrite"):
                die(f"error: --overwrite is false but found the following declared annotation(s): '{k}' already has a value ({s['nodes'][node]['cri_socket']})")
            s["nodes"][node]["cri_socket"] = v
        print(f"node/{node} annotated")
    elif verb in ("cordon", "uncordon"):
        node = args[0] if args else die(f"error: USAGE: {verb} NODE [flags]")
        if node not in s.get("nodes", {}):
            die(f'Error from server (NotFound): nodes "{node}" not found')
        was = s["nodes"][node].get("unschedulable", False)
        s["nodes"][node]["unschedulable"] = verb == "cordon"
        print(f"node/{node} {'already ' if was == (verb == 'cordon') else ''}{verb}ed")
    elif verb == "delete" and args[:1] in (["node"], ["nodes"], ["no"]):
        # Deleting the Node object: its DaemonSet pods go with it; the
        # kubelet on the host (if it still runs) would register it again.
        for node in args[1:]:
            if node not in s.get("nodes", {}):
                die(f'Error from server (NotFound): nodes "{node}" not found')
            s["nodes"].pop(node)
            s.get("kube_proxy", {}).pop(node, None)
            print(f'node "{node}" deleted')
    elif verb == "delete":
        kind = args[0] if args else die("error: resource(s) were provided, but no name was specified")
        if kind in ("pod", "pods", "po"):
            sel = f.get("selector")
            victims = [p for p in pods(s) if p[0] == ns and selector_match(p[2], sel)]
            for p in victims:
                print(f'pod "{p[1]}" deleted')
                if p[2].get("k8s-app") == "kube-proxy":
                    start_kube_proxy(s, p[3])
        elif kind in ("-f",):
            pass
        else:
            die(f"error: the simulation does not delete {kind}")
    elif verb == "patch" and args[:1] in (["daemonset"], ["ds"]):
        # A changed pod template makes the DaemonSet controller replace every
        # pod (updateStrategy RollingUpdate, kubeadm's kube-proxy DaemonSet).
        name = args[1]
        ds = s.get("daemonsets", {}).get(f"{ns}/{name}")
        if ds is None:
            die(f'Error from server (NotFound): daemonsets.apps "{name}" not found')
        patch = parse_patch(f)
        ann = patch.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations", {})
        changed = any(ds.setdefault("annotations", {}).get(k) != v for k, v in ann.items())
        ds["annotations"].update(ann)
        if changed and name == "kube-proxy":
            for node in s.get("nodes", {}):
                start_kube_proxy(s, node)
        print(f"daemonset.apps/{name} {'patched' if changed else 'patched (no change)'}")
    elif verb == "patch":
        kind, name = args[0], args[1]
        if kind not in ("configmap", "cm"):
            die(f"error: the simulation patches only configmaps, not {kind}")
        cm = s.get("configmaps", {}).get(f"{ns}/{name}")
        if cm is None:
            die(f'Error from server (NotFound): configmaps "{name}" not found')
        patch = parse_patch(f)
        changed = False
        for k, v in patch.get("data", {}).items():
            if cm.get(k) != v:
                cm[k] = v
                changed = True
        print(f"configmap/{name} {'patched' if changed else 'patched (no change)'}")
    elif verb == "set" and args[:1] == ["env"]:
        target = args[1]
        kind, name = target.split("/", 1)
        ds = s.get("daemonsets", {}).get(f"{ns}/{name}")
        if ds is None:
            die(f'Error from server (NotFound): daemonsets.apps "{name}" not found')
        for a in args[2:]:
            k, v = a.split("=", 1)
            ds.setdefault("env", {})[k] = v
        print(f"daemonset.apps/{name} env updated")
    elif verb == "rollout" and args[:1] == ["status"]:
        kind, name = args[1].split("/", 1)
        coll = {"daemonset": "daemonsets", "deployment": "deployments"}.get(kind, kind)
        if f"{ns}/{name}" not in s.get(coll, {}):
            die(f'Error from server (NotFound): {coll}.apps "{name}" not found')
        n = len(s.get("nodes", {}))
        print(f'daemon set "{name}" successfully rolled out' if kind == "daemonset" else f'deployment "{name}" successfully rolled out')
        _ = n
    elif verb == "logs":
        sel = f.get("selector")
        for p in pods(s):
            if p[0] == ns and selector_match(p[2], sel) and p[2].get("k8s-app") == "kube-proxy":
                mode = s.get("kube_proxy", {}).get(p[3], {}).get("mode", "")
                addr = s.get("nodes", {}).get(p[3], {}).get("address", "")
                image = s.get("daemonsets", {}).get("kube-system/kube-proxy", {}).get("image", ":v1.21.10")
                for line in kube_proxy_log(mode, addr, image.rsplit(":", 1)[1]):
                    print(line)
    elif verb == "create" and args[:1] == ["deployment"]:
        name = args[1]
        image = f.get("image") or die("error: required flag(s) \"image\" not set")
        if f"{ns}/{name}" in s.setdefault("deployments", {}):
            die(f'error: failed to create deployment: deployments.apps "{name}" already exists')
        s["deployments"][f"{ns}/{name}"] = {"image": image, "replicas": 1}
        print(f"deployment.apps/{name} created")
    elif verb == "set" and args[:1] == ["image"]:
        kind, name = args[1].split("/", 1)
        d = s.get("deployments", {}).get(f"{ns}/{name}") or die(f'Error from server (NotFound): deployments.apps "{name}" not found')
        d["image"] = args[2].split("=", 1)[1]
        print(f"deployment.apps/{name} image updated")
    elif verb == "expose" and args[:1] == ["deployment"]:
        name = args[1]
        if f"{ns}/{name}" not in s.get("deployments", {}):
            die(f'Error from server (NotFound): deployments.apps "{name}" not found')
        if f"{ns}/{name}" in s.setdefault("services", {}):
            die(f'Error from server (AlreadyExists): services "{name}" already exists')
        svc = {"type": f.get("type", "ClusterIP"), "port": int(f.get("port", 80))}
        if svc["type"] == "NodePort":
            svc["nodePort"] = random.randint(30000, 32767)
        s["services"][f"{ns}/{name}"] = svc
        print(f"service/{name} exposed")
    else:
        die(f'error: unknown command "{verb}" for "kubectl" (or unsupported by the simulation)')


CNI_NODE = {
    "calico": (["10-calico.conflist", "calico-kubeconfig"], ["tunl0"]),
    "flannel": (["10-flannel.conflist"], ["flannel.1", "cni0"]),
}


def sync(_args):
    """On a joined node: the active CNI's files and devices (never removed here)."""
    if not os.path.exists(KUBELET_CONF) or os.geteuid() != 0:
        return
    with Cluster() as s:
        cni = s.get("cni")
    if cni not in CNI_NODE:
        return
    files, links = CNI_NODE[cni]
    os.makedirs("/etc/cni/net.d", exist_ok=True)
    for f in files:
        p = f"/etc/cni/net.d/{f}"
        if not os.path.exists(p):
            write(p, json.dumps({"name": cni, "cniVersion": "0.3.1"}) + "\n", 0o644)
    if cni == "flannel":
        write("/run/flannel/subnet.env", "FLANNEL_NETWORK=10.244.0.0/16\n", 0o644)
    have = set(read(f"{R}/links").split())
    with open(f"{R}/links", "a") as fh:
        for l in links:
            if l not in have:
                fh.write(l + "\n")


if __name__ == "__main__":
    tool, args = sys.argv[1], sys.argv[2:]
    {"kubeadm": kubeadm, "kubectl": kubectl, "sync": sync, "kubelet-started": kubelet_started}[tool](args)
