#!/usr/bin/env python3
"""Simulated yum 3.4.3 for the plait test fleet (CentOS 7.9).

Packages come from tests/fleet/sim/catalog plus any `*.catalog` file a fleet
was started with (`fleet up DIR N --catalog FILE`, mounted in each host at
/mnt/state/catalog.d): one package version per line,

    name|[epoch:]version-release.arch|repo|requires|commands|units

where `requires` is a comma-separated list of `name` or `name >= [epoch:]ver`,
`commands` the programs the package installs and `units` its systemd units.
Installed packages are recorded in /var/lib/plait-sim/packages as
`name|[epoch:]version-release.arch`; `rpm -q` (plait-sim, bash) reads them.

What plugins decide from, and where it comes from:

- Specs: yum 3.4.3 matches `name`, `name.arch`, `name-version`,
  `name-version-release[.arch]`, `name-epoch:version-release[.arch]` and
  `epoch:name-version-release[.arch]` (yum/packages.py parsePackages, the
  patterns listed in yum(8) "SPECIFYING PACKAGE NAMES"). An epoch in a spec
  must equal the package's epoch: `docker-ce-cli-3:20.10.8-3.el7.x86_64`
  matches nothing, because Docker's el7 repository publishes docker-ce with
  epoch 3 and docker-ce-cli with epoch 1 (docker/docker-ce-packaging,
  rpm/SPECS/docker-ce.spec `Epoch: 3` and docker-ce-cli.spec `Epoch: 1`,
  branch 20.10; the catalog lists several versions of each).
- Missing names: CentOS 7's yum (3.4.3-158 and later) skips names it cannot
  find, `skip_missing_names_on_install` defaults to True (yum.conf(5) on
  CentOS 7): it prints "No package NAME available." and installs the rest,
  exiting 0; only when nothing at all is left does it print "Error: Nothing
  to do" and exit 1. `--setopt=skip_missing_names_on_install=0` (or False)
  makes any missing name an error.
- Dependencies resolve to the newest available version that satisfies the
  requirement (yum's depsolver picks the best provider): installing
  docker-ce-3:20.10.8 without its pinned CLI pulls the newest docker-ce-cli
  (docker-ce.spec: `Requires: docker-ce-cli`, unversioned).
- `yum install` of an older version than the one installed does nothing
  ("Package matching X already installed. Checking for update."); an older
  version needs `yum downgrade`. A newer version is an update.
- Already installed: "Package X already installed and latest version", then
  "Nothing to do", exit 0.
"""
import fnmatch
import glob
import os
import re
import sys

P = "/var/lib/plait-sim"
SIM = os.path.dirname(os.path.abspath(__file__))
CATALOGS = [os.path.join(SIM, "catalog")] + sorted(glob.glob("/mnt/state/catalog.d/*.catalog"))


# What elrepo-release-7.0-4.el7.elrepo.noarch.rpm installs (elrepo.repo; the
# kernel repository is disabled, hence the tutorial's --enablerepo).
ELREPO_REPO = """[elrepo]
name=ELRepo.org Community Enterprise Linux Repository - el7
baseurl=http://elrepo.org/linux/elrepo/el7/$basearch/
enabled=1
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-elrepo.org

[elrepo-kernel]
name=ELRepo.org Community Enterprise Linux Kernel Repository - el7
baseurl=http://elrepo.org/linux/kernel/el7/$basearch/
enabled=0
gpgcheck=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-elrepo.org
"""


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


# ---------------------------------------------------------------- versions
def split_evr(evra):
    """`3:20.10.8-3.el7.x86_64` -> (3, '20.10.8', '3.el7', 'x86_64')."""
    epoch = 0
    if ":" in evra:
        e, evra = evra.split(":", 1)
        epoch = int(e)
    arch = ""
    for a in (".x86_64", ".noarch", ".i686"):
        if evra.endswith(a):
            evra, arch = evra[: -len(a)], a[1:]
    ver, _, rel = evra.partition("-")
    return epoch, ver, rel, arch


