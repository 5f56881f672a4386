#!/usr/bin/env python3
"""forge.py: forged, replayed and bit-flipped cluster messages for t_cdat_forged.sh.

  forge.py random  --to IP [--port P] [--len N] [--count N]
  forge.py replay  PCAP --to IP [--port P] [--times N]     the captured messages, verbatim
  forge.py flip    PCAP --to IP [--port P] --where body|mac  one bit flipped in each message
  forge.py info    PCAP                                    one line per captured message

PCAP is a classic pcap file (tcpdump -w) of UDP datagrams to or from the sync port, on an
Ethernet or Linux cooked interface.  The message layout is sync/wire.h's: a 32-byte header
(magic "CLD1", version, type, flags, sender, epoch, seq, length, reserved), the TLV body up
to `length`, then a 32-byte MAC.  Each command prints how many datagrams it sent."""
import argparse
import os
import socket
import struct
import sys

MAGIC = b"CLD1"
HDR_LEN = 32
MAC_LEN = 32


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
		if proto != b"\x08\x00" or len(frame) < l2 + 20:
			continue
		ip = frame[l2:]
		ihl = (ip[0] & 15) * 4
		total = struct.unpack("!H", ip[2:4])[0]
		if ip[9] != 17 or len(ip) < ihl + 8 or total > len(ip):
			continue
		udp = ip[ihl:total]
		sport, dport, ulen = struct.unpack("!HHH", udp[:6])
		if port not in (sport, dport) or ulen < 8 or ulen > len(udp):
			continue
		out.append(udp[8:ulen])
	return out


def header(msg):
	"""(type, sender, epoch, seq, length) of a message, or None if it is not one."""
	if len(msg) < HDR_LEN + MAC_LEN or msg[:4] != MAGIC:
		return None
	_, _, typ, _, sender, epoch, seq, length = struct.unpack("!4sBBHIQQH", msg[:30])
	if length < HDR_LEN or length + MAC_LEN != len(msg):
		return None
	return typ, sender, epoch, seq, length


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
	ap.add_argument("cmd", choices=("random", "replay", "flip", "info"))
	ap.add_argument("pcap", nargs="?")
	ap.add_argument("--to")
	ap.add_argument("--port", type=int, default=7788)
	ap.add_argument("--len", type=int, default=200)
	ap.add_argument("--count", type=int, default=1)
	ap.add_argument("--times", type=int, default=1)
	ap.add_argument("--where", choices=("body", "mac"), default="body")
	a = ap.parse_args()
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
			typ, sender, epoch, seq, length = header(m)
			print("type %d sender %08x epoch %d seq %d length %d size %d" %
			      (typ, sender, epoch, seq, length, len(m)))
	elif a.cmd == "replay":
		send(messages(a.pcap, a.port) * a.times, a.to, a.port)
	else:
		send([flip(m, a.where) for m in messages(a.pcap, a.port)], a.to, a.port)


if __name__ == "__main__":
	main()
