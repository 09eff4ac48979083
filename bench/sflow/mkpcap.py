#!/usr/bin/env python3
"""Writes one pcap (Ethernet/IPv4/UDP to port 6343) holding every sFlow v5 datagram of the
given pcap files, repeated N times, and prints how many datagrams it wrote.

usage: mkpcap.py OUT.pcap REPEAT IN.pcap...
"""
import struct
import sys


def payloads(path):
    d = open(path, "rb").read()
    e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    if struct.unpack(e + "I", d[20:24])[0] != 1:
        return
    off = 24
    while off + 16 <= len(d):
        incl = struct.unpack(e + "I", d[off + 8:off + 12])[0]
        f = d[off + 16:off + 16 + incl]
        off += 16 + incl
        p, et = 12, None
        while p + 2 <= len(f):
            et = struct.unpack("!H", f[p:p + 2])[0]
            p += 2
            if et in (0x8100, 0x88A8):
                p += 2
                continue
            break
        if et == 0x0800 and len(f) >= p + 20 and f[p + 9] == 17:
            udp = p + (f[p] & 0x0F) * 4
        elif et == 0x86DD and len(f) >= p + 40 and f[p + 6] == 17:
            udp = p + 40
        else:
            continue
        pl = f[udp + 8:]
        if len(pl) >= 8 and struct.unpack("!I", pl[:4])[0] == 5:
            yield pl


def frame(pl):
    udp = struct.pack("!HHHH", 40000, 6343, 8 + len(pl), 0) + pl
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([192, 0, 2, 250]), bytes([192, 0, 2, 1]))
    s = sum(struct.unpack("!10H", ip))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xFFFF) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\xfa" + b"\x08\x00" + ip + udp


def main():
    out, repeat, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    frames = [frame(pl) for f in files for pl in payloads(f)]
    with open(out, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(repeat):
            for f in frames:
                o.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f)
    print(len(frames) * repeat)


main()