def rpmvercmp(a, b):
    """rpm's version segment comparison (rpmio/rpmvercmp.c)."""
    if a == b:
        return 0
    sa, sb = re.findall(r"[0-9]+|[a-zA-Z]+|~", a), re.findall(r"[0-9]+|[a-zA-Z]+|~", b)
    for x, y in zip(sa, sb):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():
            return (int(x) > int(y)) - (int(x) < int(y))
        if x.isdigit():
            return 1
        if y.isdigit():
            return -1
        return (x > y) - (x < y)
    return (len(sa) > len(sb)) - (len(sa) < len(sb))


def evr_cmp(a, b):
    ea, va, ra, _ = split_evr(a)
    eb, vb, rb, _ = split_evr(b)
    if ea != eb:
        return (ea > eb) - (ea < eb)
    c = rpmvercmp(va, vb)
    if c or not ra or not rb:
        return c
    return rpmvercmp(ra, rb)


class Pkg:
    def __init__(self, line):
        f = (line.rstrip("\n").split("|") + [""] * 6)[:6]
        self.name, self.evra, self.repo = f[0], f[1], f[2]
        self.requires = [r.strip() for r in f[3].split(",") if r.strip()]
        self.commands = f[4].split()
        self.units = f[5].split()
        self.epoch, self.ver, self.rel, self.arch = split_evr(self.evra)

    def nvra(self):
        return f"{self.name}-{self.ver}-{self.rel}.{self.arch}"

    def nevra(self):
        return f"{self.name}-{self.epoch}:{self.ver}-{self.rel}.{self.arch}"

    def matches(self, spec):
        """Whether a yum spec names this package (yum(8) SPECIFYING PACKAGE NAMES)."""
        n, v, r, a, e = self.name, self.ver, self.rel, self.arch, str(self.epoch)
        forms = {n, f"{n}.{a}", f"{n}-{v}", f"{n}-{v}-{r}", f"{n}-{v}-{r}.{a}", f"{n}-{e}:{v}-{r}", f"{n}-{e}:{v}-{r}.{a}",
                 f"{e}:{n}-{v}-{r}", f"{e}:{n}-{v}-{r}.{a}"}
        return spec in forms


def catalog():
    pkgs = []
    for path in CATALOGS:
        try:
            with open(path) as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        pkgs.append(Pkg(line))
        except OSError:
            pass
    return pkgs


def installed():
    """name -> evra of installed packages."""
    out = {}
    try:
        with open(f"{P}/packages") as f:
            for line in f:
                if "|" in line:
                    n, v = line.rstrip("\n").split("|", 1)
                    out[n] = v
    except OSError:
        pass
    return out


def save(inst):
    tmp = f"{P}/packages.tmp"
    with open(tmp, "w") as f:
        for n, v in inst.items():
            f.write(f"{n}|{v}\n")
    os.replace(tmp, f"{P}/packages")


# ---------------------------------------------------------------- repositories
def repo_files():
    """repo id -> enabled (from /etc/yum.repos.d/*.repo)."""
    repos = {}
    for path in sorted(glob.glob("/etc/yum.repos.d/*.repo")):
        cur = None
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("[") and "]" in line:
                    cur = line[1:line.index("]")]
                    repos[cur] = True
                elif cur and re.match(r"enabled\s*=", line):
                    repos[cur] = line.split("=", 1)[1].strip() in ("1", "true", "True", "yes")
    return repos


def enabled_repos(enable, disable):
    """Enabled repo ids after --disablerepo, then --enablerepo (globs, as yum)."""
    repos = repo_files()
    on = {r for r, e in repos.items() if e}
    for pat in disable:
        on -= {r for r in repos if fnmatch.fnmatch(r, pat)}
    for pat in enable:
        on |= {r for r in repos if fnmatch.fnmatch(r, pat)}
    return on


# ---------------------------------------------------------------- yum
def parse_require(req):
    m = re.match(r"^(\S+)\s*(>=|=|>)\s*(\S+)$", req)
    return (m.group(1), m.group(2), m.group(3)) if m else (req, None, None)


def satisfies(evra, op, want):
    if op is None:
        return True
    c = evr_cmp(evra, want)
    return {">=": c >= 0, "=": c == 0, ">": c > 0}[op]


