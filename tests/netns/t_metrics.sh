#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_metrics: the Prometheus endpoint (metrics = { listen = ...; }), real daemons.  Each node
# listens on its own LAN address (d2 on its IPv6 one).  Checked: 200 with the 0.0.4 content type
# and `Connection: close`; counters grow under traffic through the VIPA; once the traffic stopped,
# every `clusterctl stats` counter is in the scrape (mapped by the HELP lines "clusterctl stats:
# NAME") with the same value (counters that move by themselves, sync.* for instance, between two
# `clusterctl stats` taken around the scrape); clusterd_vipa_owned is 1 on the distributor and 0
# on the backup; clusterd_node_up is 1 for every node; clusterd_service_connections equals the
# connections held open to a service (and `clusterctl conns`); `promtool check metrics` finds
# nothing; 20 silent clients hold up neither a scrape nor `clusterctl status` (each answers within
# 1 s; the oldest are dropped, counted; the silent ones are closed after their 5 s); 404, 405,
# 431 (an oversized head), 400 (garbage), HEAD; a reload moves the listener to another port (the
# old one closes), a reload to a port that is taken or below 1024 is refused and the endpoint
# stays, a reload without the section closes it.
#
# promtool comes with Debian's `prometheus` package (scripts/install-deps.sh installs it); without
# it the test is skipped, unless $CI is set (then it fails).
. "$(dirname "$0")/lib.sh"
nt_need_daemon
if ! command -v promtool >/dev/null 2>&1; then
	[ -n "${CI:-}" ] && { nt_fail promtool "promtool missing in CI (install-deps.sh)"; exit 1; }
	nt_skip "missing: promtool (Debian package prometheus)"
fi

PORT=9677
declare -A MADDR=([d1]=10.2.0.11 [d2]=[fd02::12] [t1]=10.2.0.21 [t2]=10.2.0.22 [t3]=10.2.0.23)
murl() { echo "http://${MADDR[$1]}:${2:-$PORT}${3:-/metrics}"; }

# mconf HOST [LISTEN|none]: HOST's configuration: the cluster's, plus its metrics section.
mconf()
{
	local h=$1 l=${2:-${MADDR[$1]}:$PORT}
	cp "$NT_WORK/clusterd.conf" "$NT_WORK/clusterd-$h.conf"
	[ "$l" = none ] || echo "metrics = { listen = \"$l\"; };" >>"$NT_WORK/clusterd-$h.conf"
}

# mlaunch HOST: nt_cd_launch with HOST's own file.
mlaunch()
{
	local h=$1 NT_SAN_ENV
	rm -f "$(nt_sock "$h")"
	nt_san_vars "$NT_WORK/clusterd-$h.san"
	nt_bg "$h" "clusterd-$h" env "${NT_SAN_ENV[@]}" "$CLUSTERD" -f "$NT_WORK/clusterd-$h.conf" \
		-n "$h" -s "$(nt_sock "$h")" --state-dir "$NT_WORK/state-$h" --foreground
}

# scrape HOST OUT [URL]: GET from inside HOST's namespace; body in OUT, headers in OUT.h.
scrape() { nt_x "$1" curl -gsS -m 3 -D "$2.h" -o "$2" "${3:-$(murl "$1")}"; }

# code HOST CURL_ARGS...: the HTTP status curl got (000: none).
code() { local h=$1; shift; nt_x "$h" curl -gs -m 3 -o /dev/null -w '%{http_code}' "$@"; }

# value FILE SERIES LABELS: the value of one sample ('' when absent), e.g.
#   value f clusterd_vipa_owned 'vipa="10.2.0.100"'
value()
{
	"$PY" - "$1" "$2" "$3" <<'EOF'
import sys
f, name, labels = sys.argv[1:4]
want = name + ("{" + labels + "}" if labels else "")
for line in open(f):
    if line.startswith("#"):
        continue
    s, _, v = line.rstrip("\n").rpartition(" ")
    if s == want:
        print(v)
        break
EOF
}

# total FILE SERIES: the sum of a family's samples.
total()
{
	"$PY" - "$1" "$2" <<'EOF'
import sys
f, name = sys.argv[1:3]
t = 0
for line in open(f):
    if line.startswith(name + "{") or line.startswith(name + " "):
        t += float(line.split()[-1])
print(int(t))
EOF
}

nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
for h in $NT_HOSTS; do mconf "$h"; done
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
nt_http_start t3 8181 || { nt_fail setup "http server t3:8181"; nt_finish; }
for h in $NT_HOSTS; do mlaunch "$h"; done
for h in $NT_HOSTS; do nt_cd_ready "$h" || { nt_fail setup "clusterd on $h"; nt_finish; }; done
nt_wait_listening d1 3 80 tcp 30 "$NT_VIP4" || { nt_fail setup "targets of :80 on d1"; nt_finish; }
nt_wait_listening d1 1 81 tcp 30 "$NT_VIP4" || { nt_fail setup "target of :81 on d1"; nt_finish; }
d1_owns() { [ "$(nt_ctl d1 status --json | nt_json "j['vipas'][0]['role']")" = distributor ]; }
nt_wait_until 20 d1_owns || { nt_fail setup "d1 does not distribute $NT_VIP4"; nt_finish; }

M=$NT_WORK/m
# --- the answer and its headers, on every node (d2 over IPv6)
for h in $NT_HOSTS; do
	if ! scrape "$h" "$M.$h"; then
		nt_fail "scrape_$h" "curl to $(murl "$h") failed"
		continue
	fi
	nt_check "status_$h" "$(head -1 "$M.$h.h")" grep -q '^HTTP/1.1 200' "$M.$h.h"
done
nt_check content_type "$(grep -i '^content-type' "$M.d1.h")" \
	grep -qix 'content-type: text/plain; version=0.0.4; charset=utf-8.' "$M.d1.h"
nt_check connection_close "no Connection: close" grep -qix 'connection: close.' "$M.d1.h"
nt_check content_length "Content-Length is not the body's" [ "$(grep -i '^content-length' \
	"$M.d1.h" | tr -dc 0-9)" = "$(stat -c %s "$M.d1")" ]
nt_check info "no clusterd_info for d1" grep -q '^clusterd_info{node="d1",version="[^"]*",cluster="nt"} 1$' "$M.d1"

# --- counters grow under traffic
rm -f "$NT_WORK/traffic.stop"
nt_bg c traffic bash -c 'for i in $(seq 3000); do [ -e "$2" ] && break
	curl -s -m 3 -o /dev/null "http://$1/"; done' _ "$NT_VIP4" "$NT_WORK/traffic.stop"
nt_wait_until 10 eval '[ "$(nt_stat d1 "j[\"packets\"][\"rewritten\"]")" -ge 20 ]'
scrape d1 "$M.a"
sleep 1
scrape d1 "$M.b"
a=$(value "$M.a" clusterd_packets_rewritten_total ''); b=$(value "$M.b" clusterd_packets_rewritten_total '')
echo "packets rewritten on d1: $a, 1 s later $b"
nt_check rewritten_grows "clusterd_packets_rewritten_total $a -> $b" [ "${b:-0}" -gt "${a:-0}" ]
a=$(total "$M.a" clusterd_queue_packets_total); b=$(total "$M.b" clusterd_queue_packets_total)
echo "queue packets on d1: $a, 1 s later $b"
nt_check queue_packets_grow "clusterd_queue_packets_total $a -> $b" [ "${b:-0}" -gt "${a:-0}" ]
touch "$NT_WORK/traffic.stop"
nt_wait_until 10 eval '! nt_alive traffic'
nt_stop traffic

# --- connections held open to VIPA:81 (t3:8181): the per-service count equals them
HOLD=5
rm -f "$NT_WORK/hold.stop"
nt_bg c hold "$PY" -u -c 'import os, socket, sys, time
vip, n, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
	s = socket.create_connection((vip, 81), timeout=3)
	s.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	b = b""
	while b"\r\n\r\n" not in b:
		b += s.recv(4096)
	socks.append(s)
print("HELD", n, flush=True)
t0 = time.time()
while not os.path.exists(stop) and time.time() - t0 < 120:
	time.sleep(0.1)
