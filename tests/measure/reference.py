#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An independent reference for the launch measurements, written straight from
the published algorithm (docs: ../shared/docs/protocols.md section 6), and a
synthesiser of firmware images that exercise every table the C code parses.
The tests run both implementations on the same inputs and compare.

  reference.py synth OUT [--no-kernel-hashes] [--no-reset-block] [--seed N]
  reference.py snp FW --vcpus N --sig S [--features F] [--kernel K [--initrd I] [--append A]]
  reference.py tdx FW
"""
import argparse
import hashlib
import random
import struct
import sys
import uuid

FOOTER = "96b582de-1fb2-45f7-baea-a366c55a082d"
SEV_META = "dc886566-984a-4798-a75e-5585a7bf67cc"
HASH_TABLE = "7255371f-3a3b-4b04-927b-1da6efa8d454"
RESET = "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
TDVF = "e47a6535-984a-4798-865e-4685a7bf8ec2"
HT_HEADER = "9438d606-4f22-4cc9-b479-a793d411fd21"
HT_CMDLINE = "97d02dd8-bd20-4c94-aa78-e7714d36ab2a"
HT_INITRD = "44baf731-3a2f-4bd7-9af1-41e29169781d"
HT_KERNEL = "4de79437-abd2-427f-b835-d5b172d2045b"


def g(s):
    return uuid.UUID(s).bytes_le


def footer_table(fw):
    """{guid string: entry data} from the table that ends 32 bytes before the end."""
    if fw[-48:-32] != g(FOOTER):
        return {}
    total = struct.unpack("<H", fw[-50:-48])[0]
    body = fw[len(fw) - 32 - total:len(fw) - 50]
    out = {}
    while len(body) >= 18:
        guid = str(uuid.UUID(bytes_le=body[-16:]))
        size = struct.unpack("<H", body[-18:-16])[0]
        assert 18 <= size <= len(body), "bad entry"
        out[guid] = body[len(body) - size:-18]
        body = body[:len(body) - size]
    return out


def descriptor(fw, entry, sig, item):
    off = struct.unpack("<I", entry[:4])[0]
    d = fw[len(fw) - off:]
    assert d[:4] == sig
    _, _, count = struct.unpack("<III", d[4:16])
    return [struct.unpack(item, d[16 + i * struct.calcsize(item):16 + (i + 1) * struct.calcsize(item)])
            for i in range(count)]


def hash_table(kernel, initrd, append):
    cmd = (append or "").encode() + b"\0"
    ird = open(initrd, "rb").read() if initrd else b""
    krn = open(kernel, "rb").read()
    t = g(HT_HEADER) + struct.pack("<H", 168)
    for guid, data in ((HT_CMDLINE, cmd), (HT_INITRD, ird), (HT_KERNEL, krn)):
        t += g(guid) + struct.pack("<H", 50) + hashlib.sha256(data).digest()
    return t + bytes(176 - len(t))


def vmsa(eip, sig, features):
    page = bytearray(4096)

    def seg(off, sel, attr, base):
        struct.pack_into("<HHIQ", page, off, sel, attr, 0xffff, base)
    for off, attr in ((0x00, 0x93), (0x20, 0x93), (0x30, 0x93), (0x40, 0x93), (0x50, 0x93),
                      (0x60, 0), (0x70, 0x82), (0x80, 0), (0x90, 0x8b)):
        seg(off, 0, attr, 0)
    seg(0x10, 0xf000, 0x9b, eip & 0xffff0000)
    for off, val in ((0xd0, 0x1000), (0x148, 0x40), (0x158, 0x10), (0x160, 0x400),
                     (0x168, 0xffff0ff0), (0x170, 2), (0x178, eip & 0xffff),
                     (0x268, 0x7040600070406), (0x310, sig), (0x3b0, features), (0x3e8, 1)):
        struct.pack_into("<Q", page, off, val)
    return bytes(page)


def snp(fw, vcpus, sig, features, kernel, initrd, append):
    ld = bytes(48)

    def upd(ptype, gpa, contents=bytes(48)):
        nonlocal ld
        info = ld + contents + struct.pack("<HBBBBBBQ", 0x70, ptype, 0, 0, 0, 0, 0, gpa)
        ld = hashlib.sha384(info).digest()

    base = (1 << 32) - len(fw)
    for off in range(0, len(fw), 4096):
        upd(1, base + off, hashlib.sha384(fw[off:off + 4096]).digest())
    table = footer_table(fw)
    used_hashes = False
    for gpa, size, kind in descriptor(fw, table[SEV_META], b"ASEV", "<III"):
        if kind in (1, 4) or (kind == 0x10 and not kernel):
            for off in range(0, size, 4096):
                upd(3, gpa + off)
        elif kind == 2:
            upd(5, gpa)
        elif kind == 3:
            upd(6, gpa)
        elif kind == 0x10:
            ht_gpa = struct.unpack("<I", table[HASH_TABLE][:4])[0]
            page = bytearray(4096)
            page[ht_gpa & 0xfff:(ht_gpa & 0xfff) + 176] = hash_table(kernel, initrd, append)
            upd(1, ht_gpa & ~0xfff, hashlib.sha384(bytes(page)).digest())
            used_hashes = True
        else:
            raise SystemExit("unknown section type")
    if kernel and not used_hashes:
        raise SystemExit("no kernel hashes section")
    ap_eip = struct.unpack("<I", table[RESET][:4])[0] if RESET in table else None
    for i in range(vcpus):
        upd(2, 0xFFFFFFFFF000, hashlib.sha384(vmsa(0xfffffff0 if i == 0 else ap_eip, sig, features)).digest())
    return ld


def tdx(fw):
    h = hashlib.sha384()
    for data_off, raw, addr, size, _kind, attrs in descriptor(fw, footer_table(fw)[TDVF], b"TDVF", "<IIQQII"):
        mem = fw[data_off:data_off + raw] + bytes(size - raw)
        for p in range(0, size, 4096):
            if not attrs & 2:
                h.update(b"MEM.PAGE.ADD".ljust(16, b"\0") + struct.pack("<Q", addr + p) + bytes(104))
            if attrs & 1:
                for c in range(0, 4096, 256):
                    h.update(b"MR.EXTEND".ljust(16, b"\0") + struct.pack("<Q", addr + p + c) + bytes(104))
                    h.update(mem[p + c:p + c + 256])
    return h.digest()


def synth(out, kernel_hashes, reset_block, seed):
    """A 256 KiB image: random code, an ASEV and a TDVF descriptor, and a footer
    table with SEV metadata, the kernel hash table, the reset block, TDVF and an
    entry of a GUID nobody knows (to be skipped)."""
    rnd = random.Random(seed)
    size = 256 * 1024
    img = bytearray(rnd.getrandbits(8) for _ in range(size))
    sections = [(0x800000, 0x3000, 1), (0x803000, 0x1000, 2), (0x804000, 0x1000, 3),
                (0x805000, 0x1000, 4)]
    if kernel_hashes:
        sections.append((0x806000, 0x1000, 0x10))
    asev = b"ASEV" + struct.pack("<III", 16 + 12 * len(sections), 1, len(sections))
    asev += b"".join(struct.pack("<III", *s) for s in sections)
    tdvf_secs = [(0, 0x20000, 0xFFFC0000, 0x20000, 0, 1),      # BFV, measured
                 (0x20000, 0x1800, 0xFFFE0000, 0x2000, 1, 1),  # CFV, partly raw
                 (0, 0, 0x810000, 0x2000, 2, 0),               # TD_HOB: added, not extended
                 (0, 0, 0x820000, 0x3000, 3, 2)]               # PAGE_AUG: not measured
    tdvf = b"TDVF" + struct.pack("<III", 16 + 32 * len(tdvf_secs), 1, len(tdvf_secs))
    tdvf += b"".join(struct.pack("<IIQQII", *s) for s in tdvf_secs)
    asev_at, tdvf_at = size - 0x1000, size - 0x800
    img[asev_at:asev_at + len(asev)] = asev
    img[tdvf_at:tdvf_at + len(tdvf)] = tdvf

    def entry(guid, data):
        return data + struct.pack("<H", len(data) + 18) + g(guid)
    entries = [entry("11111111-2222-3333-4444-555555555555", b"ignored"),
               entry(SEV_META, struct.pack("<I", size - asev_at)),
               entry(TDVF, struct.pack("<I", size - tdvf_at))]
    if kernel_hashes:
        entries.append(entry(HASH_TABLE, struct.pack("<II", 0x806c00, 0x400)))
    if reset_block:
        entries.append(entry(RESET, struct.pack("<I", 0xffffe000)))
    table = b"".join(entries)
    tail = table + struct.pack("<H", len(table) + 18) + g(FOOTER) + bytes(32)
    img[size - len(tail):] = tail
    open(out, "wb").write(img)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synth")
    s.add_argument("out")
    s.add_argument("--no-kernel-hashes", action="store_true")
    s.add_argument("--no-reset-block", action="store_true")
    s.add_argument("--seed", type=int, default=1)
    m = sub.add_parser("snp")
    m.add_argument("fw")
    m.add_argument("--vcpus", type=int, required=True)
    m.add_argument("--sig", type=lambda v: int(v, 0), required=True)
    m.add_argument("--features", type=lambda v: int(v, 0), default=1)
    m.add_argument("--kernel")
    m.add_argument("--initrd")
    m.add_argument("--append")
    t = sub.add_parser("tdx")
    t.add_argument("fw")
    a = ap.parse_args()
    if a.cmd == "synth":
        synth(a.out, not a.no_kernel_hashes, not a.no_reset_block, a.seed)
    elif a.cmd == "snp":
        fw = open(a.fw, "rb").read()
        print(snp(fw, a.vcpus, a.sig, a.features, a.kernel, a.initrd, a.append).hex())
    else:
        print(tdx(open(a.fw, "rb").read()).hex())


if __name__ == "__main__":
    sys.exit(main())
