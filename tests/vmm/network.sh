#!/usr/bin/env bash
# The pod-network plumbing (vmm/network.c) on real namespaces, without a VM:
# a pod namespace with a veth (link-local addresses, a default route, a
# permanent neighbour) whose peer sits in a second namespace. Checks what is
# described for the agent, the tap and tc redirect filters made, that traffic
# from the peer is stolen into the tap, and that teardown leaves the pod
# namespace exactly as it was, also when a qdisc was there before, when the
# namespace is gone first, and after each bad input.
#   network.sh BUILD
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
plumb="$build/tests/net-plumb"
pod="cocotest-pod-$$" peer="cocotest-peer-$$"
work=$(mktemp -d)

cleanup() {
	local rc=$?
	set +e
	"$plumb" down "$work/run" >/dev/null 2>&1
	ip netns del "$pod" 2>/dev/null
	ip netns del "$peer" 2>/dev/null
	for l in $(ip -o link show | awk -F': ' '{print $2}' | grep '^coco' | cut -d@ -f1); do
		[[ "$l" == "$tap" ]] && ip link del "$l"
	done
	rm -rf "$work"
	exit "$rc"
}
tap=
trap cleanup EXIT

make_pod() { netns_pod_make "$pod" "$peer" 169.254.77; }
snapshot() { netns_snapshot "$pod"; }
host_taps() { ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -c "^$1\$" || true; }

make_pod
mkdir -p "$work/run"
before=$(snapshot)
sb="sandbox-$$"

# what the agent will be told
desc=$("$plumb" describe "/run/netns/$pod")
mac=$(ip -n "$pod" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
check "describe: eth0 with its MAC, MTU 1400, 169.254.77.2/24 and fd00:77::2/64 (no link-local)" \
	/usr/bin/python3 -c '
import json, sys
d = json.loads(sys.argv[1]); i = d["interfaces"]
assert [x["name"] for x in i] == ["eth0"], i
e = i[0]
assert e["hwAddr"] == sys.argv[2] and e["mtu"] == 1400, e
assert {"family": 0, "address": "169.254.77.2", "mask": "24"} in e["IPAddresses"], e
assert {"family": 1, "address": "fd00:77::2", "mask": "64"} in e["IPAddresses"], e
assert not [a for a in e["IPAddresses"] if a["address"].startswith("fe80")], e
r = d["routes"]
assert any(x["dest"] == "" and x["gateway"] == "169.254.77.1" and x["device"] == "eth0" for x in r), r
assert any(x["dest"] == "169.254.77.0/24" and x["gateway"] == "" for x in r), r
assert any(x["dest"] == "fd00:77::/64" and x["family"] == 1 for x in r), r
assert not [x for x in r if x["dest"].startswith("fe80")], r
n = d["neighbors"]
assert n == [{"toIPAddress": {"family": 0, "address": "169.254.77.9", "mask": "32"},
              "device": "eth0", "lladdr": "02:00:00:00:77:09", "state": 128, "flags": 0}], n
' "$desc" "$mac"

# up: a tap in the pod namespace, joined to eth0 both ways
out=$("$plumb" up "/run/netns/$pod" "$work/run" "$sb")
tap=$(awk '{print $2}' <<<"$out")
check "up: one tap for eth0 with eth0's MAC and MTU ($out)" \
	test "$(awk '{print $1, $3, $4}' <<<"$out")" = "eth0 $mac 1400"
check "up: the tap is in the pod namespace, not here" \
	bash -c "ip -n '$pod' link show '$tap' >/dev/null && [[ \$(ip -o link show | grep -c ': $tap[:@]') == 0 ]]"
check "up: eth0's ingress redirects to the tap" \
	bash -c "tc -n '$pod' filter show dev eth0 ingress | grep -q 'Egress Redirect to device $tap'"
check "up: the tap's ingress redirects to eth0" \
	bash -c "tc -n '$pod' filter show dev '$tap' ingress | grep -q 'Egress Redirect to device eth0'"
check "up: state recorded in network.json" test -s "$work/run/network.json"
# what QEMU would read from the tap: attach to it in the pod namespace
ip netns exec "$pod" /usr/bin/python3 -c '
import fcntl, os, select, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0002 | 0x1000))  # TUNSETIFF: TAP, NO_PI
open(sys.argv[2], "w").close()
end = time.time() + 8
while time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        f = os.read(fd, 65536)
        if f[12:14] == b"\x08\x06" and f[38:42] == bytes([169, 254, 77, 2]):
            print("arp-for-pod"); break
