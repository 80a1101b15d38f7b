#!/usr/bin/env bash
# coco-vmm against a real libvirtd: boot the dev class (TCG, virtio-serial)
# with the guest image, reach the agent, hot-plug a rootfs disk and run the
# agent scenario on it, kill QEMU from outside and see its pidfd fire within a
# second, and find no domain, process or file left. Then bad inputs, each a
# clear error that leaves nothing behind.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/../guest/lib.sh"
COCO_VMM="$build/bin/coco-vmm"
sb="t$$"
work=$(mktemp -d /run/coco-vmm-test.XXXXXX) # /run: reachable by QEMU's user, unlike a 0700 /tmp dir
chmod 0755 "$work"

cleanup() {
	local rc=$?
	set +e
	for s in "$sb" "$sb-bad"; do
		vmm "{\"op\":\"destroy\",\"sandbox\":\"$s\",\"config\":\"$work/dev.json\",\"run_dir\":\"$work/$s\"}" >/dev/null
	done
	[[ $rc -ne 0 && -f "$work/$sb/console.log" ]] && tail -n 20 "$work/$sb/console.log"
	rm -rf "$work"
	libvirt_down
	exit "$rc"
}
trap cleanup EXIT
libvirt_up

write_dev_class "$work/dev.json" "$build" "$work"
req() { echo "{\"op\":\"$1\",\"sandbox\":\"$sb\",\"config\":\"$work/dev.json\",\"run_dir\":\"$work/$sb\"$2}"; }

out=$(vmm "$(req start '')")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "start: $out" || { nok "start: $out"; exit 1; }
pid=$(json_get "$out" '["vm"]["pid"]') sock=$(json_get "$out" '["vm"]["agent_socket"]')
[[ -d /proc/$pid ]] && ok "QEMU runs as pid $pid" || nok "no QEMU process $pid"
out2=$(vmm "$(req start '')")
[[ $(json_get "$out2" '["vm"]["pid"]') == "$pid" ]] && ok "start again is idempotent (same pid)" || nok "second start: $out2"

make_rootfs_image "$work/rootfs.img" >/dev/null
out=$(vmm "$(req hotplug-disk ",\"path\":\"$work/rootfs.img\",\"slot\":16,\"readonly\":true")")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "hot-plug a disk on slot 0x10" || nok "hotplug: $out"
out=$(vmm "$(req hotplug-disk ",\"path\":\"$work/rootfs.img\",\"slot\":16,\"readonly\":true")")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "hot-plug again is idempotent" || nok "hotplug again: $out"

if "$build/tests/agent-scenario" --socket "$sock" --rootfs-pci 10 --expect-cgroups >"$work/scenario.out" 2>&1; then
	ok "the agent runs containers from the hot-plugged disk ($(tail -n 1 "$work/scenario.out"))"
else
	nok "agent scenario"; grep -v '^ok' "$work/scenario.out"
fi
out=$(vmm "$(req unplug-disk ",\"path\":\"$work/rootfs.img\"")")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "unplug the disk" || nok "unplug: $out"
out=$(vmm "$(req unplug-disk ",\"path\":\"$work/rootfs.img\"")")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "unplug again is idempotent" || nok "unplug again: $out"

# QEMU killed from outside: the pidfd fires at once
if ms=$("$build/tests/pidfd-wait" "$pid" 9 1000); then ok "pidfd fired ${ms} ms after QEMU was killed"; else nok "pidfd did not fire within 1 s"; fi
# libvirt drops the transient domain a moment later: either answer is right
out=$(vmm "$(req inspect '')")
if [[ $(json_get "$out" '["ok"]') == False ]]; then ok "inspect after the kill: $(json_get "$out" '["error"]["code"]')"
elif [[ $(json_get "$out" '["vm"]["running"]') == False ]]; then ok "inspect after the kill: not running"
else nok "inspect after the kill: $out"; fi
out=$(vmm "$(req destroy '')")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "destroy" || nok "destroy: $out"
out=$(vmm "$(req destroy '')")
[[ $(json_get "$out" '["ok"]') == True ]] && ok "destroy again is idempotent" || nok "destroy again: $out"
[[ -z "$(virsh -c qemu:///system list --all --name | grep "coco-$sb" || true)" ]] && ok "no libvirt domain left" || nok "domain left"
[[ ! -e /proc/$pid ]] && ok "no QEMU process left" || nok "QEMU $pid still there"
[[ ! -e "$work/$sb" ]] && ok "the run directory is gone" || nok "left: $(ls -la "$work/$sb")"

