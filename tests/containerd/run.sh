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

sed 's/"transport": "virtio-serial"/"transport": "vsock"/' "$class" >"$CTRD_DIR/vsock.json"
rc=0; out=$(ctr run --runtime io.containerd.coco.v2 --runtime-config-path "$CTRD_DIR/vsock.json" --rm "$img" vsock true 2>&1) || rc=$?
[[ $rc -ne 0 && "$out" == *'agent.transport "vsock" is not wired in the shim yet'* ]] &&
	ok "a class asking for the vsock channel is refused with the reason" || nok "vsock class: rc=$rc $out"
nothing_left "a vsock class"

# Out of memory: the kernel in the guest kills, containerd hears /tasks/oom.
rc=0; out=$(run --memory-limit 33554432 "$img" oom sh -c 'awk "BEGIN{s=\"x\"; while (1) s = s s}"; echo "awk: $?"' 2>&1) || rc=$?
[[ "$out" == *"awk: 137"* ]] && ok "a container over its memory limit is OOM-killed" || nok "oom: rc=$rc $out"
sleep 0.5
order=$(grep -E " /tasks/" "$CTRD_DIR/events.out" | grep -E '"(container_id|id)":"oom"' | awk '{print $6}' | tr '\n' ' ')
[[ "$order" == "/tasks/create /tasks/start /tasks/oom /tasks/exit /tasks/delete " ]] &&
	ok "the oom event comes between start and exit" || nok "oom events: $order"

# The pod's size from kata's annotations, within the class's limits.
out=$(run --annotation io.katacontainers.config.hypervisor.default_vcpus=2 \
	--annotation io.katacontainers.config.hypervisor.default_memory=768 "$img" sized \
	sh -c 'nproc; grep MemTotal /proc/meminfo' 2>&1)
[[ "$out" == 2* && "$out" == *MemTotal* ]] && ok "default_vcpus=2 gives the VM 2 vCPUs ($(echo $out | tr '\n' ' '))" || nok "sizing: $out"
rc=0; out=$(run --annotation io.katacontainers.config.hypervisor.default_vcpus=64 "$img" toobig true 2>&1) || rc=$?
[[ $rc -ne 0 && "$out" == *"allows at most"* ]] && ok "a pod asking for more vCPUs than the class allows is refused" || nok "too big: rc=$rc $out"
nothing_left "sizing"

# A detached task: exec, stdin, ps, kill.
runbg() { # [--annotation K=V]... ID CMD...
	local opts=()
	while [[ "$1" == --* ]]; do opts+=("$1" "$2"); shift 2; done
	ctr run -d --runtime io.containerd.coco.v2 --runtime-config-path "$class" "${opts[@]}" "$img" "$@"
}
rmtask() { ctr task rm -f "$1" >/dev/null 2>&1 || true; ctr c rm "$1" >/dev/null 2>&1 || true; }
runbg bg sleep 1000 >/dev/null
rc=0; out=$(ctr task exec --exec-id e1 bg sh -c 'echo exec-out; hostname; exit 5' 2>&1) || rc=$?
[[ $rc -eq 5 && "$out" == *exec-out* && "$out" == *bg* ]] && ok "ctr task exec: output, hostname, exit 5" || nok "exec: rc=$rc $out"
out=$(echo ping | ctr task exec --exec-id e2 bg cat 2>&1)
[[ "$out" == ping ]] && ok "exec stdin reaches the process" || nok "exec stdin: $out"
ctr task ps bg | grep -q . && ok "ctr task ps answers" || nok "ctr task ps"
out=$(ctr task metrics bg 2>&1)
[[ "$out" == *memory.usage_in_bytes* && "$out" == *"pids.current             1"* ]] &&
	ok "ctr task metrics reports the container's cgroup" || nok "metrics: $out"
ctr task kill -s SIGKILL bg
for _ in $(seq 50); do ctr task ls | grep -q "bg .*STOPPED" && break; sleep 0.2; done
ctr task ls | grep -q "bg .*STOPPED" && ok "ctr task kill stops the task" || nok "kill: $(ctr task ls)"
rmtask bg
sleep 0.5
order=$(grep -E " /tasks/" "$CTRD_DIR/events.out" | grep -E '"exec_id":"e1"' | awk '{print $6}' | tr '\n' ' ')
[[ "$order" == "/tasks/exec-added /tasks/exec-started " ]] && ok "exec events: $order" || nok "exec events: $order"
nothing_left "exec and kill"

# Two containers of one CRI pod (the annotations CRI sets) share one shim and one VM.
cri() { echo --annotation io.kubernetes.cri.container-type="$1" --annotation io.kubernetes.cri.sandbox-id=pod1; }
runbg $(cri sandbox) pod1 sleep 1000 >/dev/null
out=$(run $(cri container) "$img" pod1-app sh -c 'echo second container' 2>&1)
[[ "$out" == "second container" ]] && ok "a second container of the pod runs" || nok "second container: $out"
[[ $(pgrep -fc "guest=coco-pod1") -eq 1 && $(pgrep -fc "containerd-shim-coco-v2 .*-id pod1( |$)") -eq 1 &&
	-z "$(pgrep -f "guest=coco-pod1-app" || true)" ]] && ok "both ran in one VM with one shim" ||
	nok "VMs: $(pgrep -fa 'guest=coco-' | wc -l), shims: $(pgrep -fc containerd-shim-coco-v2)"
ctr task kill -s SIGKILL pod1
for _ in $(seq 50); do ctr task ls | grep -q "pod1 .*STOPPED" && break; sleep 0.2; done
rmtask pod1
nothing_left "the pod"

# A terminal (ctr -t needs one itself: script gives it a pty).
out=$(timeout 120 script -qec "stty cols 100 rows 30; PATH=$PATH ctr --address $CTRD_SOCK -n coco run -t --runtime io.containerd.coco.v2 --runtime-config-path $class --rm $img tty sh -c 'test -t 0 && echo tty-ok; sleep 1; stty size'" /dev/null 2>&1 || true)
[[ "$out" == *tty-ok* && "$out" == *"30 100"* ]] && ok "ctr run -t: a terminal of the right size" || nok "tty: $out"
nothing_left "ctr run -t"

# QEMU killed from outside: the task exits.
runbg qkill sleep 1000 >/dev/null
pkill -9 -f "guest=coco-qkill"
for _ in $(seq 50); do ctr task ls | grep -q "qkill .*STOPPED" && break; sleep 0.2; done
ctr task ls | grep -q "qkill .*STOPPED" && ok "killing QEMU makes the task exit" || nok "after killing QEMU: $(ctr task ls)"
rmtask qkill
nothing_left "killing QEMU"

# The shim killed: containerd runs our delete, which destroys the VM.
runbg skill sleep 1000 >/dev/null
pkill -9 -f "containerd-shim-coco-v2 -namespace coco -address $CTRD_SOCK -publish-binary .* -id skill"
sleep 2
rmtask skill
for _ in $(seq 50); do pgrep -f "guest=coco-skill" >/dev/null || break; sleep 0.2; done
nothing_left "killing the shim and ctr task rm -f"

echo "containerd with the coco runtime: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
