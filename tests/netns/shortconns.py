#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""shortconns.py: many short TCP connections, a few held ones, and the line server they talk to.

  shortconns.py serve --port P --name NAME
      Listens on [::]:P (dual stack).  Each connection is a series of lines: "SINK <n>\\n"
      followed by n bytes is answered "SUNK <n> <sha256 of the n bytes>\\n"; any other line L is
      answered "NAME L\\n".  The server closes its end when the client has closed its own.

  shortconns.py burst HOST PORT --n N --parallel C [--max-time S] [--conn-timeout S]
      N connections, C at a time: connect, send "<i>\\n", read the answer line (it must echo
      the line), close (a FIN).  Bounded by --max-time (all of it) and --conn-timeout (each).
      Prints "BURST ok <ok> of <N> failed <f> in <seconds> s: <rate> conn/s; targets {...}"
      and up to 5 failure reasons; exit 0 only when every connection succeeded.

  shortconns.py hold HOST PORT --n K --ctl FIFO [--max-time S]
      Opens K connections, one line exchange on each, prints "HOLD <i> <local port> <target>"
      per connection and "HELD <K>", then obeys the commands written to FIFO (one a line),
      each answered by one line starting with RESULT:
        ping               one more line exchange on every connection
        upload <bytes>     on connection 0: SINK of <bytes> pseudo-random bytes, the answer's
                           size and digest compared with the client's own
        close fin|rst      closes every connection (rst: SO_LINGER 0, so the close sends a RST)
                           and exits
      After --max-time (120 s) it closes everything and exits 3.  Exit 2: set-up failed.
