#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# handoff_bench.sh: content routing by path, HAProxy in HTTP mode on the front-end against
# clusterd's TCP handoff, on one namespace topology (client - router - LAN with the front-end
# d1 and the nginx targets t1..t3).  Prints a table; never fails on figures.
#
#   bench/handoff_bench.sh [-t SECONDS] [-c CONNECTIONS]      env: CLUSTERD, CLUSTERCTL
secs=10
conns=16
while getopts "t:c:h" o; do
	case $o in
	t) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	*) sed -n '2,7p' "$0"; exit 2 ;;
	esac
done
. "$(dirname "$0")/../tests/netns/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "handoff_bench.sh: needs root" >&2; exit 2; }

# What each half needs; a missing tool is named with its Debian package.
miss=""
for c in ip nft nginx wrk curl; do
	command -v "$c" >/dev/null 2>&1 || miss="$miss $c"
done
if [ -n "$miss" ]; then
	echo "handoff_bench.sh: missing:$miss (Debian: apt-get install nginx-light wrk curl" \
		"nftables iproute2)" >&2
	exit 2
fi
have_haproxy=1
if ! command -v haproxy >/dev/null 2>&1; then
	have_haproxy=0
	echo "handoff_bench.sh: missing: haproxy (apt-get install haproxy): its half is skipped" >&2
fi
have_cd=1
if [ ! -x "$CLUSTERD" ] || [ ! -x "$CLUSTERCTL" ]; then
	have_cd=0
	echo "handoff_bench.sh: no clusterd binary ($CLUSTERD, $CLUSTERCTL): its half is" \
		"skipped" >&2
fi

FE=d1
threads=2
[ "$conns" -lt 2 ] && threads=1
TPORT=8080
HZ=$(getconf CLK_TCK)
# the rules of both front-ends: /a/ -> t1, /b/ -> t2, anything else -> t3
declare -A WANT=([a]=t1 [b]=t2 [c]=t3)

# bench_cpu PID...: utime + stime of the processes (all their threads), in seconds.
bench_cpu()
{
	local p t=0 v
	for p in "$@"; do
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	awk -v t="$t" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }'
}

# bench_tcp HOST NAME: a counter of the Tcp line of HOST's /proc/net/snmp (ActiveOpens,
# RetransSegs, ...).
bench_tcp()
{
	nt_x "$1" awk -v n="$2" '$1 == "Tcp:" { if (!k) { for (i = 2; i <= NF; i++)
		if ($i == n) k = i } else { print $k; exit } }' /proc/net/snmp
}

# bench_resp_bytes: bytes of the targets' packets from their HTTP port that reached the
# front-end (the nft counter bench_run reads; all of a proxy's responses, none of a handoff's).
bench_resp_bytes()
{
	nt_x $FE nft list counter inet hobench resp 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "bytes") { print $(i + 1); exit } }'
}

# bench_pids NAME...: the pids nt_bg recorded for each NAME.
bench_pids()
{
	local n
	for n in "$@"; do [ -f "$NT_WORK/$n.pid" ] && cat "$NT_WORK/$n.pid"; done
}

# The wrk script: requests go round the three prefixes (so every rule is used), and the
# summary is printed exactly: "WRK requests bytes duration_us connect_errors read_errors
# write_errors timeouts non-2xx".
bench_wrk_lua()
{
	cat >"$NT_WORK/rot-$1.lua" <<EOF
local paths = { "/a/$1", "/b/$1", "/c/$1" }
local i = 0
request = function()
	i = i % #paths + 1
	return wrk.format(nil, paths[i])
end
done = function(s, latency, requests)
	local e = s.errors
	io.write(string.format("WRK %d %d %d %d %d %d %d %d\n", s.requests, s.bytes,
		s.duration, e.connect, e.read, e.write, e.timeout, e.status))
end
EOF
}

