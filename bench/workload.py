"""The benchmark workload for the contenders other than plait: the host
preparation of the seed workflow (what workflows/bench-prep.toml does), as
(step, check, action) shell commands. A command runs only when its check
fails, so a second run on converged hosts only checks. Each contender sends
exactly these commands, in this order, its own way."""

FSTAB_SWAP = r"^[[:space:]]*[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]"
REPO = "registry.cn-hangzhou.aliyuncs.com/google_containers"
IMAGES = [f"{REPO}/kube-apiserver:v1.21.10", f"{REPO}/kube-controller-manager:v1.21.10", f"{REPO}/kube-scheduler:v1.21.10",
          f"{REPO}/kube-proxy:v1.21.10", f"{REPO}/pause:3.4.1", f"{REPO}/etcd:3.4.13-0", f"{REPO}/coredns:v1.8.0"]
SYSCTLS = ["net.bridge.bridge-nf-call-ip6tables = 1", "net.bridge.bridge-nf-call-iptables = 1", "net.ipv4.ip_forward = 1",
           "net.ipv6.conf.all.disable_ipv6 = 1", "net.ipv6.conf.all.forwarding = 1", "net.ipv6.conf.default.disable_ipv6 = 1",
           "net.ipv6.conf.lo.disable_ipv6 = 1"]
DAEMON_JSON = '''{
  "exec-opts": ["native.cgroupdriver=systemd"],
  "registry-mirrors": ["https://du3ia00u.mirror.aliyuncs.com", "https://hub-mirror.c.163.com", "https://mirror.baidubce.com"],
  "live-restore": true,
  "log-driver": "json-file",
  "log-opts": {"max-size": "500m", "max-file": "3"},
  "max-concurrent-downloads": 10,
  "max-concurrent-uploads": 5,
  "storage-driver": "overlay2"
}'''


def q(s):
    return "'" + s.replace("'", "'\\''") + "'"


def write(path, text, mode="644"):
    return f"mkdir -p $(dirname {path}) && printf '%s\\n' {q(text)} > {path} && chmod {mode} {path}"


