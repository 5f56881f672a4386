#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_fastpath_dist: the distributor's per-flow fast path (issue 14, second slice), end to end.
#
# The standard cluster, with short timeouts (udp 4 s, tcp_fin 5 s; a conn_max just large
# enough for the burst, so that the expiry sweep is quick: see TD_CONN_MAX), round-robin on
# port 80 (a takeover must then use the replicas) and one more plain TCP service, VIPA:82 ->
# t1..t3:8282 on both VIPAs, served by shortconns.py (lines echoed; "SINK n" + n bytes
# answered with their size and sha256).  d1 distributes; its maps are read with
# `nft -j list map inet clusterd M`, M = fpmap_name() (rules/fpmap.h): fp4t_0a020064_82,
# fp6t_<32 hex>_82, fp4u_0a020064_5353, fp4t_0a020064_80.
#   0  d1's status says fastpath "on"; d1 and d2 hold the four maps, empty;
#   1  a held v4 connection's element is in the map, its value the target d1's table shows
#      (and the target that answered);
#   2  a 20 MB upload on it goes through the fast rule: fastpath.dist_bytes grows by the upload
#      at least, fastpath.dist_packets by >= 90 % of the packets d1 received for VIPA:82 (an
#      observer counter in d1's prerouting), d1's queue gets < 10 % of them; the upload arrives
#      intact (sha256 end to end).  GSO: d1 sees ~330 packets for 20 MB, so the counts are
#      compared with what d1 received, not with the client's 13,800 segments;
#   3  a client FIN: the entry goes to FIN, the element goes, the entry expires by tcp_fin;
#   4  a UDP flow's element appears with the entry's target; a flow active for 3 x the udp
#      timeout (a datagram a second) keeps d1's entry and d2's replica all along, and
#      fastpath.alive_kept moves (the worker asked the kernel before expiring it); once quiet,
#      the element goes within udp timeout + 3 s, the entry and d2's replica within udp
#      timeout + the sweep + 5 s;
#   3b a client RST (SO_LINGER 0) takes the element out too;
#   5  10,000 short connections (50 at a time) all succeed and leave no element; then 50 held
#      connections show as exactly 50 elements and 50 EST entries, each element's value its
#      entry's target; after they close and the FIN timeout (+ the sweep): 0 and 0;
#   6  a held v6 connection: exactly one element in the fp6t map (nft 1.0.6's miscompiled
#      update would add a bogus one per packet), the right value, an upload intact, gone at FIN;
#   8  d1's counters: fastpath.adds >= the connections made, batch_errors 0, batches < adds +
#      dels (the brief said < adds; but every connection is removed twice, see the check);
#   7  takeover: 24 long-lived connections (longconn.py) on VIPA:80 through d1's map (d2's, a
#      backup's, empty), d1 SIGKILLed: d2 owns the VIPA, its map then holds the same 24 elements
#      (values as d2's table says), its fastpath.dist_packets moves, no connection lost.
# NT_FASTPATH=off: skipped (there is nothing to check).  About 1 to 1.5 minutes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
nt_fastpath_on || nt_skip "NT_FASTPATH=off: the distributor's maps exist only with the fast path"
nt_need nstat
TD_UDP_TO=4
TD_FIN_TO=5
TD_PORT=82
TD_TPORT=8282
TD_BURST=${TD_BURST:-10000}
# conn_max (per worker): room for a worker's share of the burst, whose entries all live at once
# (tcp_fin + the sweep), 1.5 times over, as a power of 2, 4096 at least; no more, so that the
# expiry sweep is quick: a worker's table has 2 x conn_max buckets, which its sweep covers at
# 256 every 100 ms (2 x 8192 in 6.4 s; the default 262,144 would take 205 s).  An idle entry
# goes within its timeout + TD_SWEEP seconds.
TD_CONN_MAX=4096
while [ "$TD_CONN_MAX" -lt $((TD_BURST * 3 / 2 / ${NT_WORKERS:-2})) ]; do
	TD_CONN_MAX=$((TD_CONN_MAX * 2))
done
TD_SWEEP=$(( (2 * TD_CONN_MAX + 2559) / 2560 + 1 ))
TD_PAR=${TD_PAR:-50}
TD_HOLD=${TD_HOLD:-50}
TD_UPLOAD=${TD_UPLOAD:-20000000}
TD_LC=${TD_LC:-24}
TD_UDP_PORT=45353
TD_START=$(nt_now_ms)
C4=${NT_IP4[c]}
C6=${NT_IP6[c]}

# ---------------------------------------------------------------- set-up