print("DONE", flush=True)' "$NT_VIP4" "$HOLD" "$NT_WORK/hold.stop"
nt_wait_until 15 grep -q HELD "$NT_WORK/hold.log" || nt_fail hold "$(cat "$NT_WORK/hold.log")"
svc81() { scrape d1 "$M.s" && value "$M.s" clusterd_service_connections 'vipa="10.2.0.100",port="81",protocol="tcp"'; }
NT_EXPECT=$HOLD nt_wait_until 5 nt_is svc81
n81=$(svc81)
est81=$(nt_ctl d1 conns --json | nt_json "sum(1 for c in j['conns'] if c['vipa'] == '$NT_VIP4:81' and c['state'] == 'EST')")
echo "VIPA:81 on d1: $n81 in the metrics, $est81 established in clusterctl conns, $HOLD held"
nt_check service_connections "clusterd_service_connections for :81 is $n81, $HOLD held open" \
	[ "$n81" = "$HOLD" ]
nt_check service_connections_conns "clusterctl conns shows $est81 for :81, metrics $n81" \
	[ "$n81" = "$est81" ]
nt_check service_targets "targets of :80 not 3/3" eval "[ \"\$(value $M.s clusterd_service_targets \
	'vipa=\"10.2.0.100\",port=\"80\",protocol=\"tcp\"')\" = 3 ] && [ \"\$(value $M.s \
	clusterd_service_targets_current 'vipa=\"10.2.0.100\",port=\"80\",protocol=\"tcp\"')\" = 3 ]"

# --- stats and the scrape agree: s1, scrape, s2 taken one after the other
cmp_stats()
{
	local h=$1
	nt_ctl "$h" stats --json >"$NT_WORK/s1.$h.json" &&
		scrape "$h" "$M.c.$h" &&
		nt_ctl "$h" stats --json >"$NT_WORK/s2.$h.json" || return 1
	"$PY" - "$NT_WORK/s1.$h.json" "$M.c.$h" "$NT_WORK/s2.$h.json" <<'EOF'
import json, re, sys
s1, s2 = json.load(open(sys.argv[1])), json.load(open(sys.argv[3]))
def leaves(o, pre=""):
    for k, v in o.items():
        if isinstance(v, dict):
            yield from leaves(v, pre + k + ".")
        elif isinstance(v, int) and not isinstance(v, bool):
            yield pre + k, v
st1, st2 = dict(leaves(s1)), dict(leaves(s2))
helps, seen, bad, exact, moved = {}, set(), [], 0, 0
for line in open(sys.argv[2]):
    m = re.match(r"# HELP (\S+) clusterctl stats: (\S+)$", line)
    if m:
        helps[m.group(1)] = m.group(2)
        continue
    if line.startswith("#"):
        continue
    m = re.match(r"([a-z_]+)(\{(.*)\})? (\S+)$", line.rstrip("\n"))
    if not m or m.group(1) not in helps:
        continue
    name = helps[m.group(1)]
    lm = re.search(r'\{(\w+)\}$', name)
    if lm:
        lv = re.search(lm.group(1) + r'="([^"]*)"', m.group(3) or "")
        name = name[:lm.start()] + lv.group(1)
    v = int(m.group(4))
    seen.add(name)
    if name not in st1:
        bad.append("%s=%d in the scrape, not in clusterctl stats" % (name, v))
    # metrics.*: the scrape itself is one more request and one more client
    elif not min(st1[name], st2[name]) - name.startswith("metrics.") <= v <= \
            max(st1[name], st2[name]) + name.startswith("metrics."):
        bad.append("%s: scrape %d, stats %d then %d" % (name, v, st1[name], st2[name]))
    elif st1[name] == st2[name]:
        exact += 1
    else:
        moved += 1
missing = sorted(set(st1) - seen)
for n in missing:
    bad.append("%s in clusterctl stats, not in the scrape" % n)
print("%d stats counters: %d equal, %d moved between the two stats and within them, %d wrong"
      % (len(st1), exact, moved, len(bad)))
for b in bad[:20]:
    print("  " + b)
sys.exit(1 if bad or not exact else 0)
EOF
}
for h in d1 t3; do
	nt_check "stats_agree_$h" "the scrape and clusterctl stats disagree" cmp_stats "$h"
