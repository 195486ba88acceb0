"""The workload as a pyinfra deploy: one server.shell operation per
(check, action), in order. The inventory comes from pyinfra_inventory.py.
The action is grouped (`{ ...; }`) before its output is discarded: an
action that appends to a file (`>> /etc/hosts`) must keep its own redirection."""
import os
import sys
from pathlib import Path

from pyinfra import host
from pyinfra.operations import server

sys.path.insert(0, str(Path(os.environ["PLAIT_BENCH_DIR"])))
import workload  # noqa: E402

hosts = [tuple(a.split("=", 1)) for a in os.environ["PLAIT_BENCH_HOSTS"].split()]
for step, items in workload.WORKLOADS[os.environ.get("PLAIT_BENCH_WORKLOAD", "prep")](host.name, hosts):
    for i, (check, action) in enumerate(items, 1):
        server.shell(name=f"{step} {i}", commands=[f"if ! {{ {check} ; }} >/dev/null 2>&1; then {{ {action} ; }} >/dev/null 2>&1; fi"])
