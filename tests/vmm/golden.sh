#!/usr/bin/env bash
# Golden files of cococtl domain-xml for each class, with and without
# initdata, native and passthrough libvirt forms; the forms libvirt 9.0 knows
# (none, and the passthrough forms) are also validated with virt-xml-validate.
#   golden.sh BUILD        UPDATE=1 rewrites the golden files
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
# name class libvirt-version transport initdata validate [nics]
cases=(
	"dev-serial dev 9.0.0 virtio-serial - yes"
	"dev-serial-nics dev 9.0.0 virtio-serial - yes cocoa1b2c3d4-0,02:42:a9:fe:4d:02,1400 cocoa1b2c3d4-1,02:42:a9:fe:4d:03"
	"snp-passthrough-nic snp 9.0.0 virtio-serial - yes cocoa1b2c3d4-0,02:42:a9:fe:4d:02,1500"
	"dev-vsock-initdata dev 9.0.0 vsock initdata yes"
	"snp-passthrough snp 9.0.0 virtio-serial - yes"
	"snp-passthrough-initdata snp 10.4.0 vsock initdata yes"
	"snp-native snp 10.5.0 vsock - no"
	"snp-native-initdata snp 10.5.0 vsock initdata no"
	"tdx-passthrough-initdata tdx 11.5.9 vsock initdata yes"
	"tdx-native tdx 11.6.0 vsock - no"
	"tdx-native-initdata tdx 11.6.0 vsock initdata no"
)
for c in "${cases[@]}"; do
	read -r name class version transport initdata validate nics <<<"$c"
	args=(--config "$here/classes/$class.json" --libvirt-version "$version" --transport "$transport"
		--name "coco-$name" --run-dir "/run/coco/$name")
	for n in $nics; do args+=(--nic "$n"); done
	[[ "$initdata" == initdata ]] && args+=(--initdata "$here/initdata.toml")
	"$build/bin/cococtl" domain-xml "${args[@]}" >"$tmp/$name.xml"
	if [[ "${UPDATE:-}" == 1 ]]; then cp "$tmp/$name.xml" "$here/golden/$name.xml"; fi
	if diff -u "$here/golden/$name.xml" "$tmp/$name.xml"; then pass=$((pass + 1)); else
		echo "not ok - $name differs from its golden file"; fail=$((fail + 1)); fi
	if [[ "$validate" == yes ]]; then
		if out=$(virt-xml-validate "$tmp/$name.xml" domain 2>&1); then pass=$((pass + 1)); else
			echo "not ok - $name is not valid for libvirt $(virsh --version): $out"; fail=$((fail + 1)); fi
	fi
done
# the launch fields carry the initdata digest
digest=$("$build/bin/cococtl" initdata digest "$here/initdata.toml" --tee snp | sed -n 's/^host_data=//p')
if grep -q "<hostData>$digest</hostData>" "$tmp/snp-native-initdata.xml" &&
	grep -q "host-data=$digest" "$tmp/snp-passthrough-initdata.xml"; then pass=$((pass + 1)); else
	echo "not ok - HOST_DATA is not the initdata digest"; fail=$((fail + 1)); fi
mrc=$("$build/bin/cococtl" initdata digest "$here/initdata.toml" --tee tdx | sed -n 's/^mrconfigid=//p')
if grep -q "<mrConfigId>$mrc</mrConfigId>" "$tmp/tdx-native-initdata.xml"; then pass=$((pass + 1)); else
	echo "not ok - MRCONFIGID is not the initdata digest"; fail=$((fail + 1)); fi
echo "domain xml: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
