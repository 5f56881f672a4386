#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""UDP echo for the netns tests, and a client of long-lived UDP flows against it.

Server (--name): answers every datagram on [::]:PORT (dual stack) with "NAME <the datagram>" so
the client can tell which target answered.

Client (--client HOST): --flows (24) sockets, each with its own source port, connected to
HOST:PORT; each sends "SEQ" every --interval (100 ms) and records the target that answered
(the first word of the answer), the longest time without an answer and every change of target.
Prints "READY <epoch ms> <flows answered>" once every flow has had an answer (bounded by
--setup-timeout), runs --duration seconds more (less once --stop-file exists), then writes the
JSON summary to --out and prints "DONE ...".  Times in the summary are epoch milliseconds.
"""
import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time


def serve(a):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", a.port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(a.name.encode() + b" " + data[:512], peer)


class Flow:
    def __init__(self, idx, sock):
        self.idx = idx
        self.sock = sock
        self.lport = sock.getsockname()[1]
        self.seq = 0
        self.sent = 0
        self.answered = 0
        self.target = None
        self.moves = []                 # (epoch ms, old, new)
        self.last_ok = None
        self.max_gap = 0.0
        self.max_gap_end = None


def client(a):
    fam = socket.AF_INET6 if ":" in a.client else socket.AF_INET
    sel = selectors.DefaultSelector()
    flows = []
    for i in range(a.flows):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect((a.client, a.port))
        s.setblocking(False)
        f = Flow(i, s)
        flows.append(f)
        sel.register(s, selectors.EVENT_READ, f)
    start = time.time()
    ready = end = None
    next_send = start
    stop_check = 0.0
    while True:
        t = time.time()
        if ready is None:
            if all(f.answered for f in flows):
                ready = t
                end = t + a.duration
                print("READY %d %d" % (int(t * 1000), len(flows)), flush=True)
            elif t - start > a.setup_timeout:
                break
        if end is not None and t >= end:
            break
        if end is not None and a.stop_file and t >= stop_check:
            stop_check = t + 0.05
            if os.path.exists(a.stop_file):
                break
        if t >= next_send:
            next_send += a.interval
            for f in flows:
                f.seq += 1
                try:
                    f.sock.send(b"%d" % f.seq)
                    f.sent += 1
                except OSError:
                    pass                # ICMP errors of earlier datagrams surface here
        for k, _ in sel.select(timeout=max(0.0, min(0.01, next_send - time.time()))):
            f = k.data
            while True:
                try:
                    d = f.sock.recv(2048)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    continue            # an ICMP error (port unreachable...): no answer
                now = time.time()
                name = d.split(b" ", 1)[0].decode(errors="replace")
                if f.target is None:
                    f.target = name
                elif name != f.target:
                    f.moves.append((int(now * 1000), f.target, name))
                    f.target = name
                if f.last_ok is not None and now - f.last_ok > f.max_gap:
                    f.max_gap, f.max_gap_end = now - f.last_ok, now
                f.last_ok = now
                f.answered += 1
    t = time.time()
    per = []
    for f in flows:
        gap, gap_end = f.max_gap, f.max_gap_end
        if f.last_ok is not None and t - f.last_ok > gap:
            gap, gap_end = t - f.last_ok, t
        per.append({"index": f.idx, "local_port": f.lport, "first_target":
                    f.moves[0][1] if f.moves else f.target, "target": f.target,
                    "sent": f.sent, "answered": f.answered, "moves": f.moves,
                    "max_gap_ms": int(gap * 1000),
                    "max_gap_end_ms": int(gap_end * 1000) if gap_end else None})
    worst = max(per, key=lambda p: p["max_gap_ms"]) if per else None
    targets = {}
    for p in per:
        targets[p["first_target"]] = targets.get(p["first_target"], 0) + 1
    s = {"host": a.client, "port": a.port,
         "ready_ms": int(ready * 1000) if ready else None, "end_ms": int(t * 1000),
         "flows": len(per), "answered_flows": sum(1 for p in per if p["answered"]),
         "moved": sum(1 for p in per if p["moves"]),
         "sent": sum(p["sent"] for p in per), "answered": sum(p["answered"] for p in per),
         "max_gap_ms": worst["max_gap_ms"] if worst else 0,
         "max_gap_end_ms": worst["max_gap_end_ms"] if worst else None,
         "targets": targets, "per_flow": per}
    with open(a.out + ".tmp", "w") as fo:
        json.dump(s, fo, indent=1)
    os.replace(a.out + ".tmp", a.out)
    print("DONE flows %d, moved %d, answered %d/%d, max gap %d ms"
          % (s["flows"], s["moved"], s["answered"], s["sent"], s["max_gap_ms"]), flush=True)
    return 0 if ready else 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=5353)
    ap.add_argument("--name", help="server: the name to answer with")
    ap.add_argument("--client", metavar="HOST", help="client: send flows to HOST")
    ap.add_argument("--flows", type=int, default=24)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=12.0, help="seconds after READY")
    ap.add_argument("--setup-timeout", type=float, default=10.0)
    ap.add_argument("--stop-file")
    ap.add_argument("--out", help="client: JSON summary file")
    a = ap.parse_args()
    if a.client:
        if not a.out or a.flows < 1 or a.interval <= 0 or a.duration <= 0:
            ap.error("a client needs --out and positive figures")
        return client(a)
    if not a.name:
        ap.error("a server needs --name")
    serve(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
