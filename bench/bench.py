"""plait against Ansible, pyinfra and the raw-SSH lower bound on the simulated
fleet. For each fleet size and each run: a fresh fleet per contender, the
workload on fresh hosts (first run), then again on the converged hosts
(second run). Reports wall time (min / median), the controller's CPU seconds
(user + sys of the tool's process tree) and peak RSS (largest process), as a
markdown table, JSON, and a PNG chart in the run folder.

Usage (as root, from the repository root; bench/run sets everything up):
    python3 bench/bench.py --hosts 1,10 --runs 3 [--contenders plait,lower-bound,pyinfra,ansible] [--out DIR]
    python3 bench/bench.py --light --workload scale --hosts 100,300,1000 --runs 1

--light starts light fleets (tests/fleet/fleet up --light: up to 1000 hosts);
--workload scale runs workflows/bench-scale.toml (os-prep and bridge-net)
and its equivalent in the other contenders. Every run also reports the
controller's peak open file descriptors (its process tree, sampled), the
controller CPU per host, and the processes each contender starts on a host
(sampled hosts' PID namespaces: ns_last_pid before and after the run), and
checks that every host converged.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "tests/fleet/fleet"
VENV = ROOT / "target/benchvenv/bin"


def fleet_hosts(fleet_dir):
    env = {}
    for line in (fleet_dir / "fleet.env").read_text().splitlines():
        k, _, v = line.partition("=")
        env[k] = v.strip('"')
    return [(h, (fleet_dir / "hosts" / h / "address").read_text().strip()) for h in env["HOSTS"].split()]


def tree_fds(root_pid):
    """Open file descriptors of `root_pid` and its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
        todo.extend(children.get(pid, []))
    return total


