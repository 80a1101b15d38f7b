#!/usr/bin/env bash
# The Kubernetes path on one node, without Kubernetes:
#   1. runtimeclass/install.sh installs the `make dist` payload into a scratch
#      host root (a temp dir holding a containerd config.toml that already
#      imports a site file), writes the drop-ins, imports them, "restarts"
#      containerd (starts a private one on that config) and labels the node;
#      re-running it changes nothing;
#   2. through containerd's CRI plugin (CNI: Debian's bridge plugin, addresses
#      in 169.254.91.0/24) scenario.py runs pods with the coco-dev handler and
#      checks the coco-snp and coco-tdx handlers fail preflight clearly;
#   3. a new shim binary is installed while a pod runs: the pod keeps running;
#   4. uninstall leaves the scratch root byte-for-byte as it was.
#   run.sh BUILD
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/../vmm/lib.sh"
scratch=$(mktemp -d /run/coco-cri-root.XXXXXX) # /run: QEMU's user must read the installed guest image
chmod 0755 "$scratch"
work=$(mktemp -d /tmp/coco-cri.XXXXXX)
bridge="cococri$$"
bridge=${bridge:0:15}
forward=$(cat /proc/sys/net/ipv4/ip_forward)
ctr() { command ctr --address "$work/c.sock" -n k8s.io "$@"; }

cleanup() {
	local rc=$?
	set +e
	if [[ -S "$work/c.sock" ]]; then # pods a failed run left behind
		for c in $(ctr task ls -q 2>/dev/null); do ctr task kill -s KILL "$c"; done
		sleep 1
		for c in $(ctr task ls -q 2>/dev/null); do ctr task delete -f "$c"; done
		for c in $(ctr container ls -q 2>/dev/null); do ctr container delete "$c"; done
	fi
	[[ $rc -ne 0 && -f "$work/containerd.log" ]] && grep -E "level=(error|warning)" "$work/containerd.log" | grep -v devmapper | tail -n 25
	[[ -f "$work/containerd.pid" ]] && stop_pid "$(cat "$work/containerd.pid")"
	findmnt -rn -o TARGET | grep "^$work" | sort -r | xargs -r umount -l 2>/dev/null
	libvirt_down
	ip link del "$bridge" 2>/dev/null
	for ns in $(ip netns list | awk '{print $1}' | grep '^cni-'); do
		[[ -n "$(ip -n "$ns" -o addr show 2>/dev/null | grep '169\.254\.91\.')" ]] && ip netns del "$ns"
	done
	echo "$forward" >/proc/sys/net/ipv4/ip_forward
	rm -rf "$scratch" "$work"
	exit "$rc"
}
trap cleanup EXIT

# --- the scratch host root, as a node would have it ------------------------------
mkdir -p "$scratch/etc/containerd" "$work/cni" "$work/logs"
cat >"$scratch/etc/containerd/site.toml" <<TOML
version = 2
[plugins."io.containerd.gc.v1.scheduler"]
  pause_threshold = 0.02
TOML
cat >"$scratch/etc/containerd/config.toml" <<TOML
version = 2
imports = ["$scratch/etc/containerd/site.toml"]
root = "$work/root"
state = "$work/state"

[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/pause:coco"
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$work/cni"
TOML
snapshot() { (cd "$scratch" && find . -printf '%p %m %U:%G %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
before=$(snapshot)

cat >"$work/cni/10-coco.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "coco-cri-test", "plugins": [{"type": "bridge", "bridge": "$bridge",
 "isGateway": true, "ipMasq": false, "ipam": {"type": "host-local",
 "ranges": [[{"subnet": "169.254.91.0/24"}]], "dataDir": "$work/ipam"}}]}
JSON
# what the installer calls to restart containerd and to label the node
cat >"$work/restart" <<SH
#!/bin/bash
if [[ -f "$work/containerd.pid" ]]; then
	pid=\$(cat "$work/containerd.pid"); kill "\$pid" 2>/dev/null
	while kill -0 "\$pid" 2>/dev/null; do sleep 0.1; done
fi
PATH="$scratch/usr/local/bin:\$PATH" setsid containerd --config "$scratch/etc/containerd/config.toml" >>"$work/containerd.log" 2>&1 </dev/null &
echo \$! >"$work/containerd.pid"
echo restart >>"$work/restarts"
for _ in \$(seq 100); do ctr --address "$work/c.sock" version >/dev/null 2>&1 && exit 0; sleep 0.1; done
exit 1
SH
chmod +x "$work/restart"
installer() {
	HOST_ROOT=/ PREFIX="$scratch/opt/coco" PAYLOAD="${PAYLOAD:-$build/dist}" \
		CONTAINERD_CONFIG="$scratch/etc/containerd/config.toml" DROPIN_DIR="$scratch/etc/containerd/conf.d" \
		SHIM_LINK_DIR="$scratch/usr/local/bin" RESTART_CMD="$work/restart" LABEL_CMD="echo >>$work/labels" \
		DEV_ACCELERATOR=tcg DEV_TRANSPORT=virtio-serial \
		bash "$here/../../runtimeclass/install.sh" "$@"
}

libvirt_up
installer install >"$work/install.out"
[[ -x "$scratch/opt/coco/bin/containerd-shim-coco-v2" && -x "$scratch/opt/coco/libexec/coco/coco-vmm" &&
	-f "$scratch/opt/coco/share/guest/vmlinuz" && -f "$scratch/etc/containerd/conf.d/coco-dev.toml" ]] &&
	ok "install: binaries, helper, guest image and drop-ins in place" || nok "install: $(cat "$work/install.out")"
