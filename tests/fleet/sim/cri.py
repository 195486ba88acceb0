#!/usr/bin/env python3
"""Simulated containerd, ctr and crictl for the plait test fleet.

containerd.io comes from Docker's el7 repository. Its RPM installs
/etc/containerd/config.toml as %config(noreplace) with the CRI plugin
disabled (docker/containerd-packaging, common/containerd.toml:
`disabled_plugins = ["cri"]`; rpm/containerd.spec), because Docker Engine
does not need it: a host that only installed docker has a containerd that
Kubernetes cannot use until that file is replaced. containerd refuses to
start on a config that is not valid TOML. The state it runs with is kept in
$R/containerd (written at start, read by crictl and the kubelet).

crictl (cri-tools 1.26, the newest the Kubernetes repository offers, which
yum picks for kubeadm's `cri-tools >= 1.13.0`; read at tag v1.26.0,
cmd/crictl/main.go, main_unix.go and image.go) reads its endpoints from
flags, else /etc/crictl.yaml (`runtime-endpoint`, `image-endpoint`; the
image endpoint defaults to the runtime's); with none configured it warns
and tries the default sockets in order, dockershim's first; its
`info`/`images`/`pull` fail as the real one does on a CRI plugin that is
disabled ("unknown service runtime.v1.RuntimeService"). Images pulled
through CRI land in containerd's `k8s.io` namespace, separate from
Docker's image store.
"""
import json
import os
import sys
import tomllib

import kube
from kube import P, R, die, read
# What the running containerd loaded, or None when it is not running (the
# kubelet and kubeadm of kube.py read it the same way).
from kube import containerd_state as state

SOCK = "/run/containerd/containerd.sock"
IMAGES = f"{P}/containerd-images"  # the k8s.io namespace


def installed_version(pkg):
    """`1.6.33` for an installed `containerd.io|1.6.33-3.1.el7.x86_64`."""
    v = kube.installed_version(pkg)
    return v[1:] if v else None


def start(_args):
    """containerd starts: parse /etc/containerd/config.toml as containerd
    1.6 does (version 2 names the CRI plugin `io.containerd.grpc.v1.cri`;
    a file without `version` is read as version 1, where it is `cri`)."""
    try:
        with open("/etc/containerd/config.toml", "rb") as f:
            cfg = tomllib.load(f)
    except FileNotFoundError:
        cfg = {}
    except tomllib.TOMLDecodeError as e:
        die(f'containerd: failed to load TOML from /etc/containerd/config.toml: {e}')
    version = cfg.get("version", 1)
    disabled = cfg.get("disabled_plugins", [])
    cri_name = "io.containerd.grpc.v1.cri" if version == 2 else "cri"
    cri_on = not any(d in ("cri", "io.containerd.grpc.v1.cri") for d in disabled)
    cri = cfg.get("plugins", {}).get(cri_name, {})
    runc = cri.get("containerd", {}).get("runtimes", {}).get("runc", {})
    st = {
        "cri": cri_on,
        "systemd_cgroup": bool(runc.get("options", {}).get("SystemdCgroup", False)),
        "sandbox_image": cri.get("sandbox_image", "k8s.gcr.io/pause:3.6"),
        "version": installed_version("containerd.io") or "1.6.33",
    }
    os.makedirs(R, exist_ok=True)
    with open(f"{R}/containerd", "w") as f:
        json.dump(st, f)


def endpoints(flags):
    """(runtime, image) endpoints: flags, then /etc/crictl.yaml."""
    conf = {}
    for line in read("/etc/crictl.yaml").splitlines():
        k, _, v = line.partition(":")
        conf[k.strip()] = v.strip().strip('"')
    runtime = flags.get("runtime-endpoint") or flags.get("r") or conf.get("runtime-endpoint")
    image = flags.get("image-endpoint") or flags.get("i") or conf.get("image-endpoint") or runtime
    return runtime, image


