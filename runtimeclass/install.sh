#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install coco-shim on a node, or remove it again exactly.
#
#   install.sh install | uninstall | status
#
# install: copies the payload (a `make dist` tree: binaries, class files, the
# guest image, containerd drop-ins) to PREFIX, writes one containerd drop-in
# per runtime class and makes containerd read them, restarts containerd when
# something changed, and labels the node by what `cococtl check` finds.
# Re-running changes nothing that is already right.
#
# containerd 2.x merges imported files key by key, so the drop-ins are added
# to config.toml's `imports`. containerd 1.6 and 1.7 replace a whole plugin
# section with an imported one (an import would wipe the node's other CRI
# settings), so there the drop-ins' tables are appended to config.toml
# between marker lines instead (CONTAINERD_MODE=inline; auto-detected).
# Files are replaced by rename, so a running shim keeps its old binary.
# uninstall: removes every file and directory install made, restores the
# config.toml line it changed (or removes the line or file it added),
# restarts containerd, and removes the labels. What install did is recorded
# in PREFIX/.coco-install.
#
# Settings (environment):
#   HOST_ROOT          where the host's / is mounted (the DaemonSet: /host)   [/]
#   PREFIX             install prefix, as the host sees it                   [/opt/coco]
#   PAYLOAD            the make-dist tree             [$(dirname $0)/../payload]
#   CONTAINERD_CONFIG  containerd's config, host path   [/etc/containerd/config.toml]
#   DROPIN_DIR         where the drop-ins go, host path     [/etc/containerd/conf.d]
#   RESTART_CMD        restarts containerd (run with sh -c)
#                      [chroot HOST_ROOT systemctl restart containerd, or nsenter into pid 1]
#   LABEL_CMD          sets node labels, called with KEY=VALUE or KEY- arguments
#                      [the Kubernetes API with the pod's service account, when NODE_NAME is set]
#   DEV_ACCELERATOR    accelerator of the dev class: kvm or tcg              [kvm]
#   DEV_TRANSPORT      agent transport of the dev class: auto, vsock, virtio-serial [auto]
#   CONTAINERD_MODE    imports (containerd >= 2.0) or inline (1.6, 1.7)   [from containerd --version]
#   SHIM_LINK_DIR      a directory on containerd's PATH for a link to the shim
#                      (containerd 1.6 ignores runtime_path), host path        [/usr/local/bin]
set -euo pipefail

HOST_ROOT=${HOST_ROOT:-/}
PREFIX=${PREFIX:-/opt/coco}
PAYLOAD=${PAYLOAD:-$(cd "$(dirname "$0")" && pwd)/../payload}
CONTAINERD_CONFIG=${CONTAINERD_CONFIG:-/etc/containerd/config.toml}
DROPIN_DIR=${DROPIN_DIR:-/etc/containerd/conf.d}
DEV_ACCELERATOR=${DEV_ACCELERATOR:-kvm}
DEV_TRANSPORT=${DEV_TRANSPORT:-auto}
SHIM_LINK_DIR=${SHIM_LINK_DIR:-/usr/local/bin}
CLASSES=(dev snp tdx)
MARK="# added by coco-shim install.sh"
BEGIN_MARK="# BEGIN coco-shim runtimes (added by runtimeclass/install.sh; removed by its uninstall)"
END_MARK="# END coco-shim runtimes"

say() { echo "coco-install: $*"; }
die() {
	echo "coco-install: error: $*" >&2
	exit 1
}
# a host path as this process sees it
host() { printf '%s%s' "${HOST_ROOT%/}" "$1"; }
STATE=$(host "$PREFIX/.coco-install")
CONFIG=$(host "$CONTAINERD_CONFIG")

record() { # once per line
	grep -qxF -- "$*" "$STATE" 2>/dev/null || printf '%s\n' "$*" >>"$STATE"
}

