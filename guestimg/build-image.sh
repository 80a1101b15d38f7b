#!/usr/bin/env bash
# Build the guest image: OUT/{vmlinuz,initramfs.cpio.gz,manifest.json}.
#
# The kernel is Debian's linux-image-*-amd64 (downloaded and unpacked, never
# installed); the initramfs holds the static agent as /init and only the
# modules it loads. Reproducible: sorted cpio entries, mtime 0, owner 0:0,
# gzip without name or time, so the same inputs give the same bytes.
#
#   build-image.sh OUT AGENT [CACHE]     KERNEL_PACKAGE=linux-image-6.1.0-NN-amd64 to pin
set -euo pipefail
out=$1
agent=$2
cache=${3:-$(dirname "$out")/guest-cache}
modules=(crc32c_generic virtio_pci virtio_blk virtio_console virtio_net vmw_vsock_virtio_transport
	overlay ext4 erofs)
cmdline="panic=1 quiet"

die() { echo "build-image: $*" >&2; exit 1; }
[[ -x "$agent" ]] || die "no agent binary at $agent"
for t in dpkg-deb modinfo cpio gzip strip sha256sum; do
	command -v "$t" >/dev/null || die "$t is missing; run 'make deps'"
done

pkg=${KERNEL_PACKAGE:-}
if [[ -z "$pkg" ]]; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[[ -n "$pkg" ]] || die "cannot resolve linux-image-amd64; run 'apt-get update' or set KERNEL_PACKAGE"
fi
mkdir -p "$cache"
deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
if [[ -z "$deb" ]]; then
	echo "build-image: downloading $pkg"
	(cd "$cache" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	deb=$(ls "$cache/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	[[ -n "$deb" ]] || die "could not download $pkg"
fi
tree="$cache/${pkg}.tree"
if [[ ! -d "$tree" ]]; then
	rm -rf "$tree.tmp" && dpkg-deb -x "$deb" "$tree.tmp" && mv "$tree.tmp" "$tree"
fi
kver=${pkg#linux-image-}
moddir="$tree/lib/modules/$kver"
[[ -d "$moddir" ]] || die "no modules for $kver in $deb"

# module name -> file (names use '_' where file names may use '-')
declare -A file_of
while IFS= read -r f; do
	n=$(basename "$f" .ko); file_of[${n//-/_}]=$f
done < <(find "$moddir/kernel" -name '*.ko' | LC_ALL=C sort)

# dependencies first, each module once
order=()
declare -A seen
visit() {
	local m=${1//-/_} f dep
	[[ -n "${seen[$m]:-}" ]] && return
	seen[$m]=1
	f=${file_of[$m]:-}
	[[ -n "$f" ]] || die "module $m is not in $pkg"
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do visit "$dep"; done
	order+=("$m")
}
for m in "${modules[@]}"; do visit "$m"; done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
mkdir -p "$root"/{dev,proc,sys,run,tmp,lib/modules}
mknod -m 600 "$root/dev/console" c 5 1
strip --strip-all -o "$root/init" "$agent"
chmod 0755 "$root/init"
for m in "${order[@]}"; do
	install -m 0644 "${file_of[$m]}" "$root/lib/modules/$m.ko"
	echo "/lib/modules/$m.ko"
done >"$root/lib/modules/load.list"
find "$root" -exec touch -h -d @0 {} +

mkdir -p "$out"
(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -9 -n >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
install -m 0644 "$tree/boot/vmlinuz-$kver" "$out/vmlinuz"

/usr/bin/python3 - "$out" "$pkg" "$deb" "$agent" "$cmdline" "${order[@]}" <<'PY'
import hashlib, json, os, sys
out, pkg, deb, agent, cmdline, *mods = sys.argv[1:]
def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()
manifest = {
    "inputs": {
        "kernel_package": pkg,
        "kernel_deb": os.path.basename(deb),
        "kernel_deb_sha256": sha(deb),
        "agent_sha256": sha(agent),
        "modules": mods,
    },
    "artefacts": {
        "vmlinuz": {"sha256": sha(os.path.join(out, "vmlinuz"))},
        "initramfs.cpio.gz": {"sha256": sha(os.path.join(out, "initramfs.cpio.gz"))},
    },
    "cmdline": cmdline,
}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
echo "build-image: $out ($pkg, ${#order[@]} modules)"
