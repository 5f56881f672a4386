#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_peers: the SCTP test peers themselves (tests/netns/sctp_peer, on usrsctp), without
# clusterd: a client and a multihomed server in two namespaces joined by two links.
#
#   sc (client): h0 10.30.0.1/32, fd30::1/128: the only addresses it binds (h0 is a veth whose
#                peer h0p stays in sc: usrsctp never uses an address of an interface named lo*
#                towards another host); c1 10.31.1.1/24 fd31:1::1/64, c2 10.31.2.1/24
#                fd31:2::1/64; IPv6 routes to the server carry src fd30::1 (for IPv6 the kernel,
#                not usrsctp, picks the source address)
#   ss (server): s1 10.31.1.2/24 fd31:1::2/64, s2 10.31.2.2/24 fd31:2::2/64; to the client via
#                link 1, else via link 2 (routes of higher metric); IPv6 addresses kept on down
#
# Two servers run in ss at once on the same port, one bound to both IPv4 addresses, one to both
# IPv6 addresses: each process sees the other's packets (raw sockets), so this also checks that
# neither ABORTs the other's associations (sctp_blackhole).  For each family the client
# connects to the link-1 address (its primary path): the association comes up listing both
# server addresses, N messages are echoed.  Then, SCTP_RUNS times, a fresh association streams
# N messages and the primary link goes down in the middle (s1 down, so c1 loses its carrier):
# the association must survive on the link-2 address (no COMM_LOST), every message echoed, the
# client must have seen the primary path become unreachable, and the gap (the longest wait for
# one echo) is printed: median and worst over the runs.  With the short timers below
# (SCTP_TIMERS) the worst gap must stay under SCTP_MAX_GAP_MS.
#
# sctp_peer is built by `make netns-tools` only where configure found libusrsctp-dev:
# SCTP_PEER (tests/run), else beside $CLUSTERD (lib.sh); the test skips without it.
. "$(dirname "$0")/lib.sh"
N=${SCTP_N:-40}
RUNS=${SCTP_RUNS:-5}
PORT=3868
TIMERS=${SCTP_TIMERS:-rto_min=50,rto_max=200,rto_initial=100,hb_interval=100,path_max_retrans=1,assoc_max_retrans=20}
MAX_GAP_MS=${SCTP_MAX_GAP_MS:-1500}

[ -x "$SCTP_PEER" ] || nt_skip "no sctp_peer at $SCTP_PEER (needs libusrsctp-dev at configure time; make netns-tools; SCTP_PEER=PATH)"
nt_need ip "$PY"

# addresses per family: the client's, the server's on link 1 and on link 2
declare -A SP_C=([4]=10.30.0.1 [6]=fd30::1)
declare -A SP_S1=([4]=10.31.1.2 [6]=fd31:1::2)
declare -A SP_S2=([4]=10.31.2.2 [6]=fd31:2::2)

# sp_routes: the server's routes to the client through link 1 (after link 1 came back up, the
# kernel has dropped them).
sp_routes()
{
	nt_x ss ip route replace 10.30.0.1/32 via 10.31.1.1 dev s1 metric 10 &&
		nt_x ss ip -6 route replace fd30::1/128 via fd31:1::1 dev s1 metric 10
}