restart_containerd() {
	if [[ -n "${RESTART_CMD:-}" ]]; then
		sh -c "$RESTART_CMD" || die "restarting containerd failed: $RESTART_CMD"
	elif [[ "$HOST_ROOT" == / ]]; then
		systemctl restart containerd || die "systemctl restart containerd failed; set RESTART_CMD"
	else
		nsenter --target 1 --mount --uts --ipc --net --pid -- systemctl restart containerd ||
			die "restarting containerd through pid 1 failed; set RESTART_CMD"
	fi
	say "containerd restarted"
}

label() { # KEY=VALUE or KEY- ...
	if [[ -n "${LABEL_CMD:-}" ]]; then
		sh -c "$LABEL_CMD \"\$@\"" label "$@" || die "labelling the node failed: $LABEL_CMD"
		return
	fi
	local sa=/var/run/secrets/kubernetes.io/serviceaccount
	if [[ -z "${NODE_NAME:-}" || ! -r "$sa/token" ]]; then
		say "not labelling the node (no NODE_NAME or service account); wanted: $*"
		return
	fi
	local kv k v patch="" sep=""
	for kv in "$@"; do
		if [[ "$kv" == *- ]]; then k=${kv%-} v=null; else k=${kv%%=*} v="\"${kv#*=}\""; fi
		patch+="$sep\"$k\":$v" sep=,
	done
	curl -fsS --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \
		-H 'Content-Type: application/merge-patch+json' -X PATCH \
		"https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}/api/v1/nodes/$NODE_NAME" \
		-d "{\"metadata\":{\"labels\":{$patch}}}" >/dev/null || die "labelling node $NODE_NAME failed"
}

# Create the directories of a path that are missing, recording each (once the state exists).
make_dirs() {
	local d=$1 missing=()
	while [[ ! -d "$d" ]]; do
		missing=("$d" "${missing[@]}")
		d=$(dirname "$d")
	done
	for d in "${missing[@]}"; do
		mkdir -m 0755 "$d"
		if [[ -f "$STATE" ]]; then record "dir $d"; else EARLY_DIRS+=("$d"); fi
	done
}

# Put content (a file) at dest by rename; CHANGED=1 when it differed.
put() { # src dest mode
	local src=$1 dest=$2 mode=$3
	# a file that exists is ours: refuse_foreign has checked
	[[ -e "$dest" ]] && cmp -s "$src" "$dest" && [[ "$(stat -c %a "$dest")" == "$mode" ]] && return 0
	make_dirs "$(dirname "$dest")"
	cp "$src" "$dest.coco-new"
	chmod "$mode" "$dest.coco-new"
	mv -f "$dest.coco-new" "$dest" # atomic: a running shim keeps the file it started from
	record "file $dest"
	CHANGED=1
}

link() { # target link: a symlink, replaced by rename
	local target=$1 l=$2
	[[ -L "$l" && "$(readlink "$l")" == "$target" ]] && return 0 # ours: refuse_foreign has checked
	make_dirs "$(dirname "$l")"
	ln -sfn "$target" "$l.coco-new"
	mv -fT "$l.coco-new" "$l"
	record "file $l"
	CHANGED=1
}

render() { # template -> stdout, with the prefix and dev class choices
	sed -e "s#@PREFIX@#$PREFIX#g" -e "s#\"/opt/coco/#\"$PREFIX/#g" "$1"
}

dropin_imports() {
	local c sep="" out=""
	for c in "${CLASSES[@]}"; do
		out+="$sep\"$DROPIN_DIR/coco-$c.toml\"" sep=", "
	done
	printf '%s' "$out"
}

