#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Build an OCI image tarball (for `ctr image import`) with busybox-static:
/bin/busybox and a link per applet. No registry is needed.
  mkimage.py OUT.tar NAME [CMD...]     CMD defaults to /bin/sh"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

out, name, cmd = sys.argv[1], sys.argv[2], sys.argv[3:] or ["/bin/sh"]
applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()

layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    def add_dir(path):
        ti = tarfile.TarInfo(path); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "run", "root"):
        add_dir(d)
    data = open("/bin/busybox", "rb").read()
    ti = tarfile.TarInfo("bin/busybox"); ti.size = len(data); ti.mode = 0o755
    t.addfile(ti, io.BytesIO(data))
    for a in applets:
        if a == "busybox":
            continue
        ti = tarfile.TarInfo("bin/" + a); ti.type = tarfile.SYMTYPE; ti.linkname = "busybox"; t.addfile(ti)
    passwd = b"root:x:0:0:root:/root:/bin/sh\n"
    ti = tarfile.TarInfo("etc/passwd"); ti.size = len(passwd); ti.mode = 0o644
    t.addfile(ti, io.BytesIO(passwd))
raw = layer.getvalue()
gz = gzip.compress(raw, mtime=0)

def blob(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

config = json.dumps({
    "architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": cmd},
    "rootfs": {"type": "layers", "diff_ids": [blob(raw)]},
}).encode()
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config), "size": len(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(gz), "size": len(gz)}],
}).encode()
index = json.dumps({
    "schemaVersion": 2,
    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(manifest),
                   "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"},
                   "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}}],
}).encode()
with tarfile.open(out, "w") as t:
    def put(path, data):
        ti = tarfile.TarInfo(path); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    put("index.json", index)
    for b in (config, manifest, gz):
        put("blobs/sha256/" + hashlib.sha256(b).hexdigest(), b)