# cri-tools v1.26.0 cmd/crictl/main_unix.go: the endpoints tried, in
# order, when none is configured.
DEFAULT_ENDPOINTS = ["unix:///var/run/dockershim.sock", "unix:///run/containerd/containerd.sock", "unix:///run/crio/crio.sock",
                     "unix:///var/run/cri-dockerd.sock"]


def dial(endpoint, service):
    """(state, None) when `endpoint` serves the CRI `service`, else (None,
    the error): vendor/k8s.io/kubernetes/pkg/kubelet/cri/remote/
    remote_runtime.go and remote_image.go (`validate service connection`)."""
    path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
    prefix = f'validate service connection: validate CRI v1 {service} API for endpoint "{endpoint}": rpc error: code = '
    st = state() if path == SOCK else None
    if st is None:
        return None, f'{prefix}Unavailable desc = connection error: desc = "transport: Error while dialing dial unix {path}: connect: no such file or directory"'
    if not st["cri"]:
        return None, f'{prefix}Unimplemented desc = unknown service runtime.v1.{"RuntimeService" if service == "runtime" else "ImageService"}'
    return st, None


def connect(endpoint, service):
    """cri-tools v1.26.0 cmd/crictl/main.go getRuntimeService and
    getImageService: a configured endpoint is used alone; without one,
    crictl warns, tries the defaults in order (logging each failure) and
    uses the first that answers. An error ends crictl through
    `logrus.Fatal` (main: `FATA[0000] ...`, exit 1)."""
    if endpoint:
        st, err = dial(endpoint, service)
        return st if st else die(f"FATA[0000] {err}")
    print(f"WARN[0000] {service} connect using default endpoints: [{' '.join(DEFAULT_ENDPOINTS)}]. "
          "As the default settings are now deprecated, you should set the endpoint instead.", file=sys.stderr)
    err = None
    for ep in DEFAULT_ENDPOINTS:
        st, err = dial(ep, service)
        if st:
            return st
        print(f"ERRO[0000] {err}", file=sys.stderr)
    die(f"FATA[0000] {err}")


def parse(args):
    flags, rest, i = {}, [], 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            flags[k] = v
        elif a in ("--runtime-endpoint", "--image-endpoint", "-r", "-i", "-n", "--namespace", "-o", "--output", "--timeout", "-t"):
            flags[a.lstrip("-")] = args[i + 1] if i + 1 < len(args) else ""
            i += 1
        elif a.startswith("-"):
            flags[a.lstrip("-")] = True
        else:
            rest.append(a)
        i += 1
    return flags, rest


def images():
    return [l for l in read(IMAGES).splitlines() if l]


def add_image(img):
    if ":" not in img.rsplit("/", 1)[-1]:
        img += ":latest"
    if img not in images():
        with open(IMAGES, "a") as f:
            f.write(img + "\n")
    return img


def crictl(args):
    if os.geteuid() != 0:
        die('FATA[0000] validate service connection: validate CRI v1 runtime API for endpoint "unix:///run/containerd/containerd.sock": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing dial unix /run/containerd/containerd.sock: connect: permission denied"')
    flags, rest = parse(args)
    verb = rest[0] if rest else die("crictl: no command given")
    runtime, image = endpoints(flags)
    if verb == "info":
        st = connect(runtime, "runtime")
        print(json.dumps({"status": {"conditions": [{"type": "RuntimeReady", "status": True}, {"type": "NetworkReady", "status": os.path.isdir("/etc/cni/net.d") and bool(os.listdir("/etc/cni/net.d"))}]},
                          "config": {"sandboxImage": st["sandbox_image"], "containerd": {"runtimes": {"runc": {"options": {"SystemdCgroup": st["systemd_cgroup"]}}}}}}, indent=2))
    elif verb == "version":
        st = connect(runtime, "runtime")
        print(f"Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  {st['version']}\nRuntimeApiVersion:  v1")
    elif verb == "images":
        connect(image, "image")
        print("IMAGE                                                          TAG                 IMAGE ID            SIZE")
        for img in images():
            repo, tag = img.rsplit(":", 1)
            print(f"{repo:<62} {tag:<19} 0123456789abc       10MB")
    elif verb == "pull":
        connect(image, "image")
        img = rest[1] if len(rest) > 1 else die("crictl pull: image name cannot be empty")
        if "/coredns/coredns:" in img and "k8s.gcr.io" not in img:
            # The vendored remote_image.go logs with klog, then
            # cmd/crictl/image.go returns "pulling image: %w" (FATA).
            err = f'rpc error: code = NotFound desc = failed to pull and unpack image "{img}": failed to resolve reference "{img}": {img}: not found'
            print(f'E1202 04:00:00.000000 remote_image.go:171] "PullImage from image service failed" err="{err}" image="{img}"', file=sys.stderr)
            die(f"FATA[0000] pulling image: {err}")
        print(f"Image is up to date for sha256:{abs(hash(img)) % (1 << 60):015x}")
        add_image(img)
    else:
        die(f'crictl: unknown command "{verb}" (or unsupported by the simulation)')


