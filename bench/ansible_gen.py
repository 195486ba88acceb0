"""Write an Ansible playbook, inventory and config for the workload:
    ansible_gen.py FLEET_DIR OUT_DIR HOST=ADDRESS ...
One `shell` task per (check, action), changed when the action ran; facts
gathered as a playbook would; pipelining on; forks = number of hosts."""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import workload  # noqa: E402

fleet, out = Path(sys.argv[1]), Path(sys.argv[2])
hosts = [tuple(a.split("=", 1)) for a in sys.argv[3:]]
out.mkdir(parents=True, exist_ok=True)
tasks = []
for step, items in workload.WORKLOADS[os.environ.get("PLAIT_BENCH_WORKLOAD", "prep")]("{{ inventory_hostname }}", hosts):
    for i, (check, action) in enumerate(items, 1):
        script = f"if ! {{ {check} ; }} >/dev/null 2>&1; then {{ {action} ; }} >/dev/null 2>&1 && echo CHANGED; else true; fi"
        tasks.append({"name": f"{step} {i}", "ansible.builtin.shell": script, "register": "r", "changed_when": "'CHANGED' in r.stdout"})
play = [{"hosts": "all", "gather_facts": True, "tasks": tasks}]
(out / "prep.yml").write_text(json.dumps(play, indent=1))  # JSON is YAML
(out / "inventory.ini").write_text("[all]\n" + "".join(f"{n} ansible_host={a}\n" for n, a in hosts))
(out / "ansible.cfg").write_text(
    f"""[defaults]
forks = {max(len(hosts), 5)}
inventory = {out / 'inventory.ini'}
remote_user = root
private_key_file = {fleet / 'id_ed25519'}
host_key_checking = True
interpreter_python = auto_silent
stdout_callback = default
retry_files_enabled = False

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={fleet / 'known_hosts'} -o StrictHostKeyChecking=yes
"""
)
