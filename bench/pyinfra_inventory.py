"""pyinfra inventory of the benchmark fleet (PLAIT_BENCH_FLEET, PLAIT_BENCH_HOSTS)."""
import os

fleet = os.environ["PLAIT_BENCH_FLEET"]
hosts = [
    (name, {"ssh_hostname": addr, "ssh_user": "root", "ssh_key": f"{fleet}/id_ed25519", "ssh_known_hosts_file": f"{fleet}/known_hosts", "ssh_strict_host_key_checking": "yes"})
    for name, addr in (a.split("=", 1) for a in os.environ["PLAIT_BENCH_HOSTS"].split())
]