def newest(cands):
    best = None
    for p in cands:
        if best is None or evr_cmp(p.evra, best.evra) > 0:
            best = p
    return best


CONTAINERD_TOML = """#   Copyright 2018-2022 Docker Inc.

#   Licensed under the Apache License, Version 2.0 (the "License");
#   you may not use this file except in compliance with the License.

disabled_plugins = ["cri"]

#root = "/var/lib/containerd"
#state = "/run/containerd"
#subreaper = true
#oom_score = 0

#[grpc]
#  address = "/run/containerd/containerd.sock"
#  uid = 0
#  gid = 0
"""


def apply_effects(p):
    """What installing a package does to the simulated host."""
    os.makedirs(f"{P}/units", exist_ok=True)
    for u in p.units:
        open(f"{P}/units/{u}", "a").close()
    for c in p.commands:
        for d in ("/usr/local/sbin", "/usr/local/bin"):
            link = f"{d}/{c}"
            if not os.path.lexists(link):
                os.symlink(f"{SIM}/plait-sim", link)
    if p.name == "kernel-ml":
        with open(f"{P}/kernel-ml-installed", "w") as f:
            f.write(f"{p.ver}-{p.rel}.{p.arch}\n")
    if p.name == "elrepo-release":
        with open("/etc/yum.repos.d/elrepo.repo", "w") as f:
            f.write(ELREPO_REPO)
    if p.name == "containerd.io" and not os.path.exists("/etc/containerd/config.toml"):
        # %config(noreplace) /etc/containerd/config.toml, Docker's
        # common/containerd.toml (docker/containerd-packaging): the CRI
        # plugin is disabled.
        os.makedirs("/etc/containerd", exist_ok=True)
        with open("/etc/containerd/config.toml", "w") as f:
            f.write(CONTAINERD_TOML)
    if p.name == "kubelet" and not os.path.exists("/etc/sysconfig/kubelet"):
        os.makedirs("/etc/sysconfig", exist_ok=True)
        with open("/etc/sysconfig/kubelet", "w") as f:
            f.write("KUBELET_EXTRA_ARGS=\n")
    with open(f"{P}/log", "a") as f:
        f.write(f"installed {p.name}-{p.evra}\n")