# Add our drop-ins to config.toml's imports, recording how to undo it.
import_dropins() {
	local ours line new
	ours=$(dropin_imports)
	if [[ ! -e "$CONFIG" ]]; then
		make_dirs "$(dirname "$CONFIG")"
		printf 'version = 2\nimports = [%s] %s\n' "$ours" "$MARK" >"$CONFIG"
		record "config-created $CONFIG"
		CHANGED=1
		return
	fi
	grep -qF "\"$DROPIN_DIR/coco-dev.toml\"" "$CONFIG" && return 0 # already imported
	line=$(grep -E '^[[:space:]]*imports[[:space:]]*=' "$CONFIG" || true)
	if [[ -n "$line" ]]; then
		[[ $(wc -l <<<"$line") -eq 1 && "$line" =~ \]\ *$ ]] ||
			die "$CONTAINERD_CONFIG: an imports array over several lines is not supported; put it on one line"
		if [[ "$line" =~ \[\ *\] ]]; then new="${line%%[*}[$ours]"; else new="${line%]*}, $ours]"; fi
		new+=" $MARK"
		local tmp="$CONFIG.coco-new"
		awk -v old="$line" -v new="$new" '$0 == old && !done {print new; done = 1; next} {print}' \
			"$CONFIG" >"$tmp"
		chmod --reference="$CONFIG" "$tmp"
		mv -f "$tmp" "$CONFIG"
		record "imports-replaced $(printf '%s' "$line" | base64 -w0) $(printf '%s' "$new" | base64 -w0)"
	else
		new="imports = [$ours] $MARK"
		local tmp="$CONFIG.coco-new"
		# after "version = ..." when there is one (imports is a top-level key), else first
		awk -v new="$new" '/^[[:space:]]*version[[:space:]]*=/ && !done {print; print new; done = 1; next}
			{print}' "$CONFIG" >"$tmp"
		grep -qxF "$new" "$tmp" || { printf '%s\n' "$new" | cat - "$CONFIG" >"$tmp"; }
		chmod --reference="$CONFIG" "$tmp"
		mv -f "$tmp" "$CONFIG"
		record "imports-added $(printf '%s' "$new" | base64 -w0)"
	fi
	CHANGED=1
}

containerd_mode() {
	[[ -n "${CONTAINERD_MODE:-}" ]] && { echo "$CONTAINERD_MODE"; return; }
	local v
	if [[ "$HOST_ROOT" == / ]]; then v=$(containerd --version 2>/dev/null || true); else
		v=$(chroot "$HOST_ROOT" containerd --version 2>/dev/null || true); fi
	v=$(grep -oE ' v?[0-9]+\.[0-9]+' <<<"$v" | head -n 1 | tr -d ' v')
	[[ -n "$v" ]] || die "cannot tell containerd's version; set CONTAINERD_MODE=imports (2.x) or inline (1.6, 1.7)"
	if [[ ${v%%.*} -ge 2 ]]; then echo imports; else echo inline; fi
}

# containerd 1.6/1.7: the drop-ins' tables appended to config.toml between markers.
inline_dropins() {
	local c block
	if [[ -e "$CONFIG" ]] && grep -qxF "$BEGIN_MARK" "$CONFIG"; then return 0; fi
	block=$'\n'"$BEGIN_MARK"$'\n'
	# containerd 1.6 keeps its built-in runc runtime only while config.toml
	# configures no runtime at all: keep it when it is not spelled out
	if ! grep -qE '^[[:space:]]*\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runc\]' "$CONFIG" 2>/dev/null &&
		! grep -qE '^[[:space:]]*default_runtime_name' "$CONFIG" 2>/dev/null; then
		block+='[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]'$'\n'
		block+='  runtime_type = "io.containerd.runc.v2"  # containerd'"'"'s default, kept'$'\n\n'
	fi
	for c in "${CLASSES[@]}"; do
		block+=$(grep -vE '^(#|version[[:space:]]*=)' "$(host "$DROPIN_DIR/coco-$c.toml")" | sed '/./,$!d')
		block+=$'\n\n'
	done
	block+="$END_MARK"$'\n'
	if [[ ! -e "$CONFIG" ]]; then
		make_dirs "$(dirname "$CONFIG")"
		printf 'version = 2\n%s' "$block" >"$CONFIG"
		record "config-created $CONFIG"
	else
		[[ -z "$(tail -c 1 "$CONFIG")" ]] || block=$'\n'"$block" # the file lacked its last newline
		printf '%s' "$block" >>"$CONFIG"
		record "inline-added $(printf '%s' "$block" | base64 -w0)"
	fi
	CHANGED=1
}

