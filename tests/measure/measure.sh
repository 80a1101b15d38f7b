#!/usr/bin/env bash
# The C measurements (cococtl measure) against the independent Python
# reference (reference.py) on synthesised firmware and on Debian's OVMF.fd.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
cococtl="$build/bin/cococtl"
ref="/usr/bin/python3 $here/reference.py"
tmp=$(mktemp -d /tmp/coco-measure.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

check() { # name, expected, actual
	if [[ "$2" == "$3" && -n "$2" ]]; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $1: reference $2, cococtl $3"; fi
}

$ref synth "$tmp/fw.fd"
$ref synth "$tmp/fw-nohashes.fd" --no-kernel-hashes --seed 2
$ref synth "$tmp/fw-noreset.fd" --no-reset-block --seed 3
head -c 300000 /dev/urandom >"$tmp/vmlinuz"
head -c 120000 /dev/urandom >"$tmp/initrd"

# SEV-SNP: vCPU counts and types, guest features, kernel hashes on and off.
for fw in fw fw-nohashes; do
	for vcpus in 1 2 5; do
		for cpu in "EPYC-v4 0x800f12" "EPYC-Milan 0xa00f11" "EPYC-Genoa-v1 0xa10f10"; do
			set -- $cpu
			want=$($ref snp "$tmp/$fw.fd" --vcpus $vcpus --sig $2)
			got=$("$cococtl" measure snp --ovmf "$tmp/$fw.fd" --vcpus $vcpus --vcpu-type $1)
			check "snp $fw vcpus=$vcpus $1" "$want" "$got"
		done
	done
done
want=$($ref snp "$tmp/fw.fd" --vcpus 2 --sig 0x830f10 --features 0x21)
got=$("$cococtl" measure snp --ovmf "$tmp/fw.fd" --vcpus 2 --vcpu-sig 0x830f10 --guest-features 0x21)
check "snp features 0x21" "$want" "$got"
for args in "--kernel $tmp/vmlinuz" "--kernel $tmp/vmlinuz --initrd $tmp/initrd" \
	"--kernel $tmp/vmlinuz --initrd $tmp/initrd --append console=hvc0_quiet"; do
	want=$($ref snp "$tmp/fw.fd" --vcpus 3 --sig 0x800f12 ${args//--append /--append=})
	got=$("$cococtl" measure snp --ovmf "$tmp/fw.fd" --vcpus 3 --vcpu-type EPYC ${args})
	check "snp $args" "$want" "$got"
done
# the kernel hashes page must change the digest
a=$("$cococtl" measure snp --ovmf "$tmp/fw.fd" --vcpus 1 --vcpu-type EPYC --kernel "$tmp/vmlinuz")
b=$("$cococtl" measure snp --ovmf "$tmp/fw.fd" --vcpus 1 --vcpu-type EPYC --kernel "$tmp/vmlinuz" --append x)
[[ "$a" != "$b" ]] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: the command line does not change the digest"; }

# TDX MRTD.
check "tdx synthesised" "$($ref tdx "$tmp/fw.fd")" "$("$cococtl" measure tdx --ovmf "$tmp/fw.fd")"

# Debian's OVMF.fd: SNP metadata (without kernel hashes) and TDVF metadata.
ovmf=/usr/share/ovmf/OVMF.fd
for vcpus in 1 4; do
	check "snp OVMF.fd vcpus=$vcpus" "$($ref snp $ovmf --vcpus $vcpus --sig 0x800f12)" \
		"$("$cococtl" measure snp --ovmf $ovmf --vcpus $vcpus --vcpu-type EPYC-v4)"
done
check "tdx OVMF.fd" "$($ref tdx $ovmf)" "$("$cococtl" measure tdx --ovmf $ovmf)"
# stable across runs
check "snp OVMF.fd repeat" "$("$cococtl" measure snp --ovmf $ovmf --vcpus 2 --vcpu-type EPYC)" \
	"$("$cococtl" measure snp --ovmf $ovmf --vcpus 2 --vcpu-type EPYC)"

# cococtl measure --config: the reference values of what a class launches.
cat >"$tmp/snp.json" <<JSON
{"tee": "snp", "firmware": "$tmp/fw.fd", "kernel": "$tmp/vmlinuz", "initrd": "$tmp/initrd",
 "kernel_params": "console=hvc0 quiet", "vcpus": 2, "vcpu_model": "EPYC-Milan",
 "snp": {"guest_features": "0x1"}}
JSON
printf 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "url = 1"\n' >"$tmp/id.toml"
json=$("$cococtl" measure --config "$tmp/snp.json" --initdata "$tmp/id.toml")
field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1" <<<"$json"; }
check "config snp launch digest" \
	"$($ref snp "$tmp/fw.fd" --vcpus 2 --sig 0xa00f11 --kernel "$tmp/vmlinuz" --initrd "$tmp/initrd" --append="console=hvc0 quiet")" \
	"$(field '["reference_values"]["snp_launch_measurement"][0]')"
check "config snp host_data" \
	"$(/usr/bin/python3 -c "import hashlib,sys; print(hashlib.sha384(open(sys.argv[1],'rb').read()).hexdigest()[:64])" "$tmp/id.toml")" \
	"$(field '["host_data"]')"
check "config kernel sha256" "$(sha256sum "$tmp/vmlinuz" | cut -d' ' -f1)" "$(field '["artefacts"]["kernel"]["sha256"]')"
cat >"$tmp/tdx.json" <<JSON
{"tee": "tdx", "firmware": "$tmp/fw.fd", "kernel": "$tmp/vmlinuz", "initrd": "$tmp/initrd"}
JSON
json=$("$cococtl" measure --config "$tmp/tdx.json" --initdata "$tmp/id.toml")
check "config tdx mrtd" "$($ref tdx "$tmp/fw.fd")" "$(field '["reference_values"]["mr_td"][0]')"
check "config tdx mrconfigid" \
	"$(/usr/bin/python3 -c "import hashlib,sys; print(hashlib.sha384(open(sys.argv[1],'rb').read()).hexdigest())" "$tmp/id.toml")" \
	"$(field '["mrconfigid"]')"

# Refusals, each with a message saying why.
expect_fail() { # name, pattern, command...
	local name=$1 pattern=$2; shift 2
	if out=$("$@" 2>&1); then fail=$((fail + 1)); echo "FAIL: $name succeeded"; return; fi
	if grep -q -- "$pattern" <<<"$out"; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $name: message \"$out\" lacks \"$pattern\""; fi
}
expect_fail "kernel without hashes section" "no kernel hashes section" \
	"$cococtl" measure snp --ovmf "$tmp/fw-nohashes.fd" --vcpus 1 --vcpu-type EPYC --kernel "$tmp/vmlinuz"
expect_fail "APs without reset block" "reset block" \
	"$cococtl" measure snp --ovmf "$tmp/fw-noreset.fd" --vcpus 2 --vcpu-type EPYC
expect_fail "unknown vcpu type" "unknown --vcpu-type" \
	"$cococtl" measure snp --ovmf "$tmp/fw.fd" --vcpus 1 --vcpu-type Skylake
expect_fail "missing firmware" "No such file" \
	"$cococtl" measure tdx --ovmf "$tmp/none.fd"
sed 's/"vcpus": 2/"vcpus": 2, "cpus": 1/' "$tmp/snp.json" >"$tmp/bad.json"
expect_fail "unknown class key" 'key "cpus": unknown key' "$cococtl" measure --config "$tmp/bad.json"
sed "s|$tmp/fw.fd|$tmp/none.fd|" "$tmp/snp.json" >"$tmp/nofw.json"
expect_fail "class firmware missing" "firmware: \"$tmp/none.fd\": No such file" \
	"$cococtl" measure --config "$tmp/nofw.json"
printf 'version = "0.1.0"\nalgorithm = "md5"\n' >"$tmp/bad.toml"
expect_fail "bad initdata" 'unknown algorithm "md5"' \
	"$cococtl" measure --config "$tmp/snp.json" --initdata "$tmp/bad.toml"
head -c 8192 /dev/zero >"$tmp/plain.fd"
expect_fail "firmware without TDVF" "no TDVF metadata" "$cococtl" measure tdx --ovmf "$tmp/plain.fd"
head -c 100000 "$tmp/fw.fd" >"$tmp/cut.fd"
expect_fail "truncated firmware" "multiple of 4096" "$cococtl" measure tdx --ovmf "$tmp/cut.fd"

echo "measure: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
