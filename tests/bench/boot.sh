#!/usr/bin/env bash
# Boot time of the guest image under QEMU (TCG here; KVM where it works): the
# wall time from QEMU's start to the agent's first Health.Check answer, beside
# a bare boot of the same kernel to an init that only powers off. Median of N.
set -euo pipefail
build=${1:-build}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../guest/lib.sh"
tmp=$(mktemp -d /tmp/coco-bench.XXXXXX)
qemu_pid=
trap 'stop_pid "$qemu_pid"; rm -rf "$tmp"' EXIT
cmdline=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cmdline"])' "$build/guest/manifest.json")

qemu() { # initrd, extra args... (exec: a background call's $! is QEMU itself)
	local initrd=$1; shift
	exec qemu-system-x86_64 -machine pc,accel=tcg -m 512 -smp 1 -nographic -no-reboot \
		-kernel "$build/guest/vmlinuz" -initrd "$initrd" -append "console=ttyS0 $cmdline" \
		-serial null -monitor none "$@"
}
now() { date +%s.%N; }

echo "scale=3; $(bare_boot_ms "$build" "$runs" "$tmp") / 1000" | bc >"$tmp/bare.t"

for i in $(seq "$runs"); do
	rm -f "$tmp/agent.sock"
	t0=$(now)
	qemu "$build/guest/initramfs.cpio.gz" -device virtio-serial-pci \
		-chardev "socket,id=agent,path=$tmp/agent.sock,server=on,wait=off" \
		-device virtserialport,chardev=agent,name=agent.channel.0 >/dev/null 2>&1 &
	qemu_pid=$!
	"$build/tests/agent-policy" --socket "$tmp/agent.sock" --case health >/dev/null
	t1=$(now)
	stop_pid "$qemu_pid"; qemu_pid=
	echo "$t1 - $t0" | bc
done | median >"$tmp/agent.t"

bare=$(cat "$tmp/bare.t") agent=$(cat "$tmp/agent.t")
printf '\nguest boot, QEMU TCG, 1 vCPU, 512 MiB (median of %d runs)\n' "$runs"
printf '  %-46s %7.2f s\n' "kernel + power-off init, start to exit" "$bare"
printf '  %-46s %7.2f s\n' "kernel + coco-agent, start to first Health.Check" "$agent"
printf '  %-46s %7.2f\n' "ratio (agent / bare)" "$(echo "$agent / $bare" | bc -l)"