# shellcheck disable=SC2086 # FE_PIDS and TGT_PIDS are lists
# bench_run LABEL OBJECT [WRK_OPTS...]: one wrk run of $secs seconds from the client against
# VIPA:80; sets R_RPS (requests/s), R_MBS (MB/s), R_BYTES (received by the client), R_ERR
# (socket errors + non-2xx), R_FE (front-end CPU seconds over the run), R_TGT (the targets'
# clusterd CPU seconds, "-" without), R_CPR (client connections per request), R_RTX (client
# retransmitted segments per 1000 requests) and R_RESP (MB the targets sent into the front-end).
bench_run()
{
	local label=$1 obj=$2 out fe0 fe1 t0 t1 line req bytes dur err st o0 o1 b0 b1 ec er ew et
	local r0 r1
	shift 2
	out=$NT_WORK/wrk-$label.log
	o0=$(bench_tcp c ActiveOpens)
	r0=$(bench_tcp c RetransSegs)
	b0=$(bench_resp_bytes)
	fe0=$(bench_cpu $FE_PIDS)
	[ -n "$TGT_PIDS" ] && t0=$(bench_cpu $TGT_PIDS)
	nt_x c timeout $((secs + 30)) wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 5s \
		-s "$NT_WORK/rot-$obj.lua" "$@" "http://$NT_VIP4/" >"$out" 2>&1
	fe1=$(bench_cpu $FE_PIDS)
	[ -n "$TGT_PIDS" ] && t1=$(bench_cpu $TGT_PIDS)
	o1=$(bench_tcp c ActiveOpens)
	r1=$(bench_tcp c RetransSegs)
	b1=$(bench_resp_bytes)
	R_RESP=$(awk -v a="${b0:-0}" -v b="${b1:-0}" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
	line=$(grep '^WRK ' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		nt_log "$label: wrk printed no summary:"
		sed 's/^/    /' "$out" >&2
		R_RPS=- R_BYTES=0 R_ERR=- R_FE=- R_TGT=- R_MBS=- R_CPR=- R_RESP=- R_RTX=-
		return
	fi
	read -r _ req bytes dur ec er ew et st <<<"$line"
	# segments the client sent again (lost, or not acknowledged in time), per 1000 requests
	R_RTX=$(awk -v n=$((r1 - r0)) -v r="$req" \
		'BEGIN { printf "%.0f", (r > 0 ? n * 1000 / r : 0) }')
	err=$((ec + er + ew + et))
	R_RPS=$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.0f", (d > 0 ? r * 1e6 / d : 0) }')
	R_BYTES=$bytes
	R_ERR=$((err + st))
	# connections per request: 1 when every request had its own, ~0 with keep-alive
	R_CPR=$(awk -v o=$((o1 - o0)) -v r="$req" 'BEGIN { printf "%.2f", (r > 0 ? o / r : 0) }')
	R_FE=$(awk -v a="$fe0" -v b="$fe1" 'BEGIN { printf "%.3f", b - a }')
	R_TGT=-
	[ -n "$TGT_PIDS" ] &&
		R_TGT=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	R_MBS=$(awk -v b="$bytes" -v d="$dur" 'BEGIN { printf "%.0f", (d > 0 ? b / d : 0) }')
	nt_log "$label: $req requests, $((o1 - o0)) connections, $bytes bytes in $((dur / 1000))" \
		"ms, errors connect $ec read $er write $ew timeout $et non-2xx $st," \
		"$((r1 - r0)) client retransmissions, $R_RESP MB of responses into the front-end," \
		"front-end CPU $R_FE s, targets' clusterd CPU $R_TGT s"
}

# per_gb CPU_S BYTES: CPU seconds per 10^9 bytes received by the client.
per_gb()
{
	awk -v c="$1" -v b="$2" 'BEGIN { if (c != "-" && b + 0 > 0) printf "%.3f", c * 1e9 / b;
		else printf "-" }'
}

# bench_routes: every prefix is answered by the target its rule names (the X-Target header
# nginx adds); 0 if all are.
bench_routes()
{
	local p got bad=0
	for p in a b c; do
		got=$(nt_x c curl -sS -m 5 -o /dev/null -D - "http://$NT_VIP4/$p/small" 2>&1 |
			tr -d '\r' | awk -F': ' 'tolower($1) == "x-target" { print $2 }')
		if [ "$got" != "${WANT[$p]}" ]; then
			nt_log "routing: /$p/ answered by '${got:-nobody}', rule says ${WANT[$p]}"
			bad=1
		fi
	done
	return $bad
}

# bench_three PREFIX: the three figures of one front-end; results in PREFIX_* variables.
bench_three()
{
	local pfx=$1 ok=yes
	bench_routes || ok=NO
	bench_run "$pfx-close" small -H "Connection: close"
	eval "${pfx}_close=$R_RPS ${pfx}_close_err=$R_ERR ${pfx}_close_fe=$R_FE"
	eval "${pfx}_close_cpr=$R_CPR ${pfx}_close_rtx=$R_RTX"
	bench_run "$pfx-ka" small
	eval "${pfx}_ka=$R_RPS ${pfx}_ka_err=$R_ERR ${pfx}_ka_fe=$R_FE ${pfx}_ka_rtx=$R_RTX"
	bench_run "$pfx-1m" 1m
	eval "${pfx}_mbs=$R_MBS ${pfx}_1m_err=$R_ERR ${pfx}_resp=$R_RESP"
	eval "${pfx}_gb=$(per_gb "$R_FE" "$R_BYTES") ${pfx}_tgt_gb=$(per_gb "$R_TGT" "$R_BYTES")"
	eval "${pfx}_routes=$ok"
}

nt_topo_up || { echo "handoff_bench.sh: topology failed" >&2; exit 1; }
# d2 stays idle: one front-end
NT_HOSTS="d1 t1 t2 t3"

# Many short connections: wide port ranges, TIME-WAIT reuse where connections start.
for h in c $FE; do
	nt_x "$h" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" >/dev/null
	nt_x "$h" sysctl -qw net.ipv4.tcp_tw_reuse=1 >/dev/null
done

# Content, the same on every target: a 1 KiB and a 1 MiB object under each prefix.
chmod 755 "$NT_WORK"
for p in a b c; do
	mkdir -p "$NT_WORK/www/$p"
	head -c 1024 /dev/urandom >"$NT_WORK/www/$p/small"
	head -c 1048576 /dev/urandom >"$NT_WORK/www/$p/1m"
done
chmod -R a+rX "$NT_WORK/www"
bench_wrk_lua small
bench_wrk_lua 1m

# nginx on each target: one worker, no logging, the target's name in X-Target.
for h in $NT_TARGETS; do
	mkdir -p "$NT_WORK/nginx-$h"
	cat >"$NT_WORK/nginx-$h/nginx.conf" <<EOF
worker_processes 1;
pid $NT_WORK/nginx-$h/nginx.pid;
error_log $NT_WORK/nginx-$h/error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	default_type application/octet-stream;
	server {
		listen $TPORT reuseport;
		listen [::]:$TPORT reuseport;
		root $NT_WORK/www;
		add_header X-Target $h always;
	}
}
EOF
	nt_bg "$h" "nginx-$h" nginx -c "$NT_WORK/nginx-$h/nginx.conf" -g 'daemon off;'
