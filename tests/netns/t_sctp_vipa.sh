#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_vipa: SCTP associations through the VIPA (issue 13), sctp_lib.sh's cluster, IPv4 then
# IPv6 (SCTP_FAMILIES, default "4 6").  Per family, VIPA_CLIENTS (6) usrsctp clients on C, each
# with its own local port and knowing only the VIPA, stream VIPA_N messages (150, every 20 ms)
# at once:
#   - every message echoed (each client exits 0, its summary says lost 0, no COMM_LOST);
#   - the associations are spread over t1 and t2 (the servers' "peer" lines: which client port
#     each serves), each association served by exactly one target;
#   - a capture on C (tcpdump, read by a small python reader): each association's INIT ACK
#     comes from the VIPA, its CRC32c is right and its address parameters are exactly the
#     VIPA and the alternate address; no packet reaches C from a target's own address;
#   - no ABORT from the cluster reached C (a distributor without the association's state);
#   - the clients see the VIPA and the alternate as the peer's addresses (usrsctp_getpaddrs);
#   - d1's and d2's `clusterctl conns` list each association while it runs, established, with
#     the target that serves it and the tags of its INIT ACK (client_tag = the INIT ACK's
#     verification tag, target_tag = its Initiate Tag).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sctp_lib.sh"
N=${VIPA_N:-150}
CLIENTS=${VIPA_CLIENTS:-6}
FAMILIES=${SCTP_FAMILIES:-"4 6"}

# vipa_conns_match HOST PORTS EXPECT_FILE: HOST's associations for the PORTS are established
# and agree with EXPECT_FILE ("port target client_tag target_tag" lines).
vipa_conns_match()
{
	local h=$1 ports=$2 exp=$3 got
	got=$(st_assocs "$h") || return 1
	"$PY" -c 'import sys
want = {}
for l in open(sys.argv[1]):
	p, t, ct, tt = l.split()
	want[int(p)] = (t, int(ct), int(tt))
have = {}
for l in sys.argv[2].splitlines():
	f = l.split()
	if len(f) >= 5 and f[1] == "established":
		have.setdefault(int(f[0]), []).append((f[2], int(f[3]), int(f[4])))
sys.exit(0 if all(have.get(p) == [w] for p, w in want.items()) else 1)' "$exp" "$got"
}

