#!/usr/bin/env bash
# The long-lived shim's memory beside containerd's runc shim, each running a
# container in the same run, and `ctr run ... echo` wall time beside a bare
# boot of the same guest kernel to a power-off init.
set -euo pipefail
build=${1:-build}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../containerd/lib.sh"
. "$here/../vmm/lib.sh"
. "$here/../guest/lib.sh"
export PATH="$PWD/$build/bin:$PATH"
class="$PWD/$build/config/dev.json"
img=docker.io/library/busybox:coco
trap 'ctr task kill -s 9 runc1 >/dev/null 2>&1; ctr task kill -s 9 coco1 >/dev/null 2>&1; sleep 1;
      for c in runc1 coco1; do ctr task rm -f $c >/dev/null 2>&1; ctr c rm $c >/dev/null 2>&1; done;
      ctrd_stop; libvirt_down' EXIT
ctr() { command ctr --address "$CTRD_SOCK" -n bench "$@"; }
libvirt_up
ctrd_start
python3 "$here/../containerd/mkimage.py" "$CTRD_DIR/busybox.tar" "$img"
ctr image import "$CTRD_DIR/busybox.tar" >/dev/null

mem() { # pid -> "rss pss uss" in KiB
	awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {u+=$2} END {print r, p, u}' "/proc/$1/smaps_rollup"
}
ctr run -d --runtime io.containerd.runc.v2 "$img" runc1 sleep 1000 >/dev/null
ctr run -d --runtime io.containerd.coco.v2 --runtime-config-path "$class" "$img" coco1 sleep 1000 >/dev/null
sleep 1
runc_pid=$(pgrep -f "containerd-shim-runc-v2 .*-id runc1( |$)" | head -n 1)
coco_pid=$(pgrep -f "containerd-shim-coco-v2 .*-id coco1( |$)" | head -n 1)
qemu_pid=$(pgrep -f "guest=coco-coco1")
read -r rr rp ru <<<"$(mem "$runc_pid")"
read -r cr cp cu <<<"$(mem "$coco_pid")"
read -r qr _ _ <<<"$(mem "$qemu_pid")"
printf '\nshim memory, one running container each (KiB, from /proc/PID/smaps_rollup)\n'
printf '  %-34s %8s %8s %8s %6s\n' shim RSS PSS USS libs
printf '  %-34s %8s %8s %8s %6s\n' "containerd-shim-runc-v2 (Go)" "$rr" "$rp" "$ru" "$(awk '/\.so/ {print $6}' /proc/$runc_pid/maps | sort -u | wc -l)"
printf '  %-34s %8s %8s %8s %6s\n' "containerd-shim-coco-v2" "$cr" "$cp" "$cu" "$(awk '/\.so/ {print $6}' /proc/$coco_pid/maps | sort -u | wc -l)"
printf '  %-34s %8.2f %8.2f %8.2f\n' "ratio coco / runc" "$(echo "$cr / $rr" | bc -l)" "$(echo "$cp / $rp" | bc -l)" "$(echo "$cu / $ru" | bc -l)"
printf '  (the pod VM itself: QEMU RSS %s KiB; libvirt is loaded only by the coco-vmm helper)\n' "$qr"

for i in $(seq "$runs"); do
	t0=$(date +%s%N)
	ctr run --runtime io.containerd.coco.v2 --runtime-config-path "$class" --rm "$img" "echo$i" echo hi >/dev/null
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
done | median >"$CTRD_DIR/run.ms"
bare_boot_ms "$build" "$runs" "$CTRD_DIR" >"$CTRD_DIR/bare.ms"
run=$(cat "$CTRD_DIR/run.ms") bare=$(cat "$CTRD_DIR/bare.ms")
printf '\nctr run --rm ... echo hi, coco runtime (TCG, median of %d)\n' "$runs"
printf '  %-46s %8s ms\n' "ctr run ... echo hi" "$run" "same kernel to a power-off init (QEMU alone)" "$bare"
printf '  %-46s %8.2f\n' "ratio" "$(echo "$run / $bare" | bc -l)"
