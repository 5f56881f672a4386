#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""forge.py: forged, replayed, relayed and bit-flipped cluster messages for the netns tests.

  forge.py random  --to IP [--port P] [--len N] [--count N]
  forge.py replay  PCAP --to IP [--port P] [--times N]     the captured messages, verbatim
  forge.py flip    PCAP --to IP [--port P] --where body|mac  one bit flipped in each message
  forge.py info    PCAP                                    one line per captured message
  forge.py relay   --iface IF --src IP --dst IP --to IP [--port P] [--count N] [--wait S]
                   [--bind IP]
                   the next N datagrams from src to dst seen on IF, each sent on to `to`
                   the moment it is seen (an attacker on the path relaying live traffic)
  forge.py build   --key FILE --sender NAME --recipient NAME --epoch E --seq S
                   [--recipient-epoch E] [--flags leaving|ready|0] --to IP [--port P]
                   a heartbeat made with the cluster key (an insider's, or what a
                   recording of an earlier exchange holds)

PCAP is a classic pcap file (tcpdump -w) of UDP datagrams to or from the sync port, on an
Ethernet or Linux cooked interface.  The message layout is sync/wire.h's (version 2): a
44-byte header (magic "CLD1", version, type, flags, sender, epoch, seq, length, reserved,
recipient, recipient_epoch), the TLV body up to `length`, then a 32-byte MAC (HMAC-SHA512
truncated to 32 bytes, libsodium's crypto_auth).  Each command prints how many datagrams
it sent."""
import argparse
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import time

MAGIC = b"CLD1"
VERSION = 2
HDR = "!4sBBHIQQHHIQ"
HDR_LEN = struct.calcsize(HDR)
MAC_LEN = 32
TLV_NODE, TLV_FLAGS, TLV_ECHO = 1, 4, 3
F_READY, F_LEAVING = 1, 2
T_HEARTBEAT = 1


def udp_payloads(path, port):
	"""The UDP payloads to or from port in a classic pcap file, in capture order."""
	with open(path, "rb") as f:
		data = f.read()
	if len(data) < 24:
		sys.exit("forge.py: %s: not a pcap file" % path)
	magic = data[:4]
	if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
		end = "<"
	elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
		end = ">"
	else:
		sys.exit("forge.py: %s: not a classic pcap file" % path)
	linktype = struct.unpack(end + "I", data[20:24])[0]
	off, out = 24, []
	while off + 16 <= len(data):
		incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
		frame = data[off + 16:off + 16 + incl]
		off += 16 + incl
		if len(frame) < incl:
			break
		if linktype == 1:		# Ethernet
			l2, proto = 14, frame[12:14]
			if proto == b"\x81\x00" and len(frame) >= 18:
				l2, proto = 18, frame[16:18]
		elif linktype == 113:		# Linux cooked v1
			l2, proto = 16, frame[14:16]
		elif linktype == 276:		# Linux cooked v2
			l2, proto = 20, frame[0:2]
		elif linktype == 101:		# raw IP
			l2, proto = 0, b"\x08\x00"
		else:
			sys.exit("forge.py: link type %d not handled" % linktype)
		if proto != b"\x08\x00":
			continue
		u = udp_of_ip(frame[l2:], port)
		if u:
			out.append(u[2])
	return out


def udp_of_ip(ip, port):
	"""(src, dst, payload) of an IPv4 UDP packet to or from port, else None."""
	if len(ip) < 20 or ip[0] >> 4 != 4:
		return None
	ihl = (ip[0] & 15) * 4
	total = struct.unpack("!H", ip[2:4])[0]
	if ip[9] != 17 or len(ip) < ihl + 8 or total > len(ip):
		return None
	udp = ip[ihl:total]
	sport, dport, ulen = struct.unpack("!HHH", udp[:6])
	if port not in (sport, dport) or ulen < 8 or ulen > len(udp):
		return None
	return socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), udp[8:ulen]


def header(msg):
	"""(type, sender, epoch, seq, length, recipient, recipient_epoch) of a message, or None
	if it is not one of this version."""
	if len(msg) < HDR_LEN + MAC_LEN or msg[:4] != MAGIC or msg[4] != VERSION:
		return None
	_, _, typ, _, sender, epoch, seq, length, _, rcpt, rcpt_epoch = \
		struct.unpack(HDR, msg[:HDR_LEN])
	if length < HDR_LEN or length + MAC_LEN != len(msg):
		return None
	return typ, sender, epoch, seq, length, rcpt, rcpt_epoch


def node_id(name):
	"""wire_node_id: FNV-1a 32 of the name."""
	h = 2166136261
	for c in name.encode():
		h = ((h ^ c) * 16777619) & 0xffffffff
	return h


def tlv(typ, val):
	return struct.pack("!HH", typ, len(val)) + val + b"\0" * (-len(val) % 4)


def build(key, typ, sender, epoch, seq, rcpt, rcpt_epoch, body, flags=0):
	"""A signed message: header, body (encoded TLVs), MAC."""
	hdr = struct.pack(HDR, MAGIC, VERSION, typ, flags, sender, epoch, seq,
			  HDR_LEN + len(body), 0, rcpt, rcpt_epoch)
	m = hdr + body
	return m + hmac.new(key, m, hashlib.sha512).digest()[:MAC_LEN]


def read_key(path):
	"""The first key of a key file: 64 hex digits (sync/key.h)."""
	with open(path) as f:
		txt = f.read().split()
	if not txt or len(txt[0]) != 64:
		sys.exit("forge.py: %s: not a key file" % path)
	return bytes.fromhex(txt[0])


def describe(m):
	typ, sender, epoch, seq, length, rcpt, rcpt_epoch = header(m)
	return ("type %d sender %08x epoch %d seq %d length %d size %d recipient %08x "
		"recipient_epoch %d" % (typ, sender, epoch, seq, length, len(m), rcpt, rcpt_epoch))


def relay(iface, src, dst, to, port, count, wait, bind=None):
	"""Sends on every datagram src -> dst:port seen on iface, as soon as it is seen (from
	address bind if given)."""
	# ETH_P_ALL: a packet socket bound to one protocol does not see outgoing frames
	cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
	cap.bind((iface, 0))
	fam = socket.AF_INET6 if ":" in to else socket.AF_INET
	out = socket.socket(fam, socket.SOCK_DGRAM)
	if bind:
		out.bind((bind, 0))
	n, deadline = 0, time.time() + wait
	while n < count and time.time() < deadline:
		r, _, _ = select.select([cap], [], [], max(0.0, deadline - time.time()))
		if not r:
			break
		frame = cap.recv(65535)
		if len(frame) < 34 or frame[12:14] != b"\x08\x00":
			continue
		u = udp_of_ip(frame[14:], port)
		# magic only: the relay forwards whatever version it sees
		if not u or u[0] != src or u[1] != dst or u[2][:4] != MAGIC:
			continue
		out.sendto(u[2], (to, port))
		n += 1
		print("  relayed: " + (describe(u[2]) if header(u[2]) else "%d bytes" % len(u[2])))
	print("sent %d" % n)
	return n


def messages(path, port):
	msgs = [m for m in udp_payloads(path, port) if header(m)]
	if not msgs:
		sys.exit("forge.py: no cluster message in %s" % path)
	return msgs


def flip(msg, where):
	"""msg with one bit flipped: in the TLV body (after the header), or in the MAC."""
	length = header(msg)[4]
	b = bytearray(msg)
	if where == "body":
		if length == HDR_LEN:
			sys.exit("forge.py: message without a body")
		i = HDR_LEN + (length - HDR_LEN) // 2
	else:
		i = length + MAC_LEN // 2
	b[i] ^= 0x10
	return bytes(b)


def send(datagrams, to, port):
	fam = socket.AF_INET6 if ":" in to else socket.AF_INET
	s = socket.socket(fam, socket.SOCK_DGRAM)
	for d in datagrams:
		s.sendto(d, (to, port))
	s.close()
	print("sent %d" % len(datagrams))


def main():
	ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
	ap.add_argument("cmd", choices=("random", "replay", "flip", "info", "relay", "build"))
	ap.add_argument("pcap", nargs="?")
	ap.add_argument("--to")
	ap.add_argument("--port", type=int, default=7788)
	ap.add_argument("--len", type=int, default=200)
	ap.add_argument("--count", type=int, default=1)
	ap.add_argument("--times", type=int, default=1)
	ap.add_argument("--where", choices=("body", "mac"), default="body")
	ap.add_argument("--iface")
	ap.add_argument("--src")
	ap.add_argument("--dst")
	ap.add_argument("--wait", type=float, default=5.0)
	ap.add_argument("--bind")
	ap.add_argument("--key")
	ap.add_argument("--sender")
	ap.add_argument("--recipient")
	ap.add_argument("--epoch", type=int)
	ap.add_argument("--seq", type=int, default=1)
	ap.add_argument("--recipient-epoch", type=int, default=0)
	ap.add_argument("--flags", choices=("leaving", "ready", "0"), default="0")
	a = ap.parse_args()
	if a.cmd == "relay":
		if not (a.iface and a.src and a.dst and a.to):
			ap.error("relay needs --iface, --src, --dst and --to")
		relay(a.iface, a.src, a.dst, a.to, a.port, a.count, a.wait, a.bind)
		return
	if a.cmd == "build":
		if not (a.key and a.sender and a.recipient and a.epoch and a.to):
			ap.error("build needs --key, --sender, --recipient, --epoch and --to")
		flags = {"leaving": F_LEAVING, "ready": F_READY, "0": 0}[a.flags]
		body = tlv(TLV_NODE, a.sender.encode()) + tlv(TLV_FLAGS, struct.pack("!I", flags))
		msgs = [build(read_key(a.key), T_HEARTBEAT, node_id(a.sender), a.epoch, a.seq + i,
			      node_id(a.recipient), a.recipient_epoch, body)
			for i in range(a.count)]
		for m in msgs:
			print("  built: " + describe(m))
		send(msgs, a.to, a.port)
		return
	if a.cmd != "random" and not a.pcap:
		ap.error("%s needs a pcap file" % a.cmd)
	if a.cmd != "info" and not a.to:
		ap.error("%s needs --to" % a.cmd)
	if a.cmd == "random":
		out = []
		for _ in range(a.count):
			d = os.urandom(a.len)
			if d[:4] == MAGIC:	# one chance in 2^32: keep it a non-message
				d = b"X" + d[1:]
			out.append(d)
		send(out, a.to, a.port)
	elif a.cmd == "info":
		for m in messages(a.pcap, a.port):
			print(describe(m))
	elif a.cmd == "replay":
		send(messages(a.pcap, a.port) * a.times, a.to, a.port)
	else:
		send([flip(m, a.where) for m in messages(a.pcap, a.port)], a.to, a.port)


if __name__ == "__main__":
	main()
