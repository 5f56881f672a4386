# SPDX-License-Identifier: GPL-2.0-or-later
# sctp_lib.sh: the SCTP association failover cluster of the t_sctp_*.sh tests (issue 13).  Sourced
# after lib.sh; uses its nt_* helpers.
#
#   C (eth0: 10.1.0.2, fd01::2; usrsctp clients) -- R -- LAN bridge
#   LAN: d1 (.11/::11), d2 (.12/::12): distributors of VIPA 10.2.0.100 (alternate 10.2.0.101)
#        and of VIPA fd02::100 (alternate fd02::101): d1 holds the VIPA, d2 the alternate
#        t1 (.21/::21), t2 (.22/::22): targets of the SCTP service ST_PORT (3868), round-robin;
#        each runs two `sctp_peer server`s on ST_PORT, one per family, bound to its own address
#
# The client binds its one address (on eth0, a veth: usrsctp never sends from an address of an
# interface called lo*); its IPv6 default route says `src fd01::2`, each target's `src` its own
# address (for IPv6 the kernel, not usrsctp, picks the source: sctp_peer.c's caveats).
# rp_filter is off everywhere (replies come from the targets with the VIPA as source).
#
# Environment:
#   SCTP_FAMILY      4 (default) or 6: the family of the VIPA the tests' clients use
#   SCTP_TIMERS      the clients' usrsctp timers (printed by st_print_timers; the note needs them)
#   SCTP_SERVER_TIMERS  the servers' (default: the same)
#   SCTP_NODELAY     1 (default): every peer sets SCTP_NODELAY; 0: Nagle on
#   ST_SYNC_MODE / ST_SYNC_INTERVAL   cluster.sync's mode and interval_ms (every-update, 200)
#   ST_HB            heartbeat_ms (100)
#   ST_SAVE_PCAP=DIR  keep a copy of every capture (tcpdump on C) there
# SCTP_PEER (lib.sh) is the usrsctp peer: the tests skip (77) without it (and without tcpdump).

ST_PORT=3868
SCTP_FAMILY=${SCTP_FAMILY:-4}
ST_DEF_TIMERS=rto_min=100,rto_max=400,rto_initial=200,hb_interval=200
ST_DEF_TIMERS=$ST_DEF_TIMERS,path_max_retrans=2,assoc_max_retrans=10
SCTP_TIMERS=${SCTP_TIMERS:-$ST_DEF_TIMERS}
SCTP_SERVER_TIMERS=${SCTP_SERVER_TIMERS:-$SCTP_TIMERS}
ST_SYNC_MODE=${ST_SYNC_MODE:-every-update}
ST_SYNC_INTERVAL=${ST_SYNC_INTERVAL:-200}
ST_HB=${ST_HB:-100}
# SCTP_NODELAY on every peer (SCTP_NODELAY=0: Nagle on, usrsctp's default): with Nagle and
# delayed SACKs one echo in ten waits 100..200 ms, as long as a failover's gap
ST_NODELAY_OPT=--nodelay
[ "${SCTP_NODELAY:-1}" = 0 ] && ST_NODELAY_OPT=
NT_HOSTS="d1 d2 t1 t2"
NT_TARGETS="t1 t2"

declare -A ST_VIPS=([4]=10.2.0.100 [6]=fd02::100)
declare -A ST_ALTS=([4]=10.2.0.101 [6]=fd02::101)
declare -A ST_CLIENTS=([4]=10.1.0.2 [6]=fd01::2)

# st_family F: the VIPA, alternate and client address of family F in ST_VIP, ST_ALT, ST_CLIENT.
st_family()
{
	SCTP_FAMILY=$1
	ST_VIP=${ST_VIPS[$1]}
	ST_ALT=${ST_ALTS[$1]}
	ST_CLIENT=${ST_CLIENTS[$1]}
}
case $SCTP_FAMILY in 4|6) ;; *) echo "SCTP_FAMILY=$SCTP_FAMILY: 4 or 6" >&2; exit 2 ;; esac
st_family "$SCTP_FAMILY"

# st_addr HOST F: HOST's address of family F.
st_addr() { if [ "$2" = 6 ]; then echo "${NT_IP6[$1]}"; else echo "${NT_IP4[$1]}"; fi; }

