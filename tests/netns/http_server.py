#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A tiny HTTP/1.1 server for the netns tests.

Listens on [::]:PORT (dual stack), answers every GET with "NAME\\n" so the client can tell which
target served it, keeps connections alive, and logs one line per request to --log:
"<client address> <client port> <method> <path>", flushed at once so tests can read it live.
"""
import argparse
import http.server
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--name", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    logf = open(a.log, "a", buffering=1)
    body = (a.name + "\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            host = self.client_address[0]
            if host.startswith("::ffff:"):
                host = host[7:]
            logf.write("%s %d %s %s\n" % (host, self.client_address[1], self.command, self.path))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    srv = Server(("::", a.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


if __name__ == "__main__":
    main()
