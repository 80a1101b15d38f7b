#!/usr/bin/env bash
# `make demo`: show what this checkout can do today, against real components.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

echo "== coco-shim demo"
"$build/bin/containerd-shim-coco-v2" --version
"$build/bin/cococtl" --version
echo
echo "== our ttRPC client talking to a real containerd $(containerd --version | awk '{print $3}')"
echo "   (a private containerd is started under /tmp and removed afterwards)"
make --no-print-directory -s tests BUILD="$build" >/dev/null
bash tests/containerd/events.sh "$build"
echo
echo "Running a container in a confidential VM is not yet available: it arrives with"
echo "the guest image, VMM and shim work (see docs/ and the issue tracker)."
