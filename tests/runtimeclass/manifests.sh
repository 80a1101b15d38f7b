#!/usr/bin/env bash
# The Kubernetes manifests in runtimeclass/: yamllint, then manifests.py, which
# checks their structure and what ties them together (handlers, labels, the
# initdata regex against real and broken annotations).
#   manifests.sh [BUILD]
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
yamllint -c "$root/runtimeclass/.yamllint" "$root/runtimeclass" && echo "ok - yamllint runtimeclass/"
/usr/bin/python3 "$here/manifests.py" "$root" "$root/$build/bin/cococtl"