# Bad inputs: a clear error, nothing left behind.
bad() { # name, expected message part, class JSON
	local name=$1 want=$2
	printf '%s' "$3" >"$work/bad.json"
	local o
	o=$(echo "{\"op\":\"start\",\"sandbox\":\"$sb-bad\",\"config\":\"$work/bad.json\",\"run_dir\":\"$work/$sb-bad\"}" | "$COCO_VMM" || true)
	if [[ $(json_get "$o" '["ok"]') == False && "$(json_get "$o" '["error"]["message"]')" == *"$want"* ]]; then
		ok "$name: $(json_get "$o" '["error"]["message"]')"
	else
		nok "$name: $o"
	fi
	if [[ -e "$work/$sb-bad" || -n "$(virsh -c qemu:///system list --all --name | grep "coco-$sb-bad" || true)" ]]; then
		nok "$name left something behind"
	fi
}
base="\"kernel\": \"$PWD/$build/guest/vmlinuz\", \"initrd\": \"$PWD/$build/guest/initramfs.cpio.gz\""
bad "missing firmware" "firmware: /nonexistent/OVMF.fd: No such file" \
	"{\"tee\": \"none\", \"accelerator\": \"tcg\", \"firmware\": \"/nonexistent/OVMF.fd\", $base}"
bad "a TEE the host lacks" "does not offer SEV-SNP" \
	"{\"tee\": \"snp\", \"firmware\": \"/usr/share/ovmf/OVMF.fd\", \"vcpu_model\": \"EPYC-v4\", $base}"
bad "zero memory" 'key "memory_mib": must be between 64' \
	"{\"tee\": \"none\", \"accelerator\": \"tcg\", \"memory_mib\": 0, $base}"
bad "an unknown key" 'key "memroy_mib": unknown key' \
	"{\"tee\": \"none\", \"accelerator\": \"tcg\", \"memroy_mib\": 512, $base}"
bad "an unreachable libvirt" "connecting to libvirt" \
	"{\"tee\": \"none\", \"accelerator\": \"tcg\", \"libvirt_uri\": \"qemu+unix:///system?socket=/nonexistent.sock\", $base}"
bad "a missing kernel" "kernel: /nonexistent/vmlinuz" \
	"{\"tee\": \"none\", \"accelerator\": \"tcg\", \"kernel\": \"/nonexistent/vmlinuz\", \"initrd\": \"$PWD/$build/guest/initramfs.cpio.gz\"}"

# A malformed initdata annotation: the pod's VM is refused with the reason.
for value in 'not-base64!' "$(printf 'version = "0.1.0"\nalgorithm = "md5"\n' | gzip -n | base64 -w0)"; do
	o=$(vmm "{\"op\":\"start\",\"sandbox\":\"$sb-bad\",\"config\":\"$work/dev.json\",\"run_dir\":\"$work/$sb-bad\",\"initdata\":\"$value\"}")
	msg=$(json_get "$o" '["error"]["message"]' 2>/dev/null || true)
	if [[ $(json_get "$o" '["ok"]') == False && "$msg" == *initdata* ]]; then ok "bad initdata: $msg"; else nok "bad initdata: $o"; fi
	if [[ -e "$work/$sb-bad" || -n "$(virsh -c qemu:///system list --all --name | grep "coco-$sb-bad" || true)" ]]; then
		nok "bad initdata left something behind"
	fi
done

echo "coco-vmm with libvirt: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