def workload(host, hosts):
    """[(step, [(check, action), ...]), ...] for `host`; `hosts` is [(name, address)]."""
    block = ["# BEGIN plait os-prep: inventory hosts"] + [f"{a} {n}" for n, a in hosts] + ["# END plait os-prep"]
    return [
        ("os-prep", [
            ("! systemctl is-active -q firewalld", "systemctl stop firewalld"),
            ("! systemctl is-enabled -q firewalld", "systemctl disable firewalld"),
            ('[ "$(getenforce)" != Enforcing ]', "setenforce 0"),
            ("grep -qx SELINUX=disabled /etc/selinux/config", "sed -i 's/^[[:space:]]*SELINUX=.*/SELINUX=disabled/' /etc/selinux/config"),
            ("[ \"$(free -m | awk '/^Swap:/ {print $2}')\" = 0 ]", "swapoff -a"),
            (f"! grep -Eq {q(FSTAB_SWAP)} /etc/fstab", f"sed -ri {q('/' + FSTAB_SWAP + '/s/^/#/')} /etc/fstab"),
            (f'[ "$(hostname)" = {q(host)} ]', f"hostnamectl set-hostname {q(host)}"),
            ("grep -q '^# BEGIN plait os-prep' /etc/hosts", "printf '%s\\n' " + " ".join(q(l) for l in block) + " >> /etc/hosts"),
            ("rpm -q ntpdate", "yum install -y ntpdate"),
            ("ntpdate -q time.windows.com | awk '/offset/ {o = $6; sub(\",\", \"\", o); ok = (o < 0.5 && o > -0.5); exit} END {exit !ok}'", "ntpdate time.windows.com"),
        ]),
        ("bridge-net", [
            ("lsmod | grep -qw br_netfilter", "modprobe br_netfilter"),
            ("[ -f /etc/modules-load.d/br_netfilter.conf ]", write("/etc/modules-load.d/br_netfilter.conf", "br_netfilter")),
            ("[ -f /etc/sysctl.d/k8s.conf ]", write("/etc/sysctl.d/k8s.conf", "\n".join(SYSCTLS)) + " && sysctl --system"),
        ]),
        ("ipvs", [
            ("rpm -q ipset ipvsadm", "yum install -y ipset ipvsadm"),
            ("[ -x /etc/sysconfig/modules/ipvs.modules ]", write("/etc/sysconfig/modules/ipvs.modules", "#!/bin/bash\nmodprobe -- ip_vs\nmodprobe -- ip_vs_rr\nmodprobe -- ip_vs_wrr\nmodprobe -- ip_vs_sh\nmodprobe -- nf_conntrack_ipv4", "755")),
            ("lsmod | grep -qw ip_vs_sh", "bash /etc/sysconfig/modules/ipvs.modules"),
        ]),
        ("docker", [
            ("[ -f /etc/yum.repos.d/docker-ce.repo ]", write("/etc/yum.repos.d/docker-ce.repo", "[docker-ce-stable]\nname=Docker CE Stable - $basearch\nbaseurl=https://mirrors.aliyun.com/docker-ce/linux/centos/$releasever/$basearch/stable\nenabled=1\ngpgcheck=1\ngpgkey=https://mirrors.aliyun.com/docker-ce/linux/centos/gpg")),
            # docker-ce-cli has epoch 1 in Docker's el7 repository (docker-ce has 3).
            ("rpm -q docker-ce-20.10.8-3.el7.x86_64 docker-ce-cli-20.10.8-3.el7.x86_64 containerd.io", "yum -y --setopt=skip_missing_names_on_install=0 install docker-ce-3:20.10.8-3.el7.x86_64 docker-ce-cli-1:20.10.8-3.el7.x86_64 containerd.io"),
            ("[ -f /etc/docker/daemon.json ]", write("/etc/docker/daemon.json", DAEMON_JSON) + " && systemctl daemon-reload"),
            ("systemctl is-enabled -q docker", "systemctl enable docker"),
            ("systemctl is-active -q docker", "systemctl start docker"),
        ]),
        ("kubeadm", [
            ("[ -f /etc/yum.repos.d/kubernetes.repo ]", write("/etc/yum.repos.d/kubernetes.repo", "[kubernetes]\nname=Kubernetes\nbaseurl=https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\ngpgkey=https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg")),
            ("rpm -q kubelet-1.21.10 kubeadm-1.21.10 kubectl-1.21.10", "yum -y --setopt=skip_missing_names_on_install=0 install kubelet-1.21.10 kubeadm-1.21.10 kubectl-1.21.10"),
            ("grep -q cgroup-driver=systemd /etc/sysconfig/kubelet", write("/etc/sysconfig/kubelet", 'KUBELET_EXTRA_ARGS="--cgroup-driver=systemd"\nKUBE_PROXY_MODE="ipvs"')),
            ("systemctl is-enabled -q kubelet", "systemctl enable kubelet"),
        ] + [(f"docker image inspect {i} >/dev/null", f"docker pull {i}") for i in IMAGES] + [
            (f"docker image inspect {REPO}/coredns/coredns:v1.8.0 >/dev/null", f"docker tag {REPO}/coredns:v1.8.0 {REPO}/coredns/coredns:v1.8.0"),
        ]),
    ]


def scale_workload(host, hosts):
    """The scale workload (workflows/bench-scale.toml): os-prep with its
    default time sync (chronyd, running on a minimal install) and
    bridge-net; nothing else."""
    steps = dict(workload(host, hosts))
    osprep = [item for item in steps["os-prep"] if "ntpdate" not in item[0] + item[1]]
    osprep += [("rpm -q chrony", "yum install -y chrony"), ("systemctl is-enabled -q chronyd", "systemctl enable chronyd"),
               ("systemctl is-active -q chronyd", "systemctl start chronyd")]
    return [("os-prep", osprep), ("bridge-net", steps["bridge-net"])]


WORKLOADS = {"prep": workload, "scale": scale_workload}
# What a converged host looks like, checked on every host by bench.py (the
# same check for every contender): os-prep's and bridge-net's end state,
# and for `prep` also docker and the kubelet package.
CONVERGED = {
    "scale": "[ \"$(cat /etc/hostname)\" = \"$1\" ] && grep -qx SELINUX=disabled /etc/selinux/config && ! grep -Eq " + q(FSTAB_SWAP)
             + " /etc/fstab && grep -q '^# BEGIN plait os-prep' /etc/hosts && [ -f /etc/sysctl.d/k8s.conf ] && grep -qw br_netfilter /run/plait-sim/modules",
}
CONVERGED["prep"] = CONVERGED["scale"] + " && systemctl is-active -q docker && rpm -q kubelet-1.21.10 >/dev/null"


def step_script(items):
    """One shell script for a step: each action only when its check fails;
    prints CHANGED per action run, fails at the first failing action."""
    lines = ["export LC_ALL=C"]
    for check, action in items:
        lines.append(f"if ! {{ {check} ; }} >/dev/null 2>&1; then {{ {action} ; }} >/dev/null 2>&1 || exit 1; echo CHANGED; fi")
    return "\n".join(lines) + "\n"
