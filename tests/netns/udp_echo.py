#!/usr/bin/env python3
"""UDP echo for the netns tests: answers every datagram on [::]:PORT (dual stack) with
"NAME <the datagram>" so the client can tell which target answered."""
import argparse
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5353)
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", a.port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(a.name.encode() + b" " + data[:512], peer)


if __name__ == "__main__":
    main()
