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

# The benchmarks' baseline: BUILD's kernel booting an initramfs whose /init
# only powers off (QEMU TCG, as the guest tests run). Prints the median wall
# time in milliseconds of RUNS boots.
bare_boot_ms() { # build runs workdir
	local build=$1 runs=$2 dir=$3/bare t0
	mkdir -p "$dir/root/dev"
	cp "$build/tests/poweroff-init" "$dir/root/init"
	mknod -m 600 "$dir/root/dev/console" c 5 1
	(cd "$dir/root" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet | gzip -n >"$dir/initrd.gz")
	for _ in $(seq "$runs"); do
		t0=$(date +%s%N)
		qemu-system-x86_64 -machine pc,accel=tcg -m 512 -smp 1 -nographic -no-reboot \
			-serial null -monitor none -kernel "$build/guest/vmlinuz" -initrd "$dir/initrd.gz" \
			-append "console=ttyS0 panic=1 quiet" >/dev/null 2>&1
		echo $(( ($(date +%s%N) - t0) / 1000000 ))
	done | median
}
