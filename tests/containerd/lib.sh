# Shared helpers for tests that run a private containerd. Source, then call
# ctrd_start; ctrd_stop runs from the EXIT trap, also on failure.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ctrd_log() { echo "[$(date +%H:%M:%S)] $*"; }

ctrd_fail() {
	echo "FAIL: $*" >&2
	if [[ -n "${CTRD_DIR:-}" && -f "$CTRD_DIR/containerd.log" ]]; then
		echo "--- last lines of containerd.log ---" >&2
		tail -n 30 "$CTRD_DIR/containerd.log" >&2
	fi
	exit 1
}

# Start containerd with its own root, state and sockets under a fresh temp dir.
ctrd_start() {
	CTRD_DIR=$(mktemp -d /tmp/coco-ctrd.XXXXXX)
	CTRD_SOCK="$CTRD_DIR/c.sock"
	CTRD_TTRPC="$CTRD_DIR/c.sock.ttrpc"
	cat >"$CTRD_DIR/config.toml" <<TOML
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_TTRPC"
TOML
	containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
	CTRD_PID=$!
	for _ in $(seq 100); do
		ctr --address "$CTRD_SOCK" version >/dev/null 2>&1 && [[ -S "$CTRD_TTRPC" ]] && return 0
		kill -0 "$CTRD_PID" 2>/dev/null || ctrd_fail "containerd exited during start-up"
		sleep 0.1
	done
	ctrd_fail "containerd did not answer within 10 s"
}


ctrd_stop() {
	set +e # cleanup must run to the end, whatever fails
	stop_pid "${CTRD_PID:-}"
	if [[ -n "${CTRD_DIR:-}" && -d "$CTRD_DIR" ]]; then
		# containerd may leave mounts (snapshots, shm) below its root
		findmnt -rn -o TARGET | grep "^$CTRD_DIR" | sort -r | xargs -r umount -l 2>/dev/null
		rm -rf "$CTRD_DIR"
	fi
	CTRD_PID= CTRD_DIR=
	return 0
}