"""
import argparse
import errno
import hashlib
import os
import selectors
import signal
import socket
import struct
import sys
import time


# ---------------------------------------------------------------- server

class SConn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.out = bytearray()
        self.sink_left = 0
        self.sink_n = 0
        self.hasher = None
        self.eof = False


def serve(a):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.bind(("::", a.port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    name = a.name.encode()

    def drop(c):
        sel.unregister(c.sock)
        c.sock.close()

    def process(c):
        while c.buf:
            if c.sink_left:
                take = min(c.sink_left, len(c.buf))
                c.hasher.update(c.buf[:take])
                del c.buf[:take]
                c.sink_left -= take
                if not c.sink_left:
                    c.out += b"SUNK %d %s\n" % (c.sink_n, c.hasher.hexdigest().encode())
                continue
            nl = c.buf.find(b"\n")
            if nl < 0:
                if len(c.buf) > 4096:
                    return False
                return True
            line = bytes(c.buf[:nl])
            del c.buf[:nl + 1]
            if line.startswith(b"SINK "):
                try:
                    c.sink_n = c.sink_left = int(line[5:])
                except ValueError:
                    return False
                c.hasher = hashlib.sha256()
                if not c.sink_left:
                    c.out += b"SUNK 0 %s\n" % c.hasher.hexdigest().encode()
            else:
                c.out += name + b" " + line + b"\n"
        return True

    def flush(c):
        while c.out:
            try:
                n = c.sock.send(c.out)
            except BlockingIOError:
                break
            except OSError:
                return False
            del c.out[:n]
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0)
        sel.modify(c.sock, ev, c)
        return True

    while True:
        for k, ev in sel.select():
            if k.data is None:
                for _ in range(64):
                    try:
                        s, _ = ls.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    s.setblocking(False)
                    sel.register(s, selectors.EVENT_READ, SConn(s))
                continue
            c = k.data
            if ev & selectors.EVENT_READ:
                try:
                    d = c.sock.recv(262144)
                except BlockingIOError:
                    d = None
                except OSError:
                    drop(c)
                    continue
                if d == b"":
                    drop(c)         # the client closed: close ours (nothing is half-answered)
                    continue
                if d:
                    c.buf += d
                    if not process(c):
                        drop(c)
                        continue
            if not flush(c):
                drop(c)


# ---------------------------------------------------------------- burst

class BConn:
    def __init__(self, i, sock, t):
        self.i = i
        self.sock = sock
        self.started = t
        self.sent = False
        self.buf = b""


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def burst(a):
    sel = selectors.DefaultSelector()
    fam = family(a.host)
    live = {}
    ok = 0
    fails = {}
    targets = {}
    started = 0
    t0 = time.time()

    def fail(c, why):
        fails[why] = fails.get(why, 0) + 1
        end(c)

    def end(c):
        sel.unregister(c.sock)
        del live[c.sock]
        c.sock.close()      # a FIN: the answer has been read whole

    while ok + sum(fails.values()) < a.n:
        t = time.time()
        if t - t0 > a.max_time:
            break
        while started < a.n and len(live) < a.parallel:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((a.host, a.port))
            started += 1
            if err not in (0, errno.EINPROGRESS):
                s.close()
                why = "connect: " + errno.errorcode.get(err, str(err))
                fails[why] = fails.get(why, 0) + 1
                continue
            c = BConn(started - 1, s, t)
            live[s] = c
            sel.register(s, selectors.EVENT_WRITE, c)
        for k, _ in sel.select(timeout=0.05):
            c = k.data
            if not c.sent:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect: " + errno.errorcode.get(err, str(err)))
                    continue
                try:
                    c.sock.send(b"%d\n" % c.i)
                except OSError as e:
                    fail(c, "send: %s" % e.strerror)
                    continue
                c.sent = True
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                d = c.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                fail(c, "recv: %s" % e.strerror)
                continue
            if not d:
                fail(c, "closed before the answer")
                continue
            c.buf += d
            if b"\n" not in c.buf:
                if len(c.buf) > 1024:
                    fail(c, "answer too long")
                continue
            line = c.buf.split(b"\n", 1)[0].decode(errors="replace").split(" ")
            if len(line) != 2 or line[1] != str(c.i):
                fail(c, "bad answer")
                continue
            targets[line[0]] = targets.get(line[0], 0) + 1
            ok += 1
            end(c)
        t = time.time()
        for c in [c for c in live.values() if t - c.started > a.conn_timeout]:
            fail(c, "no answer within %.1f s" % a.conn_timeout)
    secs = time.time() - t0
    left = a.n - ok - sum(fails.values())
    if left:
        fails["not done within %.0f s" % a.max_time] = left
    for c in list(live.values()):
        end(c)
    failed = a.n - ok
    print("BURST ok %d of %d failed %d in %.2f s: %.0f conn/s; targets %s"
          % (ok, a.n, failed, secs, ok / secs if secs > 0 else 0,
             dict(sorted(targets.items()))), flush=True)
    for why, n in sorted(fails.items(), key=lambda x: -x[1])[:5]:
        print("FAILURE %d x %s" % (n, why), flush=True)
    return 0 if ok == a.n else 1


# ---------------------------------------------------------------- hold

def exchange(s, line):
    """One line out, one line back (blocking, with the socket's timeout): the answer's words."""
    s.sendall(line + b"\n")
    buf = b""
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise OSError(errno.ECONNRESET, "closed by the peer")
        buf += d
        if len(buf) > 4096:
            raise OSError(errno.EPROTO, "answer too long")
    return buf.split(b"\n", 1)[0].decode(errors="replace").split(" ")


def upload(s, n):
    """SINK of n bytes on s; (ok, message)."""
    h = hashlib.sha256()
    t0 = time.time()
    s.sendall(b"SINK %d\n" % n)
    # pseudo-random and cheap: a 64 KiB block of urandom, each use prefixed by its index so
    # no two blocks are equal (a reordered or repeated block changes the digest)
    base = os.urandom(65536)
    sent, k = 0, 0
    while sent < n:
        blk = (struct.pack("!Q", k) + base)[:n - sent]
        h.update(blk)
        s.sendall(blk)
        sent += len(blk)
        k += 1
    buf = b""
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            return False, "closed by the peer before the digest"
        buf += d
    secs = time.time() - t0
    w = buf.split(b"\n", 1)[0].decode(errors="replace").split(" ")
    if len(w) != 3 or w[0] != "SUNK":
        return False, "bad answer %r" % buf[:80]
    mine = h.hexdigest()
    fig = "sent %d bytes in %.2f s (%.1f MB/s), server got %s bytes, sha256 %s, server's %s" % (
        n, secs, n / secs / 1e6 if secs > 0 else 0, w[1], mine[:16], w[2][:16])
    return (w[1] == str(n) and w[2] == mine), fig


def hold(a):
    t0 = time.time()
    socks = []
    for i in range(a.n):
        try:
            s = socket.create_connection((a.host, a.port), timeout=5)
            s.settimeout(30)
            w = exchange(s, b"hello-%d" % i)
        except OSError as e:
            print("SETUP failed at connection %d: %s" % (i, e), flush=True)
            return 2
        if len(w) != 2 or w[1] != "hello-%d" % i:
            print("SETUP bad answer %r" % w, flush=True)
            return 2
        socks.append(s)
        print("HOLD %d %d %s" % (i, s.getsockname()[1], w[0]), flush=True)
    print("HELD %d" % len(socks), flush=True)
    fd = os.open(a.ctl, os.O_RDWR | os.O_NONBLOCK)     # O_RDWR: never an EOF between writers
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    pending = b""
    rc = None
    while rc is None:
        left = a.max_time - (time.time() - t0)
        if left <= 0:
            print("RESULT timeout after %.0f s: closing" % a.max_time, flush=True)
            for s in socks:
                s.close()
            return 3
        if not sel.select(timeout=min(left, 0.5)):
            continue
        try:
            pending += os.read(fd, 4096)
        except BlockingIOError:
            continue
        while b"\n" in pending:
            cmd, pending = pending.split(b"\n", 1)
            w = cmd.decode(errors="replace").split()
            if not w:
                continue
            try:
                if w[0] == "ping":
                    bad = 0
                    for i, s in enumerate(socks):
                        r = exchange(s, b"ping-%d" % i)
                        bad += len(r) != 2 or r[1] != "ping-%d" % i
                    print("RESULT ping %s %d of %d" % ("ok" if not bad else "bad",
                                                        len(socks) - bad, len(socks)), flush=True)
                elif w[0] == "upload" and len(w) == 2:
                    ok, fig = upload(socks[0], int(w[1]))
                    print("RESULT upload %s %s" % ("ok" if ok else "bad", fig), flush=True)
                elif w[0] == "close" and len(w) == 2 and w[1] in ("fin", "rst"):
                    for s in socks:
                        if w[1] == "rst":
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
                        s.close()
                    print("RESULT closed %s %d" % (w[1], len(socks)), flush=True)
                    rc = 0
                    break
                else:
                    print("RESULT unknown command %r" % cmd, flush=True)
            except (OSError, ValueError) as e:
                print("RESULT error %s: %s" % (w[0], e), flush=True)
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--name", required=True)
    b = sub.add_parser("burst")
    b.add_argument("host")
    b.add_argument("port", type=int)
    b.add_argument("--n", type=int, required=True)
    b.add_argument("--parallel", type=int, default=50)
    b.add_argument("--max-time", type=float, default=120.0)
    b.add_argument("--conn-timeout", type=float, default=10.0)
    h = sub.add_parser("hold")
    h.add_argument("host")
    h.add_argument("port", type=int)
    h.add_argument("--n", type=int, default=1)
    h.add_argument("--ctl", required=True, help="a FIFO the commands come from")
    h.add_argument("--max-time", type=float, default=120.0)
    a = ap.parse_args()
    if a.mode == "serve":
        serve(a)
        return 0
    if a.mode == "burst":
        if a.n < 1 or a.parallel < 1 or a.max_time <= 0:
            ap.error("bad figures")
        return burst(a)
    if a.n < 1 or a.max_time <= 0:
        ap.error("bad figures")
    return hold(a)


if __name__ == "__main__":
    sys.exit(main())
