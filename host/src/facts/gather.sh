# plait core facts, gathered in one round trip. Prints key=value lines; the
# probe results that follow are delimited by "$1" (a random boundary).
export LC_ALL=C
f() { printf '%s=%s\n' "$1" "$2" | tr -d '\r'; }
f hostname "$(hostname 2>/dev/null)"
if [ -r /etc/os-release ]; then . /etc/os-release; fi
f os_id "${ID:-unknown}"
f os_version "${VERSION_ID:-}"
f os_like "${ID_LIKE:-}"
f os_release "$(cat /etc/redhat-release 2>/dev/null || echo "${PRETTY_NAME:-}")"
# One process per fact source: on a busy host every spawned command counts.
set -- $(uname -r -m)
f kernel_release "$1"
f arch "$2"
f cpus "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
free -k 2>/dev/null | awk '/^Mem:/ {print "memory_kb=" $2} /^Swap:/ {print "swap_kb=" $2}'
f selinux "$(getenforce 2>/dev/null || echo Disabled)"
f firewalld_active "$(systemctl is-active firewalld 2>/dev/null)"
f firewalld_enabled "$(systemctl is-enabled firewalld 2>/dev/null)"
f modules "$(lsmod 2>/dev/null | awk 'NR > 1 {printf "%s ", $1}')"
sysctl net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables \
       net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6 net.ipv6.conf.lo.disable_ipv6 \
       net.ipv6.conf.all.forwarding vm.swappiness 2>/dev/null | sed -n 's/^\([^ =]*\) = \(.*\)$/sysctl.\1=\2/p'
dev=$(ip -4 route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')
[ -n "$dev" ] && f primary_ipv4 "$(ip -4 -o addr show dev "$dev" 2>/dev/null | awk '{split($4, a, "/"); print a[1]; exit}')"
f boot_id "$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