def timed(cmd, env=None, cwd=ROOT):
    """Run cmd; wall seconds, user+sys of its process tree, peak RSS (MiB),
    peak open descriptors of its tree (sampled twice a second), output."""
    import threading
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.5):
            peak[0] = max(peak[0], tree_fds(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    done.set()
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mib": ru.ru_maxrss / 1024, "fds": peak[0], "code": code, "output": out}


def last_pid(fleet_dir, host):
    """The last PID the host's PID namespace handed out (reading it starts
    one process there: nsenter's child)."""
    r = subprocess.run([str(FLEET), "exec", str(fleet_dir), host, "cat", "/proc/sys/kernel/ns_last_pid"], capture_output=True, text=True, check=True)
    return int(r.stdout.strip())


def sampled(hosts, k=5):
    """Up to k hosts spread over the fleet (first and last included)."""
    if len(hosts) <= k:
        return hosts
    return [hosts[round(i * (len(hosts) - 1) / (k - 1))] for i in range(k)]


def contender_cmd(name, fleet_dir, access, hosts, work, workload="prep", light=False):
    """The command line of one contender. `access` holds the key, known_hosts
    and inventory.toml to reach `hosts` (the fleet itself, or its proxied view)."""
    ctl = [str(FLEET), "ctl", str(fleet_dir)]
    spec = [f"{n}={a}" for n, a in hosts]
    env = dict(os.environ)
    env["PLAIT_BENCH_WORKLOAD"] = workload
    if name == "plait":
        # Light (scale) runs use plait's defaults (--forks 50, --connect-rate
        # 100): with every host at once, a thousand hosts sharing two cores
        # answer SSH handshakes of later hosts after the 15 s connect timeout.
        forks = [] if light else ["--forks", str(max(len(hosts), 1))]
        return ctl + [str(ROOT / "target/release/plait"), "run", f"workflows/bench-{workload}.toml", "-i", str(access / "inventory.toml"),
                      "--state-dir", str(work / "plait-state")] + forks, env
    if name == "lower-bound":
        return ctl + [sys.executable, str(ROOT / "bench/lowerbound.py"), str(access)] + spec, env
    if name == "pyinfra":
        env.update({"PLAIT_BENCH_DIR": str(ROOT / "bench"), "PLAIT_BENCH_FLEET": str(access), "PLAIT_BENCH_HOSTS": " ".join(spec)})
        return ctl + [str(VENV / "pyinfra"), "-y", str(ROOT / "bench/pyinfra_inventory.py"), str(ROOT / "bench/pyinfra_deploy.py")], env
    if name == "ansible":
        adir = work / "ansible"
        subprocess.run([sys.executable, str(ROOT / "bench/ansible_gen.py"), str(access), str(adir)] + spec, check=True)
        env["ANSIBLE_CONFIG"] = str(adir / "ansible.cfg")
        env["ANSIBLE_LOCAL_TEMP"] = str(work / "ansible-tmp")
        env["ANSIBLE_HOME"] = str(work / "ansible-home")
        return ctl + [str(VENV / "ansible-playbook"), str(adir / "prep.yml")], env
    raise SystemExit(f"unknown contender {name}")


def proxied(fleet_dir, hosts, latency_ms, work):
    """Start the delay proxy in the fleet's controller namespace, one loopback
    address per host (127.0.1.i:22 -> host:22, half the added round trip each
    way), and write the files to reach the hosts through it. Returns the
    proxy process, the access folder and the proxied host list."""
    access = work / "proxied"
    access.mkdir(exist_ok=True)
    via = [(n, f"127.0.1.{i + 1}") for i, (n, _) in enumerate(hosts)]
    pairs = [f"{p}:22={a}:22" for (_, a), (_, p) in zip(hosts, via)]
    proxy = subprocess.Popen([str(FLEET), "ctl", str(fleet_dir), str(ROOT / "target/release/delay-proxy"), str(latency_ms // 2)] + pairs,
                             stdout=subprocess.PIPE, text=True)
    if proxy.stdout.readline().strip() != "ready":
        raise SystemExit("delay-proxy did not start")
    real = dict(hosts)
    keys = [line.split(" ", 1) for line in (fleet_dir / "known_hosts").read_text().splitlines() if line.strip()]
    by_addr = {}
    for addr, key in keys:
        by_addr.setdefault(addr, []).append(key)
    (access / "known_hosts").write_text("".join(f"{p} {k}\n" for n, p in via for k in by_addr[real[n]]))
    inv = (fleet_dir / "inventory.toml").read_text().replace(str(fleet_dir / "known_hosts"), str(access / "known_hosts"))
    for (n, a), (_, p) in zip(hosts, via):
        inv = inv.replace(f'address = "{a}"', f'address = "{p}"')
    (access / "inventory.toml").write_text(inv)
    key = access / "id_ed25519"
    key.unlink(missing_ok=True)
    key.symlink_to(fleet_dir / "id_ed25519")
    return proxy, access, via


def one(name, n, work, latency_ms, light=False, workload="prep"):
    fleet_dir = work / f"fleet-{name}"
    subprocess.run([str(FLEET), "down", str(fleet_dir)], capture_output=True)
    subprocess.run([str(FLEET), "up", str(fleet_dir), str(n)] + (["--light"] if light else []), check=True, capture_output=True)
    proxy = None
    try:
        hosts = fleet_hosts(fleet_dir)
        access, reach = fleet_dir, hosts
        if latency_ms:
            proxy, access, reach = proxied(fleet_dir, hosts, latency_ms, work)
        result = {}
        probes = sampled(hosts)
        for phase in ("first", "second"):
            cmd, env = contender_cmd(name, fleet_dir, access, reach, work, workload, light)
            before = {h: last_pid(fleet_dir, h) for h, _ in probes}
            r = timed(cmd, env)
            if r["code"] != 0:
                # A peer that fails at this size is a result too (pyinfra#1498: a crash at 715 hosts).
                print(f"{name} ({n} hosts, {phase} run) failed with exit code {r['code']}:\n{r['output'][-3000:]}", file=sys.stderr)
                return {**result, "failed": f"{phase} run: exit code {r['code']}: {r['output'][-300:]}"}
            # Processes started per host: the PIDs handed out meanwhile, less
            # the one the reading itself takes.
            started = [last_pid(fleet_dir, h) - before[h] - 1 for h, _ in probes]
            result[phase] = {k: r[k] for k in ("wall", "cpu", "rss_mib", "fds")}
            result[phase]["host_procs"] = statistics.mean(started)
        # Every host must be converged the same way by every contender.
        check = __import__("workload").CONVERGED[workload]
        bad = [h for h, _ in hosts
               if subprocess.run([str(FLEET), "exec", str(fleet_dir), h, "sh", "-c", check, "sh", h], capture_output=True).returncode != 0]
        result["converged"] = not bad
        if bad:
            raise SystemExit(f"{name} ({n} hosts) exited 0 but did not converge {len(bad)} hosts ({', '.join(bad[:5])}): its numbers would mean nothing")
        return result
    finally:
        if proxy:
            proxy.terminate()
            proxy.wait()
        subprocess.run([str(FLEET), "down", str(fleet_dir)], capture_output=True)


def table(results, contenders, sizes):
    lines = ["| hosts | contender | first run wall min / median (s) | second run wall min / median (s) | controller CPU first / second (s) | CPU per host first / second (ms) | peak RSS (MiB) | peak open fds | processes per host first / second | first / second vs lower bound |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        lb = [r for r in results.get(f"{n}/lower-bound", []) if "failed" not in r]
        for c in contenders:
            failed = [r["failed"] for r in results.get(f"{n}/{c}", []) if "failed" in r]
            runs = [r for r in results.get(f"{n}/{c}", []) if "failed" not in r]
            if failed and not runs:
                lines.append(f"| {n} | {c} | failed: {failed[0][:80].replace('|', '/').splitlines()[0] if failed[0] else ''} | | | | | | | |")
                continue
            if not runs:
                continue
            f = [r["first"]["wall"] for r in runs]
            s = [r["second"]["wall"] for r in runs]
            cpu_f = statistics.median(r["first"]["cpu"] for r in runs)
            cpu_s = statistics.median(r["second"]["cpu"] for r in runs)
            rss = max(max(r["first"]["rss_mib"], r["second"]["rss_mib"]) for r in runs)
            fds = max(max(r["first"].get("fds", 0), r["second"].get("fds", 0)) for r in runs)
            procs = [statistics.median(r[p].get("host_procs", float("nan")) for r in runs) for p in ("first", "second")]
            ratio = "—"
            if lb:
                lf = statistics.median(r["first"]["wall"] for r in lb)
                ls = statistics.median(r["second"]["wall"] for r in lb)
                ratio = f"{statistics.median(f) / lf:.2f}× / {statistics.median(s) / ls:.2f}×"
            lines.append(f"| {n} | {c} | {min(f):.2f} / {statistics.median(f):.2f} | {min(s):.2f} / {statistics.median(s):.2f} | {cpu_f:.2f} / {cpu_s:.2f} | "
                         f"{1000 * cpu_f / n:.1f} / {1000 * cpu_s / n:.1f} | {rss:.0f} | {fds} | {procs[0]:.0f} / {procs[1]:.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def peers_table(results, contenders, sizes):
    """Every contender against every other: median wall and CPU ratios."""
    med = lambda runs, phase, k: statistics.median(r[phase][k] for r in runs)
    lines = ["| hosts | A vs B | wall B/A first | wall B/A second | controller CPU B/A first | controller CPU B/A second |",
             "|---:|---|---:|---:|---:|---:|"]
    for n in sizes:
        for i, a in enumerate(contenders):
            for b in contenders[i + 1:]:
                ra = [r for r in results.get(f"{n}/{a}", []) if "failed" not in r]
                rb = [r for r in results.get(f"{n}/{b}", []) if "failed" not in r]
                if not ra or not rb:
                    continue
                cells = [f"{med(rb, p, 'wall') / med(ra, p, 'wall'):.2f}×" for p in ("first", "second")]
                cells += [f"{med(rb, p, 'cpu') / max(med(ra, p, 'cpu'), 1e-3):.1f}×" for p in ("first", "second")]
                lines.append(f"| {n} | {a} vs {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(results, contenders, sizes, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (bench/run installs it)", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, phase in zip(axes, ("first", "second")):
        for c in contenders:
            ok = {n: [r for r in results.get(f"{n}/{c}", []) if "failed" not in r] for n in sizes}
            xs = [n for n in sizes if ok[n]]
            ys = [statistics.median(r[phase]["wall"] for r in ok[n]) for n in xs]
            if xs:
                ax.plot(xs, ys, marker="o", label=c)
        ax.set_title(f"{phase} run (median wall time)")
        ax.set_xlabel("hosts")
        ax.set_ylabel("seconds")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="1,10", help="fleet sizes, comma-separated (issue: 1,10,30,50)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--contenders", default="plait,lower-bound,pyinfra,ansible")
    ap.add_argument("--latency-ms", type=int, default=0, help="added round-trip time on every SSH connection (through bench/delay-proxy)")
    ap.add_argument("--from-json", default=None, help="only render table.md and chart.png again from this results.json (into its folder)")
    ap.add_argument("--out", default=None, help="run folder (default target/bench/<timestamp>)")
    ap.add_argument("--light", action="store_true", help="light fleets (tests/fleet/fleet up --light), up to 1000 hosts")
    ap.add_argument("--workload", default="prep", choices=["prep", "scale"], help="prep: bench-prep.toml (host preparation); scale: bench-scale.toml (os-prep, bridge-net)")
    ap.add_argument("--ansible-max", type=int, default=100, help="largest fleet Ansible runs against (it takes minutes per run beyond)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.hosts.split(",")]
    contenders = a.contenders.split(",")
    out = (Path(a.out) if a.out else ROOT / "target/bench" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    if a.from_json:
        out = Path(a.from_json).parent
    out.mkdir(parents=True, exist_ok=True)
    results = json.loads(Path(a.from_json).read_text()) if a.from_json else {}
    for n in ([] if a.from_json else sizes):
        for run in range(a.runs):
            for c in contenders:
                if c == "ansible" and n > a.ansible_max:
                    continue
                r = one(c, n, out, a.latency_ms, a.light, a.workload)
                results.setdefault(f"{n}/{c}", []).append(r)
                # Written after every contender: a long matrix cut short keeps what it measured.
                (out / "results.json").write_text(json.dumps(results, indent=1))
                if "failed" in r:
                    print(f"{n:>3} hosts  run {run + 1}  {c:<12} FAILED {r['failed'][:200]}", flush=True)
                    continue
                print(f"{n:>3} hosts  run {run + 1}  {c:<12} first {r['first']['wall']:6.2f} s  second {r['second']['wall']:6.2f} s  "
                      f"cpu {r['first']['cpu']:.2f}/{r['second']['cpu']:.2f} s  rss {max(r['first']['rss_mib'], r['second']['rss_mib']):.0f} MiB  "
                      f"fds {max(r['first']['fds'], r['second']['fds'])}  host procs {r['first']['host_procs']:.0f}/{r['second']['host_procs']:.0f}  converged={r['converged']}", flush=True)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    header = (f"Machine: {os.cpu_count()} × {cpu}, {mem_gib:.0f} GiB; the simulated hosts share these cores with the controller.\n"
              f"Workload: {a.workload}; fleet: {'light' if a.light else 'full'}.\n"
              f"Added round-trip time: {a.latency_ms} ms{' (bench/delay-proxy on every SSH connection)' if a.latency_ms else ''}. "
              f"Runs per row: {max((len(v) for v in results.values()), default=0)}. Wall min / median over the runs; CPU is the median.\n\n")
    md = header + table(results, contenders, sizes) + "\nB/A: how many times more B takes than A (above 1: A is faster / cheaper).\n\n" + peers_table(results, contenders, sizes)
    (out / "table.md").write_text(md)
    chart(results, contenders, sizes, out / "chart.png")
    print()
    print(md)
    print(f"results in {out}")


if __name__ == "__main__":
    main()
