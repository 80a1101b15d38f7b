#!/usr/bin/env bash
# Boot the guest image under QEMU (TCG) with a virtio-serial agent channel and
# a busybox rootfs disk, and drive the agent through agent-scenario. The VM
# must power itself off after DestroySandbox.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/coco-boot.XXXXXX)
qemu_pid=
cleanup() {
	local rc=$?
	set +e
	stop_pid "$qemu_pid"
	if [[ $rc -ne 0 && -f "$tmp/console.log" ]]; then
		echo "--- guest console (last 40 lines) ---"; tail -n 40 "$tmp/console.log"
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

make_rootfs_image "$tmp/rootfs.img"
start=$(date +%s.%N)
qemu-system-x86_64 -machine pc,accel=tcg -m 512 -smp 1 -nographic -no-reboot \
	-kernel "$build/guest/vmlinuz" -initrd "$build/guest/initramfs.cpio.gz" \
	-append "console=ttyS0 coco.mode=dev $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cmdline"])' "$build/guest/manifest.json")" \
	-serial "file:$tmp/console.log" -monitor none \
	-device virtio-serial-pci \
	-chardev "socket,id=agent,path=$tmp/agent.sock,server=on,wait=off" \
	-device virtserialport,chardev=agent,name=agent.channel.0 \
	-drive "file=$tmp/rootfs.img,if=none,id=rootfs,format=raw,readonly=on" \
	-device virtio-blk-pci,drive=rootfs,addr=0x5 \
	-netdev user,id=net0,restrict=on -device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56 \
	>"$tmp/qemu.log" 2>&1 &
qemu_pid=$!

"$build/tests/agent-scenario" --socket "$tmp/agent.sock" --rootfs-pci 05 --expect-cgroups --destroy \
	--network 52:54:00:12:34:56

# DestroySandbox powers the guest off: QEMU must exit by itself.
for _ in $(seq 300); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$qemu_pid" 2>/dev/null; then
	echo "FAIL: the guest did not power off after DestroySandbox"; exit 1
fi
wait "$qemu_pid" || true
qemu_pid=
printf 'boot test: guest up, scenario done and powered off in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
