#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""longconn.py: long-lived HTTP/1.1 connections plus a stream of new ones, for takeover tests.

Opens --conns (48) keep-alive connections to HOST:PORT and, on each, sends a GET every
--interval (100 ms) once the previous reply is in, recording per connection the requests
answered, the errors, the target that answered (the body) and the longest gap between two
replies.  Meanwhile it opens --rate (10) new connections a second, each one GET with
"Connection: close", recording failures with their time and the longest window without a
successful new connection.  One thread, selectors, every socket non-blocking.

Timeline: the long-lived connections are set up first (bounded by --setup-timeout); once every
one has had a reply it prints "READY <epoch ms> <count>" and runs for --duration seconds more
(less if --stop-file appears), then
writes the JSON summary to --out (and a one-line digest to stdout) and exits 0.  Exit 2 means
the set-up failed (the summary is still written).  Times in the summary are epoch
milliseconds, so tests can relate them to the moment they caused an event.

A long-lived connection is lost when it gets an error (reset, EOF, a malformed reply), when its
target changes, or when a reply is not in after --req-timeout seconds; it is not reopened.
"""
import argparse
import errno
import json
import os
import selectors
import socket
import sys
import time

MAX_REPLY = 65536


def now_ms():
    return int(time.time() * 1000)


def parse_reply(buf):
    """(complete, body, error) for a buffer holding the start of one HTTP/1.x reply."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_REPLY:
            return False, None, "header too long"
        return False, None, None
    head = buf[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        return False, None, "bad status line %r" % head[0][:40]
    clen = None
    for line in head[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            try:
                clen = int(v.strip())
            except ValueError:
                return False, None, "bad content-length"
    if clen is None or clen < 0 or clen > MAX_REPLY:
        return False, None, "no usable content-length"
    if len(buf) < end + 4 + clen:
        return False, None, None
    if parts[1] != "200":
        return False, None, "status %s" % parts[1]
    if len(buf) > end + 4 + clen:
        return False, None, "bytes after the reply"
    return True, buf[end + 4:end + 4 + clen].decode("latin-1").strip(), None


class Long:
    """One long-lived connection."""

    def __init__(self, idx):
        self.idx = idx
        self.sock = None
        self.state = "connecting"       # connecting, waiting, idle, lost
        self.buf = b""
        self.sent_at = 0.0
        self.next_at = 0.0
        self.last_ok = None
        self.ok = 0
        self.errors = 0
        self.max_gap = 0.0
        self.max_gap_end = None
        self.target = None
        self.lport = None
        self.lost_at = None
        self.why = None


class New:
    """One short connection of the steady stream."""

    def __init__(self, started):
        self.sock = None
        self.started = started
        self.buf = b""
        self.sent = False


class Run:
    def __init__(self, a):
        self.a = a
        self.sel = selectors.DefaultSelector()
        self.longs = [Long(i) for i in range(a.conns)]
        self.news = {}
        self.new_ok = []                # completion times (s) of successful new connections
        self.new_fail = []              # (time s, why)
        self.new_slow = 0
        self.new_attempts = 0
        self.req = ("GET /long HTTP/1.1\r\nHost: %s\r\n\r\n" % a.host).encode()
        self.req_close = ("GET /new HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                          % a.host).encode()
        self.ready_at = None
        self.next_stop_check = 0.0

    # ---------------------------------------------------------------- sockets

    def open(self):
        fam = socket.AF_INET6 if ":" in self.a.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = s.connect_ex((self.a.host, self.a.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            raise OSError(err, "connect: " + errno.errorcode.get(err, str(err)))
        return s

    def drop(self, s):
        try:
            self.sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    # ---------------------------------------------------------------- long-lived connections

    def long_lose(self, c, why, t):
        if c.state == "lost":
            return
        c.errors += 1
        c.state = "lost"
        c.lost_at = t
        c.why = why
        if c.sock is not None:
            self.drop(c.sock)
            c.sock = None

    def long_send(self, c, t):
        try:
            n = c.sock.send(self.req)
        except OSError as e:
            self.long_lose(c, "send: %s" % e, t)
            return
        if n != len(self.req):
            self.long_lose(c, "short send", t)
            return
        c.sent_at = t
        c.buf = b""
        c.state = "waiting"
        self.sel.modify(c.sock, selectors.EVENT_READ, ("long", c))

    def long_event(self, c, ev, t):
        if c.state == "connecting":
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.long_lose(c, "connect: %s" % errno.errorcode.get(err, err), t)
                return
            c.lport = c.sock.getsockname()[1]
            self.long_send(c, t)
            return
        try:
            d = c.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as e:
            self.long_lose(c, "recv: %s" % e, t)
            return
        if not d:
            self.long_lose(c, "closed by peer", t)
            return
        if c.state != "waiting":
            self.long_lose(c, "unexpected bytes", t)
            return
        c.buf += d
        done, body, err = parse_reply(c.buf)
        if err:
            self.long_lose(c, err, t)
            return
        if not done:
            return
        if c.target is None:
            c.target = body
        elif body != c.target:
            self.long_lose(c, "answered by %s, was %s" % (body, c.target), t)
            return
        if c.last_ok is not None and t - c.last_ok > c.max_gap:
            c.max_gap = t - c.last_ok
            c.max_gap_end = t
        c.last_ok = t
        c.ok += 1
        c.state = "idle"
        c.next_at = c.sent_at + self.a.interval
        self.sel.modify(c.sock, selectors.EVENT_READ, ("long", c))

    def long_tick(self, c, t):
        if c.state == "idle" and t >= c.next_at:
            self.long_send(c, t)
        elif c.state in ("waiting", "connecting") and t - c.sent_at > self.a.req_timeout:
            self.long_lose(c, "no reply within %.1f s" % self.a.req_timeout, t)

    # ---------------------------------------------------------------- new connections

    def new_start(self, t):
        self.new_attempts += 1
        n = New(t)
        try:
            n.sock = self.open()
        except OSError as e:
            self.new_fail.append((t, str(e)))
            return
        self.news[n.sock] = n
        self.sel.register(n.sock, selectors.EVENT_WRITE, ("new", n))

    def new_end(self, n, t, why):
        self.drop(n.sock)
        del self.news[n.sock]
        if why:
            self.new_fail.append((t, why))
            return
        self.new_ok.append(t)
        if t - n.started > 1.0:
            self.new_slow += 1

    def new_event(self, n, ev, t):
        if not n.sent:
            err = n.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.new_end(n, t, "connect: %s" % errno.errorcode.get(err, err))
                return
            try:
                n.sock.send(self.req_close)
            except OSError as e:
                self.new_end(n, t, "send: %s" % e)
                return
            n.sent = True
            self.sel.modify(n.sock, selectors.EVENT_READ, ("new", n))
            return
        try:
            d = n.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as e:
            self.new_end(n, t, "recv: %s" % e)
            return
        if d:
            n.buf += d
        done, _, err = parse_reply(n.buf)
        if err:
            self.new_end(n, t, err)
        elif done:
            self.new_end(n, t, None)
        elif not d:
            self.new_end(n, t, "closed before the reply")

    # ---------------------------------------------------------------- main loop

    def run(self):
        a = self.a
        t = time.time()
        start = t
        for c in self.longs:
            try:
                c.sock = self.open()
            except OSError as e:
                self.long_lose(c, str(e), t)
                continue
            c.sent_at = t
            self.sel.register(c.sock, selectors.EVENT_WRITE, ("long", c))
        end = None
        next_new = None
        while True:
            t = time.time()
            if self.ready_at is None:
                if all(c.ok > 0 or c.state == "lost" for c in self.longs):
                    self.ready_at = t
                    end = t + a.duration
                    next_new = t
                    print("READY %d %d" % (int(t * 1000),
                                           sum(1 for c in self.longs if c.ok > 0)), flush=True)
                elif t - start > a.setup_timeout:
                    break
            if end is not None and t >= end:
                break
            if (end is not None and a.stop_file and t >= self.next_stop_check):
                self.next_stop_check = t + 0.05
                if os.path.exists(a.stop_file):
                    break
            if next_new is not None and a.rate > 0:
                while next_new <= t:
                    self.new_start(t)
                    next_new += 1.0 / a.rate
            for k, ev in self.sel.select(timeout=0.005):
                kind, obj = k.data
                t = time.time()
                if kind == "long":
                    self.long_event(obj, ev, t)
                else:
                    self.new_event(obj, ev, t)
            t = time.time()
            for c in self.longs:
                self.long_tick(c, t)
            for n in list(self.news.values()):
                if t - n.started > a.new_timeout:
                    self.new_end(n, t, "no reply within %.1f s" % a.new_timeout)
        return self.summary(time.time())

    def summary(self, t):
        a = self.a
        per = []
        for c in self.longs:
            stall = c.max_gap
            stall_end = c.max_gap_end
            # the time since the last reply counts too: until the loss, or until the end
            tail = c.lost_at if c.state == "lost" else t
            if c.last_ok is not None and tail - c.last_ok > stall:
                stall, stall_end = tail - c.last_ok, tail
            if c.state != "lost" and c.last_ok is None:
                self.long_lose(c, "never answered", t)
            per.append({
                "index": c.idx, "local_port": c.lport, "target": c.target, "ok": c.ok,
                "errors": c.errors, "lost": c.state == "lost",
                "lost_at_ms": int(c.lost_at * 1000) if c.lost_at else None, "why": c.why,
                "max_stall_ms": int(stall * 1000),
                "max_stall_end_ms": int(stall_end * 1000) if stall_end else None,
            })
        for n in list(self.news.values()):
            self.drop(n.sock)
        # longest window without a successful new connection, from READY to the end
        win, win_end = 0.0, None
        if self.ready_at is not None:
            prev = self.ready_at
            for x in sorted(self.new_ok) + [t]:
                if x - prev > win:
                    win, win_end = x - prev, x
                prev = max(prev, x)
        worst = max(per, key=lambda p: p["max_stall_ms"]) if per else None
        targets = {}
        for p in per:
            targets[p["target"]] = targets.get(p["target"], 0) + 1
        return {
            "host": a.host, "port": a.port,
            "ready_ms": int(self.ready_at * 1000) if self.ready_at else None,
            "end_ms": int(t * 1000),
            "long": {
                "connections": len(per),
                "established": sum(1 for p in per if p["ok"] > 0),
                "lost": sum(1 for p in per if p["lost"]),
                "requests_ok": sum(p["ok"] for p in per),
                "max_stall_ms": worst["max_stall_ms"] if worst else 0,
                "max_stall_end_ms": worst["max_stall_end_ms"] if worst else None,
                "stalled_over_1s": sum(1 for p in per if p["max_stall_ms"] > 1000),
                "targets": targets,
            },
            "new": {
                "attempts": self.new_attempts,
                "ok": len(self.new_ok),
                "failures": len(self.new_fail),
                "slow_over_1s": self.new_slow,
                "failure_times_ms": [int(x * 1000) for x, _ in self.new_fail],
                "failure_reasons": sorted(set(w for _, w in self.new_fail)),
                "max_window_ms": int(win * 1000),
                "max_window_end_ms": int(win_end * 1000) if win_end else None,
            },
            "connections": per,
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--conns", type=int, default=48)
    ap.add_argument("--interval", type=float, default=0.1, help="seconds between requests")
    ap.add_argument("--rate", type=float, default=10.0, help="new connections per second")
    ap.add_argument("--duration", type=float, default=12.0, help="seconds after READY")
    ap.add_argument("--setup-timeout", type=float, default=10.0)
    ap.add_argument("--req-timeout", type=float, default=5.0)
    ap.add_argument("--new-timeout", type=float, default=3.0)
    ap.add_argument("--stop-file", help="end early (after READY) once this file exists")
    ap.add_argument("--out", required=True, help="JSON summary file")
    a = ap.parse_args()
    if a.conns < 0 or a.interval <= 0 or a.rate < 0 or a.duration <= 0:
        ap.error("bad figures")
    r = Run(a)
    s = r.run()
    with open(a.out + ".tmp", "w") as f:
        json.dump(s, f, indent=1)
    os.replace(a.out + ".tmp", a.out)
    lo, nw = s["long"], s["new"]
    print("DONE long: %d/%d established, %d lost, %d requests, max stall %d ms; "
          "new: %d/%d ok, %d failed, max window %d ms"
          % (lo["established"], lo["connections"], lo["lost"], lo["requests_ok"],
             lo["max_stall_ms"], nw["ok"], nw["attempts"], nw["failures"],
             nw["max_window_ms"]), flush=True)
    return 0 if s["ready_ms"] is not None else 2


if __name__ == "__main__":
    sys.exit(main())
