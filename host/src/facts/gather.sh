# plait core facts, gathered in one round trip. Every spawned process costs
# on a busy host, so files are read with the shell's own `read`, each tool
# runs once and its raw output goes back in a section ("$B core NAME") that
# plait parses: no awk, sed or tr here. What the shell reads itself comes
# first and always; each group of facts that needs a tool is a function
# named after its section, called only when the step's plugin declared the
# group (gather.rs).
export LC_ALL=C
r() { v=; read -r v < "$2" 2>/dev/null; printf '%s=%s\n' "$1" "$v"; }
s() { printf '\n%s core %s\n' "$B" "$1"; }
r hostname /proc/sys/kernel/hostname
r boot_id /proc/sys/kernel/random/boot_id
r cpus_online /sys/devices/system/cpu/online
if [ -r /etc/os-release ]; then . /etc/os-release; fi
printf 'os_id=%s\nos_version=%s\nos_like=%s\npretty_name=%s\n' "${ID:-unknown}" "${VERSION_ID:-}" "${ID_LIKE:-}" "${PRETTY_NAME:-}"
r redhat_release /etc/redhat-release
f_uname() { s uname; uname -r -m 2>/dev/null; }
f_free() { s free; free -k 2>/dev/null; }
f_selinux() { s selinux; getenforce 2>/dev/null; }
f_firewalld() { s firewalld; systemctl show -p LoadState -p ActiveState -p UnitFileState firewalld 2>/dev/null; }
f_lsmod() { s lsmod; lsmod 2>/dev/null; }
f_sysctl() {
    s sysctl; sysctl net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables \
        net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6 net.ipv6.conf.lo.disable_ipv6 \
        net.ipv6.conf.all.forwarding vm.swappiness 2>/dev/null
}
# The source address of the default route, without sending anything.
f_route() { s route; ip -4 route get 1.0.0.0 2>/dev/null; }