done
# the packet counters above did not move: they were compared exactly
nt_check stats_exact "packets.rewritten moved on d1 while nothing ran" eval "[ \"\$(nt_json \
	\"j['packets']['rewritten']\" <$NT_WORK/s1.d1.json)\" = \"\$(nt_json \
	\"j['packets']['rewritten']\" <$NT_WORK/s2.d1.json)\" ]"

# --- roles and peers
scrape d2 "$M.d2" || nt_fail scrape_d2 "curl to $(murl d2)"
nt_check vipa_owned_d1 "d1: $(grep clusterd_vipa_owned "$M.d1")" \
	[ "$(value "$M.c.d1" clusterd_vipa_owned 'vipa="10.2.0.100"')" = 1 ]
nt_check vipa_owned_d2 "d2: $(grep clusterd_vipa_owned "$M.d2")" \
	[ "$(value "$M.d2" clusterd_vipa_owned 'vipa="10.2.0.100"')" = 0 ]
nt_check ready_d1 "clusterd_ready on d1 not 1" [ "$(value "$M.c.d1" clusterd_ready '')" = 1 ]
for m in "$M.c.d1" "$M.d2"; do
	for h in $NT_HOSTS; do
		nt_check "node_up_${m##*.}_$h" "clusterd_node_up{node=\"$h\"} not 1 in $m" \
			[ "$(value "$m" clusterd_node_up "node=\"$h\"")" = 1 ]
	done
done
# the metrics sections differ from node to node: not a configuration disagreement
nt_check config_agrees "d1: $(grep '^clusterd_node_config_agrees' "$M.c.d1" | tr '\n' ' ')" \
	[ "$(grep -c '^clusterd_node_config_agrees{node="[dt][0-9]"} 1$' "$M.c.d1")" = 4 ]
nt_check reachable "d1 sees no reachable address of d2" \
	[ "$(value "$M.c.d1" clusterd_address_reachable 'node="d2",address="10.2.0.12"')" = 1 ]
nt_check rtt "no RTT for d2's address" grep -q '^clusterd_address_rtt_seconds{node="d2",address="10.2.0.12"} [0-9]' "$M.c.d1"
nt_check lag "no replication lag for d2" grep -q '^clusterd_replication_lag_seconds{node="d2"} [0-9]' "$M.c.d1"
nt_check backlog "no replication backlog for d2" grep -q '^clusterd_replication_backlog_records{node="d2"} [0-9]' "$M.c.d1"
touch "$NT_WORK/hold.stop"
nt_wait_until 5 grep -q DONE "$NT_WORK/hold.log"
nt_stop hold

