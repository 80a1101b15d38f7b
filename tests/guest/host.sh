#!/usr/bin/env bash
# The agent on this host (no VM): it serves on a unix socket in a private
# mount namespace, runs containers from a busybox directory, and is checked by
# agent-scenario and, per policy case, agent-policy. Fast; also run under ASan.
#   host.sh BUILD [COCOCTL]
set -euo pipefail
build=${1:-build}
cococtl=${2:-build/bin/cococtl}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/coco-agent-host.XXXXXX)
agent_pid=
cleanup() {
	local rc=$?
	set +e
	stop_pid "$agent_pid"
	if [[ $rc -ne 0 ]]; then
		for f in "$tmp"/*.log; do [[ -f $f ]] && { echo "--- $f"; tail -n 30 "$f"; }; done
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
make_rootfs_dir "$tmp/rootfs"
total_pass=0 total_fail=0

start_agent() { # name, agent options...
	local name=$1; shift
	mkdir -p "$tmp/state-$name"
	unshare -m --propagation private \
		"$build/tests/coco-agent-host" --listen "$tmp/$name.sock" --state-dir "$tmp/state-$name" \
		"$@" >"$tmp/$name.log" 2>&1 &
	agent_pid=$!
}

# Wait for the agent to exit (after DestroySandbox or SIGTERM) and require a clean exit.
finish_agent() { # name, how
	local name=$1 rc=0
	[[ "$2" == term ]] && kill -TERM "$agent_pid"
	wait "$agent_pid" || rc=$?
	agent_pid=
	if [[ $rc -ne 0 ]]; then
		echo "not ok - agent ($name) exited with $rc"; total_fail=$((total_fail + 1))
	else
		total_pass=$((total_pass + 1))
	fi
	if [[ -n "$(ls -A "$tmp/state-$name" | grep -v '^initdata$' || true)" ]]; then
		echo "not ok - agent ($name) left state behind: $(ls "$tmp/state-$name")"; total_fail=$((total_fail + 1))
	fi
}

run_client() { # client args...
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	echo "$out" | grep -v '^ok ' || true
	total_pass=$((total_pass + $(grep -c '^ok ' <<<"$out" || true)))
	total_fail=$((total_fail + $(grep -c '^not ok' <<<"$out" || true)))
	[[ $rc -eq 0 ]] || [[ $(grep -c '^not ok' <<<"$out" || true) -gt 0 ]] || total_fail=$((total_fail + 1))
}

# 1. the full scenario in dev mode, ending with DestroySandbox
start_agent scenario --dev
run_client "$build/tests/agent-scenario" --socket "$tmp/scenario.sock" --rootfs-dir "$tmp/rootfs" --destroy
finish_agent scenario exit

# 2. policy and initdata cases
disk() { # name, toml text
	printf '%s' "$2" >"$tmp/$1.toml"
	"$cococtl" initdata disk "$tmp/$1.toml" "$tmp/$1.img"
}
head='version = "0.1.0"
algorithm = "sha256"
[data]
"aa.toml" = "url = 1"
'
disk deny-exec "$head\"policy.coco\" = '''
default allow
deny ExecProcess
'''
"
disk rego "$head\"policy.rego\" = '''
package agent_policy
default CreateContainerRequest := false
'''
"
cp "$tmp/deny-exec.img" "$tmp/bad-disk.img"
printf 'XXXXXXXX' | dd of="$tmp/bad-disk.img" bs=1 seek=20 conv=notrunc status=none

for case in deny-exec rego bad-disk; do
	start_agent "$case" --dev --initdata-disk "$tmp/$case.img"
	run_client "$build/tests/agent-policy" --socket "$tmp/$case.sock" --rootfs-dir "$tmp/rootfs" --case "$case"
	finish_agent "$case" term
done
if [[ "$(cat "$tmp/state-deny-exec/initdata/aa.toml" 2>/dev/null)" == "url = 1" ]]; then
	total_pass=$((total_pass + 1))
else
	echo "not ok - initdata aa.toml was not published"; total_fail=$((total_fail + 1))
fi
for case in confidential setpolicy; do
	start_agent "$case" --confidential
	run_client "$build/tests/agent-policy" --socket "$tmp/$case.sock" --rootfs-dir "$tmp/rootfs" --case "$case"
	finish_agent "$case" term
done

# 3. a symlink in the image pointing out of the rootfs cannot steer a mount
escape=/tmp/coco-escape-$$ # exists in the rootfs and on the host
mkdir -p "$tmp/rootfs$escape" "$escape"
ln -s "$escape" "$tmp/rootfs/escape"
start_agent escape --dev
run_client "$build/tests/agent-policy" --socket "$tmp/escape.sock" --rootfs-dir "$tmp/rootfs" --case escape
finish_agent escape term
if [[ -z "$(ls -A "$escape")" ]]; then
	total_pass=$((total_pass + 1))
else
	echo "not ok - a mount point was created outside the rootfs: $(ls "$escape")"; total_fail=$((total_fail + 1))
fi
rm -rf "$escape"

echo "agent on the host: $total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
