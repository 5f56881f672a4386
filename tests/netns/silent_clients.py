#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# silent_clients.py: N clients that connect and never send, to show that a server of the daemon
# (the control socket, the metrics endpoint) is held up by none of them and closes each in time.
#   silent_clients.py unix PATH N [GAP_S]      silent_clients.py tcp HOST PORT N [GAP_S]
# Prints "CONNECTED N" once all are connected, then waits (bounded: 9 s from the start) for the
# server to close each and prints "EOF <closed> <ms of the last close>".
import selectors
import socket
import sys
import time


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "unix":
        where, n = args[0], int(args[1])
        gap = float(args[2]) if len(args) > 2 else 0.0
    elif kind == "tcp":
        where, n = (args[0], int(args[1])), int(args[2])
        gap = float(args[3]) if len(args) > 3 else 0.0
    else:
        sys.exit("silent_clients.py: unix PATH N | tcp HOST PORT N")
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    for _ in range(n):
        if kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(where)
        else:
            s = socket.create_connection(where)
        sel.register(s, selectors.EVENT_READ)
        if gap:
            time.sleep(gap)
    print("CONNECTED", n, flush=True)
    eof, last = 0, 0
    while eof < n and time.monotonic() - t0 < 9:
        for key, _ in sel.select(timeout=0.5):
            if key.fileobj.recv(4096) == b"":
                sel.unregister(key.fileobj)
                key.fileobj.close()
                eof += 1
                last = int((time.monotonic() - t0) * 1000)
    print("EOF", eof, last, flush=True)


main()
