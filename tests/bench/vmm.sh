#!/usr/bin/env bash
# Wall time of each coco-vmm operation against a real libvirtd (dev class,
# TCG) and the helper's peak memory; median of N rounds.
set -euo pipefail
build=${1:-build}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../vmm/lib.sh"
. "$here/../guest/lib.sh"
COCO_VMM="$build/bin/coco-vmm"
work=$(mktemp -d /run/coco-vmm-bench.XXXXXX)
chmod 0755 "$work"
sb="bench$$"
trap 'vmm "{\"op\":\"destroy\",\"sandbox\":\"$sb\",\"config\":\"$work/dev.json\",\"run_dir\":\"$work/$sb\"}" >/dev/null; rm -rf "$work"; libvirt_down' EXIT
libvirt_up
write_dev_class "$work/dev.json" "$build" "$work"
make_rootfs_image "$work/rootfs.img" >/dev/null
req() { echo "{\"op\":\"$1\",\"sandbox\":\"$sb\",\"config\":\"$work/dev.json\",\"run_dir\":\"$work/$sb\"$2}"; }
ops=(start inspect hotplug-disk unplug-disk destroy)
declare -A args=([hotplug-disk]=",\"path\":\"$work/rootfs.img\",\"slot\":16,\"readonly\":true"
	[unplug-disk]=",\"path\":\"$work/rootfs.img\"")
for i in $(seq "$runs"); do
	for op in "${ops[@]}"; do
		t0=$(date +%s%N)
		out=$(vmm "$(req "$op" "${args[$op]:-}")")
		t1=$(date +%s%N)
		[[ "$(json_get "$out" '["ok"]')" == True ]] || { echo "bench: $op failed: $out" >&2; exit 1; }
		echo "$op $(( (t1 - t0) / 1000000 )) $(json_get "$out" '["max_rss_kib"]')"
		# let the guest boot before hot-plugging, as the shim does (agent first)
		[[ "$op" == start ]] && "$build/tests/agent-policy" --socket "$work/$sb/agent.sock" --case health >/dev/null
	done
done >"$work/times"
printf '\ncoco-vmm operations, libvirt %s, QEMU TCG (median of %d rounds)\n' \
	"$(virsh -c qemu:///system version | awk '/Using library/ {print $4}')" "$runs"
printf '  %-14s %10s %14s\n' operation "wall ms" "peak RSS KiB"
for op in "${ops[@]}"; do
	ms=$(awk -v o="$op" '$1 == o {print $2}' "$work/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	rss=$(awk -v o="$op" '$1 == o {print $3}' "$work/times" | sort -n | tail -n 1)
	printf '  %-14s %10s %14s\n' "$op" "$ms" "$rss"
done
echo "  (start returns when QEMU runs; the guest then boots: see the boot benchmark)"
