#!/usr/bin/env bash
# `make demo`: run a container in a VM with the coco runtime, against a
# private containerd and the host's libvirt (started here when not running),
# printing each step. Everything it starts is stopped again.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
. tests/containerd/lib.sh
. tests/vmm/lib.sh
export PATH="$PWD/$build/bin:$PATH"
class="$PWD/$build/config/dev.json"
img=docker.io/library/busybox:coco
say() { printf '\n== %s\n' "$*"; }
trap 'ctrd_stop; libvirt_down' EXIT

say "versions"
containerd-shim-coco-v2 --version | sed -n 2p
cococtl --version
echo "containerd $(containerd --version | awk '{print $3}'), $(virsh --version | sed 's/^/libvirt /'), $(qemu-system-x86_64 --version | head -n1)"

say "can this host run the dev class? (cococtl check)"
libvirt_up
cococtl check --config "$class" || true

say "the guest image (build/guest/manifest.json)"
/usr/bin/python3 - "$build/guest/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print("kernel package:", m["inputs"]["kernel_package"])
for name, a in m["artefacts"].items():
    print(f"{name}: sha256 {a['sha256']}")
print("kernel parameters the image needs:", m["cmdline"])
PY

say "a private containerd ($(containerd --version | awk '{print $3}')) with a busybox image built here"
ctrd_start
python3 tests/containerd/mkimage.py "$CTRD_DIR/busybox.tar" "$img"
command ctr --address "$CTRD_SOCK" -n demo image import "$CTRD_DIR/busybox.tar"

say "ctr run --runtime io.containerd.coco.v2 ... (QEMU under TCG here: about 10 s)"
echo "host kernel: $(uname -r)"
start=$(date +%s)
command ctr --address "$CTRD_SOCK" -n demo run --runtime io.containerd.coco.v2 \
	--runtime-config-path "$class" --rm "$img" demo \
	sh -c 'echo "hello from a container in a VM"; echo "guest kernel: $(uname -r)"; echo "hostname: $(hostname)"'
echo "(took $(( $(date +%s) - start )) s, including the VM boot)"

say "what the shim logged (containerd's log)"
grep -E 'coco shim|VM coco-|agent reached|task .{1,2}demo' "$CTRD_DIR/containerd.log" | sed 's/^time="[^"]*" //'

say "nothing is left: no VM, no domain"
virsh -c qemu:///system list --all