st_print_timers()
{
	echo "# SCTP timers: clients $SCTP_TIMERS; servers $SCTP_SERVER_TIMERS;" \
		"nodelay ${SCTP_NODELAY:-1}; cluster heartbeat_ms $ST_HB, sync.mode $ST_SYNC_MODE," \
		"interval_ms $ST_SYNC_INTERVAL"
}

# ---------------------------------------------------------------- JSON lines of sctp_peer

# st_has FILE PYEXPR: some JSON line o of FILE satisfies PYEXPR.
st_has()
{
	"$PY" -c 'import json, sys
for line in open(sys.argv[1]):
	try:
		o = json.loads(line)
	except ValueError:
		continue
	try:
		if eval(sys.argv[2], {"o": o}):
			sys.exit(0)
	except (KeyError, TypeError):
		pass
sys.exit(1)' "$@" 2>/dev/null
}

# st_get FILE EVENT KEY: KEY of the last EVENT line of FILE ("None" if there is none).
st_get()
{
	"$PY" -c 'import json, sys
v = None
for line in open(sys.argv[1]):
	try:
		o = json.loads(line)
	except ValueError:
		continue
	if o.get("event") == sys.argv[2]:
		v = o.get(sys.argv[3])
print(json.dumps(v) if isinstance(v, (list, dict)) else v)' "$@" 2>/dev/null
}

# st_summary NAME: the summary line of client NAME (or its last lines when it has none).
st_summary()
{
	grep -h '"summary"' "$NT_WORK/$1.log" 2>/dev/null ||
		tail -n 3 "$NT_WORK/$1.log" 2>/dev/null | tr '\n' ' '
}

# ---------------------------------------------------------------- topology and cluster

# st_topo_up: lib.sh's topology (c, r, lan, d1, d2, t1, t2) plus what usrsctp needs.
st_topo_up()
{
	local h
	nt_topo_up || return 1
	for h in c r $NT_HOSTS; do
		nt_sysctl "$h" net.ipv4.conf.all.rp_filter=0
		nt_sysctl "$h" net.ipv4.conf.default.rp_filter=0
	done
	nt_sysctl c net.ipv4.conf.eth0.rp_filter=0
	for h in r $NT_HOSTS; do nt_sysctl "$h" net.ipv4.conf.lan0.rp_filter=0; done
	nt_sysctl r net.ipv4.conf.eth1.rp_filter=0
	# a link down of a distributor or a target keeps its IPv6 addresses (usrsctp reads a
	# namespace's addresses once; a server's configuration would restore them anyway)
	for h in $NT_HOSTS; do nt_sysctl "$h" net.ipv6.conf.lan0.keep_addr_on_down=1; done
	nt_x c ip -6 route replace default via fd01::1 src fd01::2 || return 1
	for h in $NT_TARGETS; do
		nt_x "$h" ip -6 route replace default via fd02::1 src "${NT_IP6[$h]}" || return 1
	done
	return 0
}