done
for h in $NT_TARGETS; do
	nt_wait_until 10 nt_listening "$h" tcp "$TPORT" ||
		{ echo "handoff_bench.sh: nginx did not start on $h" >&2;
		  nt_dump_logs "nginx-$h"; exit 1; }
done

# Counts what the targets send from their HTTP port into the front-end, before anything else.
nt_x $FE nft -f - <<NFT || { echo "handoff_bench.sh: nft counter failed" >&2; exit 1; }
table inet hobench {
	counter resp { }
	chain pre {
		type filter hook prerouting priority -500; policy accept;
		ip saddr { ${NT_IP4[t1]}, ${NT_IP4[t2]}, ${NT_IP4[t3]} } tcp sport $TPORT \
			counter name resp
	}
}
NFT

# ---------------------------------------------------------------- (a) HAProxy
if [ "$have_haproxy" = 1 ]; then
	nt_log "(a) HAProxy in HTTP mode on $FE"
	cat >"$NT_WORK/haproxy.cfg" <<EOF
global
	nbthread ${NT_WORKERS:-2}
	maxconn 8000
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend vipa
	bind $NT_VIP4:80
	use_backend t1 if { path_beg /a/ }
	use_backend t2 if { path_beg /b/ }
	default_backend t3
backend t1
	server t1 ${NT_IP4[t1]}:$TPORT