def yum(argv):
    yes, verb, specs, enable, disable, setopt = False, None, [], [], [], {}
    it = iter(argv)
    for a in it:
        if a in ("-y", "--assumeyes"):
            yes = True
        elif a in ("-q", "--quiet", "-C", "--cacheonly"):
            pass
        elif a.startswith("--enablerepo="):
            enable += a.split("=", 1)[1].split(",")
        elif a.startswith("--disablerepo="):
            disable += a.split("=", 1)[1].strip('"').split(",")
        elif a in ("--enablerepo", "--disablerepo"):
            (enable if a == "--enablerepo" else disable).extend(next(it, "").split(","))
        elif a.startswith("--setopt="):
            k, _, v = a.split("=", 1)[1].partition("=")
            setopt[k] = v
        elif a == "--showduplicates":
            setopt["showdupes"] = "1"
        elif a.startswith("-"):
            die(f"Command line error: no such option: {a}")
        elif verb is None:
            verb = a
        else:
            specs.append(a)
    on = enabled_repos(enable, disable)
    avail = [p for p in catalog() if p.repo in on or p.repo == "url"]
    inst = installed()
    if verb in ("install", "downgrade", "update", "remove", "erase") and os.geteuid() != 0:
        die("You need to be root to perform this command.")
    if verb == "install" or verb == "downgrade":
        if not specs:
            die("Error: Need to pass a list of pkgs to install")
        skip_missing = setopt.get("skip_missing_names_on_install", "1") not in ("0", "False", "false", "no")
        want = {}
        for s in specs:
            cands = [p for p in avail if p.matches(s) and p.repo != "url"]
            if not cands:
                print(f"No package {s} available.")
                if not skip_missing:
                    die(f"Error: Unable to find a match: {s}")
                continue
            best = newest(cands)
            have = inst.get(best.name)
            if verb == "downgrade":
                if have is None:
                    print(f"Packages {best.name} not installed, cannot downgrade it")
                    continue
                if evr_cmp(best.evra, have) >= 0:
                    print(f"Only Upgrade available on package: {best.nvra()}")
                    continue
                want[best.name] = best
            elif have is None or evr_cmp(best.evra, have) > 0:
                want[best.name] = best
            elif evr_cmp(best.evra, have) == 0:
                print(f"Package {best.name}-{have.split(':')[-1]} already installed and latest version")
            else:
                print(f"Package matching {best.nvra()} already installed. Checking for update.")
        if not want and not any(p.name in inst for s in specs for p in avail if p.matches(s)):
            die("Error: Nothing to do")
        # Resolve requirements: satisfied by what is installed or coming, else the newest provider.
        queue = list(want.values())
        while queue:
            p = queue.pop(0)
            for req in p.requires:
                name, op, ver = parse_require(req)
                cur = want[name].evra if name in want else inst.get(name)
                if cur is not None and satisfies(cur, op, ver):
                    continue
                cands = [q for q in avail if q.name == name and satisfies(q.evra, op, ver)]
                if not cands:
                    die(f"Error: Package: {p.nevra()} ({p.repo})\n           Requires: {req}\n You could try using --skip-broken to work around the problem")
                dep = newest(cands)
                want[name] = dep
                queue.append(dep)
        if not want:
            print("Nothing to do")
            return
        if not yes:
            die("Is this ok [y/d/N]: Exiting on user command\nYour transaction was saved, rerun it with:")
        for name, p in want.items():
            old = inst.get(name)
            what = "Installing" if old is None else ("Updating" if evr_cmp(p.evra, old) > 0 else "Downgrading")
            print(f"  {what} : {p.nvra()}")
            inst[name] = p.evra
            apply_effects(p)
        save(inst)
        print("\nComplete!")
    elif verb in ("remove", "erase"):
        for s in specs:
            inst.pop(s, None)
        save(inst)
        print("Complete!")
    elif verb == "makecache":
        print("Metadata Cache Created")
    elif verb == "repolist":
        print("repo id                 repo name")
        for r in sorted(on):
            print(r)
    elif verb == "list":
        what = specs[0] if specs else "all"
        if what == "installed":
            for n, v in inst.items():
                print(f"{n} {v}")
            return
        rows = [p for p in avail if p.repo != "url" and (what in ("all", "available") or p.name == what or fnmatch.fnmatch(p.name, what))]
        if setopt.get("showdupes") != "1":
            rows = [newest([q for q in rows if q.name == n]) for n in dict.fromkeys(q.name for q in rows)]
        if not rows:
            die("Error: No matching Packages to list")
        for p in rows:
            print(f"{p.name}.{p.arch}    {p.epoch}:{p.ver}-{p.rel}    {p.repo}" if p.epoch else f"{p.name}.{p.arch}    {p.ver}-{p.rel}    {p.repo}")
    elif verb is None:
        die("You need to give some command")
    else:
        die(f"No such command: {verb}. Please use /usr/bin/yum --help")


def rpm_install_url(url):
    """`rpm -Uvh URL` of a package the catalog lists under repo `url`."""
    base = url.rsplit("/", 1)[-1].removesuffix(".rpm")
    inst = installed()
    for p in catalog():
        if p.repo == "url" and f"{p.name}-{p.ver}-{p.rel}.{p.arch}" == base:
            if p.name in inst:
                die(f"\tpackage {base} is already installed")
            inst[p.name] = p.evra
            apply_effects(p)
            save(inst)
            print("Updating / installing...")
            print(f"   1:{p.name}-{p.ver}-{p.rel}  ################################# [100%]")
            return
    die(f"error: skipping {url} - transfer failed")


if __name__ == "__main__":
    tool, args = sys.argv[1], sys.argv[2:]
    if tool == "yum":
        yum(args)
    elif tool == "rpm-url":
        rpm_install_url(args[0])
    else:
        die(f"pkg.py: unknown tool {tool}")