# st_write_config [FILE]: the configuration of every node (see the top of this file).
st_write_config()
{
	local f=${1:-$NT_WORK/clusterd.conf} h nodes="" sep="" fam vipas="" vsep="" tg="" tsep=""
	[ -f "$NT_WORK/cluster.key" ] || nt_write_key
	# The order of the nodes (NT_HOSTS) and of the VIPAs (ST_VIPA_ORDER, families) and the
	# service's targets (ST_SVC_TARGETS) may be changed: the reload tests reorder them.
	for h in ${ST_SVC_TARGETS:-t1 t2}; do tg="$tg$tsep\"$h\""; tsep=", "; done
	for h in $NT_HOSTS; do
		nodes="$nodes$sep  { name = \"$h\"; addresses = ( { ip = \"${NT_IP4[$h]}\"; },"
		nodes="$nodes { ip = \"${NT_IP6[$h]}\"; } ); }"
		sep=$',\n'
	done
	for fam in ${ST_VIPA_ORDER:-4 6}; do
		vipas="$vipas$vsep  { address = \"${ST_VIPS[$fam]}\"; alternate_address = \"${ST_ALTS[$fam]}\";
    interface = \"lan0\";
    distributors = ( { node = \"d1\"; }, { node = \"d2\"; } );
    services = (
      { port = $ST_PORT; protocol = \"sctp\"; targets = ( $tg );
        scheduler = \"round-robin\"; }
    ); }"
		vsep=$',\n'
	done
	cat >"$f.tmp" <<EOF
# generated by tests/netns/sctp_lib.sh for run $NT_ID
cluster = {
  name = "ntsctp";
  key_file = "$NT_WORK/cluster.key";
  sync = { $(nt_sync_group)port = 7788; interface = "lan0";
           mode = "$ST_SYNC_MODE"; interval_ms = $ST_SYNC_INTERVAL; };
  heartbeat_ms = $ST_HB;
  retry_threshold = 3;
};
daemon = { workers = ${NT_WORKERS:-2};$(nt_fastpath_opt) };
nodes = (
$nodes
);
vipas = (
$vipas
);
EOF
	mv "$f.tmp" "$f"
}

# st_server_start HOST F: HOST's usrsctp server of family F (log srvF-HOST.log).
st_server_start()
{
	local h=$1 f=$2
	nt_bg "$h" "srv$f-$h" "$SCTP_PEER" server --bind "$(st_addr "$h" "$f")" --port "$ST_PORT" \
		--timers "$SCTP_SERVER_TIMERS" $ST_NODELAY_OPT
	nt_wait_until 10 grep -q '"event":"listening"' "$NT_WORK/srv$f-$h.log" ||
		{ nt_log "server $f on $h did not start: $(head -c 300 "$NT_WORK/srv$f-$h.log")"; return 1; }
}

st_servers_start()
{
	local h f
	for h in $NT_TARGETS; do
		for f in 4 6; do st_server_start "$h" "$f" || return 1; done
	done
}

# st_need: skips without the usrsctp peer, fails without the daemon.
st_need()
{
	[ -x "$SCTP_PEER" ] || nt_skip "no sctp_peer at $SCTP_PEER (needs libusrsctp-dev at \
configure time; make netns-tools; SCTP_PEER=PATH)"
	nt_need_daemon
	nt_need tcpdump
}

# st_cluster_up: topology, servers, configuration, the daemons; then (unless ST_NO_LISTEN=1)
# waits until d1 sees both targets listening on the SCTP service of both VIPAs and the
# addresses sit where they belong (st_steady).
st_cluster_up()
{
	st_need
	st_print_timers
	st_topo_up || { nt_fail setup "topology"; nt_finish; }
	st_write_config
	if ! "$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" -n d1 >"$NT_WORK/check.out" 2>&1
	then
		nt_fail setup "the configuration is refused: $(head -c 400 "$NT_WORK/check.out")"
		nt_finish
	fi
	st_servers_start || { nt_fail setup "sctp servers"; nt_finish; }
	nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
	if ! nt_wait_until 30 st_steady; then
		nt_fail setup "30 s after the start: $(st_where)"
		nt_finish
	fi
	[ "${ST_NO_LISTEN:-0}" = 1 ] && return 0
	st_wait_targets 30 ||
		{ nt_fail setup "d1 does not see t1 and t2 listening on $ST_PORT/sctp within 30 s \
(the INIT probe): $(nt_ctl d1 targets 2>&1 | tr '\n' ' ' | head -c 600)"; nt_finish; }
	nt_pass cluster_up
}

# st_wait_targets TIMEOUT_S: d1 sees t1 and t2 listening on the SCTP service of both VIPAs.
st_wait_targets()
{
	nt_wait_listening d1 2 "$ST_PORT" sctp "$1" "${ST_VIPS[4]}" &&
		nt_wait_listening d1 2 "$ST_PORT" sctp "$1" "${ST_VIPS[6]}"
}

# ---------------------------------------------------------------- where the addresses are

# st_has_addr HOST ADDR: ADDR is configured on HOST's lan0.
st_has_addr()
{
	nt_x "$1" ip -o addr show dev lan0 2>/dev/null | grep -q " $2/"
}

# st_vstate HOST [VIPA]: "role owner alt_held alt_holder" of VIPA (default ST_VIP) in HOST's
# status ("- - - -" when it does not answer; "none" for an absent alternate field).
st_vstate()
{
	nt_ctl "$1" status --json 2>/dev/null | nt_json "' '.join('%s %s %s %s' % (v.get('role'),
		v.get('owner') or '-', v.get('alternate', {}).get('held', 'none'),
		v.get('alternate', {}).get('holder') or '-')
		for v in j['vipas'] if v['address'] == '${2:-$ST_VIP}')" 2>/dev/null || echo "- - - -"
}