vipa_family()
{
	local f=$1 i name port ports="" rc fails=0 t1n=0 t2n=0 by line acks bad srcs a h aborts
	st_family "$f"
	st_cap_start c "c$f" || { nt_fail "ipv${f}_capture" "tcpdump did not start"; return; }
	for i in $(seq 1 "$CLIENTS"); do
		port=$((40000 + f * 100 + i))
		ports="$ports $port"
		st_client "cl$f-$i" "$port" "$N" 20
	done
	st_go $(seq -f "cl$f-%g" 1 "$CLIENTS")
	for i in $(seq 1 "$CLIENTS"); do
		st_client_up "cl$f-$i" 20 || nt_log "IPv$f client $i: not up: $(st_summary "cl$f-$i")"
	done
	# the expectation, from what the servers and the capture saw: port target ctag ttag
	: >"$NT_WORK/expect$f"
	for port in $ports; do
		nt_wait_until 5 eval '[ -n "$(st_served_by '"$port"')" ]'
		by=$(st_served_by "$port")
		line=$(st_init_acks "c$f" | awk -v p="$port" '$1 == p' | tail -n 1)
		[ -n "$by" ] && [ -n "$line" ] &&
			echo "$port $by $(echo "$line" | awk '{ print $3, $4 }')" >>"$NT_WORK/expect$f"
	done
	nt_log "IPv$f expected associations (port target client_tag target_tag):" \
		"$(tr '\n' ';' <"$NT_WORK/expect$f")"
	for h in d1 d2; do
		if nt_wait_until 10 vipa_conns_match "$h" "$ports" "$NT_WORK/expect$f"; then
			nt_pass "ipv${f}_conns_$h"
		else
			nt_fail "ipv${f}_conns_$h" "$h's associations: $(st_assocs "$h" | tr '\n' ';');\
 expected $(tr '\n' ';' <"$NT_WORK/expect$f")"
		fi
	done
	nt_check "ipv${f}_expectation_complete" "$(grep -c . "$NT_WORK/expect$f") of $CLIENTS \
associations have a target and an INIT ACK" [ "$(grep -c . "$NT_WORK/expect$f")" -eq "$CLIENTS" ]

	for i in $(seq 1 "$CLIENTS"); do
		name=cl$f-$i
		st_client_wait "$name" 120
		rc=$ST_RC
		if [ "$rc" -ne 0 ] || ! st_client_ok "$name" "$N"; then
			fails=$((fails + 1))
			nt_log "IPv$f client $i: exit $rc: $(st_summary "$name")"
		fi
	done
	nt_check "ipv${f}_all_echoed" "$fails of $CLIENTS clients lost messages or the association" \
		[ "$fails" -eq 0 ]
	for i in $(seq 1 "$CLIENTS"); do
		nt_log "IPv$f client $i: $(st_summary "cl$f-$i")"
	done
	bad=0
	for i in $(seq 1 "$CLIENTS"); do
		st_has "$NT_WORK/cl$f-$i.log" "o['event'] == 'up' and \
sorted(o['paddrs']) == sorted(['$ST_VIP', '$ST_ALT'])" || bad=$((bad + 1))
	done
	nt_check "ipv${f}_peer_addresses" "$bad clients do not see exactly $ST_VIP and $ST_ALT: \
$(st_get "$NT_WORK/cl$f-1.log" up paddrs)" [ "$bad" -eq 0 ]

	# spread: each port on exactly one target, both targets used
	bad=0
	for port in $ports; do
		by=$(st_served_by "$port")
		case $by in
		t1) t1n=$((t1n + 1)) ;;
		t2) t2n=$((t2n + 1)) ;;
		*) bad=$((bad + 1)); nt_log "IPv$f port $port served by '$by'" ;;
		esac
	done
	echo "# IPv$f: $CLIENTS associations: t1 $t1n, t2 $t2n"
	nt_check "ipv${f}_one_target_each" "$bad associations served by no target or by both" \
		[ "$bad" -eq 0 ]
	nt_check "ipv${f}_spread" "t1 served $t1n, t2 $t2n of $CLIENTS" [ "$t1n" -ge 1 -a "$t2n" -ge 1 ]

	st_cap_stop "c$f"
	acks=$(st_init_acks "c$f")
	nt_log "IPv$f INIT ACKs at C (port src vtag itag crc_ok addrs):" "$(echo "$acks" | tr '\n' ';')"
	bad=0
	for port in $ports; do
		echo "$acks" | awk -v p="$port" -v v="$ST_VIP" -v a="$ST_ALT" '
			$1 == p { n++; split($6, x, ","); k = 0
				for (i in x) if (x[i] == v || x[i] == a) k++; else k = -99
				if ($2 != v || $5 != "True" || length(x) != 2 || k != 2) bad++ }
			END { exit !(n >= 1 && !bad) }' || bad=$((bad + 1))
	done
	nt_check "ipv${f}_init_ack_lists_vipa_and_alt" "$bad of $CLIENTS associations' INIT ACKs \
did not come from $ST_VIP with exactly {$ST_VIP, $ST_ALT} and a good CRC32c" [ "$bad" -eq 0 ]
	# every source that sent C a packet of the service
	# (to this family's client address: the other family's leftovers may still come in)
	srcs=$(st_pcap "c$f" | "$PY" -c 'import json, sys
print(" ".join(sorted(set(json.loads(l)["src"] for l in sys.stdin
	if json.loads(l)["sport"] == int(sys.argv[1]) and json.loads(l)["dst"] == sys.argv[2]))))' \
		"$ST_PORT" "$ST_CLIENT")
	echo "# IPv$f: packets of port $ST_PORT reached C from: $srcs"
	# the cluster never answered a packet of these associations with an ABORT (a distributor
	# that does not know an association yet, e.g. d2 meeting the client's first HEARTBEAT
	# on the alternate path before the target's TAG message, answers with the no-state ABORT;
	# usrsctp then starts the NAT draft's recovery by ASCONF)
	aborts=$(st_pcap "c$f" | "$PY" -c 'import json, sys
n = 0
for l in sys.stdin:
	o = json.loads(l)
	if o["sport"] == int(sys.argv[1]) and o["dst"] == sys.argv[2]:
		n += sum(1 for c in o["chunks"] if c["type"] == 6)
print(n)' "$ST_PORT" "$ST_CLIENT")
	nt_check "ipv${f}_no_abort_from_cluster" "$aborts ABORT chunks reached C from the VIPA or \
the alternate during the streams: $(st_aborts "c$f" | head -n 12 | tr '\n' ';')" [ "$aborts" -eq 0 ]
	bad=0
	for a in $srcs; do [ "$a" = "$ST_VIP" ] || [ "$a" = "$ST_ALT" ] || bad=1; done
	nt_check "ipv${f}_replies_from_vipa" "sources seen at C: $srcs (want only $ST_VIP, $ST_ALT)" \
		[ "$bad" -eq 0 -a -n "$srcs" ]
}

st_cluster_up
for fam in $FAMILIES; do vipa_family "$fam"; done
nt_finish
