#!/usr/bin/env bash
# The pod's network carried into the VM, end to end through a private
# containerd: a pod namespace with a veth (169.254.0.0/16 addresses on both
# ends, no CNI), a container of the coco runtime started in it; from the
# veth's other end, ping the guest and fetch from a TCP server (busybox nc)
# inside the container; the guest sees the pod's address, route, neighbour
# and MTU; after the task is deleted the namespace is exactly as before and
# no tap is left.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../vmm/lib.sh"
export PATH="$PWD/$build/bin:$PATH"
class="$PWD/$build/config/dev.json"
img=docker.io/library/busybox:coco
pod="cocoe2e-pod-$$" peer="cocoe2e-peer-$$"
cleanup() {
	local rc=$?
	set +e
	ctr task kill -s KILL web >/dev/null 2>&1
	ctr task delete web >/dev/null 2>&1
	ctr container delete web >/dev/null 2>&1
	[[ $rc -ne 0 && -n "${CTRD_DIR:-}" ]] && grep -E "level=(error|warning)|coco" "$CTRD_DIR/containerd.log" | tail -n 20
	ctrd_stop
	libvirt_down
	ip netns del "$pod" 2>/dev/null
	ip netns del "$peer" 2>/dev/null
	exit "$rc"
}
trap cleanup EXIT
ctr() { command ctr --address "$CTRD_SOCK" -n coco "$@"; }
peer() { ip netns exec "$peer" "$@"; }

netns_pod_make "$pod" "$peer" 169.254.78
before=$(netns_snapshot "$pod")
libvirt_up
ctrd_start
python3 "$here/mkimage.py" "$CTRD_DIR/busybox.tar" "$img"
ctr image import "$CTRD_DIR/busybox.tar" >/dev/null

# a server answering each connection with what the guest knows of its network;
# resolv.conf is a host file bind-mounted read-only, as CRI does
printf 'nameserver 169.254.78.53\nsearch pod.example\n' >"$CTRD_DIR/resolv.conf"
ctr run -d --runtime io.containerd.coco.v2 --runtime-config-path "$class" \
	--with-ns "network:/run/netns/$pod" \
	--mount "type=bind,src=$CTRD_DIR/resolv.conf,dst=/etc/resolv.conf,options=rbind:ro" "$img" web \
	sh -c 'while true; do { echo "hello from the VM"; ip addr show eth0; ip route; ip -6 route; ip neigh; hostname;
		cat /etc/resolv.conf; echo x >/etc/resolv.conf 2>/dev/null || echo resolv-ro; } | nc -l -p 8080; done' >/dev/null
ok "a container starts in the pod's network namespace"

tap=$(ip -n "$pod" -o link show | awk -F': ' '{print $2}' | grep '^coco' | cut -d@ -f1 || true)
[[ -n "$tap" ]] && ok "the VM's tap $tap is in the pod namespace" || nok "no tap in the pod namespace"
tc -n "$pod" filter show dev eth0 ingress | grep -q "Egress Redirect to device $tap" &&
	ok "eth0 redirects to the tap" || nok "no redirect filter on eth0"

if out=$(peer busybox ping -c 3 -W 5 169.254.78.2 2>&1); then
	ok "the guest answers pings from the veth's other end ($(grep -o 'round-trip.*' <<<"$out"))"
else nok "ping: $out"; fi

got=
for _ in $(seq 30); do # the server may still be starting
	got=$(peer busybox nc -w 5 169.254.78.2 8080 2>/dev/null || true)
	[[ "$got" == *"hello from the VM"* ]] && break
	sleep 1
done
[[ "$got" == *"hello from the VM"* ]] && ok "TCP to a server in the container works" || nok "nc: '$got'"
mac=$(ip -n "$pod" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
[[ "$got" == *"inet 169.254.78.2/24"* && "$got" == *"mtu 1400"* && "$got" == *"$mac"* ]] &&
	ok "the guest's eth0 has the pod's address, MTU and MAC" || nok "guest eth0: $got"
[[ "$got" == *"inet6 fd00:78::2/64 scope global"* && "$got" == *"fd00:78::/64 dev eth0"* ]] &&
	ok "the guest has the pod's IPv6 address and route" || nok "guest IPv6: $got"
if out=$(peer busybox ping -6 -c 3 -W 5 fd00:78::2 2>&1); then
	ok "the guest answers IPv6 pings ($(grep -o 'round-trip.*' <<<"$out"))"
else nok "ping -6: $out"; fi
[[ "$got" == *"default via 169.254.78.1 dev eth0"* ]] && ok "the guest has the pod's default route" ||
	nok "guest routes: $got"
[[ "$got" == *"169.254.78.9 dev eth0 lladdr 02:00:00:00:77:09"* ]] &&
	ok "the guest has the pod's permanent neighbour" || nok "guest neighbours: $got"

[[ "$got" == *$'\nweb\n'* ]] && ok "without a hostname in the spec the sandbox id is the hostname" || nok "hostname: $got"
[[ "$got" == *"nameserver 169.254.78.53"*"search pod.example"* && "$got" == *resolv-ro* ]] &&
	ok "a host file bind mount (resolv.conf) is copied in and read-only" || nok "resolv.conf: $got"

ctr task kill -s KILL web >/dev/null
for _ in $(seq 100); do ctr task ls -q | grep -qx web || break; ctr task delete web >/dev/null 2>&1 || sleep 0.2; done
ctr container delete web >/dev/null
after=$(netns_snapshot "$pod")
if [[ "$before" == "$after" ]]; then ok "after delete the pod namespace is as CNI left it"; else
	nok "the pod namespace changed"; diff <(echo "$before") <(echo "$after") || true; fi
left=""
pgrep -f "guest=coco-" >/dev/null && left+=" qemu"
[[ -n "$(ip -o link show | grep ': coco' || true)" ]] && left+=" host-tap"
[[ -n "$(ls -A /run/coco 2>/dev/null || true)" ]] && left+=" run-dir"
[[ -z "$left" ]] && ok "nothing left (no QEMU, no tap, no run directory)" || nok "left:$left"

# a network namespace path that does not exist: a clear error, nothing left
rc=0
out=$(ctr run --rm --runtime io.containerd.coco.v2 --runtime-config-path "$class" \
	--with-ns "network:/run/netns/no-such-$$" "$img" nonet true 2>&1) || rc=$?
[[ $rc -ne 0 && "$out" == *"no-such-$$"* ]] && ok "a missing network namespace is named: $out" ||
	nok "missing netns: rc=$rc $out"
ctr container delete nonet >/dev/null 2>&1 || true
[[ -z "$(ip -o link show | grep ': coco' || true)" && -z "$(ls -A /run/coco 2>/dev/null || true)" ]] &&
	ok "... and nothing is left" || nok "left after a missing namespace"

echo "containerd network: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
