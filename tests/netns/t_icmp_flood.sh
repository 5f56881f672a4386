#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_icmp_flood: a flood of ICMP errors at the VIPA does not stall the connections through it.
# Long-lived HTTP connections (longconn.py, a request every 50 ms on each) run from the client
# through d1 while the router sends d1 20000 "fragmentation needed" errors in about 5 s, from
# 256 source addresses (the rules spread ICMP over the workers by source, so both workers get
# them), quoting either one of the live connections (whose entry is in one worker's table: the
# other worker must look there) or a flow nobody knows (every other table is looked in).  A
# worker that waited for another's lock while holding its own (and slept doing so) held the
# connections up for whole seconds; now no connection may go longer than 300 ms without an
# answer, none is lost, and the errors over each worker's rate are dropped and counted
# (drops.icmp_rate_limited) while some are still forwarded to the targets.
. "$(dirname "$0")/lib.sh"
nt_cluster_up

FLOOD_N=${FLOOD_N:-20000}
FLOOD_S=${FLOOD_S:-5}
STALL_MAX_MS=${STALL_MAX_MS:-300}

lc_out=$NT_WORK/longconn.json
rm -f "$NT_WORK/lc.stop"
nt_bg c lc "$PY" -u "$NT_DIR/longconn.py" "$NT_VIP4" --conns 16 --interval 0.05 --rate 5 \
	--duration 30 --stop-file "$NT_WORK/lc.stop" --out "$lc_out"
nt_wait_until 15 grep -q '^READY' "$NT_WORK/lc.log" ||
	{ nt_fail setup "longconn.py not ready"; nt_dump_logs lc; nt_finish; }

# The client ports of the live connections, as d1's table has them.
lc_ports() { nt_ctl d1 conns --json | nt_json "' '.join(str(c['client'].rsplit(':', 1)[1])
	for c in j['conns'] if c['vipa'] == '$NT_VIP4:80' and c['state'] == 'EST')"; }
nt_wait_until 10 eval '[ -n "$(lc_ports)" ]'
ports=$(lc_ports)
echo "live connections through d1 from client ports: $ports"
nt_check live_conns "no established connection in d1's table" [ -n "$ports" ]

lim_before=$(nt_stat d1 "j['drops'].get('icmp_rate_limited', -1)")
fwd_before=$(nt_stat d1 "j['packets']['icmp_errors_forwarded']")
rx_before=$(nt_stat d1 "j['packets']['received']")

# The flood: raw IPv4 from the router, FLOOD_N errors paced evenly over FLOOD_S seconds.
t0=$(nt_now_ms)
nt_x r "$PY" -c 'import random, socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
from malformed import csum
vip, client, n, secs = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
ports = [int(p) for p in sys.argv[6:]]
def ip4(src, dst, proto, payload, ident):
	h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64, proto, 0,
			socket.inet_aton(src), socket.inet_aton(dst))
	return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
rnd = random.Random(7)
start = time.monotonic()
for i in range(n):
	if ports and i % 2 == 0:
		cl, cport = client, ports[(i // 2) % len(ports)]
	else:
		cl, cport = "10.1.%d.%d" % (rnd.randrange(1, 250), rnd.randrange(1, 250)), \
			rnd.randrange(1024, 65535)
	# the segment the target sent as the VIPA, which the router could not forward
	tcp = struct.pack("!HHII", 80, cport, rnd.getrandbits(32), 0)
	quoted = ip4(vip, cl, 6, tcp + b"\0" * 12, i & 0xffff)[:28]
	icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1280) + quoted
	icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
	src = "10.9.%d.%d" % ((i >> 8) & 255 or 1, i & 255 or 1)
	s.sendto(ip4(src, vip, 1, icmp, i & 0xffff), (vip, 0))
	ahead = start + secs * (i + 1) / n - time.monotonic()
	if ahead > 0.002:
		time.sleep(ahead)
print("SENT", n, "in %.2f s" % (time.monotonic() - start))' "$NT_DIR" "$NT_VIP4" "${NT_IP4[c]}" \
	"$FLOOD_N" "$FLOOD_S" $ports >"$NT_WORK/flood.log" 2>&1
t1=$(nt_now_ms)
cat "$NT_WORK/flood.log"
# one more second of traffic after the flood, then the summary
sleep 1
touch "$NT_WORK/lc.stop"
nt_wait_until 10 test -s "$lc_out" || { nt_fail setup "no longconn summary"; nt_dump_logs lc; }
lim_after=$(nt_stat d1 "j['drops'].get('icmp_rate_limited', -1)")
fwd_after=$(nt_stat d1 "j['packets']['icmp_errors_forwarded']")
rx_after=$(nt_stat d1 "j['packets']['received']")
per_worker=$(nt_stat d1 "' '.join(str(w['packets']) for w in j['workers'])")
read -r est lost stall reqs < <(nt_json "'%d %d %d %d' % (j['long']['established'],
	j['long']['lost'], j['long']['max_stall_ms'], j['long']['requests_ok'])" <"$lc_out")
echo "flood of $FLOOD_N errors in $((t1 - t0)) ms; d1: received $rx_before -> $rx_after" \
	"(per worker now: $per_worker), icmp_errors_forwarded $fwd_before -> $fwd_after," \
	"icmp_rate_limited $lim_before -> $lim_after; connections: $est established, $lost lost," \
	"$reqs requests, longest wait for an answer $stall ms"
nt_check flood_sent "the flood did not go out" grep -q '^SENT' "$NT_WORK/flood.log"
nt_check flood_reached_d1 "d1 received $((rx_after - rx_before)) packets, < $((FLOOD_N / 2))" \
	[ $((rx_after - rx_before)) -ge $((FLOOD_N / 2)) ]
nt_check no_conn_lost "$lost of $est connections lost" [ "${lost:-1}" -eq 0 ]
nt_check no_stall "a connection waited $stall ms for an answer (bound $STALL_MAX_MS ms)" \
	[ "${stall:-99999}" -le "$STALL_MAX_MS" ]
nt_check rate_limited "drops.icmp_rate_limited $lim_before -> $lim_after" \
	[ "${lim_before:--1}" -ge 0 -a "${lim_after:-0}" -gt "${lim_before:-0}" ]
nt_check some_forwarded "icmp_errors_forwarded $fwd_before -> $fwd_after" \
	[ "${fwd_after:-0}" -gt "${fwd_before:-0}" ]
nt_finish
