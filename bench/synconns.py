#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""synconns.py: synthetic TCP connections for the replication bench (bench/repl_bench.sh).

  synconns.py SRC DST DPORT --rate R --secs S [--sport-lo L --sport-hi H] [--lag N]

Sends, from a raw socket (IPv4, IP_HDRINCL), the client's side of short TCP connections
SRC:sport -> DST:DPORT at R connections per second for S seconds: a SYN, then the ACK that
completes the handshake, then a FIN (three packets; nobody answers: the bench has the targets
drop them).  A distributor that only sees the client's direction takes each as a connection
that is established at its ACK and closing at its FIN, which is what it replicates.  The
ACK of connection i goes with the SYN of connection i+N, its FIN with the SYN of i+2N (N,
--lag, default 64), so that the distributor sees each stage before the next.  Source ports
cycle through [L, H] (default 1024..65535): a port comes back after H-L+1 connections.

Prints "SYN sent <n> connections in <s> s: <rate> conn/s, <packets> packets, <late> ms
behind at most, <k> packets not sent" (k: a send that failed for 0.5 s, the device queue
full) and exits 0; 2 on bad arguments or when the raw socket cannot be opened.
"""
import argparse
import socket
import struct
import sys
import time


def csum(b):
    """The Internet checksum of b (even length)."""
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("dport", type=int)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--secs", type=float, required=True)
    ap.add_argument("--sport-lo", type=int, default=1024)
    ap.add_argument("--sport-hi", type=int, default=65535)
    ap.add_argument("--lag", type=int, default=64)
    a = ap.parse_args()
    if (a.rate <= 0 or a.secs <= 0 or not 1 <= a.sport_lo <= a.sport_hi <= 65535 or
            a.lag < 1 or not 1 <= a.dport <= 65535):
        ap.error("bad figures")
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    except OSError as e:
        print("SYN raw socket: %s" % e, flush=True)
        return 2
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    # IP header: the kernel fills the total length, the id and the checksum (IP_HDRINCL)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0x4000, 64, socket.IPPROTO_TCP, 0,
                      src, dst)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, 20)
    ISN = 0x10000000
    # per stage: flags, seq, ack; the checksum of the header with sport 0 and checksum 0,
    # to which each connection's port is added (one's complement sum)
    stages = []
    for flags, seq, ack in ((0x02, ISN, 0), (0x10, ISN + 1, 1), (0x11, ISN + 1, 1)):
        hdr = struct.pack("!HHIIBBHHH", 0, a.dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        stages.append((hdr, csum(pseudo + hdr)))
    nports = a.sport_hi - a.sport_lo + 1

    def pkt(i, st):
        sport = a.sport_lo + i % nports
        hdr, base = stages[st]
        c = (~fold(base + sport)) & 0xFFFF
        return iph + struct.pack("!H", sport) + hdr[2:16] + struct.pack("!H", c) + hdr[18:]

    send = s.sendto
    addr = (a.dst, 0)
    total = int(a.rate * a.secs)
    lag = a.lag
    sent = pk = lost = 0
    late = 0.0
    t0 = time.monotonic()
    # i runs past total by 2*lag so that the last connections get their ACK and FIN
    i = 0
    while i < total + 2 * lag:
        now = time.monotonic()
        due = min(total + 2 * lag, int((now - t0) * a.rate) + 1)
        if due <= i:
            time.sleep(min(0.001, (i - due + 1) / a.rate))
            continue
        late = max(late, (now - t0) - i / a.rate)
        while i < due:
            for j, st in ((i, 0), (i - lag, 1), (i - 2 * lag, 2)):
                if not 0 <= j < total:
                    continue
                for _ in range(1000):
                    try:
                        send(pkt(j, st), addr)
                        pk += 1
                        sent += st == 0
                        break
                    except OSError:
                        time.sleep(0.0005)     # ENOBUFS: the device queue is full
                else:
                    lost += 1
            i += 1
    secs = time.monotonic() - t0
    print("SYN sent %d connections in %.2f s: %.0f conn/s, %d packets, %.0f ms behind at most,"
          " %d packets not sent" % (sent, secs, sent / secs if secs > 0 else 0, pk, late * 1000,
                                     lost), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
