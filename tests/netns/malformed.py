#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sends a burst of malformed packets toward a VIPA (no scapy: bytes are built by hand).

--mode ip   raw IP socket (IP_HDRINCL): the kernel fixes the IPv4 total length and header
            checksum, so only the L4 and fragment malformations travel (routable via a router).
--mode l2   AF_PACKET on --iface to --dst-mac: everything, including IPv4 headers whose total
            length exceeds the frame or whose IHL is wrong (not routable: send on the LAN).
--v6        also IPv6 ones (truncated TCP, fragments) to --dst6.
Prints how many of each kind were sent.
"""
import argparse
import os
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t >> 16) + (t & 0xFFFF)
    return ~t & 0xFFFF


def ip4(src, dst, payload, proto=6, tot_len=None, ihl=5, frag=0, ident=0x4242, opts=b""):
    """An IPv4 header (with a correct header checksum unless told otherwise) + payload."""
    if tot_len is None:
        tot_len = ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot_len, ident, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h[:max(20, ihl * 4)])) + h[12:]
    return h + payload


def tcp(sport, dport, doff=5, flags=0x02, extra=b""):
    """A TCP header with the given data offset (the bytes are 20 + extra whatever doff says)."""
    return struct.pack("!HHIIBBHHH", sport, dport, 0x11223344, 0, (doff & 15) << 4, flags,
                       65535, 0, 0) + extra


def kinds4(src, dst, dport, l2, i):
    sp = 20000 + (i % 20000)
    k = [
        ("tcp_truncated", ip4(src, dst, tcp(sp, dport)[:10])),
        ("tcp_doff_lt5", ip4(src, dst, tcp(sp, dport, doff=4))),
        ("tcp_doff_0", ip4(src, dst, tcp(sp, dport, doff=0))),
        ("tcp_doff_past_end", ip4(src, dst, tcp(sp, dport, doff=15))),
        # first fragment (MF, offset 0) carrying only the ports
        ("frag_first_short", ip4(src, dst, tcp(sp, dport)[:8], frag=0x2000, ident=i & 0xFFFF)),
        # first fragment with a whole header and data, the rest never comes
        ("frag_first", ip4(src, dst, tcp(sp, dport) + b"x" * 32, frag=0x2000,
                           ident=(i + 1) & 0xFFFF)),
        # a later fragment (offset 64 bytes, last) with no first
        ("frag_later", ip4(src, dst, b"y" * 48, frag=8, ident=(i + 2) & 0xFFFF)),
        ("udp_truncated", ip4(src, dst, struct.pack("!HH", sp, dport), proto=17)),
    ]
    if l2:
        k += [
            ("ip_totlen_gt_packet", ip4(src, dst, tcp(sp, dport), tot_len=1000)),
            ("ip_ihl_lt5", ip4(src, dst, tcp(sp, dport), ihl=4)),
            ("ip_ihl_past_end", ip4(src, dst, tcp(sp, dport)[:4], ihl=15, opts=b"\1" * 40)),
        ]
    return k


def ip6(src, dst, nh, payload, plen=None):
    if plen is None:
        plen = len(payload)
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nh, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def kinds6(src, dst, dport, i):
    sp = 20000 + (i % 20000)
    ident = 0x10000 + i
    return [
        ("v6_tcp_truncated", ip6(src, dst, 6, tcp(sp, dport)[:10])),
        ("v6_tcp_doff_lt5", ip6(src, dst, 6, tcp(sp, dport, doff=3))),
        # fragment header: next header TCP, offset 0, M=1
        ("v6_frag_first", ip6(src, dst, 44, struct.pack("!BBHI", 6, 0, 1, ident) +
                              tcp(sp, dport) + b"x" * 16)),
        ("v6_frag_later", ip6(src, dst, 44, struct.pack("!BBHI", 6, 0, 8 << 3, ident + 1) +
                              b"y" * 40)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("ip", "l2"), default="ip")
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--src6")
    ap.add_argument("--dst6")
    ap.add_argument("--dport", type=int, default=80)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--iface")
    ap.add_argument("--dst-mac")
    a = ap.parse_args()

    sent = {}
    if a.mode == "l2":
        if not a.iface or not a.dst_mac:
            sys.exit("--mode l2 needs --iface and --dst-mac")
        with open("/sys/class/net/%s/address" % a.iface) as f:
            smac = bytes.fromhex(f.read().strip().replace(":", ""))
        dmac = bytes.fromhex(a.dst_mac.replace(":", ""))
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a.iface, 0))

        def send4(p):
            s.send(dmac + smac + b"\x08\x00" + p)

        def send6(p):
            s.send(dmac + smac + b"\x86\xdd" + p)
    else:
        s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW) \
            if a.dst6 else None

        def send4(p):
            s4.sendto(p, (a.dst, 0))

        def send6(p):
            s6.sendto(p, (a.dst6, 0))

    i = 0
    n = 0
    while n < a.count:
        batch = [(k, p, send4) for k, p in kinds4(a.src, a.dst, a.dport, a.mode == "l2", i)]
        if a.dst6 and a.src6:
            batch += [(k, p, send6) for k, p in kinds6(a.src6, a.dst6, a.dport, i)]
        for k, p, fn in batch:
            if n >= a.count:
                break
            try:
                fn(p)
                sent[k] = sent.get(k, 0) + 1
            except OSError as e:
                sent["error_" + k] = sent.get("error_" + k, 0) + 1
                if os.environ.get("MALFORMED_DEBUG"):
                    print(k, e, file=sys.stderr)
            n += 1
        i += 1
    print(" ".join("%s=%d" % kv for kv in sorted(sent.items())))


if __name__ == "__main__":
    main()