backend t2
	server t2 ${NT_IP4[t2]}:$TPORT
backend t3
	server t3 ${NT_IP4[t3]}:$TPORT
EOF
	nt_x $FE ip addr add "$NT_VIP4/32" dev lan0
	nt_x r ip neigh flush dev lan0 2>/dev/null
	nt_bg $FE haproxy haproxy -f "$NT_WORK/haproxy.cfg" -db
	if nt_wait_until 10 nt_listening $FE tcp 80; then
		FE_PIDS=$(bench_pids haproxy) TGT_PIDS=""
		bench_three hp
	else
		nt_log "(a) haproxy did not start"
		nt_dump_logs haproxy
	fi
	nt_stop haproxy
	nt_x $FE ip addr del "$NT_VIP4/32" dev lan0
	nt_x r ip neigh flush dev lan0 2>/dev/null
else
	nt_log "(a) no haproxy: skipped"
fi

# ---------------------------------------------------------------- (b) clusterd handoff
if [ "$have_cd" = 1 ]; then
	nt_log "(b) clusterd handoff on $FE, targets t1 t2 t3"
	nt_write_key
	cat >"$NT_WORK/clusterd.conf" <<EOF
# generated by bench/handoff_bench.sh for run $NT_ID
cluster = {
  name = "hobench";
  key_file = "$NT_WORK/cluster.key";
  sync = { $(nt_sync_group)port = 7788; interface = "lan0";
           mode = "every-update"; interval_ms = 200; };
  heartbeat_ms = 100;
  retry_threshold = 3;
};
daemon = { workers = ${NT_WORKERS:-2}; };
nodes = (
  { name = "d1"; addresses = ( { ip = "${NT_IP4[d1]}"; } ); },
  { name = "t1"; addresses = ( { ip = "${NT_IP4[t1]}"; } ); },
  { name = "t2"; addresses = ( { ip = "${NT_IP4[t2]}"; } ); },
  { name = "t3"; addresses = ( { ip = "${NT_IP4[t3]}"; } ); }
);
vipas = (
  { address = "$NT_VIP4"; interface = "lan0";
    distributors = ( { node = "d1"; } );
    services = (
      { port = 80; protocol = "tcp"; targets = ( "t3" ); target_port = $TPORT;
        handoff = { rules = ( { path_prefix = "/a/"; targets = ( "t1" ); },
                              { path_prefix = "/b/"; targets = ( "t2" ); } ); }; }
    ); }
);
EOF
	up=1
	for h in $NT_HOSTS; do nt_cd_launch "$h"; done
	for h in $NT_HOSTS; do nt_cd_ready "$h" || up=0; done
	if [ "$up" = 1 ]; then
		# `clusterctl targets` lists the service's targets (t3), not the rules' ones:
		# t3 listening, then every rule answering, tell that the front-end is ready
		NT_EXPECT=True nt_wait_until 20 nt_is nt_target_listening $FE t3 80 tcp ||
			nt_log "(b) $FE does not see t3 listening for VIPA:80 (going on)"
		nt_x r ip neigh flush dev lan0 2>/dev/null
		nt_wait_until 20 bench_routes ||
			nt_log "(b) the rules' targets do not all answer (going on)"
		FE_PIDS=$(bench_pids clusterd-$FE)
		TGT_PIDS=$(bench_pids clusterd-t1 clusterd-t2 clusterd-t3)
		bench_three cd
		for h in $NT_HOSTS; do nt_ctl "$h" stats >"$NT_WORK/stats-$h.txt" 2>&1; done
	else
		nt_log "(b) clusterd did not come up; skipped"
		for h in $NT_HOSTS; do nt_dump_logs "clusterd-$h"; done
	fi
	for h in $NT_HOSTS; do nt_cd_stop "$h"; done
