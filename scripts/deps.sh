#!/usr/bin/env bash
# Install the Debian packages that building, testing and the demo need.
# Does nothing when they are all present; must run as root otherwise.
set -euo pipefail

packages=(
	# toolchain
	gcc make pkg-config clang clang-format libfuzzer-14-dev libclang-rt-14-dev
	# protobuf code generation and the containerd/gogo .proto files
	protobuf-c-compiler libprotobuf-c-dev
	golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev
	# libraries the project links
	libvirt-dev libjansson-dev libnl-3-dev libnl-route-3-dev libcap-dev libssl-dev zlib1g-dev
	# tests
	libcmocka-dev containerd runc python3 ovmf
	# guest image build and boot tests
	qemu-system-x86 cpio kmod e2fsprogs busybox-static bc
	# libvirt for the VMM tests (libvirtd, virsh, virt-xml-validate)
	libvirt-daemon-system libvirt-clients libxml2-utils
	# Kubernetes path: the CRI test client, CNI bridge plugin, manifest checks
	python3-grpcio python3-protobuf protobuf-compiler containernetworking-plugins yamllint python3-yaml
	# network namespace tests; man pages checked for warnings
	iproute2 man-db
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: run 'make deps' as root, or: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