check_class() { # class -> 0 when this host can run it
	local cfg="$PREFIX/etc/coco/$1.json" bin="$PREFIX/bin/cococtl"
	if [[ "$HOST_ROOT" == / ]]; then "$bin" check --config "$cfg" >/dev/null 2>&1; else
		chroot "$HOST_ROOT" "$bin" check --config "$cfg" >/dev/null 2>&1; fi
}

# Every path install would write that exists and is not ours: refuse before changing anything.
refuse_foreign() {
	local f rel dest c
	for dest in $(find "$PAYLOAD" -type f ! -path '*/share/coco/containerd/*' | sed "s#^$PAYLOAD/#$(host "$PREFIX")/#") \
		$(for c in "${CLASSES[@]}"; do host "$DROPIN_DIR/coco-$c.toml"; echo; done) \
		"$(host "$SHIM_LINK_DIR/containerd-shim-coco-v2")"; do
		if [[ -e "$dest" || -L "$dest" ]] && ! grep -qxF "file $dest" "$STATE" 2>/dev/null; then
			die "$dest exists and was not installed by coco-shim; remove it, or choose another PREFIX, DROPIN_DIR or SHIM_LINK_DIR"
		fi
	done
}

do_install() {
	[[ -x "$PAYLOAD/bin/containerd-shim-coco-v2" && -x "$PAYLOAD/libexec/coco/coco-vmm" &&
		-f "$PAYLOAD/share/guest/vmlinuz" ]] ||
		die "no payload at $PAYLOAD (build one with 'make dist' and set PAYLOAD=build/dist)"
	refuse_foreign
	[[ "$DEV_ACCELERATOR" == kvm || "$DEV_ACCELERATOR" == tcg ]] || die "DEV_ACCELERATOR must be kvm or tcg"
	[[ "$DEV_TRANSPORT" =~ ^(auto|vsock|virtio-serial)$ ]] || die "DEV_TRANSPORT must be auto, vsock or virtio-serial"
	local root tmp f rel mode
	root=$(host "$PREFIX")
	EARLY_DIRS=() CHANGED=0
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	make_dirs "$root"
	: >>"$STATE"
	chmod 0600 "$STATE"
	for d in "${EARLY_DIRS[@]}"; do record "dir $d"; done # PREFIX itself, made before the state

	while IFS= read -r f; do
		rel=${f#"$PAYLOAD"/}
		case "$rel" in
		share/coco/containerd/*) continue ;; # rendered into DROPIN_DIR below
		etc/coco/*.json)
			render "$f" >"$tmp/class"
			if [[ "$rel" == etc/coco/dev.json ]]; then
				sed -i -e "s#\"accelerator\": \"[a-z]*\"#\"accelerator\": \"$DEV_ACCELERATOR\"#" \
					-e "s#\"transport\": \"[a-z-]*\"#\"transport\": \"$DEV_TRANSPORT\"#" "$tmp/class"
			fi
			put "$tmp/class" "$root/$rel" 644
			;;
		*)
			mode=$(stat -c %a "$f")
			put "$f" "$root/$rel" "$mode"
			;;
		esac
	done < <(find "$PAYLOAD" -type f | LC_ALL=C sort)

	local c
	for c in "${CLASSES[@]}"; do
		render "$PAYLOAD/share/coco/containerd/coco-$c.toml" >"$tmp/dropin"
		put "$tmp/dropin" "$(host "$DROPIN_DIR/coco-$c.toml")" 644
	done
	link "$PREFIX/bin/containerd-shim-coco-v2" "$(host "$SHIM_LINK_DIR/containerd-shim-coco-v2")"
	if [[ "$(containerd_mode)" == imports ]]; then import_dropins; else inline_dropins; fi

	if [[ $CHANGED -eq 1 ]]; then restart_containerd; else say "nothing changed"; fi
	local tee=none
	for c in snp tdx; do check_class "$c" && tee=$c; done
	label coco.io/runtime=installed "coco.io/tee=$tee"
	say "installed in $PREFIX (node: tee=$tee)"
}

do_uninstall() {
	[[ -f "$STATE" ]] || {
		say "nothing installed in $PREFIX"
		return 0
	}
	local kind a b line changed=0
	# the config first: containerd must stop importing files before they go
	while read -r kind a b; do
		case "$kind" in
		config-created) rm -f "$a" && changed=1 ;;
		imports-added)
			line=$(base64 -d <<<"$a")
			grep -qxF -- "$line" "$CONFIG" ||
				die "$CONTAINERD_CONFIG no longer has the imports line install added; remove our drop-ins from it by hand"
			awk -v l="$line" '$0 != l' "$CONFIG" >"$CONFIG.coco-new"
			chmod --reference="$CONFIG" "$CONFIG.coco-new"
			mv -f "$CONFIG.coco-new" "$CONFIG"
			changed=1
			;;
		inline-added)
			local block size
			block=$(base64 -d <<<"$a"; echo x) block=${block%x}
			size=$(printf '%s' "$block" | wc -c)
			if [[ "$(tail -c "$size" "$CONFIG")" == "${block%$'\n'}" ]]; then
				truncate -s "-$size" "$CONFIG" # exactly what was appended
			elif grep -qxF "$BEGIN_MARK" "$CONFIG"; then
				awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' \
					"$CONFIG" >"$CONFIG.coco-new"
				chmod --reference="$CONFIG" "$CONFIG.coco-new"
				mv -f "$CONFIG.coco-new" "$CONFIG"
				say "removed the coco-shim block from $CONTAINERD_CONFIG (it was not at the end any more)"
			fi
			changed=1
			;;
		imports-replaced)
			local old new
			old=$(base64 -d <<<"$a") new=$(base64 -d <<<"$b")
			grep -qxF -- "$new" "$CONFIG" ||
				die "$CONTAINERD_CONFIG: its imports line changed since install; restore it by hand to: $old"
			awk -v old="$old" -v new="$new" '$0 == new {print old; next} {print}' "$CONFIG" >"$CONFIG.coco-new"
			chmod --reference="$CONFIG" "$CONFIG.coco-new"
			mv -f "$CONFIG.coco-new" "$CONFIG"
			changed=1
			;;
		esac
	done <"$STATE"
	while read -r kind a _; do [[ "$kind" == file ]] && rm -f "$a" && changed=1; done <"$STATE"
	local dirs=()
	while read -r kind a _; do [[ "$kind" == dir ]] && dirs=("$a" "${dirs[@]}"); done <"$STATE"
	rm -f "$STATE"
	for a in "${dirs[@]}"; do rmdir "$a" 2>/dev/null || say "left $a: not empty"; done
	[[ $changed -eq 1 ]] && restart_containerd
	label coco.io/runtime- coco.io/tee-
	say "removed from $PREFIX"
}

do_status() {
	[[ -f "$STATE" ]] || {
		say "not installed in $PREFIX"
		return 1
	}
	say "installed in $PREFIX: $(grep -c '^file ' "$STATE") files"
	local c
	for c in "${CLASSES[@]}"; do
		if check_class "$c"; then say "coco-$c: this host can run it"; else say "coco-$c: not on this host (see: cococtl check --config $PREFIX/etc/coco/$c.json)"; fi
	done
}

case "${1:-}" in
install) do_install ;;
uninstall) do_uninstall ;;
status) do_status ;;
*)
	echo "usage: install.sh install | uninstall | status   (settings: see the top of this script)" >&2
	exit 2
	;;
esac
