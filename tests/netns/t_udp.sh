#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_udp: 50 datagrams from 50 source ports to the VIPA's UDP service, each answered from the
# VIPA's address and port, spread over more than one target.
. "$(dirname "$0")/lib.sh"
nt_cluster_up
for t in $NT_TARGETS; do nt_udp_start "$t" 5353 || nt_fail setup "udp echo on $t"; done
nt_wait_listening d1 3 5353 udp 10 || nt_log "d1 sees fewer than 3 UDP targets"

res=$(nt_x c "$PY" -c 'import socket, sys, collections
vip = sys.argv[1]
ok = wrong_src = lost = 0
who = collections.Counter()
for i in range(50):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("0.0.0.0", 0))
	s.settimeout(2)
	s.sendto(b"ping %d" % i, (vip, 5353))
	try:
		data, peer = s.recvfrom(1024)
	except (socket.timeout, ConnectionRefusedError):
		lost += 1
		continue
	finally:
		s.close()
	if peer != (vip, 5353):
		wrong_src += 1
		continue
	name, _, echo = data.partition(b" ")
	if echo == b"ping %d" % i:
		ok += 1
		who[name.decode()] += 1
print(ok, wrong_src, lost, len(who), " ".join("%s=%d" % kv for kv in sorted(who.items())))' \
	"$NT_VIP4")
echo "udp: answered ok, wrong source, lost, targets, per target: $res"
read -r ok wrong lost ntargets _ <<<"$res"
nt_check udp_all_answered "ok=$ok wrong_source=$wrong lost=$lost of 50" [ "${ok:-0}" -eq 50 ]
nt_check udp_from_vipa "$wrong answers came from another address than $NT_VIP4:5353" \
	[ "${wrong:-1}" -eq 0 ]
nt_check udp_spread "answered by $ntargets target(s)" [ "${ntargets:-0}" -gt 1 ]
nt_finish
