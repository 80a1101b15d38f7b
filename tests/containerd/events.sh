#!/usr/bin/env bash
# Interop: our ttRPC client publishes a /tasks/exit event through a real
# containerd's ttRPC Events.Forward; `ctr events` must show it.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

EVENTS_PID=
cleanup() {
	local rc=$?
	set +e
	stop_pid "$EVENTS_PID"
	ctrd_stop
	exit "$rc"
}
trap cleanup EXIT

ctrd_log "containerd $(containerd --version | awk '{print $3}'): starting a private instance"
ctrd_start
ns=coco-test
ctr --address "$CTRD_SOCK" -n "$ns" events >"$CTRD_DIR/events.out" 2>&1 &
EVENTS_PID=$!

# ctr gives no sign that its subscription is live: publish until it shows up.
seen=
for _ in $(seq 50); do
	"$build/tests/forward-event" "$CTRD_TTRPC" "$ns" ctr-interop 7 ||
		ctrd_fail "forward-event could not publish through $CTRD_TTRPC"
	if grep -q '/tasks/exit' "$CTRD_DIR/events.out"; then seen=1; break; fi
	sleep 0.2
done
[[ -n "$seen" ]] || ctrd_fail "ctr events never showed the event: $(cat "$CTRD_DIR/events.out")"
line=$(grep -m1 '/tasks/exit' "$CTRD_DIR/events.out")
ctrd_log "ctr events: $line"
grep -q " $ns /tasks/exit " <<<"$line" || ctrd_fail "event has the wrong namespace or topic"
grep -q '"container_id":"ctr-interop"' <<<"$line" || ctrd_fail "event lost its container id"
grep -q '"exit_status":7' <<<"$line" || ctrd_fail "event lost its exit status"

# A namespace containerd rejects must come back as an error, not silence.
if "$build/tests/forward-event" "$CTRD_TTRPC" "bad/ns" ctr-interop 7 2>"$CTRD_DIR/err.out"; then
	ctrd_fail "containerd accepted an invalid namespace"
fi
ctrd_log "invalid namespace rejected: $(cat "$CTRD_DIR/err.out")"
echo "containerd interop: 1 passed, 0 failed"