# --- promtool finds nothing
for f in "$M.c.d1" "$M.d2" "$M.c.t3"; do
	out=$(promtool check metrics <"$f" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out" | head -20
	nt_check "promtool_${f##*.}" "promtool check metrics: rc $rc, $(echo "$out" | wc -l) lines" \
		[ "$rc" -eq 0 -a -z "$out" ]
done

# --- silent clients hold nothing up
nt_bg d1 silent "$PY" -u "$NT_DIR/silent_clients.py" tcp 10.2.0.11 "$PORT" 20 0.01
nt_wait_until 5 grep -q CONNECTED "$NT_WORK/silent.log"
t0=$(nt_now_ms)
nt_x d1 curl -sS -m 1 -o "$M.e" "$(murl d1)"
rc=$?
t1=$(nt_now_ms)
echo "a scrape beside 20 silent clients: rc $rc in $((t1 - t0)) ms"
nt_check scrape_beside_silent "curl rc $rc after $((t1 - t0)) ms" [ "$rc" -eq 0 ]
t0=$(nt_now_ms)
nt_x d1 timeout 1 "$CLUSTERCTL" -s "$(nt_sock d1)" status >/dev/null
rc=$?
t1=$(nt_now_ms)
echo "clusterctl status beside them: rc $rc in $((t1 - t0)) ms"
nt_check status_beside_silent "clusterctl status rc $rc after $((t1 - t0)) ms" [ "$rc" -eq 0 ]
dropped=$(nt_stat d1 "j['metrics']['clients_dropped']")
nt_check clients_dropped "metrics.clients_dropped = $dropped, expected >= 5 (21 clients, 16 slots)" \
	[ "${dropped:-0}" -ge 5 ]
nt_wait_until 10 grep -q '^EOF' "$NT_WORK/silent.log"
read -r _ eof last < <(grep '^EOF' "$NT_WORK/silent.log")
echo "silent clients closed by d1: ${eof:-?} of 20, the last after ${last:-?} ms"
nt_check silent_closed "${eof:-0} of 20 silent clients closed within 9 s" [ "${eof:-0}" -eq 20 ]
to=$(nt_stat d1 "j['metrics']['errors']['timeout']")
nt_check timeouts_counted "metrics.errors.timeout = $to, expected >= 15" [ "${to:-0}" -ge 15 ]

# --- the other answers
c=$(code d1 "$(murl d1 "$PORT" /other)")
nt_check not_found "GET /other: $c" [ "$c" = 404 ]
c=$(code d1 -X POST "$(murl d1)")
nt_check method "POST /metrics: $c" [ "$c" = 405 ]
c=$(code d1 -I "$(murl d1)")
nt_check head "HEAD /metrics: $c" [ "$c" = 200 ]
nt_check head_no_body "HEAD answered with a body" [ -z "$(nt_x d1 curl -s -m 3 -I -o /dev/null \
	-w '%{size_download}' "$(murl d1)" | tr -d 0)" ]
# raw HOST PORT TEXT_PY: sends bytes (a python expression), prints the status line's code.
raw()
{
	nt_x "$1" "$PY" -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
try:
	s.sendall(eval(sys.argv[3]))
except OSError:
	pass
b = b""
try:
	while b"\r\n" not in b:
		d = s.recv(4096)
		if not d:
			break
		b += d
except OSError as e:
	print("ERR", e)
print(b.split(b" ")[1].decode() if b.count(b" ") else "none")' "${MADDR[$1]}" "$2" "$3"
}
c=$(raw d1 "$PORT" 'b"GET /metrics HTTP/1.1\r\n" + b"X-Big: " + b"y" * 8000 + b"\r\n\r\n"')
nt_check too_large "an 8 KiB head: $c" [ "$c" = 431 ]
c=$(raw d1 "$PORT" 'b"\x16\x03\x01hello\r\n\r\n"')
nt_check garbage "garbage: $c" [ "$c" = 400 ]
nt_check errors_counted "metrics.errors not counted" eval "[ \"\$(nt_stat d1 \
	\"[j['metrics']['errors'][k] for k in ('not_found', 'method', 'too_large', 'bad_request')]\")\" \
	= '[1, 1, 1, 1]' ]"

# --- reloads: another port re-binds; a taken port or one below 1024 is refused; no section: gone
mconf d1 "10.2.0.11:9678"
nt_check reload_port "reload to :9678 refused" nt_ctl d1 reload
nt_check new_port "no 200 on :9678" [ "$(code d1 "$(murl d1 9678)")" = 200 ]
nt_check old_port_closed "still answered on :$PORT" [ "$(code d1 "$(murl d1)")" = 000 ]
nt_bg d1 squat "$PY" -c 'import socket, time
s = socket.socket(); s.bind(("10.2.0.11", 9700)); s.listen(1); time.sleep(60)'
nt_wait_until 5 nt_listening d1 tcp 9700
for l in 10.2.0.11:9700 10.2.0.11:80; do
	mconf d1 "$l"
	out=$(nt_ctl d1 reload 2>&1)
	rc=$?
	echo "reload to $l: rc $rc: $out"
	nt_check "refused_${l##*:}" "reload to $l not refused" [ "$rc" -ne 0 ]
	nt_check "refused_says_${l##*:}" "no metrics.listen in the refusal: $out" eval \
		'echo "$out" | grep -q "metrics.listen 10.2.0.11:${l##*:}"'
	nt_check "kept_${l##*:}" "the endpoint on :9678 is gone after a refused reload" \
		[ "$(code d1 "$(murl d1 9678)")" = 200 ]
done
nt_stop squat
mconf d1 none
nt_check reload_none "reload without metrics refused" nt_ctl d1 reload
nt_check none_closed "still answered on :9678" [ "$(code d1 "$(murl d1 9678)")" = 000 ]
mconf d1
nt_check reload_back "reload back to :$PORT refused" nt_ctl d1 reload
nt_check back "no 200 on :$PORT after the section came back" [ "$(code d1 "$(murl d1)")" = 200 ]

nt_finish