' "$tap" "$work/reader-ready" >"$work/frames" &
reader=$!
for _ in $(seq 50); do [[ -e "$work/reader-ready" ]] && break; sleep 0.1; done
if ip netns exec "$peer" busybox ping -c 2 -W 1 169.254.77.2 >/dev/null 2>&1; then
	nok "the pod namespace's own stack still answers pings"
else ok "pings to 169.254.77.2 no longer reach the pod namespace's stack"; fi
wait "$reader" || true
check "the peer's ARP request for 169.254.77.2 comes out of the tap" grep -q arp-for-pod "$work/frames"

# down: exactly as before
"$plumb" down "$work/run"
after=$(snapshot)
if [[ "$before" == "$after" ]]; then ok "down: the pod namespace is as CNI left it"; else
	nok "down: the pod namespace changed"; diff <(echo "$before") <(echo "$after") || true; fi
check "down: no tap anywhere, no state" \
	bash -c "! ip -n '$pod' link show '$tap' 2>/dev/null && [[ $(host_taps "$tap") == 0 ]] && [[ ! -e '$work/run/network.json' ]]"
check "the pod answers pings again" bash -c "ip netns exec $peer busybox ping -c 3 -W 3 169.254.77.2 >/dev/null"

# an ingress qdisc that was there before stays
tc -n "$pod" qdisc add dev eth0 ingress
before_q=$(snapshot)
"$plumb" up "/run/netns/$pod" "$work/run" "$sb" >/dev/null
"$plumb" down "$work/run"
check "down keeps an ingress qdisc it did not add" test "$before_q" = "$(snapshot)"
tc -n "$pod" qdisc del dev eth0 ingress

# the namespace deleted before teardown (kubelet's order after a crash)
"$plumb" up "/run/netns/$pod" "$work/run" "$sb" >/dev/null
ip netns del "$pod"
check "down after the namespace is gone succeeds" "$plumb" down "$work/run"
check "... and leaves no tap here" test "$(host_taps "$tap")" = 0
ip netns del "$peer"
make_pod

# bad inputs: a clear error, nothing left
err=$("$plumb" up /run/netns/no-such-ns-$$ "$work/run" "$sb" 2>&1) && nok "a missing namespace is refused" ||
	check "a missing namespace is named in the error ($err)" grep -q "no-such-ns-$$.*linux.namespaces" <<<"$err"
check "... no tap and no state left" bash -c "[[ $(host_taps "$tap") == 0 && ! -e '$work/run/network.json' ]]"
err=$("$plumb" up "/run/netns/$pod" "$work/no-such-dir" "$sb" 2>&1) && nok "an unwritable state is refused" ||
	check "an unwritable state is an error ($err)" grep -q "no-such-dir/network.json" <<<"$err"
check "... and the tap it had made is removed" test "$(host_taps "$tap")" = 0
ip link add "$tap" type veth peer name "${tap}p"
err=$("$plumb" up "/run/netns/$pod" "$work/run" "$sb" 2>&1) && nok "a name clash is refused" ||
	check "a name clash says what to remove ($err)" grep -q "ip link del $tap" <<<"$err"
"$plumb" down "$work/run"
check "... the clashing link is not ours and stays; the pod namespace is untouched" \
	bash -c "ip link show '$tap' >/dev/null && ! ip -n '$pod' -o link | grep -q ': coco'"
ip link del "$tap"

echo "network plumbing: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
