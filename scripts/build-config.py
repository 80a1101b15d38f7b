#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Write the class files for the build tree: config/*.json with the kernel and
initrd of BUILD/guest. The dev class uses TCG and virtio-serial, which work on
any machine (these build machines have no usable KVM nor vsock transport).
  build-config.py BUILD"""
import json, os, sys

build = os.path.abspath(sys.argv[1])
os.makedirs(os.path.join(build, "config"), exist_ok=True)
for name in ("dev", "snp", "tdx"):
    c = json.load(open(os.path.join("config", name + ".json")))
    c["kernel"] = os.path.join(build, "guest", "vmlinuz")
    c["initrd"] = os.path.join(build, "guest", "initramfs.cpio.gz")
    if name == "dev":
        c["accelerator"] = "tcg"
        c["agent"]["transport"] = "virtio-serial"
    path = os.path.join(build, "config", name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