# sp_topo_up: the two namespaces and links (lib.sh's cleanup removes them and their processes).
sp_topo_up()
{
	local h i
	mkdir -p "$NT_WORK" || return 1
	: >"$NT_WORK/all.pids"
	nt_san_export
	NT_UP=1
	trap nt_cleanup EXIT
	trap 'exit 130' INT TERM
	for h in sc ss; do
		ip netns add "$NT_ID-$h" || return 1
		nt_x $h ip link set lo up
		nt_sysctl $h net.ipv4.conf.all.rp_filter=0
		nt_sysctl $h net.ipv4.conf.default.rp_filter=0
		nt_sysctl $h net.ipv6.conf.all.accept_dad=0
		nt_sysctl $h net.ipv6.conf.default.accept_dad=0
		# an IPv6 address goes with its link's down otherwise, and usrsctp reads them once
		nt_sysctl $h net.ipv6.conf.all.keep_addr_on_down=1
		nt_sysctl $h net.ipv6.conf.default.keep_addr_on_down=1
	done
	nt_x sc ip link add h0 type veth peer name h0p || return 1
	nt_x sc ip addr add 10.30.0.1/32 dev h0
	nt_x sc ip addr add fd30::1/128 dev h0 nodad
	nt_x sc ip link set h0p up
	nt_x sc ip link set h0 up
	for i in 1 2; do
		nt_x sc ip link add c$i type veth peer name s$i netns "$NT_ID-ss" || return 1
		nt_sysctl sc net.ipv4.conf.c$i.rp_filter=0
		nt_sysctl ss net.ipv4.conf.s$i.rp_filter=0
		nt_sysctl ss net.ipv6.conf.s$i.keep_addr_on_down=1
		nt_x sc ip addr add 10.31.$i.1/24 dev c$i
		nt_x sc ip addr add fd31:$i::1/64 dev c$i nodad
		nt_x ss ip addr add 10.31.$i.2/24 dev s$i
		nt_x ss ip addr add fd31:$i::2/64 dev s$i nodad
		nt_x sc ip link set c$i up
		nt_x ss ip link set s$i up
		nt_x sc ip -6 route add fd31:$i::2/128 dev c$i src fd30::1 || return 1
	done
	sp_routes || return 1
	nt_x ss ip route add 10.30.0.1/32 via 10.31.2.1 dev s2 metric 20 || return 1
	nt_x ss ip -6 route add fd30::1/128 via fd31:2::1 dev s2 metric 20 || return 1
	for i in 1 2; do
		nt_wait_until 10 nt_ping sc 10.31.$i.2 || { nt_log "no IPv4 path on link $i"; return 1; }
		nt_wait_until 10 nt_ping sc fd31:$i::2 || { nt_log "no IPv6 path on link $i"; return 1; }
	done
	return 0
}

# sp_json FILE EVENT KEY: KEY of the last EVENT line of FILE (a JSON value, printed by python).
sp_json()
{
	"$PY" - "$@" <<'EOF'
import json, sys
v = None
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("event") == sys.argv[2]:
        v = o.get(sys.argv[3])
print(json.dumps(v) if not isinstance(v, (int, float)) or isinstance(v, bool) else v)
EOF
}

# sp_has FILE PYEXPR: some JSON line o of FILE satisfies PYEXPR.
sp_has()
{
	"$PY" - "$@" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if eval(sys.argv[2], {"o": o}):
        sys.exit(0)
sys.exit(1)
EOF
}

# sp_basic F: the association of family F comes up with both server addresses; every message
# is echoed.
sp_basic()
{
	local f=$1 out=$NT_WORK/basic$1.out rc
	nt_x sc timeout 60 "$SCTP_PEER" client --bind "${SP_C[$f]}" --connect "${SP_S1[$f]}" \
		--port $PORT --count "$N" --interval-ms 5 --timeout-ms 3000 --timers "$TIMERS" \
		>"$out" 2>"$NT_WORK/basic$f.err"
	rc=$?
	nt_log "IPv$f basic: exit $rc, $(grep -h '"summary"' "$out")"
	nt_check "ipv${f}_basic_both_paths" "paddrs: $(sp_json "$out" up paddrs)" \
		sp_has "$out" "o['event'] == 'up' and sorted(o['paddrs']) == sorted(['${SP_S1[$f]}', '${SP_S2[$f]}'])"
	nt_check "ipv${f}_basic_local_address" "laddrs: $(sp_json "$out" up laddrs)" \
		sp_has "$out" "o['event'] == 'up' and o['laddrs'] == ['${SP_C[$f]}']"
	nt_check "ipv${f}_basic_timers_applied" "timers: $(grep -h '"timers"' "$out")" \
		sp_has "$out" "o['event'] == 'timers' and o['ok'] and o['rto_min'] == 50 and o['rto_max'] == 200 and o['hb_interval'] == 100 and o['path_max_retrans'] == 1 and o['assoc_max_retrans'] == 20"
	nt_check "ipv${f}_basic_all_echoed" "exit $rc: $(grep -h '"summary"' "$out") $(head -c 300 "$NT_WORK/basic$f.err")" \
		sp_has "$out" "o['event'] == 'summary' and o['sent'] == $N and o['echoed'] == $N and o['lost'] == 0 and o['comm_lost'] == 0 and o['bad'] == 0"
	nt_check "ipv${f}_basic_exit_status" "client exited $rc" [ "$rc" -eq 0 ]
}