# st_holds HOST VIPA_ADDR ALT_ADDR: the addresses HOST's lan0 carries: "vipa", "alt", "both" or
# "none".
st_holds()
{
	local v=0 a=0
	st_has_addr "$1" "$2" && v=1
	st_has_addr "$1" "$3" && a=1
	case $v$a in 11) echo both ;; 10) echo vipa ;; 01) echo alt ;; *) echo none ;; esac
}

# st_placed VHOST AHOST [F]: for family F (default: both) the VIPA is on VHOST and the alternate
# on AHOST only (in the namespaces: the address on lan0; in the daemons' status: VHOST
# distributes the VIPA, the alternate's holder is AHOST and AHOST says it holds it).  Hosts
# whose daemon is not running are only checked for the addresses.
st_placed()
{
	local vh=$1 ah=$2 fams=${3:-"4 6"} f h want s
	for f in $fams; do
		for h in d1 d2; do
			want=none
			[ "$h" = "$vh" ] && want=vipa
			[ "$h" = "$ah" ] && { [ "$want" = vipa ] && want=both || want=alt; }
			# a killed daemon leaves its addresses behind: not checked on such a host
			nt_alive "clusterd-$h" || continue
			[ "$(st_holds "$h" "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" = "$want" ] || return 1
			s=$(st_vstate "$h" "${ST_VIPS[$f]}")
			case $h in
			"$vh") [[ $s == "distributor $vh "* ]] || return 1 ;;
			*) [[ $s == "backup $vh "* ]] || return 1 ;;
			esac
			if [ "$h" = "$ah" ]; then
				[[ $s == *" True $ah" ]] || return 1
			else
				[[ $s == *" False $ah" ]] || return 1
			fi
		done
	done
	return 0
}

# st_steady: d1 holds both VIPAs, d2 both alternates.
st_steady() { st_placed d1 d2; }

# st_where: what each distributor holds and says (for failure messages).
st_where()
{
	local h f
	for h in d1 d2; do
		for f in 4 6; do
			printf '%s: IPv%s lan0 %s, status "%s"; ' "$h" "$f" \
				"$(st_holds "$h" "${ST_VIPS[$f]}" "${ST_ALTS[$f]}")" \
				"$(st_vstate "$h" "${ST_VIPS[$f]}")"
		done
	done
}

# ---------------------------------------------------------------- clients

# st_client NAME LPORT COUNT INTERVAL_MS [ARGS...]: starts a usrsctp client on C against ST_VIP
# (log NAME.log), local port LPORT; it connects only after st_go NAME.  Why: every usrsctp stack
# of a namespace sees every SCTP packet there, and one that is still starting (before sctp_peer
# sets blackhole) answers another client's packets with an ABORT that ends that client's
# association (seen: a HEARTBEAT ACK answered by three starting clients).  So clients are
# started first, and let go once each of them is ready; a client to be used later is started
# early too (it waits up to 120 s).
st_client()
{
	local name=$1 lport=$2 count=$3 ival=$4
	shift 4
	rm -f "$NT_WORK/$name.go"
	nt_bg c "$name" timeout 300 "$SCTP_PEER" client --bind "$ST_CLIENT" --local-port "$lport" \
		--connect "$ST_VIP" --port "$ST_PORT" --count "$count" --interval-ms "$ival" \
		--timeout-ms "${ST_MSG_TIMEOUT_MS:-5000}" --timers "$SCTP_TIMERS" \
		--go-file "$NT_WORK/$name.go" $ST_NODELAY_OPT "$@"
}

# st_go NAME...: waits (20 s) until each client NAME is ready, then lets them all connect.
st_go()
{
	local n
	for n in "$@"; do
		nt_wait_until 20 grep -q '"event":"ready"' "$NT_WORK/$n.log" ||
			nt_log "client $n not ready: $(head -c 300 "$NT_WORK/$n.log")"
	done
	for n in "$@"; do : >"$NT_WORK/$n.go"; done
}

