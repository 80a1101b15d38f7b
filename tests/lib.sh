# Helpers every test script shares.
# shellcheck shell=bash

# Results, one line each: ok and nok count; check runs a command as the test.
# A script ends with: echo "...: $pass passed, $fail failed"; [[ $fail -eq 0 ]]
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else nok "$what"; fi
}

# Stop a process: TERM, up to 5 s, then KILL; reap it when it is our child.
stop_pid() {
	local pid=$1
	[[ -n "$pid" ]] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# The median of numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A pod network namespace as CNI would leave it, without CNI: NAME gets eth0
# (MTU 1400, PREFIX.2/24 and fd00:N::2/64 where N is PREFIX's last number,
# default route via PREFIX.1, a permanent neighbour PREFIX.9), whose veth
# peer peer0 (PREFIX.1/24, fd00:N::1/64) sits in namespace PEER.
#   netns_pod_make NAME PEER PREFIX      e.g. PREFIX=169.254.77
netns_pod_make() {
	local pod=$1 peer=$2 net=$3 ns
	ip netns add "$pod"
	ip netns add "$peer"
	for ns in "$pod" "$peer"; do # no IPv6 duplicate detection: snapshots stay comparable
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	done
	ip -n "$pod" link add eth0 type veth peer name peer0 netns "$peer"
	ip -n "$pod" link set eth0 mtu 1400 up
	ip -n "$peer" link set peer0 mtu 1400 up
	ip -n "$pod" link set lo up
	ip -n "$pod" addr add "$net.2/24" dev eth0
	ip -n "$peer" addr add "$net.1/24" dev peer0
	local v6="fd00:${net##*.}" # a unique local /64 beside the IPv4 /24 (dual stack, as CNI may set up)
	ip -n "$pod" addr add "$v6::2/64" dev eth0 nodad
	ip -n "$peer" addr add "$v6::1/64" dev peer0 nodad
	ip -n "$pod" route add default via "$net.1"
	ip -n "$pod" neigh add "$net.9" lladdr 02:00:00:00:77:09 dev eth0 nud permanent
}

# Links, qdiscs, eth0's ingress filters, addresses, routes and permanent
# neighbours of a namespace, to compare before and after.
netns_snapshot() {
	local ns=$1
	{
		ip -n "$ns" -d link show | sed 's/ qdisc [a-z_]* / /' # qdisc is reported separately
		tc -n "$ns" qdisc show
		tc -n "$ns" filter show dev eth0 ingress
		ip -n "$ns" addr show
		ip -n "$ns" route show
		ip -n "$ns" neigh show nud permanent
	} 2>&1
}