nt_need_daemon
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
# add_service VIPA LINE: LINE as the first service of VIPA in the configuration.
add_service()
{
	awk -v v="address = \"$1\";" -v s="$2" '{ print }
		index($0, v) { want = 1 }
		want && /services = \(/ { print "      " s; want = 0 }' \
		"$NT_WORK/clusterd.conf" >"$NT_WORK/clusterd.conf.new" &&
		mv "$NT_WORK/clusterd.conf.new" "$NT_WORK/clusterd.conf"
}
svc="{ port = $TD_PORT; protocol = \"tcp\"; targets = ( \"t1\", \"t2\", \"t3\" );"
svc="$svc target_port = $TD_TPORT; scheduler = \"round-robin\"; },"
add_service "$NT_VIP4" "$svc"
add_service "$NT_VIP6" "$svc"
sed -i -e 's/scheduler = "maglev"/scheduler = "round-robin"/' \
	-e "s/^daemon = { \(.*\) };\$/daemon = { \1 conn_max = $TD_CONN_MAX; timeouts = { \
udp = $TD_UDP_TO; tcp_fin = $TD_FIN_TO; }; };/" "$NT_WORK/clusterd.conf"
n=$(grep -c "port = $TD_PORT;" "$NT_WORK/clusterd.conf")
if ! grep -q "conn_max = $TD_CONN_MAX; timeouts = { udp = $TD_UDP_TO; tcp_fin = $TD_FIN_TO; }" \
	"$NT_WORK/clusterd.conf" ||
	[ "$n" != 2 ]; then
	nt_fail setup "configuration edit: $(cat "$NT_WORK/clusterd.conf")"
	nt_finish
fi
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
for t in $NT_TARGETS; do
	nt_bg "$t" "sc-$t" "$PY" -u "$NT_DIR/shortconns.py" serve --port "$TD_TPORT" --name "$t"
	nt_wait_until 15 nt_listening "$t" tcp "$TD_TPORT" || nt_fail setup "shortconns on $t"
	nt_udp_start "$t" 5353 || nt_fail setup "udp echo on $t"
done
nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
for h in d1 d2; do
	for w in "80 tcp $NT_VIP4" "$TD_PORT tcp $NT_VIP4" "$TD_PORT tcp $NT_VIP6" \
		"5353 udp $NT_VIP4"; do
		set -- $w
		nt_wait_listening "$h" 3 "$1" "$2" 30 "$3" ||
			{ nt_fail setup "$h does not see 3 listening targets for $3:$1/$2"; nt_finish; }
	done
done
nt_wait_until 15 nto_owns d1 || { nt_fail setup "d1 does not own $NT_VIP4"; nt_finish; }
nt_log "set-up done in $(( $(nt_now_ms) - TD_START )) ms; conn_max $TD_CONN_MAX, sweep $TD_SWEEP s"

# ---------------------------------------------------------------- helpers

# fp_name 4|6 t|u VIPA PORT: the map's name (rules/fpmap.h: fpmap_name).
fp_name()
{
	"$PY" -c 'import ipaddress, sys
print("fp%s%s_%s_%s" % (sys.argv[1], sys.argv[2],
      ipaddress.ip_address(sys.argv[3]).packed.hex(), sys.argv[4]))' "$@"
}
M4=$(fp_name 4 t "$NT_VIP4" "$TD_PORT")
M6=$(fp_name 6 t "$NT_VIP6" "$TD_PORT")
M4U=$(fp_name 4 u "$NT_VIP4" 5353)
M480=$(fp_name 4 t "$NT_VIP4" 80)
echo "maps: $M4 $M6 $M4U $M480"

# fp_elems HOST MAP: the map's elements, "CLIENT_ADDR CLIENT_PORT VALUE" a line (v4 keys are
# address . port, v6 keys port . address); fails when the map is not there.
fp_elems()
{
	local out
	out=$(nt_x "$1" nft -j list map inet clusterd "$2" 2>/dev/null) || return 1
	echo "$out" | "$PY" -c 'import json, sys
for o in json.load(sys.stdin)["nftables"]:
    m = o.get("map")
    if m is None:
        continue
    for e in m.get("elem", []):
        k, v = e
        if isinstance(k, dict) and "elem" in k:
            k = k["elem"]["val"]
        k = k["concat"] if isinstance(k, dict) else k
        a, p = (k[0], k[1]) if isinstance(k[1], int) else (k[1], k[0])
        print(a, p, v)'
}
# fp_count HOST MAP: its number of elements, -1 without the map.
fp_count() { local e; e=$(fp_elems "$1" "$2") || { echo -1; return; }; echo "$e" | grep -c . ; }
# fp_value HOST MAP CADDR CPORT: the element's value (empty: none).
fp_value() { fp_elems "$1" "$2" | awk -v a="$3" -v p="$4" '$1 == a && $2 == p { print $3 }'; }
fp_has() { [ -n "$(fp_value "$@")" ]; }
# fp_gone HOST MAP CADDR CPORT: the map is there and the element is not.
fp_gone() { local e; e=$(fp_elems "$1" "$2") && ! echo "$e" | grep -q "^$3 $4 "; }
fp_count_is() { [ "$(fp_count "$1" "$2")" = "$3" ]; }

# conns HOST: d1's table, "PROTO CADDR CPORT VADDR VPORT STATE TADDR" a line.
conns()
{
	nt_ctl "$1" conns --json | "$PY" -c 'import json, sys
def ep(s):
    a, _, p = s.rpartition(":")
    return a.strip("[]"), p
for c in json.load(sys.stdin)["conns"]:
    print(c["protocol"], *ep(c["client"]), *ep(c["vipa"]), c["state"],
          ep(c["target_address"])[0])'
}
# conn_field HOST PROTO CADDR CPORT FIELD(6 state, 7 target address): empty if no entry.
conn_field() { conns "$1" | awk -v p="$2" -v a="$3" -v c="$4" -v f="$5" \
	'$1 == p && $2 == a && $3 == c && !done { print $f; done = 1 }'; }
conn_has() { [ -n "$(conn_field "$@" 6)" ]; }
conn_gone() { local t; t=$(conns "$1") && ! echo "$t" | awk -v p="$2" -v a="$3" -v c="$4" \
	'$1 == p && $2 == a && $3 == c { f = 1 } END { exit !f }'; }
# conn_state_in HOST PROTO CADDR CPORT "STATE...": the entry is in one of the states.
conn_state_in()
{
	case " $5 " in *" $(conn_field "$1" "$2" "$3" "$4" 6) "*) return 0 ;; esac
	return 1
}
# conn_count HOST VPORT [STATE]: TCP entries for VIPA4:VPORT (in STATE).
conn_count() { conns "$1" | awk -v v="$NT_VIP4" -v p="$2" -v s="${3:-}" \
	'$1 == "tcp" && $4 == v && $5 == p && (s == "" || $6 == s) { n++ } END { print n + 0 }'; }