else
	nt_log "(b) no clusterd binary: skipped"
fi
for h in $NT_TARGETS; do nt_stop "nginx-$h"; done

# ---------------------------------------------------------------- table
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b;
		else printf "-" }'
}
row() { printf '%-40s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

echo
echo "content routing benchmark ($(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 \
/proc/loadavg); wrk -t $threads -c $conns, ${secs} s per figure;"
echo "  front-end $FE, targets t1 t2 t3 (nginx, 1 worker); /a/ -> t1, /b/ -> t2, else t3;" \
	"${NT_WORKERS:-2} threads each)"
printf '%-40s %12s %12s %8s\n' "" "clusterd" "HAProxy" "ratio"
row "requests/s, new connection each (1 KiB)" "${cd_close:--}" "${hp_close:--}"
row "requests/s, keep-alive (1 KiB)" "${cd_ka:--}" "${hp_ka:--}"
row "1 MiB objects, MB/s at the client" "${cd_mbs:--}" "${hp_mbs:--}"
row "front-end CPU-s per GB (1 MiB objects)" "${cd_gb:--}" "${hp_gb:--}"
printf '%-40s %12s %12s\n' "targets' clusterd CPU-s per GB (sum)" "${cd_tgt_gb:--}" "-"
printf '%-40s %12s %12s\n' "front-end CPU-s, new-connection run" "${cd_close_fe:--}" \
	"${hp_close_fe:--}"
printf '%-40s %12s %12s\n' "front-end CPU-s, keep-alive run" "${cd_ka_fe:--}" "${hp_ka_fe:--}"
printf '%-40s %12s %12s\n' "client retransmits/1000 req (close, ka)" \
	"${cd_close_rtx:--}, ${cd_ka_rtx:--}" "${hp_close_rtx:--}, ${hp_ka_rtx:--}"
printf '%-40s %12s %12s\n' "errors (close / keep-alive / 1 MiB)" \
	"${cd_close_err:--}/${cd_ka_err:--}/${cd_1m_err:--}" \
	"${hp_close_err:--}/${hp_ka_err:--}/${hp_1m_err:--}"
printf '%-40s %12s %12s\n' "MB of responses into the front-end (1 MiB)" "${cd_resp:--}" \
	"${hp_resp:--}"
printf '%-40s %12s %12s\n' "client connections per request (close)" "${cd_close_cpr:--}" \
	"${hp_close_cpr:--}"
printf '%-40s %12s %12s\n' "routing by rule checked" "${cd_routes:--}" "${hp_routes:--}"
if [ -f "$NT_WORK/stats-$FE.txt" ]; then
	echo
	# every handoff counter of the front-end (response_bytes_forwarded must be 0), the
	# non-zero ones of the targets, and any drops
	echo "$FE stats after (b), handoff and non-zero drops:"
	grep -i -e handoff -e 'drop.*: [1-9]' "$NT_WORK/stats-$FE.txt" | sed 's/^/  /'
	for h in $NT_TARGETS; do
		echo "$h stats after (b), non-zero handoff and drops:"
		grep -i -e handoff -e drop "$NT_WORK/stats-$h.txt" | grep -v ': 0$' | sed 's/^/  /'
	done
fi
exit 0
