#!/usr/bin/env bash
# runtimeclass/install.sh against scratch host roots (HOST_ROOT, as in the
# DaemonSet), without a VM: each containerd config shape it must handle is
# installed, re-installed and uninstalled, and the root must come back
# byte-for-byte. containerd 1.6 itself parses the inline result. Bad inputs
# fail before anything is written. (tests/cri/run.sh runs pods on an install.)
#   install.sh BUILD
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
installer="$here/../../runtimeclass/install.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

snapshot() { (cd "$1" && find . -printf '%p %m %s %l\n' | sort && find . -type f -exec sha256sum {} + | sort); }
inst() { # root mode action
	HOST_ROOT="$1" CONTAINERD_MODE="$2" PAYLOAD="${PAYLOAD:-$build/dist}" RESTART_CMD="echo restart >>$work/restarts" \
		LABEL_CMD="echo >>$work/labels" bash "$installer" "$3"
}
roundtrip() { # name mode: install twice, uninstall, compare
	local name=$1 mode=$2 root=$work/$1 before
	before=$(snapshot "$root")
	: >"$work/restarts"
	if ! inst "$root" "$mode" install >"$work/$name.out" 2>&1; then nok "$name: install: $(cat "$work/$name.out")"; return; fi
	[[ -x "$root/opt/coco/bin/containerd-shim-coco-v2" && -L "$root/usr/local/bin/containerd-shim-coco-v2" &&
		"$(readlink "$root/usr/local/bin/containerd-shim-coco-v2")" == /opt/coco/bin/containerd-shim-coco-v2 ]] &&
		grep -q '"kernel": "/opt/coco/share/guest/vmlinuz"' "$root/opt/coco/etc/coco/dev.json" &&
		ok "$name: installed under HOST_ROOT with host paths (/opt/coco) inside" || nok "$name: files"
	check_config "$root/etc/containerd/config.toml"
	local status
	status=$(inst "$root" "$mode" status 2>&1 || true)
	[[ "$status" =~ "installed in /opt/coco: "[0-9]+" files" && "$status" == *"coco-snp: not on this host (see: cococtl check"* ]] &&
		ok "$name: status counts the files and says which classes this host can run" || nok "$name: status: $status"
	local conf
	conf=$(sha256sum "$root/etc/containerd/config.toml")
	inst "$root" "$mode" install >"$work/$name.2.out" 2>&1
	[[ "$(sha256sum "$root/etc/containerd/config.toml")" == "$conf" && $(wc -l <"$work/restarts") -eq 1 ]] &&
		ok "$name: a second install changes nothing" || nok "$name: second install: $(cat "$work/$name.2.out")"
	inst "$root" "$mode" uninstall >"$work/$name.3.out" 2>&1
	if [[ "$(snapshot "$root")" == "$before" ]]; then ok "$name: uninstall restores the root exactly"; else
		nok "$name: uninstall left differences"; diff <(echo "$before") <(snapshot "$root") | head; fi
}

# 1. containerd 2.x, config.toml already importing a file
mkdir -p "$work/imports/etc/containerd"
printf 'version = 2\nimports = ["/etc/containerd/site.toml"]\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause"\n' \
	>"$work/imports/etc/containerd/config.toml"
check_config() {
	grep -qx 'imports = \["/etc/containerd/site.toml", "/etc/containerd/conf.d/coco-dev.toml", "/etc/containerd/conf.d/coco-snp.toml", "/etc/containerd/conf.d/coco-tdx.toml"\] # added by coco-shim install.sh' "$1" &&
		ok "imports: the drop-ins join the existing imports line" || nok "imports: $(cat "$1")"
}
roundtrip imports imports

# 2. containerd 2.x, no imports yet
mkdir -p "$work/noimports/etc/containerd"
printf '# site config\nversion = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause"\n' \
	>"$work/noimports/etc/containerd/config.toml"
check_config() {
	[[ "$(sed -n 3p "$1")" == 'imports = ["/etc/containerd/conf.d/coco-dev.toml", "/etc/containerd/conf.d/coco-snp.toml", "/etc/containerd/conf.d/coco-tdx.toml"] # added by coco-shim install.sh' ]] &&
		ok "noimports: an imports line right after version" || nok "noimports: $(cat "$1")"
}
roundtrip noimports imports

# 3. no config.toml at all
mkdir -p "$work/noconfig/etc"
check_config() { [[ -f "$1" ]] && grep -q '^imports = ' "$1" && ok "noconfig: a config.toml is created" || nok "noconfig"; }
roundtrip noconfig imports

# 4. containerd 1.6: the runtimes inline; a config without its last newline, runc spelled out
mkdir -p "$work/inline/etc/containerd"
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:site"\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"' \
	>"$work/inline/etc/containerd/config.toml"
check_config() {
	local dump
	dump=$(containerd --config "$1" config dump 2>&1)
	[[ "$dump" == *'runtimes.coco-dev]'* && "$dump" == *'runtimes.coco-tdx]'* && "$dump" == *'runtimes.runc]'* &&
		"$dump" == *'sandbox_image = "pause:site"'* && "$dump" == *'ConfigPath = "/opt/coco/etc/coco/dev.json"'* ]] &&
		ok "inline: containerd 1.6 reads coco-dev/snp/tdx beside runc and the site's settings" ||
		nok "inline: $(grep -E 'runtimes\.|sandbox_image' <<<"$dump")"
	[[ $(grep -c 'runtimes.runc]' "$1") -eq 1 ]] && ok "inline: runc, spelled out by the site, is not added twice" ||
		nok "inline: runc twice"
}
roundtrip inline inline

# bad inputs: a clear error and nothing written
mkdir -p "$work/foreign/opt/coco/bin" "$work/foreign/etc/containerd"
echo "someone else's" >"$work/foreign/opt/coco/bin/cococtl"
before=$(snapshot "$work/foreign")
if out=$(inst "$work/foreign" imports install 2>&1); then nok "a foreign file is overwritten"; else
	[[ "$out" == *"/opt/coco/bin/cococtl exists and was not installed by coco-shim"* && "$(snapshot "$work/foreign")" == "$before" ]] &&
		ok "a file install did not make is refused, nothing written: ${out##*error: }" || nok "foreign: $out"
fi
mkdir -p "$work/nopayload"
if out=$(PAYLOAD="$work/none" inst "$work/nopayload" imports install 2>&1); then nok "no payload accepted"; else
	[[ "$out" == *"no payload at $work/none"*"make dist"* && -z "$(ls -A "$work/nopayload")" ]] &&
		ok "a missing payload is named, nothing written" || nok "no payload: $out"
fi
out=$(inst "$work/nopayload" imports status 2>&1) && nok "status where nothing is installed succeeds" ||
	{ [[ "$out" == *"not installed in /opt/coco"* ]] && ok "status where nothing is installed says so, exit 1" || nok "status: $out"; }
out=$(inst "$work/nopayload" imports uninstall 2>&1) && [[ "$out" == *"nothing installed in /opt/coco"* ]] &&
	ok "uninstall where nothing is installed says so" || nok "uninstall nothing: $out"
out=$(DEV_ACCELERATOR=hvf inst "$work/nopayload" imports install 2>&1) && nok "a bad DEV_ACCELERATOR is accepted" ||
	{ [[ "$out" == *"DEV_ACCELERATOR must be kvm or tcg"* ]] && ok "a bad setting is named" || nok "bad setting: $out"; }

echo "installer: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
