#!/usr/bin/env bash
# End to end: a private containerd 1.6 runs containers of the coco runtime in
# VMs (dev class: libvirt, QEMU TCG, virtio-serial) from a busybox image the
# test builds. After every case: no QEMU, no libvirt domain, no run directory,
# no shim socket left.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../vmm/lib.sh"
export PATH="$PWD/$build/bin:$PATH" # containerd finds containerd-shim-coco-v2 on its PATH
class="$PWD/$build/config/dev.json"
img=docker.io/library/busybox:coco
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
nok() { fail=$((fail + 1)); echo "not ok - $*"; }
EVENTS_PID=
cleanup() {
	local rc=$?
	set +e
	stop_pid "$EVENTS_PID"
	[[ $rc -ne 0 && -n "${CTRD_DIR:-}" ]] && grep -E "level=(error|warning)|coco" "$CTRD_DIR/containerd.log" | tail -n 20
	ctrd_stop
	libvirt_down
	exit "$rc"
}
trap cleanup EXIT
ctr() { command ctr --address "$CTRD_SOCK" -n coco "$@"; }
run() { ctr run --runtime io.containerd.coco.v2 --runtime-config-path "$class" --rm "$@"; }
nothing_left() { # what
	local left=""
	pgrep -f "guest=coco-" >/dev/null && left+=" qemu"
	[[ -n "$(virsh -c qemu:///system list --all --name | grep '^coco-' || true)" ]] && left+=" domain"
	[[ -n "$(ls -A /run/coco 2>/dev/null || true)" ]] && left+=" run-dir"
	[[ -n "$(ls -A /run/containerd/s 2>/dev/null || true)" ]] && left+=" shim-socket"
	[[ -z "$left" ]] && ok "nothing left after $1" || nok "left after $1:$left"
}

libvirt_up
ctrd_start
python3 "$here/mkimage.py" "$CTRD_DIR/busybox.tar" "$img"
ctr image import "$CTRD_DIR/busybox.tar" >/dev/null
ctr events >"$CTRD_DIR/events.out" 2>&1 &
EVENTS_PID=$!

out=$(run "$img" hello echo hello 2>&1) && [[ "$out" == hello ]] &&
	ok "ctr run ... echo hello prints hello" || nok "echo hello: $out"
nothing_left "echo hello"

rc=0; out=$(run "$img" exit3 sh -c 'echo out; echo err >&2; exit 3' 2>&1) || rc=$?
[[ $rc -eq 3 ]] && ok "sh -c 'exit 3' makes ctr exit 3" || nok "exit status $rc ($out)"
[[ "$out" == *out* && "$out" == *err* ]] && ok "stdout and stderr arrive" || nok "output: $out"
sleep 0.5
order=$(grep -E " /tasks/" "$CTRD_DIR/events.out" | grep -E '"(container_id|id)":"exit3"' | awk '{print $6}' | tr '\n' ' ')
[[ "$order" == "/tasks/create /tasks/start /tasks/exit /tasks/delete " ]] &&
	ok "events in order: $order" || nok "events: $order"
nothing_left "exit 3"

bad=$(printf 'version = "0.1.0"\nalgorithm = "md5"\n' | gzip -n | base64 -w0)
rc=0; out=$(run --annotation "io.katacontainers.config.hypervisor.cc_init_data=$bad" "$img" badinit true 2>&1) || rc=$?
[[ $rc -ne 0 && "$out" == *'unknown algorithm "md5"'* ]] &&
	ok "malformed initdata fails the pod with the reason: ${out##*: }" || nok "bad initdata: rc=$rc $out"
nothing_left "bad initdata"

echo "containerd with the coco runtime: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