# st HOST KEY...: stats values (j['a']['b'] for a.b), -1 each when absent.
st()
{
	local h=$1
	shift
	nt_ctl "$h" stats --json | "$PY" -c 'import json, sys
j = json.load(sys.stdin)
out = []
for k in sys.argv[1:]:
    v = j
    for p in k.split("."):
        v = v.get(p) if isinstance(v, dict) else None
    out.append(str(v) if isinstance(v, int) else "-1")
print(" ".join(out))' "$@" 2>/dev/null || { printf -- '-1 %.0s' "$@"; echo; }
}
# ip_of NAME: the target's IPv4 (or with 6, IPv6) address.
ip_of() { if [ "${2:-4}" = 6 ]; then echo "${NT_IP6[$1]}"; else echo "${NT_IP4[$1]}"; fi; }

# hold_start NAME HOST N: shortconns.py hold on the client; waits for HELD (20 s).
hold_start()
{
	local name=$1
	rm -f "$NT_WORK/$name.fifo"
	mkfifo "$NT_WORK/$name.fifo"
	nt_bg c "$name" "$PY" -u "$NT_DIR/shortconns.py" hold "$2" "$TD_PORT" --n "$3" \
		--ctl "$NT_WORK/$name.fifo" --max-time 200
	nt_wait_until 20 grep -q -e '^HELD' -e '^SETUP' "$NT_WORK/$name.log"
	grep -q '^HELD' "$NT_WORK/$name.log"
}
# hold_port NAME I / hold_target NAME I: connection I's local port / the target that answered.
hold_port() { awk -v i="$2" '$1 == "HOLD" && $2 == i { print $3 }' "$NT_WORK/$1.log"; }
hold_target() { awk -v i="$2" '$1 == "HOLD" && $2 == i { print $4 }' "$NT_WORK/$1.log"; }
hold_results() { grep -c '^RESULT' "$NT_WORK/$1.log"; }
# hold_cmd NAME TIMEOUT_S CMD: sends CMD, waits for its RESULT line and prints it.
hold_cmd()
{
	local name=$1 to=$2 n
	n=$(hold_results "$name")
	timeout 5 bash -c 'echo "$1" >"$2"' _ "$3" "$NT_WORK/$name.fifo" || { echo "no reader"; return 1; }
	nt_wait_until "$to" eval "[ \"\$(hold_results $name)\" -gt $n ]"
	grep '^RESULT' "$NT_WORK/$name.log" | sed -n "$((n + 1))p"
}
# hold_close NAME fin|rst
hold_close()
{
	hold_cmd "$1" 10 "close $2" >/dev/null
	nt_wait_until 10 nt_gone "$(cat "$NT_WORK/$1.pid")"
	nt_stop "$1"
}
took() { echo $(( $(nt_now_ms) - $1 )); }
# leftovers HOST MAP VPORT: up to 5 of the map's elements, each with its flow's entry in
# HOST's table (state, target) or "no entry", and the element's seconds left (diagnostics).
leftovers()
{
	conns "$1" >"$NT_WORK/leftovers.conns"
	nt_x "$1" nft -j list map inet clusterd "$2" 2>/dev/null | "$PY" -c 'import json, sys
tab = {}
for line in open(sys.argv[2]):
    w = line.split()
    if len(w) == 7 and w[4] == sys.argv[1]:
        tab[(w[1], w[2])] = "%s -> %s" % (w[5], w[6])
n = 0
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("map", {}).get("elem", []):
        k, v = e
        x = k.get("elem", {}) if isinstance(k, dict) else {}
        c = x.get("val", k)
        c = c["concat"] if isinstance(c, dict) else c
        a, p = (c[0], c[1]) if isinstance(c[1], int) else (c[1], c[0])
        n += 1
        if n <= 5:
            print("   left: %s . %s -> %s, expires in %s s; entry: %s"
                  % (a, p, v, x.get("expires", "?"), tab.get((a, str(p)), "none")))' \
		"$3" "$NT_WORK/leftovers.conns"
}