def ctr(args):
    if os.geteuid() != 0:
        die("ctr: failed to dial \"/run/containerd/containerd.sock\": connection error: desc = \"transport: error while dialing: dial unix /run/containerd/containerd.sock: connect: permission denied\"")
    flags, rest = parse(args)
    if state() is None:
        die('ctr: failed to dial "/run/containerd/containerd.sock": context deadline exceeded: connection error: desc = "transport: error while dialing: dial unix:///run/containerd/containerd.sock: timeout"')
    if rest[:1] == ["version"]:
        print(f"Client:\n  Version:  {installed_version('containerd.io')}\n\nServer:\n  Version:  {state()['version']}")
        return
    if rest[:1] in (["plugins"], ["plugin"]) and rest[1:2] in (["ls"], ["list"]):
        # `ctr plugins ls` (containerd 1.6, cmd/ctr/commands/plugins): the
        # loaded plugins; a disabled one is not loaded, so it is not listed.
        print(f"{'TYPE':<38}{'ID':<25}{'PLATFORMS':<15}STATUS")
        rows = [("io.containerd.content.v1", "content", "-"), ("io.containerd.snapshotter.v1", "overlayfs", "linux/amd64"),
                ("io.containerd.runtime.v2", "task", "linux/amd64"), ("io.containerd.grpc.v1", "containers", "-"),
                ("io.containerd.grpc.v1", "images", "-")]
        if state()["cri"]:
            rows.append(("io.containerd.grpc.v1", "cri", "linux/amd64"))
        for t, i, plat in rows:
            print(f"{t:<38}{i:<25}{plat:<15}ok")
        return
    ns = flags.get("n") or flags.get("namespace") or "default"
    if rest[:1] in (["images"], ["image"], ["i"]) and rest[1:2] == ["tag"]:
        # ctr images tag [--force] SOURCE TARGET, in the namespace given.
        src, dst = rest[2], rest[3]
        if ns != "k8s.io":
            die(f"ctr: image \"{src}\": not found")  # the simulation keeps only k8s.io
        if src not in images():
            die(f'ctr: image "{src}": not found')
        if dst in images() and not flags.get("force"):
            die(f'ctr: image "{dst}": already exists')
        add_image(dst)
        print(dst)
    elif rest[:1] in (["images"], ["image"], ["i"]) and rest[1:2] in (["ls"], ["list"]):
        print("REF TYPE DIGEST SIZE PLATFORMS LABELS")
        if ns == "k8s.io":
            for img in images():
                print(f"{img} application/vnd.docker.distribution.manifest.list.v2+json sha256:0 10.0 MiB linux/amd64 io.cri-containerd.image=managed")
    else:
        die(f"ctr: unsupported by the simulation: {' '.join(args)}")


if __name__ == "__main__":
    tool, args = sys.argv[1], sys.argv[2:]
    {"crictl": crictl, "ctr": ctr, "containerd-start": start}[tool](args)
