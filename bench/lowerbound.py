"""The lower bound: the workload's commands, one step at a time, over one
persistent OpenSSH ControlMaster connection per host, all hosts in
parallel. Runs in the fleet's controller namespace:
    lowerbound.py FLEET_DIR HOST=ADDRESS ..."""
import os
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import workload  # noqa: E402

fleet = Path(sys.argv[1])
steps_of = workload.WORKLOADS[os.environ.get("PLAIT_BENCH_WORKLOAD", "prep")]
hosts = [tuple(a.split("=", 1)) for a in sys.argv[2:]]
ssh = ["ssh", "-i", str(fleet / "id_ed25519"), "-o", f"UserKnownHostsFile={fleet / 'known_hosts'}", "-o", "StrictHostKeyChecking=yes",
       "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
failures = []


def run_host(name, addr):
    control = ["-o", f"ControlPath=/tmp/plait-lb-{addr}-%p"]
    subprocess.run(ssh + control + ["-o", "ControlMaster=yes", "-o", "ControlPersist=600", "-fN", f"root@{addr}"], check=True)
    try:
        for step, items in steps_of(name, hosts):
            r = subprocess.run(ssh + control + [f"root@{addr}", "sh -s"], input=workload.step_script(items), text=True, capture_output=True)
            if r.returncode != 0:
                failures.append(f"{name} {step}: exit {r.returncode} {r.stderr.strip()}")
                return
    finally:
        subprocess.run(ssh + control + ["-O", "exit", f"root@{addr}"], capture_output=True)


threads = [threading.Thread(target=run_host, args=h) for h in hosts]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