st0=$(nt_ctl d1 status --json | nt_json "j.get('fastpath')")
nt_check status_fastpath_on "d1's status says fastpath = $st0, want on" [ "$st0" = on ]
for m in "$M4" "$M6" "$M4U" "$M480"; do
	for h in d1 d2; do
		c0=$(fp_count "$h" "$m")
		nt_check "map_${h}_$m" "$h: map $m has $c0 elements (-1: no such map), want 0" \
			[ "$c0" = 0 ]
	done
done

# ---------------------------------------------------------------- 1: held v4 connection
hold_start h1 "$NT_VIP4" 1 || nt_fail h1_setup "$(tail -n 3 "$NT_WORK/h1.log" | tr '\n' ' ')"
p1=$(hold_port h1 0) tgt1=$(hold_target h1 0)
t=$(nt_now_ms)
nt_wait_until 5 fp_has d1 "$M4" "$C4" "$p1"
v=$(fp_value d1 "$M4" "$C4" "$p1") ct=$(conn_field d1 tcp "$C4" "$p1" 7)
cs=$(conn_field d1 tcp "$C4" "$p1" 6)
echo "1: $C4:$p1 answered by $tgt1; d1's element: '${v}' after $(took "$t") ms; d1's table:" \
	"$cs -> $ct; map $M4 holds $(fp_count d1 "$M4")"
nt_check held_element "no element for $C4 . $p1 in d1's $M4 within 5 s" [ -n "$v" ]
nt_check held_value "element value '$v', d1's table says '$ct', the server is $tgt1 \
($(ip_of "$tgt1"))" [ -n "$v" -a "$v" = "$ct" -a "$v" = "$(ip_of "$tgt1")" ]
nt_check held_est "d1's entry for $C4:$p1 is '$cs', want EST" [ "$cs" = EST ]