# sp_failover F: RUNS associations of family F, the primary link going down in each.
sp_failover()
{
	local f=$1 r out rc sum med worst fails=0 gaps=() name
	for r in $(seq 1 "$RUNS"); do
		name=client$f-$r
		out=$NT_WORK/failover$f-$r.out
		nt_bg sc "$name" timeout 120 "$SCTP_PEER" client --bind "${SP_C[$f]}" \
			--connect "${SP_S1[$f]}" --port $PORT --count "$N" --interval-ms 20 \
			--timeout-ms 5000 --timers "$TIMERS"
		if ! nt_wait_until 20 sp_has "$NT_WORK/$name.log" "o['event'] == 'up'"; then
			nt_log "IPv$f run $r: no association: $(head -c 400 "$NT_WORK/$name.log")"
			fails=$((fails + 1))
			nt_stop "$name" KILL
			continue
		fi
		# about a third of the messages echoed, then the primary link dies
		sleep "$(awk -v n="$N" 'BEGIN { printf "%.3f", n * 0.020 / 3 }')"
		nt_x ss ip link set s1 down
		nt_wait_until 90 nt_gone "$(cat "$NT_WORK/$name.pid")"
		{ wait "$(cat "$NT_WORK/$name.pid")"; } 2>/dev/null
		rc=$?
		rm -f "$NT_WORK/$name.pid"
		cp "$NT_WORK/$name.log" "$out"
		nt_x ss ip link set s1 up
		sp_routes
		sum=$(grep -h '"summary"' "$out")
		nt_log "IPv$f run $r: link 1 went down mid-stream; client exit $rc; $sum"
		grep -h '"path"\|"assoc"' "$out" | sed 's/^/    /' >&2
		if [ "$rc" -ne 0 ] ||
			! sp_has "$out" "o['event'] == 'summary' and o['echoed'] == $N and o['lost'] == 0 and o['comm_lost'] == 0 and o['bad'] == 0" ||
			! sp_has "$out" "o['event'] == 'path' and o['addr'] == '${SP_S1[$f]}' and o['state'] == 'unreachable'" ||
			! sp_has "$out" "o['event'] == 'summary' and {p['addr']: p['state'] for p in o['paths']} == {'${SP_S1[$f]}': 'inactive', '${SP_S2[$f]}': 'active'}" ||
			sp_has "$out" "o['event'] == 'assoc' and o['state'] in ('comm_lost', 'restart')"; then
			fails=$((fails + 1))
			nt_log "IPv$f run $r failed: $(tail -n 20 "$out")"
		else
			gaps+=("$(sp_json "$out" summary max_gap_ms)")
		fi
		# link 1 is back: it must answer again before the next run
		nt_wait_until 10 nt_ping sc "${SP_S1[$f]}" || nt_log "link 1 did not come back"
	done
	nt_check "ipv${f}_failover_survives" \
		"$fails of $RUNS runs lost the association, a message or the path event" [ "$fails" -eq 0 ]
	[ ${#gaps[@]} -gt 0 ] || return 0
	read -r med worst < <(printf '%s\n' "${gaps[@]}" | sort -n | awk '
		{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", m, v[NR] }')
	echo "# IPv$f SCTP failover gap over ${#gaps[@]} runs: median ${med} ms, worst ${worst} ms" \
		"(timers $TIMERS; runs: ${gaps[*]})"
	nt_check "ipv${f}_failover_gap_bounded" "worst gap ${worst} ms > ${MAX_GAP_MS} ms" \
		awk -v w="$worst" -v m="$MAX_GAP_MS" 'BEGIN { exit !(w <= m) }'
}

sp_topo_up || { nt_fail setup "topology"; nt_finish; }
for f in 4 6; do
	nt_bg ss server$f "$SCTP_PEER" server --bind "${SP_S1[$f]},${SP_S2[$f]}" --port $PORT \
		--timers "$TIMERS"
	nt_wait_until 10 grep -q '"event":"listening"' "$NT_WORK/server$f.log" ||
		{ nt_fail setup "IPv$f server did not start: $(head -c 400 "$NT_WORK/server$f.log")"; nt_finish; }
done

for f in 4 6; do
	sp_basic $f
	sp_failover $f
done

for f in 4 6; do
	nt_stop server$f
	nt_check "ipv${f}_server_clean_exit" "server: $(tail -n 3 "$NT_WORK/server$f.log")" \
		sp_has "$NT_WORK/server$f.log" "o['event'] == 'summary' and o['bad'] == 0 and o['assocs'] == $((RUNS + 1))"
done
nt_finish
