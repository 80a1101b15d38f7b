#!/usr/bin/env bash
# TCP throughput into a container through the pod's network namespace: from
# the far end of the pod's veth to `nc -l` in a coco container (VM, tap, tc
# redirect), beside the same into a runc container in an identical namespace,
# in the same run. Prints MB/s for each and the ratio coco / runc.
#   network.sh BUILD     MB=32 RUNS=3 by default
set -euo pipefail
build=${1:-build}
runs=${RUNS:-3}
mb=${MB:-32}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../containerd/lib.sh"
. "$here/../vmm/lib.sh"
export PATH="$PWD/$build/bin:$PATH"
class="$PWD/$build/config/dev.json"
img=docker.io/library/busybox:coco
cleanup() {
	set +e
	for c in netcoco netrunc; do ctr task kill -s 9 $c >/dev/null 2>&1; done
	sleep 1
	for c in netcoco netrunc; do ctr task rm -f $c >/dev/null 2>&1; ctr c rm $c >/dev/null 2>&1; done
	ctrd_stop
	libvirt_down
	for n in coco runc; do ip netns del "bench-$n-$$" 2>/dev/null; ip netns del "bench-$n-peer-$$" 2>/dev/null; done
}
trap cleanup EXIT
ctr() { command ctr --address "$CTRD_SOCK" -n bench "$@"; }

netns_pod_make "bench-coco-$$" "bench-coco-peer-$$" 169.254.81
netns_pod_make "bench-runc-$$" "bench-runc-peer-$$" 169.254.82
libvirt_up
ctrd_start
python3 "$here/../containerd/mkimage.py" "$CTRD_DIR/busybox.tar" "$img"
ctr image import "$CTRD_DIR/busybox.tar" >/dev/null
server='while true; do nc -l -p 8080 >/dev/null; done'
ctr run -d --runtime io.containerd.coco.v2 --runtime-config-path "$class" \
	--with-ns "network:/run/netns/bench-coco-$$" "$img" netcoco sh -c "$server" >/dev/null
ctr run -d --runtime io.containerd.runc.v2 \
	--with-ns "network:/run/netns/bench-runc-$$" "$img" netrunc sh -c "$server" >/dev/null

# MB/s of one transfer: connect (retrying while the server starts), send, half-close, wait for EOF
send() { # peer-namespace address
	ip netns exec "$1" /usr/bin/python3 - "$2" "$mb" <<'PY'
import socket, sys, time
addr, mb = sys.argv[1], int(sys.argv[2])
buf = b"\0" * (1 << 16)
for _ in range(300):
    try:
        s = socket.create_connection((addr, 8080), timeout=60)
        break
    except OSError:
        time.sleep(0.2)
t0 = time.monotonic()
for _ in range(mb * 16):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print("%.1f" % (mb / (time.monotonic() - t0)))
PY
}
for i in $(seq "$runs"); do send "bench-coco-peer-$$" 169.254.81.2; done | median >"$CTRD_DIR/coco.mbs"
for i in $(seq "$runs"); do send "bench-runc-peer-$$" 169.254.82.2; done | median >"$CTRD_DIR/runc.mbs"
coco=$(cat "$CTRD_DIR/coco.mbs") runc=$(cat "$CTRD_DIR/runc.mbs")
printf '\nTCP into a container through the pod network namespace (%d MiB, median of %d)\n' "$mb" "$runs"
printf '  %-44s %8s MB/s\n' "runc container (veth)" "$runc"
printf '  %-44s %8s MB/s\n' "coco container (veth, tc redirect, tap, VM)" "$coco"
printf '  %-44s %8.3f\n' "ratio coco / runc" "$(echo "$coco / $runc" | bc -l)"
printf '  (the guest runs under TCG here; KVM with vhost-net is what production uses)\n'