# ---------------------------------------------------------------- 2: bulk through it
nt_x d1 nft -f - <<NFT || nt_fail setup "observer table on d1"
table inet tdobs {
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		ip daddr $NT_VIP4 tcp dport $TD_PORT counter
	}
}
NFT
obs() { nt_x d1 nft -j list table inet tdobs | "$PY" -c 'import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for x in o.get("rule", {}).get("expr", []):
        if "counter" in x:
            print(x["counter"]["packets"], x["counter"]["bytes"])'; }
segs() { nt_x c nstat -az TcpOutSegs | awk '$1 == "TcpOutSegs" { print $2 }'; }
read -r dp0 db0 rx0 < <(st d1 fastpath.dist_packets fastpath.dist_bytes packets.received)
read -r op0 ob0 < <(obs)
sg0=$(segs)
t=$(nt_now_ms)
up=$(hold_cmd h1 60 "upload $TD_UPLOAD")
ms=$(took "$t")
read -r dp1 db1 rx1 < <(st d1 fastpath.dist_packets fastpath.dist_bytes packets.received)
read -r op1 ob1 < <(obs)
sg1=$(segs)
dp=$((dp1 - dp0)) db=$((db1 - db0)) rx=$((rx1 - rx0)) op=$((op1 - op0)) sg=$((sg1 - sg0))
echo "2: $up ($ms ms)"
echo "2: d1 received $op packets / $((ob1 - ob0)) bytes for $NT_VIP4:$TD_PORT; fast rule" \
	"$dp packets / $db bytes; d1's queue $rx packets; the client sent $sg segments" \
	"(the brief's floor (bytes/1500)/2 = $((TD_UPLOAD / 3000)) packets: GSO packets count once)"
nt_check bulk_intact "upload: $up" eval '[[ "$up" == "RESULT upload ok "* ]]'
nt_check bulk_fast_bytes "fast rule counted $db bytes, the upload was $TD_UPLOAD" \
	[ "$dp0" -ge 0 -a "$db" -ge "$TD_UPLOAD" ]
nt_check bulk_fast_packets "fast rule counted $dp of the $op packets d1 received for the \
service (want >= 90 %)" [ "$dp0" -ge 0 -a "$op" -gt 0 -a "$((dp * 10))" -ge "$((op * 9))" ]
# the queue is compared with what d1 received (GSO packets count once in both), not with the
# client's segments: without the fast path d1 queued 327 GSO packets for 13,819 segments
nt_check bulk_not_queued "d1's queue received $rx of the $op packets d1 received for the \
service (want < 10 %; the client sent $sg segments)" [ "$op" -gt 0 -a "$((rx * 10))" -lt "$op" ]
r=$(hold_cmd h1 10 ping)
nt_check bulk_after_ping "after the upload: $r" eval '[[ "$r" == "RESULT ping ok "* ]]'

# ---------------------------------------------------------------- 3: FIN (RST after 4)
t=$(nt_now_ms)
hold_close h1 fin
nt_wait_until 3 conn_state_in d1 tcp "$C4" "$p1" FIN
seen=$?
cs=$(conn_field d1 tcp "$C4" "$p1" 6)
nt_wait_until 5 fp_gone d1 "$M4" "$C4" "$p1"
gone=$? ms=$(took "$t")
echo "3: FIN: d1's entry state '${cs:-none}'; element gone: $gone after $ms ms"
nt_check fin_entry_fin "d1's entry for $C4:$p1 after the FIN: '${cs:-none}', want FIN" \
	[ "$seen" = 0 ]
nt_check fin_element_gone "d1's element for $C4 . $p1 still there (or no map) $ms ms after the \
client's FIN: '$(fp_value d1 "$M4" "$C4" "$p1")'" [ "$gone" = 0 ]
lim=$((TD_FIN_TO + TD_SWEEP + 5))
nt_wait_until "$lim" conn_gone d1 tcp "$C4" "$p1"
gone=$?
echo "3: FIN: d1's entry gone after $(took "$t") ms (tcp_fin = $TD_FIN_TO s)"
nt_check fin_entry_expires "d1's entry for $C4:$p1 still '$(conn_field d1 tcp "$C4" "$p1" 6)' \
$lim s after the FIN" [ "$gone" = 0 ]

# ---------------------------------------------------------------- 4: UDP
# 1-3's entries are gone: d2's replicas are the UDP flow's alone
nt_wait_until 10 eval '[ "$(st d2 sync.repl.replicas)" = 0 ]'
rp0=$(st d2 sync.repl.replicas)
read -r ac0 ak0 < <(st d1 fastpath.alive_checks fastpath.alive_kept)
n_udp=$((3 * TD_UDP_TO))
nt_bg c udp1 "$PY" -u -c 'import socket, sys, time
vip, n, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", sport))
s.settimeout(0.9)
ok, names = 0, set()
t0 = time.time()
for i in range(n + 1):
    time.sleep(max(0.0, t0 + i - time.time()))
    s.sendto(b"u%d" % i, (vip, 5353))
    try:
        d, a = s.recvfrom(512)
        if d.split(b" ")[1] == b"u%d" % i:
            ok += 1
            names.add(d.split(b" ")[0].decode())
    except (socket.timeout, IndexError):
        pass
print("UDP sent %d answered %d by %s last %d" % (n + 1, ok, sorted(names), time.time() * 1000))
' "$NT_VIP4" "$n_udp" "$TD_UDP_PORT"
t=$(nt_now_ms)
nt_wait_until 5 fp_has d1 "$M4U" "$C4" "$TD_UDP_PORT"
v=$(fp_value d1 "$M4U" "$C4" "$TD_UDP_PORT") ct=$(conn_field d1 udp "$C4" "$TD_UDP_PORT" 7)
echo "4: UDP $C4:$TD_UDP_PORT: element '${v}' after $(took "$t") ms, d1's table -> '$ct'"
nt_check udp_element "element '$v' in $M4U, d1's table says '$ct'" [ -n "$v" -a "$v" = "$ct" ]
# while the client sends (one datagram a second for 3 x the udp timeout), the entry stays
samples=0 miss=0 emiss=0 replica=0
deadline=$(( $(nt_now_ms) + (n_udp + 10) * 1000 ))
while nt_alive udp1 && [ "$(nt_now_ms)" -lt "$deadline" ]; do
	samples=$((samples + 1))
	conn_has d1 udp "$C4" "$TD_UDP_PORT" || miss=$((miss + 1))
	fp_has d1 "$M4U" "$C4" "$TD_UDP_PORT" || emiss=$((emiss + 1))
	[ "$(st d2 sync.repl.replicas)" -gt "$rp0" ] && replica=$((replica + 1))
	sleep 0.2
done
nt_wait_until 5 grep -q '^UDP' "$NT_WORK/udp1.log"
u=$(grep '^UDP' "$NT_WORK/udp1.log")
tq=$(awk '{ print $NF }' <<<"$u")
read -r ac1 ak1 < <(st d1 fastpath.alive_checks fastpath.alive_kept)
echo "4: $u; over $samples samples d1's entry was missing $miss times, the element $emiss" \
	"times; d2 held more than $rp0 replicas in $replica samples; alive_checks" \
	"$ac0 -> $ac1, alive_kept $ak0 -> $ak1"
want="UDP sent $((n_udp + 1)) answered $((n_udp + 1)) "
nt_check udp_answered "client: $u" eval '[[ "$u" == "$want"* ]]'
nt_check udp_entry_kept "d1's entry missing in $miss of $samples samples over \
$((3 * TD_UDP_TO)) s of traffic" [ "$samples" -ge 10 -a "$miss" = 0 ]
nt_check udp_alive_asked "fastpath.alive_kept $ak0 -> $ak1 (the entry outlived its \
timeout only by asking the kernel)" [ "$ak0" -ge 0 -a "$ak1" -gt "$ak0" ]
nt_check udp_replica_kept "d2 held the flow's replica in $replica of $samples samples \
(replicas before: $rp0)" [ "$samples" -ge 10 -a "$replica" = "$samples" ]
# quiet now: the element goes by its own timeout; the entry and d2's replica at the sweep's
# next pass, when the worker finds the element gone
nt_wait_until $((TD_UDP_TO + 3)) fp_gone d1 "$M4U" "$C4" "$TD_UDP_PORT"
g1=$? m1=$(( $(nt_now_ms) - ${tq:-0} ))
lim=$((TD_UDP_TO + TD_SWEEP + 5))
nt_wait_until "$lim" conn_gone d1 udp "$C4" "$TD_UDP_PORT"
g2=$? m2=$(( $(nt_now_ms) - ${tq:-0} ))
nt_wait_until "$lim" eval '[ "$(st d2 sync.repl.replicas)" -le "$rp0" ]'
g3=$? m3=$(( $(nt_now_ms) - ${tq:-0} ))
echo "4: after the last datagram: element gone $g1 at +$m1 ms, entry gone $g2 at +$m2 ms," \
	"d2's replicas $(st d2 sync.repl.replicas) (before: $rp0) at +$m3 ms"
nt_check udp_element_expires "element still there (or no map) at +$m1 ms" [ "$g1" = 0 ]
nt_check udp_entry_expires "d1's entry still there at +$m2 ms" [ "$g2" = 0 ]
nt_check udp_replica_expires "d2 holds $(st d2 sync.repl.replicas) replicas at +$m3 ms \
(before the flow: $rp0)" [ "$g3" = 0 ]

# ---------------------------------------------------------------- 3b: RST
hold_start h2 "$NT_VIP4" 1 || nt_fail h2_setup "$(tail -n 3 "$NT_WORK/h2.log" | tr '\n' ' ')"
p2=$(hold_port h2 0)
nt_wait_until 5 fp_has d1 "$M4" "$C4" "$p2"
nt_check rst_element "no element for $C4 . $p2 in d1's $M4" fp_has d1 "$M4" "$C4" "$p2"
t=$(nt_now_ms)
hold_close h2 rst
nt_wait_until 5 fp_gone d1 "$M4" "$C4" "$p2"
gone=$? ms=$(took "$t")
cs=$(conn_field d1 tcp "$C4" "$p2" 6)
echo "3: RST: element gone: $gone after $ms ms; d1's entry '${cs:-none}'"
nt_check rst_element_gone "d1's element for $C4 . $p2 still there (or no map) $ms ms after the \
client's RST" [ "$gone" = 0 ]

# ---------------------------------------------------------------- 5: 10,000 short connections
read -r ad0 dl0 bt0 < <(st d1 fastpath.adds fastpath.dels fastpath.batches)
t=$(nt_now_ms)
# each connection may take 30 s: a SYN the queue dropped under overload is sent again after 1,
# 3, 7 and 15 s, and the connection still counts (TCP saw to it)
b=$(nt_x c "$PY" "$NT_DIR/shortconns.py" burst "$NT_VIP4" "$TD_PORT" --n "$TD_BURST" \
	--parallel "$TD_PAR" --max-time 150 --conn-timeout 30)
ms=$(took "$t")
read -r ad1 dl1 bt1 < <(st d1 fastpath.adds fastpath.dels fastpath.batches)
echo "5: $(echo "$b" | tr '\n' ' ') ($ms ms with python's start; fastpath.adds +$((ad1 - ad0))," \
	"dels +$((dl1 - dl0)), batches +$((bt1 - bt0)))"
echo "5: d1: queue.overruns packets.dropped drops.no_conn drops.table_full" \
	"conns.embryonic_evicted: $(st d1 queue.overruns packets.dropped drops.no_conn \
	drops.table_full conns.embryonic_evicted)"
nt_check burst_all_ok "$(echo "$b" | tr '\n' ' ')" \
	eval '[[ "$b" == "BURST ok $TD_BURST of $TD_BURST failed 0 "* ]]'
t=$(nt_now_ms)
nt_wait_until 10 fp_count_is d1 "$M4" 0
echo "5: after the burst d1's $M4 holds $(fp_count d1 "$M4") elements ($(took "$t") ms)"
leftovers d1 "$M4" "$TD_PORT"
nt_check burst_no_leftover "d1's $M4 holds $(fp_count d1 "$M4") elements after the burst \
(closed by FIN), want 0" fp_count_is d1 "$M4" 0
hold_start h3 "$NT_VIP4" "$TD_HOLD" ||
	nt_fail h3_setup "$(tail -n 3 "$NT_WORK/h3.log" | tr '\n' ' ')"
agree() { [ "$(fp_count d1 "$M4")" = "$TD_HOLD" ] &&
	[ "$(conn_count d1 "$TD_PORT" EST)" = "$TD_HOLD" ]; }
t=$(nt_now_ms)
nt_wait_until 10 agree
echo "5: $TD_HOLD held: d1's map $(fp_count d1 "$M4") elements, $(conn_count d1 "$TD_PORT" EST)" \
	"EST entries of $(conn_count d1 "$TD_PORT") for $NT_VIP4:$TD_PORT ($(took "$t") ms)"
nt_check held_agree "map $(fp_count d1 "$M4") elements, table $(conn_count d1 "$TD_PORT" EST) \
EST entries, want $TD_HOLD each" agree
# every element's value is its entry's target: elements matched by an EST entry of the same
# client with the same target
same=$(join <(fp_elems d1 "$M4" | awk '{ print $1 ":" $2, $3 }' | sort) \
	<(conns d1 | awk -v p="$TD_PORT" '$1 == "tcp" && $5 == p && $6 == "EST" { print $2 ":" $3, $7 }' |
	sort) | awk '$2 == $3' | wc -l)
nt_check held_values "$same of the $TD_HOLD held connections have an element whose value is \
their entry's target" [ "$same" = "$TD_HOLD" ]
hold_close h3 fin
t=$(nt_now_ms)
zero() { [ "$(fp_count d1 "$M4")" = 0 ] && [ "$(conn_count d1 "$TD_PORT")" = 0 ]; }
lim=$((TD_FIN_TO + TD_SWEEP + 5))
nt_wait_until "$lim" zero
echo "5: after closing and tcp_fin: map $(fp_count d1 "$M4") elements, table" \
	"$(conn_count d1 "$TD_PORT") entries for $NT_VIP4:$TD_PORT ($(took "$t") ms)"
leftovers d1 "$M4" "$TD_PORT"
nt_check after_fin_zero "map $(fp_count d1 "$M4") elements, table $(conn_count d1 "$TD_PORT") \
entries $lim s after the close, want 0 and 0" zero

# ---------------------------------------------------------------- 6: IPv6
hold_start h6 "$NT_VIP6" 1 || nt_fail h6_setup "$(tail -n 3 "$NT_WORK/h6.log" | tr '\n' ' ')"
p6=$(hold_port h6 0) tgt6=$(hold_target h6 0)
nt_wait_until 5 fp_has d1 "$M6" "$C6" "$p6"
up=$(hold_cmd h6 60 "upload 2000000")
r=$(hold_cmd h6 10 ping)
v=$(fp_value d1 "$M6" "$C6" "$p6") ct=$(conn_field d1 tcp "$C6" "$p6" 7)
all=$(fp_elems d1 "$M6" | tr '\n' ';')
echo "6: [$C6]:$p6 answered by $tgt6; $M6: $all d1's table -> $ct; $up; $r"
nt_check v6_element "element for $p6 . $C6: '$v', d1's table '$ct', server $tgt6" \
	[ -n "$v" -a "$v" = "$ct" -a "$v" = "$(ip_of "$tgt6" 6)" ]
nt_check v6_one_element "$M6 holds '$all', want exactly the one element" \
	[ "$(fp_count d1 "$M6")" = 1 ]
nt_check v6_intact "upload: $up; then $r" \
	eval '[[ "$up" == "RESULT upload ok "* && "$r" == "RESULT ping ok "* ]]'
hold_close h6 fin
nt_wait_until 5 fp_gone d1 "$M6" "$C6" "$p6"
nt_check v6_element_gone "element for $p6 . $C6 still there (or no map) after the FIN" \
	fp_gone d1 "$M6" "$C6" "$p6"

# ---------------------------------------------------------------- 8: counters
read -r ad bt be dl rq ra < <(st d1 fastpath.adds fastpath.batches fastpath.batch_errors \
	fastpath.dels fastpath.requeued fastpath.readds)
made=$((TD_BURST + TD_HOLD + 4))
echo "8: d1: fastpath.adds $ad, dels $dl, batches $bt, batch_errors $be, requeued $rq," \
	"readds $ra; connections made at least $made"
nt_check counters_adds "fastpath.adds $ad < $made connections made" [ "$ad" -ge "$made" ]
nt_check counters_no_batch_errors "fastpath.batch_errors $be" [ "$be" = 0 ]
# each connection costs an add and two removals (at its FIN, and again when its entry goes: a
# packet the kernel was rewriting meanwhile may have put the element back), so batching shows
# as fewer batches than changes
nt_check counters_batched "fastpath.batches $bt for $((ad + dl)) changes ($ad adds, $dl dels): \
no batching" [ "$bt" -ge 1 -a "$bt" -lt "$((ad + dl))" ]

# ---------------------------------------------------------------- 7: takeover
NTO_CONNS=$TD_LC
NTO_DURATION=8
if ! nto_lc_start lc --rate 0; then
	nt_fail lc_setup "$(tail -n 3 "$NT_WORK/lc.log" | tr '\n' ' ')"
fi
nt_wait_until 10 fp_count_is d1 "$M480" "$TD_LC"
ports=$(fp_elems d1 "$M480" | awk '{ print $1 ":" $2 }' | sort | tr '\n' ' ')
nt_check takeover_d1_elements "d1's $M480 holds $(fp_count d1 "$M480"), want $TD_LC" \
	fp_count_is d1 "$M480" "$TD_LC"
nt_check takeover_d2_empty "d2 (backup) holds $(fp_count d2 "$M480") elements in $M480, want 0" \
	fp_count_is d2 "$M480" 0
dq0=$(st d2 fastpath.dist_packets)
t0=$(nt_now_ms)
disown "$(cat "$NT_WORK/clusterd-d1.pid")" 2>/dev/null	# no job notice for the kill
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nt_wait_until 10 nto_owns d2
nt_check takeover_d2_owns "d2 does not own $NT_VIP4 10 s after the kill: $(nto_state d2)" \
	nto_owns d2
nt_wait_until 10 fp_count_is d2 "$M480" "$TD_LC"
ms=$(took "$t0")
ports2=$(fp_elems d2 "$M480" | awk '{ print $1 ":" $2 }' | sort | tr '\n' ' ')
same=$(join <(fp_elems d2 "$M480" | awk '{ print $1 ":" $2, $3 }' | sort) \
	<(conns d2 | awk '$1 == "tcp" && $5 == 80 { print $2 ":" $3, $7 }' | sort) |
	awk '$2 == $3' | wc -l)
# the load goes on (a request per connection every 100 ms): wait for the kernel to count it
dist_moved() { [ "$(st d2 fastpath.dist_packets)" -gt "$dq0" ]; }
nt_wait_until 5 dist_moved
dq1=$(st d2 fastpath.dist_packets)
echo "7: d2's $M480 holds $(fp_count d2 "$M480") elements at t0+$ms ms, $same agree with d2's" \
	"table; d2's fastpath.dist_packets $dq0 -> $dq1"
nt_check takeover_d2_elements "d2's map: '$ports2', d1's before the kill: '$ports'" \
	[ "$(fp_count d2 "$M480")" = "$TD_LC" -a "$ports2" = "$ports" ]
nt_check takeover_d2_values "$same of d2's $TD_LC elements agree with its table" \
	[ "$same" = "$TD_LC" ]
nt_check takeover_d2_fast "d2's fastpath.dist_packets $dq0 -> $dq1" \
	[ "$dq0" -ge 0 -a "$dq1" -gt "$dq0" ]
nto_lc_wait lc || nt_fail lc_summary "$(tail -n 3 "$NT_WORK/lc.log" | tr '\n' ' ')"
lost=$(nto_lc lc "j['long']['lost']") stall=$(nto_lc lc "j['long']['max_stall_ms']")
echo "7: load: $(nto_lc lc "j['long']['requests_ok']") requests, $lost lost, max stall $stall ms"
nt_check takeover_none_lost "$lost of $TD_LC long-lived connections lost" [ "$lost" = 0 ]

echo "t_fastpath_dist: $(( ($(nt_now_ms) - TD_START) / 1000 )) s, $(nt_load)"
nt_finish
