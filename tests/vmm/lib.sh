# libvirtd for tests: started when not running, stopped again by the test
# that started it. /dev/kvm gets udev's usual group and mode so libvirt's
# capability cache stays valid (see docs/vmm.md).
# shellcheck shell=bash

LIBVIRT_STARTED= VIRTLOGD_STARTED=
wait_socket() { # path
	for _ in $(seq 100); do [[ -S "$1" ]] && return 0; sleep 0.1; done
	echo "$1 did not appear" >&2
	return 1
}

libvirt_up() {
	if [[ -c /dev/kvm && "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]] && getent group kvm >/dev/null; then
		chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
	fi
	if [[ ! -S /run/libvirt/virtlogd-sock ]] || ! pgrep -x virtlogd >/dev/null; then
		virtlogd -d
		VIRTLOGD_STARTED=1
		wait_socket /run/libvirt/virtlogd-sock || return 1
	fi
	if ! virsh -c qemu:///system version >/dev/null 2>&1; then
		libvirtd -d
		LIBVIRT_STARTED=1
		wait_socket /run/libvirt/libvirt-sock || return 1
		for _ in $(seq 100); do
			virsh -c qemu:///system version >/dev/null 2>&1 && return 0
			sleep 0.1
		done
		echo "libvirtd did not come up" >&2
		return 1
	fi
}

libvirt_down() {
	local p
	for p in ${LIBVIRT_STARTED:+libvirtd} ${VIRTLOGD_STARTED:+virtlogd}; do
		pkill -x "$p"
		for _ in $(seq 50); do pgrep -x "$p" >/dev/null || break; sleep 0.1; done
	done
	LIBVIRT_STARTED= VIRTLOGD_STARTED=
}

# Run one coco-vmm request; prints the JSON result.
vmm() { echo "$1" | "$COCO_VMM" || true; }
json_get() { /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$1" "$2"; }

# A dev class for tests: TCG, virtio-serial, the build's guest image.
write_dev_class() { # file build state_dir
	cat >"$1" <<JSON
{"tee": "none", "accelerator": "tcg", "kernel": "$PWD/$2/guest/vmlinuz",
 "initrd": "$PWD/$2/guest/initramfs.cpio.gz", "kernel_params": "console=ttyS0 coco.mode=dev",
 "memory_mib": 512, "agent": {"transport": "virtio-serial"}, "state_dir": "$3"}
JSON
}