# st_client_up NAME [TIMEOUT_S]: waits until client NAME's association is up.
st_client_up()
{
	nt_wait_until "${2:-15}" st_has "$NT_WORK/$1.log" "o['event'] == 'up'"
}

# st_client_wait NAME TIMEOUT_S: waits until client NAME exits; sets ST_RC to its exit status
# (124: it did not exit in time and was killed).
st_client_wait()
{
	local name=$1 pid
	pid=$(cat "$NT_WORK/$name.pid" 2>/dev/null) || { ST_RC=127; return; }
	if nt_wait_until "$2" nt_gone "$pid"; then
		{ wait "$pid"; } 2>/dev/null
		ST_RC=$?
	else
		kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		ST_RC=124
	fi
	rm -f "$NT_WORK/$name.pid"
}

# st_client_ok NAME COUNT: client NAME's summary: every message echoed, nothing lost, no
# COMM_LOST, no bad echo; no association restart.
st_client_ok()
{
	st_has "$NT_WORK/$1.log" "o['event'] == 'summary' and o['echoed'] == $2 and o['lost'] == 0 \
and o['comm_lost'] == 0 and o['bad'] == 0" &&
		! st_has "$NT_WORK/$1.log" "o['event'] == 'assoc' and o['state'] in ('comm_lost', 'restart')"
}

# st_served_by PORT [F]: the target whose server of family F (default SCTP_FAMILY) reported a
# "peer" of client port PORT (empty if none; "t1 t2" if both did).
st_served_by()
{
	local h out=""
	for h in $NT_TARGETS; do
		st_has "$NT_WORK/srv${2:-$SCTP_FAMILY}-$h.log" \
			"o['event'] == 'peer' and o['port'] == $1 and o['addr'] == '$ST_CLIENT'" &&
			out="$out $h"
	done
	echo $out
}

# ---------------------------------------------------------------- associations (clusterctl conns)

# st_assocs HOST: HOST's associations of ST_VIP:ST_PORT, one a line: "client_port state target
# client_tag target_tag paths" (tags as integers; nothing when the daemon does not answer or
# has no "associations" array).
st_assocs()
{
	nt_ctl "$1" conns --json 2>/dev/null | "$PY" -c 'import json, sys
try:
	j = json.load(sys.stdin)
except ValueError:
	sys.exit(0)
for a in j.get("associations") or []:
	if a.get("vipa") == sys.argv[1] and a.get("port") == int(sys.argv[2]):
		print(a.get("client_port"), a.get("state"), a.get("target"),
		      int(str(a.get("client_tag")), 0), int(str(a.get("target_tag")), 0),
		      ",".join(a.get("paths") or []) or "-")' "$ST_VIP" "$ST_PORT" 2>/dev/null
}

# st_assoc_state HOST PORT: the state of HOST's association of client port PORT ("gone" when
# the table lacks it).
st_assoc_state()
{
	local s
	s=$(st_assocs "$1" | awk -v p="$2" '$1 == p { print $2; exit }')
	echo "${s:-gone}"
}

# st_flat_stats HOST: HOST's stats as "dotted.key value" lines (numbers only).
st_flat_stats()
{
	nt_ctl "$1" stats --json 2>/dev/null | "$PY" -c 'import json, sys
def walk(p, v):
	if isinstance(v, dict):
		for k in sorted(v):
			walk(p + [str(k)], v[k])
	elif isinstance(v, (int, float)) and not isinstance(v, bool):
		print(".".join(p), v)
try:
	walk([], json.load(sys.stdin))
except ValueError:
	pass'
}

# ---------------------------------------------------------------- captures

# st_cap_start HOST NAME [IFACE]: tcpdump of HOST's packets on IFACE (lan0; eth0 on c) to
# $NT_WORK/NAME.pcap, written packet by packet; waits until it listens.
st_cap_start()
{
	local h=$1 name=$2 ifn=${3:-lan0}
	[ "$h" = c ] && ifn=${3:-eth0}
	# no filter: the reader keeps the SCTP packets (cheap: little else passes)
	nt_bg "$h" "cap-$name" tcpdump -n -U --immediate-mode -s 4096 -i "$ifn" -w "$NT_WORK/$name.pcap"
	nt_wait_until 10 grep -q 'listening on' "$NT_WORK/cap-$name.log"
}

