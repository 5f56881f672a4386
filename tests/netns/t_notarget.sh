#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_notarget: a service with no listening target refuses at once (TCP RST: curl exit 7 in < 1 s;
# UDP: ICMP port unreachable) and the distributor counts no_target.
. "$(dirname "$0")/lib.sh"
nt_cluster_up
# port 81 -> t3:8181 and udp 5354 -> t3:5355: nothing listens there (lib.sh's config)
NT_EXPECT=False nt_wait_until 5 nt_is nt_target_listening d1 t3 81 tcp ||
	nt_log "d1 does not list t3 for port 81 as not listening: $(nt_ctl d1 targets)"

before=$(nt_stat d1 "j.get('drops', {}).get('no_target', 0)")
t0=$(nt_now_ms)
nt_x c curl -sS -m 5 -o /dev/null "http://$NT_VIP4:81/" 2>"$NT_WORK/curl.err"
rc=$?
ms=$(($(nt_now_ms) - t0))
echo "curl to $NT_VIP4:81: exit $rc after $ms ms ($(cat "$NT_WORK/curl.err"))"
nt_check tcp_refused "curl exit $rc (want 7, connection refused)" [ $rc -eq 7 ]
nt_check tcp_refused_fast "took $ms ms (want < 1000)" [ $ms -lt 1000 ]

res=$(nt_x c "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], 5354))
s.send(b"anyone?")
try:
	s.recv(100)
	print("answered")
except ConnectionRefusedError:
	print("refused")
except socket.timeout:
	print("timeout")' "$NT_VIP4")
echo "udp to $NT_VIP4:5354: $res"
nt_check udp_port_unreachable "got '$res' (want refused: ICMP port unreachable)" \
	[ "$res" = refused ]

after=$(nt_stat d1 "j.get('drops', {}).get('no_target', 0)")
echo "d1 drops.no_target: $before -> $after"
nt_check no_target_counted "drops.no_target $before -> $after" \
	[ "${after:-0}" -gt "${before:-0}" ]
nt_finish
