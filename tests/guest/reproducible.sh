#!/usr/bin/env bash
# Two builds of the guest image from the same inputs must be byte-identical.
set -euo pipefail
build=${1:-build}
a=$(mktemp -d /tmp/coco-repro-a.XXXXXX) b=$(mktemp -d /tmp/coco-repro-b.XXXXXX)
trap 'rm -rf "$a" "$b"' EXIT
bash guestimg/build-image.sh "$a" "$build/bin/coco-agent" build/guest-cache >/dev/null
bash guestimg/build-image.sh "$b" "$build/bin/coco-agent" build/guest-cache >/dev/null
fail=0
for f in vmlinuz initramfs.cpio.gz manifest.json; do
	sa=$(sha256sum <"$a/$f" | cut -d' ' -f1) sb=$(sha256sum <"$b/$f" | cut -d' ' -f1)
	if [[ "$sa" == "$sb" ]]; then echo "ok - $f $sa"; else echo "not ok - $f differs: $sa $sb"; fail=1; fi
done
[[ $fail -eq 0 ]] && echo "reproducible image: 3 passed, 0 failed" || { echo "reproducible image: failed"; exit 1; }