# st_cap_stop NAME: ends capture NAME (its file stays; ST_SAVE_PCAP=DIR: copied there too).
st_cap_stop()
{
	nt_stop "cap-$1" INT
	[ -n "${ST_SAVE_PCAP:-}" ] && mkdir -p "$ST_SAVE_PCAP" &&
		cp "$NT_WORK/$1.pcap" "$ST_SAVE_PCAP/$(basename "$0" .sh)-$1.pcap"
	return 0
}

# st_pcap NAME: the SCTP packets of $NT_WORK/NAME.pcap as JSON lines: t, src, dst, sport, dport,
# vtag, crc_ok, chunks: [{type, flags, (INIT and INIT ACK:) itag, addrs: the address
# parameters in their order}].  A last record cut short (a capture still running) is skipped.
st_pcap()
{
	"$PY" - "$NT_WORK/$1.pcap" <<'PY'
import ipaddress, json, struct, sys

def crc32c_table():
	t = []
	for i in range(256):
		c = i
		for _ in range(8):
			c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
		t.append(c)
	return t
TAB = crc32c_table()

def crc32c(b):
	c = 0xFFFFFFFF
	for x in b:
		c = TAB[(c ^ x) & 0xFF] ^ (c >> 8)
	return c ^ 0xFFFFFFFF

def sctp(src, dst, p, t):
	if len(p) < 12:
		return None
	sport, dport, vtag, csum = struct.unpack("!HHII", p[:12])
	z = p[:8] + b"\0\0\0\0" + p[12:]
	# the checksum is stored little-endian on the wire
	ok = struct.unpack("<I", struct.pack("!I", csum))[0] == crc32c(z)
	chunks = []
	o = 12
	while o + 4 <= len(p):
		ty, fl, ln = struct.unpack("!BBH", p[o:o + 4])
		if ln < 4 or o + ln > len(p):
			chunks.append({"type": ty, "flags": fl, "truncated": True})
			break
		c = {"type": ty, "flags": fl}
		if ty in (1, 2) and ln >= 20:
			c["itag"] = struct.unpack("!I", p[o + 4:o + 8])[0]
			addrs, q = [], o + 20
			while q + 4 <= o + ln:
				pt, pl = struct.unpack("!HH", p[q:q + 4])
				if pl < 4:
					break
				v = p[q + 4:q + pl]
				if pt == 5 and len(v) == 4:
					addrs.append(str(ipaddress.IPv4Address(v)))
				elif pt == 6 and len(v) == 16:
					addrs.append(str(ipaddress.IPv6Address(v)))
				q += (pl + 3) & ~3
			c["addrs"] = addrs
		chunks.append(c)
		o += (ln + 3) & ~3
	return {"t": t, "src": src, "dst": dst, "sport": sport, "dport": dport, "vtag": vtag,
		"crc_ok": ok, "chunks": chunks}

def ip(b, t):
	if len(b) < 1:
		return None
	v = b[0] >> 4
	if v == 4 and len(b) >= 20:
		ihl = (b[0] & 15) * 4
		tot = struct.unpack("!H", b[2:4])[0]
		if b[9] != 132:
			return None
		return sctp(str(ipaddress.IPv4Address(b[12:16])), str(ipaddress.IPv4Address(b[16:20])),
			    b[ihl:tot], t)
	if v == 6 and len(b) >= 40:
		nh, o = b[6], 40
		plen = struct.unpack("!H", b[4:6])[0]
		end = 40 + plen
		while nh in (0, 43, 60) and o + 8 <= len(b):
			nh, o = b[o], o + (b[o + 1] + 1) * 8
		if nh != 132:
			return None
		return sctp(str(ipaddress.IPv6Address(b[8:24])), str(ipaddress.IPv6Address(b[24:40])),
			    b[o:end], t)
	return None

d = open(sys.argv[1], "rb").read()
if len(d) < 24:
	sys.exit(0)
magic = d[:4]
if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
	e = "<"
elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
	e = ">"
else:
	sys.exit("not a pcap file")
nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
link = struct.unpack(e + "I", d[20:24])[0]
o = 24
while o + 16 <= len(d):
	ts, tf, incl, orig = struct.unpack(e + "IIII", d[o:o + 16])
	if o + 16 + incl > len(d):
		break
	f = d[o + 16:o + 16 + incl]
	o += 16 + incl
	t = ts + tf / (1e9 if nano else 1e6)
	if link == 1:
		et, q = struct.unpack("!H", f[12:14])[0], 14
		while et in (0x8100, 0x88a8) and len(f) >= q + 4:
			et, q = struct.unpack("!H", f[q + 2:q + 4])[0], q + 4
		f = f[q:]
	elif link == 113:
		f = f[16:]
	elif link == 276:
		f = f[20:]
	elif link != 101:
		continue
	r = ip(f, t)
	if r:
		print(json.dumps(r))
PY
}

