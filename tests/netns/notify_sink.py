#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# notify_sink.py: stands in for systemd's notification socket (t_notify.sh).  Binds an AF_UNIX
# datagram socket at --socket (and, with --abstract NAME, one at the abstract address NAME of its
# network namespace: NOTIFY_SOCKET=@NAME) and appends one JSON line per datagram to --log:
#   {"t": CLOCK_MONOTONIC seconds at receipt, "pid": sender's pid, "lines": ["READY=1", ...]}
# When it first sees READY=1 it looks, at once and from its own network namespace (run it in
# the node's), at what the daemon claims to have done, and appends
#   {"t": ..., "check": {"rules": bool, "queues": [missing queue numbers], "ctl_ready": bool}}
# rules: `nft list table inet clusterd` succeeds; queues: the --queues numbers bound in
# /proc/net/netfilter/nfnetlink_queue; ctl_ready: `clusterctl -s --ctl-sock status --json`
# answers with "ready": true.  Runs until killed.
import argparse
import json
import os
import select
import socket
import struct
import subprocess
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--abstract", default="")
ap.add_argument("--queues", default="")
ap.add_argument("--ctl", default="")
ap.add_argument("--ctl-sock", default="")
a = ap.parse_args()

lock = threading.Lock()
out = open(a.log, "a", buffering=1)


def write(rec):
    with lock:
        out.write(json.dumps(rec) + "\n")


def check(t_ready):
    rules = subprocess.run(["nft", "list", "table", "inet", "clusterd"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    bound = set()
    try:
        with open("/proc/net/netfilter/nfnetlink_queue") as f:
            for line in f:
                if line.split():
                    bound.add(int(line.split()[0]))
    except OSError:
        pass
    want = [int(q) for q in a.queues.split(",") if q != ""]
    ctl_ready = False
    if a.ctl and a.ctl_sock:
        r = subprocess.run([a.ctl, "-s", a.ctl_sock, "status", "--json"],
                           capture_output=True, text=True, timeout=10)
        try:
            ctl_ready = r.returncode == 0 and json.loads(r.stdout).get("ready") is True
        except ValueError:
            pass
    write({"t": time.monotonic(), "t_ready": t_ready,
           "check": {"rules": rules, "queues": [q for q in want if q not in bound],
                     "ctl_ready": ctl_ready}})


try:
    os.unlink(a.socket)
except FileNotFoundError:
    pass
socks = []
for addr in [a.socket] + (["\0" + a.abstract] if a.abstract else []):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(addr)
    socks.append(s)
checked = False
while True:
    s = select.select(socks, [], [])[0][0]
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    t = time.monotonic()
    pid = 0
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS and len(cdata) >= 12:
            pid = struct.unpack("iII", cdata[:12])[0]
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    write({"t": t, "pid": pid, "abstract": s is not socks[0], "lines": lines})
    if not checked and "READY=1" in lines:
        checked = True
        # at once, beside the receiving loop: the timestamps of what follows stay exact
        threading.Thread(target=check, args=(t,), daemon=True).start()