grep -q "^\[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.coco-dev\]" "$scratch/etc/containerd/config.toml" &&
	grep -q "^imports = \[\"$scratch/etc/containerd/site.toml\"\]$" "$scratch/etc/containerd/config.toml" &&
	ok "install: containerd 1.6 gets the runtimes inline in config.toml, its imports untouched" ||
	nok "config.toml: $(cat "$scratch/etc/containerd/config.toml")"
grep -q "ConfigPath = \"$scratch/opt/coco/etc/coco/dev.json\"" "$scratch/etc/containerd/conf.d/coco-dev.toml" &&
	grep -q "\"kernel\": \"$scratch/opt/coco/share/guest/vmlinuz\"" "$scratch/opt/coco/etc/coco/dev.json" &&
	ok "install: drop-in and class file point into the prefix" || nok "prefix paths"
[[ "$(cat "$work/labels")" == "coco.io/runtime=installed coco.io/tee=none" ]] &&
	ok "install: node labelled coco.io/runtime=installed coco.io/tee=none (no SNP/TDX here)" || nok "labels: $(cat "$work/labels")"
[[ $(wc -l <"$work/restarts") -eq 1 ]] && ok "install: containerd restarted once" || nok "restarts"
conf_before=$(sha256sum "$scratch/etc/containerd/config.toml")
installer install >"$work/install2.out"
[[ $(wc -l <"$work/restarts") -eq 1 && "$(sha256sum "$scratch/etc/containerd/config.toml")" == "$conf_before" ]] &&
	grep -q "nothing changed" "$work/install2.out" &&
	ok "install again: nothing changes, no restart" || nok "second install: $(cat "$work/install2.out")"

# --- images, then the CRI scenario ---------------------------------------------------
python3 "$here/../containerd/mkimage.py" "$work/busybox.tar" docker.io/library/busybox:coco
python3 "$here/../containerd/mkimage.py" "$work/pause.tar" docker.io/library/pause:coco /bin/sleep 2147483647
ctr image import "$work/busybox.tar" >/dev/null
ctr image import "$work/pause.tar" >/dev/null
mkdir -p "$work/gen"
protoc -I"$here" --python_out="$work/gen" "$here/cri.proto"
annotation=$("$build/bin/cococtl" initdata encode "$here/../vmm/initdata.toml")
if /usr/bin/python3 "$here/scenario.py" "$work/gen" "$work/c.sock" "$work" "$annotation"; then
	ok "CRI scenario"
else nok "CRI scenario"; fi

# --- a new shim binary while a pod runs ------------------------------------------------
read -r pod cid < <(/usr/bin/python3 "$here/pod.py" "$work/gen" "$work/c.sock" "$work" run)
shim="$scratch/opt/coco/bin/containerd-shim-coco-v2"
old_inode=$(stat -c %i "$shim")
shim_pid=$(pgrep -f "containerd-shim-coco-v2 .*-id $pod" | head -n 1 || true)
cp -r "$build/dist" "$work/payload2"
printf '\n# rebuilt\n' >>"$work/payload2/bin/containerd-shim-coco-v2" # a different file, still the same program
PAYLOAD="$work/payload2" installer install >"$work/install3.out"
[[ "$(stat -c %i "$shim")" != "$old_inode" && -n "$shim_pid" && "$(readlink "/proc/$shim_pid/exe")" == *"(deleted)" &&
	"$(/usr/bin/python3 "$here/pod.py" "$work/gen" "$work/c.sock" "$work" exec "$cid")" == alive ]] &&
	ok "a new shim installed while a pod runs: the running shim keeps its old binary, the pod answers" ||
	nok "replacing a running shim (pid $shim_pid): $(cat "$work/install3.out")"
/usr/bin/python3 "$here/pod.py" "$work/gen" "$work/c.sock" "$work" stop "$pod"

# --- uninstall: the scratch root as it was -------------------------------------------
installer uninstall >"$work/uninstall.out"
after=$(snapshot)
if [[ "$before" == "$after" ]]; then ok "uninstall: the scratch root is identical to before"; else
	nok "uninstall left differences"; diff <(echo "$before") <(echo "$after") | head -20 || true; fi
[[ "$(tail -n 1 "$work/labels")" == "coco.io/runtime- coco.io/tee-" ]] && ok "uninstall: labels removed" ||
	nok "labels after uninstall: $(tail -n 1 "$work/labels")"
ctr --address "$work/c.sock" version >/dev/null 2>&1 && [[ $(wc -l <"$work/restarts") -eq 3 ]] &&
	ok "uninstall: containerd restarted on the original config" || nok "containerd after uninstall"
left=""
pgrep -f "guest=coco-" >/dev/null && left+=" qemu"
[[ -n "$(ip -o link show | grep ': coco[0-9a-f]*-' || true)" ]] && left+=" tap"
for ns in $(ip netns list | awk '{print $1}' | grep '^cni-' || true); do
	[[ -n "$(ip -n "$ns" -o addr show 2>/dev/null | grep '169\.254\.91\.' || true)" ]] && left+=" netns:$ns"
done
[[ -n "$(ls -A /run/coco 2>/dev/null || true)" ]] && left+=" run-dir"
[[ -z "$left" ]] && ok "nothing left: no QEMU, tap, pod namespace or run directory" || nok "left:$left"

echo "cri and installer: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