# st_pcap_has NAME PYEXPR: some packet o of capture NAME satisfies PYEXPR.
st_pcap_has()
{
	st_pcap "$1" >"$NT_WORK/$1.jsonl" && st_has "$NT_WORK/$1.jsonl" "$2"
}

# st_init_acks NAME: the INIT ACKs of capture NAME, one a line: "client_port src vtag itag
# crc_ok addr,addr..." (the client's port is the INIT ACK's destination port).
st_init_acks()
{
	st_pcap "$1" | "$PY" -c 'import json, sys
for l in sys.stdin:
	p = json.loads(l)
	for c in p["chunks"]:
		if c["type"] == 2:
			print(p["dport"], p["src"], p["vtag"], c.get("itag"), p["crc_ok"],
			      ",".join(c.get("addrs", [])) or "-")'
}

# st_aborts NAME [T0_MS]: the ABORTs of capture NAME sent by the service's side (source port
# ST_PORT), one a line: "t0+MS SRC -> PORT T=0|1 M=0|1 cause=..." (MS from T0_MS, else from the
# capture's first packet); then the client's ASCONFs (usrsctp answers an ABORT with the M bit,
# the NAT draft's "missing state", by an ASCONF when AUTH is on).
st_aborts()
{
	st_pcap "$1" | "$PY" -c 'import json, sys
t0 = int(sys.argv[2]) / 1000.0 if len(sys.argv) > 2 and sys.argv[2] else None
for l in sys.stdin:
	o = json.loads(l)
	if t0 is None:
		t0 = o["t"]
	kinds = [c["type"] for c in o["chunks"]]
	for c in o["chunks"]:
		if c["type"] == 6 and o["sport"] == int(sys.argv[1]):
			print("t0%+d ms %s -> %d ABORT T=%d M=%d vtag 0x%08x" % ((o["t"] - t0) * 1000, o["src"],
			      o["dport"], c["flags"] & 1, c["flags"] >> 1 & 1, o["vtag"]))
		elif c["type"] == 0xc1:
			print("t0%+d ms %s:%d -> %s ASCONF" % ((o["t"] - t0) * 1000, o["src"], o["sport"],
			      o["dst"]))' "$ST_PORT" "${2:-}"
}

# ---------------------------------------------------------------- gaps

# st_median_worst N...: "median worst" of the numbers given.
st_median_worst()
{
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f\n", m, v[NR] }'
}

# st_each VAR VALUE...: runs this script once per VALUE with VAR=VALUE in its environment (each
# run builds its own cluster) and ends with their combined status: a check per run.
st_each()
{
	local var=$1 v rc pass=0 fail=0 skip=0
	shift
	for v in "$@"; do
		echo "### $(basename "$0") with $var=$v"
		env "$var=$v" ST_CHILD=1 bash "$0"
		rc=$?
		case $rc in
		0) pass=$((pass + 1)); echo "PASS: $var=$v" ;;
		77) skip=$((skip + 1)); echo "SKIP: $var=$v" ;;
		*) fail=$((fail + 1)); echo "FAIL: $var=$v: exit $rc" ;;
		esac
	done
	echo "# $(basename "$0"): $pass runs passed, $fail failed, $skip skipped"
	[ "$fail" -gt 0 ] && exit 1
	[ "$pass" -eq 0 ] && exit 77
	exit 0
}
