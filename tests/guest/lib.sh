# Helpers for guest tests: a busybox rootfs, and QEMU runs that are always cleaned up.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# A directory with busybox-static and a link for each applet.
make_rootfs_dir() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,proc,dev,sys,tmp,etc,run}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[[ -e "$dir/bin/$applet" ]] || ln -s busybox "$dir/bin/$applet"
	done
	echo "root:x:0:0:root:/:/bin/sh" >"$dir/etc/passwd"
}

# An ext4 image of such a directory (mke2fs -d: no mounting needed).
make_rootfs_image() {
	local img=$1 dir
	dir=$(mktemp -d)
	make_rootfs_dir "$dir"
	mke2fs -q -F -t ext4 -L rootfs -d "$dir" "$img" 32M
	rm -rf "$dir"
}
