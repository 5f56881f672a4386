# SPDX-License-Identifier: GPL-2.0-or-later
# hoff_lib.sh: helpers of the content-aware handoff tests (t_handoff_*.sh).  Sourced after lib.sh
# (uses its nt_* helpers and the standard cluster: d1 distributes both VIPAs, d2 backs them up,
# t1..t3 are targets); sources nothing itself.
#
# The cluster (hoff_cluster_up): VIPA:80 (IPv4 and IPv6) is a TCP service whose own targets are
# ( "t3" ) and whose handoff rules are
#   path_prefix "/static/"        -> ( "t1" )
#   host "api.example.com"        -> ( "t2" )
#   path_prefix "/multi/"         -> ( "t1", "t2" )     (a rule with a next candidate)
#   path_prefix "/only1/"         -> ( "t1" )           (a rule whose only target can go away)
# so a request no rule matches is answered by t3.  Every target runs hoff_server.py on 8080
# (written to $NT_WORK at start): a GET of a path whose last component names a file of
# $NT_WORK/www is answered with that file (?rate=BYTES_PER_S slows it down), any other GET with
# one line "NAME CLIENT_ADDRESS PATH HOST" (who answered, and the client address the
# application saw).  Access logs: $NT_WORK/hoff-access-HOST.log.
#
# Environment: HOFF_PLAIN=1 leaves the handoff group out (the plain L4 service: a check of the
# harness itself, whose handoff-specific checks then fail), HOFF_OPTS (the handoff group's
# settings after the rules; default timeout_ms 1000, request_timeout_ms 5000, max_request
# 16384), HOFF_CONF_EDIT (a command run on the configuration file before any daemon reads it).

HOFF_OPTS=${HOFF_OPTS:-"timeout_ms = 1000; request_timeout_ms = 5000; max_request = 16384;"}
HOFF_RULES='{ path_prefix = "/static/"; targets = ( "t1" ); },
                              { host = "api.example.com"; targets = ( "t2" ); },
                              { path_prefix = "/multi/"; targets = ( "t1", "t2" ); },
                              { path_prefix = "/only1/"; targets = ( "t1" ); }'
HOFF_WWW=
HOFF_CLIENT=

# ---------------------------------------------------------------- the servers

# hoff_write_tools: the target's HTTP server and the client helper, into $NT_WORK.
hoff_write_tools()
{
	HOFF_WWW=$NT_WORK/www
	HOFF_CLIENT=$NT_WORK/hoff_client.py
	mkdir -p "$HOFF_WWW"
	cat >"$NT_WORK/hoff_server.py" <<'PY'
import argparse, http.server, os, signal, socket, sys, time, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=8080)
ap.add_argument("--name", required=True)
ap.add_argument("--www", required=True)
ap.add_argument("--log", required=True)
a = ap.parse_args()
logf = open(a.log, "a", buffering=1)


class H(http.server.BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"

	def peer(self):
		h = self.client_address[0]
		return h[7:] if h.startswith("::ffff:") else h

	def do_GET(self):
		u = urllib.parse.urlsplit(self.path)
		q = urllib.parse.parse_qs(u.query)
		host = self.headers.get("Host", "-")
		logf.write("%s %d GET %s %s\n" % (self.peer(), self.client_address[1], self.path, host))
		fn = os.path.join(a.www, os.path.basename(u.path))
		if os.path.basename(u.path) and os.path.isfile(fn):
			return self.file(fn, int(q.get("rate", ["0"])[0]))
		body = ("%s %s %s %s\n" % (a.name, self.peer(), u.path, host)).encode()
		self.send_response(200)
		self.send_header("Content-Type", "text/plain")
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)

	def do_POST(self):
		# An upload: answered with who took it, its length and its sha256.
		import hashlib
		n = int(self.headers.get("Content-Length", "0"))
		h, got = hashlib.sha256(), 0
		while got < n:
			d = self.rfile.read(min(65536, n - got))
			if not d:
				break
			h.update(d)
			got += len(d)
		logf.write("%s %d POST %s %d\n" % (self.peer(), self.client_address[1], self.path, got))
		body = ("%s %d %s\n" % (a.name, got, h.hexdigest())).encode()
		self.send_response(200)
		self.send_header("Content-Type", "text/plain")
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)

	def file(self, fn, rate):
		size = os.path.getsize(fn)
		self.send_response(200)
		self.send_header("Content-Type", "application/octet-stream")
		self.send_header("Content-Length", str(size))
		self.end_headers()
		self.wfile.flush()
		with open(fn, "rb") as f:
			if rate <= 0:
				self.connection.sendfile(f)
				return
			# paced: 64 KiB chunks, never ahead of rate bytes a second
			t0, sent = time.time(), 0
			while sent < size:
				ahead = sent / rate - (time.time() - t0)
				if ahead > 0:
					time.sleep(ahead)
				n = self.connection.sendfile(f, sent, min(65536, size - sent))
				if n <= 0:
					break
				sent += n

	def log_message(self, fmt, *args):
		pass


class S(http.server.ThreadingHTTPServer):
	address_family = socket.AF_INET6
	daemon_threads = True
	allow_reuse_address = True

	def server_bind(self):
		self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
		super().server_bind()


srv = S(("::", a.port), H)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
	srv.serve_forever()
finally:
	srv.server_close()
PY
	cat >"$HOFF_CLIENT" <<'PY'
"""hoff_client.py MODE ADDR [PORT] ...: raw HTTP/1.1 clients over one TCP connection.
  pipe ADDR PORT PATH...      every request in one send(), then reads one response per path;
                              prints each body's first line
  hold ADDR PORT PATH STOP    one request, prints the answer, keeps the connection open until
                              the file STOP exists (bounded, 60 s), then one more request on it
                              and prints that answer
  raw ADDR PORT HEXDATA WAIT  sends the bytes, reads until the peer closes (or WAIT s); prints
                              the status line (or "NONE"), "CLOSED"/"RESET"/"OPEN", and
                              "PORT <the client's port>"
  slowhead ADDR PORT WAIT     sends a request line and one header, never the blank line; then
                              like raw
  big ADDR PORT N             a GET whose head is N bytes (one long header), then like raw"""
import os, socket, sys, time

mode, addr = sys.argv[1], sys.argv[2]
port = int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
hostname = "[%s]" % addr if ":" in addr else addr


port0 = 0


def conn():
	global port0
	s = socket.socket(fam, socket.SOCK_STREAM)
	s.settimeout(10)
	s.connect((addr, port))
	port0 = s.getsockname()[1]
	return s


class Reader:
	def __init__(self, s):
		self.s, self.buf = s, b""

	def fill(self):
		d = self.s.recv(65536)
		if not d:
			raise EOFError("connection closed")
		self.buf += d

	def response(self):
		while b"\r\n\r\n" not in self.buf:
			self.fill()
		head, self.buf = self.buf.split(b"\r\n\r\n", 1)
		lines = head.decode("latin-1").split("\r\n")
		n = 0
		for l in lines[1:]:
			k, _, v = l.partition(":")
			if k.strip().lower() == "content-length":
				n = int(v)
		while len(self.buf) < n:
			self.fill()
		body, self.buf = self.buf[:n], self.buf[n:]
		return lines[0], body.decode("latin-1")


def req(path, host=None):
	return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hoff\r\n\r\n" %
		(path, host or hostname)).encode()


def finish(s, wait):
	"""Reads until the peer closes or wait s pass: the status line and whether it closed."""
	s.settimeout(0.2)
	data, closed, end = b"", False, time.time() + wait
	while time.time() < end:
		try:
			d = s.recv(65536)
		except socket.timeout:
			continue
		except ConnectionResetError:
			closed = "RESET"
			break
		if not d:
			closed = True
			break
		data += d
	line = data.split(b"\r\n", 1)[0].decode("latin-1") if data else "NONE"
	print(line)
	print("CLOSED" if closed is True else closed or "OPEN")
	print("PORT", port0)


if mode == "pipe":
	s = conn()
	s.sendall(b"".join(req(p) for p in sys.argv[4:]))
	r = Reader(s)
	for p in sys.argv[4:]:
		st, body = r.response()
		print(body.splitlines()[0] if body else st)
elif mode == "hold":
	path, stop = sys.argv[4], sys.argv[5]
	s = conn()
	r = Reader(s)
	s.sendall(req(path))
	print(r.response()[1].strip(), flush=True)
	end = time.time() + 60
	while not os.path.exists(stop) and time.time() < end:
		time.sleep(0.05)
	s.sendall(req(path))
	print(r.response()[1].strip(), flush=True)
	s.close()
elif mode == "raw":
	s = conn()
	s.sendall(bytes.fromhex(sys.argv[4]))
	finish(s, float(sys.argv[5]))
elif mode == "slowhead":
	s = conn()
	s.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
	finish(s, float(sys.argv[4]))
elif mode == "big":
	n = int(sys.argv[4])
	s = conn()
	h = b"GET /big HTTP/1.1\r\nHost: x\r\nX-Fill: "
	h += b"a" * max(0, n - len(h) - 4) + b"\r\n\r\n"
	try:
		s.sendall(h)
	except (BrokenPipeError, ConnectionResetError):
		pass
	finish(s, 10)
PY
}

# hoff_http_start HOST [PORT]: hoff_server.py on HOST:PORT (8080, the target port; another
# one logs to hoff-other-HOST.log).
hoff_http_start()
{
	local h=$1 port=${2:-8080} n=hoff-http-$1 l=$NT_WORK/hoff-access-$1.log
	[ "$port" = 8080 ] || n=hoff-http-$h-$port l=$NT_WORK/hoff-other-$h.log
	nt_bg "$h" "$n" "$PY" -u "$NT_WORK/hoff_server.py" --port "$port" --name "$h" \
		--www "$HOFF_WWW" --log "$l"
	nt_wait_until 15 nt_listening "$h" tcp "$port" ||
		{ nt_log "hoff server on $h:$port did not start"; nt_dump_logs "$n"; return 1; }
}

hoff_http_stop() { nt_stop "hoff-http-$1"; }

# hoff_mkfile NAME MB: a file of random bytes in the served folder.
hoff_mkfile() { head -c "$(($2 * 1048576))" /dev/urandom >"$HOFF_WWW/$1"; }

hoff_sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- the cluster

# hoff_write_config: nt_write_config with VIPA:80's targets ( "t3" ) and the handoff group in
# both VIPAs' port 80 service (unless HOFF_PLAIN).
hoff_write_config()
{
	local f=$NT_WORK/clusterd.conf
	NT_TARGETS80='"t3"' nt_write_config "$f"
	[ -n "${HOFF_PLAIN:-}" ] && return 0
	"$PY" - "$f" "handoff = { rules = ( $HOFF_RULES ); $HOFF_OPTS };" <<'PY'
import sys
f, group = sys.argv[1:3]
lines = open(f).read().split("\n")
for i, l in enumerate(lines):
	if 'port = 80; protocol = "tcp";' in l and i + 1 < len(lines) and \
	   lines[i + 1].strip().startswith('scheduler = "maglev"; }'):
		lines[i + 1] = lines[i + 1].replace("; }", ";\n        " + group + " }", 1)
open(f, "w").write("\n".join(lines))
PY
	[ "$(grep -c 'handoff = { rules' "$f")" -eq 2 ] ||
		{ nt_log "the handoff group did not go into both port 80 services"; return 1; }
}

# hoff_state HOST VIPA: "ROLE OWNER" of VIPA as HOST's daemon says.
hoff_state()
{
	nt_ctl "$1" status --json 2>/dev/null | nt_json "' '.join('%s %s' % (v['role'], v['owner'])
		for v in j['vipas'] if v['address'] == '$2')" 2>/dev/null || echo "- -"
}

# hoff_cluster_up: topology, files, servers, configuration, daemons; then waits until d1
# distributes both VIPAs, d2 backs them up, d1 sees t3 listening for VIPA:80, and (20 s at most,
# not with HOFF_PLAIN) requests that the rules send to t1 and t2 are answered by them.
hoff_cluster_up()
{
	local t
	nt_need_daemon
	nt_topo_up || { nt_fail setup "topology"; nt_finish; }
	hoff_write_tools
	hoff_write_config || { nt_fail setup "configuration"; nt_finish; }
	[ -n "${HOFF_CONF_EDIT:-}" ] && eval "$HOFF_CONF_EDIT"
	if ! "$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" >"$NT_WORK/check.out" 2>&1; then
		nt_fail setup "clusterd refuses the handoff configuration: $(head -c 300 \
"$NT_WORK/check.out")"
		nt_finish
	fi
	for t in $NT_TARGETS; do hoff_http_start "$t" || { nt_fail setup "server $t"; nt_finish; }; done
	nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
	if ! nt_wait_until 30 eval '[ "$(hoff_state d1 $NT_VIP4)" = "distributor d1" ] &&
		[ "$(hoff_state d1 $NT_VIP6)" = "distributor d1" ] &&
		[ "$(hoff_state d2 $NT_VIP4)" = "backup d1" ]'; then
		nt_fail setup "d1 does not distribute the VIPAs within 30 s: d1 $(hoff_state d1 \
"$NT_VIP4"), d2 $(hoff_state d2 "$NT_VIP4")"
		nt_finish
	fi
	if ! NT_EXPECT=True nt_wait_until 30 nt_is nt_target_listening d1 t3 80 tcp; then
		nt_fail setup "d1 does not see t3 listening for VIPA:80 within 30 s"
		nt_ctl d1 targets
		nt_finish
	fi
	[ -n "${HOFF_PLAIN:-}" ] && return 0
	# t1 and t2 are targets of the rules only (`clusterctl targets` need not list them): wait
	# until the rules' first requests are answered by them
	t=$(nt_now_ms)
	if nt_wait_until 20 hoff_rules_ready; then
		nt_log "the rules' targets answer $(($(nt_now_ms) - t)) ms after the start"
	else
		nt_log "the rules' targets do not answer within 20 s"
	fi
}

# hoff_rules_ready: /static/ is answered by t1 and Host api.example.com by t2, on both VIPAs.
hoff_rules_ready()
{
	local v
	for v in "$NT_VIP4" "$NT_VIP6"; do
		[ "$(hoff_who "$(hoff_url "$v" /static/warmup)")" = t1 ] || return 1
		[ "$(hoff_who "$(hoff_url "$v" /warmup)" -H "Host: api.example.com")" = t2 ] || return 1
	done
}

# ---------------------------------------------------------------- observing

# hoff_stat HOST NAME: the counter handoff.NAME of HOST's stats, or "missing".
hoff_stat() { nt_stat "$1" "j.get('handoff', {}).get('$2', 'missing')" 2>/dev/null || echo missing; }

# hoff_stats HOST: every handoff.* counter of HOST on one line (for the log).
hoff_stats()
{
	nt_stat "$1" "' '.join('%s=%s' % kv for kv in sorted(j.get('handoff', {}).items())) \
		or 'no handoff counters'" 2>/dev/null
}

# hoff_num V: V if it is a number, else -1 (so a missing counter fails a ">=" check).
hoff_num() { case $1 in '' | *[!0-9]*) echo -1 ;; *) echo "$1" ;; esac; }

# hoff_slots HOST: the sum of HOST's handoff.*slot* gauges (not the counters of evictions or
# refusals), or "none" when it reports none.
hoff_slots()
{
	local e="[v for k, v in j.get('handoff', {}).items() if 'slot' in k and 'evict' not in k
		and 'full' not in k]"
	nt_stat "$1" "sum($e) if $e else 'none'"
}

# hoff_conns HOST CLIENT_IP: HOST's conns rows of CLIENT_IP that carry handoff information
# (a key naming handoff or hoff, or a state that does), as JSON lines.
hoff_conns()
{
	nt_ctl "$1" conns --json 2>/dev/null | "$PY" -c 'import json, sys
j = json.load(sys.stdin)
ip = sys.argv[1]
for r in j.get("conns", []):
	c = r.get("client", "")
	if not (c.startswith(ip + ":") or c.startswith("[" + ip + "]:")):
		continue
	if any(("hoff" in k or "handoff" in k) and r[k] not in (None, False, "", 0, {})
	       for k in r) or "hoff" in str(r.get("state", "")) or \
	   "handoff" in str(r.get("state", "")):
		print(json.dumps(r))' "$2" 2>/dev/null
}

# hoff_rows HOST CLIENT_IP: HOST's conns rows of CLIENT_IP, whatever they hold (for messages).
hoff_rows()
{
	nt_ctl "$1" conns --json 2>/dev/null | "$PY" -c 'import json, sys
j = json.load(sys.stdin)
ip = sys.argv[1]
r = [x for x in j.get("conns", []) if x.get("client", "").startswith((ip + ":", "[" + ip + "]:"))]
print(json.dumps(r[:3]) if r else "none")' "$2"
}

# hoff_conns_total HOST: how many entries HOST's `clusterctl conns` counts.
hoff_conns_total() { nt_ctl "$1" conns --json 2>/dev/null | nt_json "j['total']" 2>/dev/null; }

# hoff_nft_on HOST VIP4 VIP6: counters in HOST's own table inet hotest, hooked before anything
# of clusterd's (priority -400): resp_in, TCP segments with payload from port 80 or 8080 that
# arrive on HOST (a response through it); resp_out, the same leaving HOST; req_in, TCP segments
# with payload to the VIPA's port 80 (the positive control: the requests do pass).  "With
# payload": IPv4 total length over 60, IPv6 payload length over 60 (the largest TCP header
# alone is 60 bytes).
hoff_nft_on()
{
	nt_x "$1" nft -f - <<NFT
table inet hotest {
	counter resp_in { }
	counter resp_out { }
	counter req_in { }
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		ip length > 60 tcp sport { 80, 8080 } counter name "resp_in"
		ip6 length > 60 tcp sport { 80, 8080 } counter name "resp_in"
		ip daddr $2 ip length > 60 tcp dport 80 counter name "req_in"
		ip6 daddr $3 ip6 length > 60 tcp dport 80 counter name "req_in"
	}
	chain out {
		type filter hook output priority -400; policy accept;
		ip length > 60 tcp sport { 80, 8080 } counter name "resp_out"
		ip6 length > 60 tcp sport { 80, 8080 } counter name "resp_out"
	}
}
NFT
}

# hoff_nft_tgt_on TARGET: counters in TARGET's own table inet hotest, on the way out after
# everything of clusterd's (postrouting, priority 500): leak, TCP segments that leave from the
# target's own port 8080 (a reply that escaped the translation); xlated, segments with
# payload that leave from port 80 (the translated replies).
hoff_nft_tgt_on()
{
	nt_x "$1" nft -f - <<NFT
table inet hotest {
	counter leak { }
	counter xlated { }
	chain post {
		type filter hook postrouting priority 500; policy accept;
		tcp sport 8080 counter name "leak"
		ip length > 60 tcp sport 80 counter name "xlated"
		ip6 length > 60 tcp sport 80 counter name "xlated"
	}
}
NFT
}

# hoff_nft HOST COUNTER: packets counted so far (-1 when the table is not there).
hoff_nft()
{
	local v
	v=$(nt_x "$1" nft list counter inet hotest "$2" 2>/dev/null | grep -o 'packets [0-9]*' |
		awk '{print $2}')
	echo "${v:--1}"
}

hoff_nft_reset() { nt_x "$1" nft reset counters table inet hotest >/dev/null 2>&1; }

# hoff_tcpstat HOST NAME: a TCP counter of HOST's namespace (/proc/net/snmp and netstat, e.g.
# TcpRetransSegs, TcpExtTCPSackRecovery), or -1.
hoff_tcpstat()
{
	nt_x "$1" cat /proc/net/snmp /proc/net/netstat 2>/dev/null | awk -v want="$2" '
		{ p = $1; sub(":", "", p) }
		p in hdr { for (i = 2; i <= NF; i++) if (p hdr[p, i] == want) { print $i; found = 1 }
			delete hdr[p]; next }
		{ for (i = 2; i <= NF; i++) hdr[p, i] = $i; hdr[p] = 1 }
		END { if (!found) print -1 }'
}

# ---------------------------------------------------------------- the router

# hoff_loss in|out: drops 1 in 50 of the TCP packets the router forwards towards the LAN (in:
# client -> VIPA) or towards the client (out: responses); hoff_loss_off heals.  Counter "lost".
hoff_loss()
{
	local m='iifname "eth1"'
	[ "$1" = out ] && m='oifname "eth1"'
	nt_x r nft -f - <<NFT
table inet holoss {
	counter lost { }
	chain lossy {
		type filter hook forward priority -10; policy accept;
		$m meta l4proto tcp numgen random mod 50 0 counter name "lost" drop
	}
}
NFT
}

hoff_loss_off() { nt_x r nft delete table inet holoss 2>/dev/null; }

hoff_lost()
{
	nt_x r nft list counter inet holoss lost 2>/dev/null | grep -o 'packets [0-9]*' |
		awk '{print $2}'
}

# ---------------------------------------------------------------- clients

# hoff_url VIP PATH: the URL of PATH at VIP port 80.
hoff_url() { case $1 in *:*) echo "http://[$1]$2" ;; *) echo "http://$1$2" ;; esac; }

# hoff_get URL [CURL_OPTS...]: one GET from the client; the body, or "ERR:<curl status>".
hoff_get()
{
	local out rc
	out=$(nt_x c curl -sS -m 5 --connect-timeout 3 "${@:2}" "$1" 2>/dev/null)
	rc=$?
	[ $rc -eq 0 ] && echo "$out" || echo "ERR:$rc"
}

# hoff_who URL [CURL_OPTS...]: the name of the target that answered (first word), or ERR:n.
hoff_who() { hoff_get "$@" | awk '{print $1; exit}'; }

# hoff_status URL: the HTTP status code of one GET (000 on failure).
hoff_status()
{
	nt_x c curl -s -o /dev/null -m 5 --connect-timeout 3 -w '%{http_code}' "$1" 2>/dev/null
}

# hoff_client MODE ARGS...: hoff_client.py from the client namespace.
hoff_client() { nt_x c "$PY" "$HOFF_CLIENT" "$@"; }

# hoff_download URL OUT [CURL_OPTS...]: downloads URL to OUT; prints curl's status, size,
# speed and time; non-zero when curl failed.
hoff_download()
{
	nt_x c curl -sS -m "${HOFF_DL_S:-90}" --connect-timeout 5 -o "$2" \
		-w 'http %{http_code} size %{size_download} speed %{speed_download} time %{time_total}\n' \
		"${@:3}" "$1"
}

# ---------------------------------------------------------------- scenarios (IPv4 and IPv6)

# hoff_delta_ge HOST NAME BEFORE MIN: handoff.NAME on HOST grew by MIN at least since BEFORE.
hoff_delta_ge()
{
	local v
	v=$(hoff_num "$(hoff_stat "$1" "$2")")
	[ "$v" -ge 0 ] && [ "$(hoff_num "$3")" -ge 0 ] && [ $((v - $3)) -ge "$4" ]
}

# hoff_basic_checks VIP CLIENT_IP TAG: rules by path and host, unmatched requests, the client's
# real address, keep-alive, pipelining, the handoff entry in d1's conns, the counters.
hoff_basic_checks()
{
	local vip=$1 cip=$2 tg=$3 out w i n bad s0c s0a s0e s0r s0cl s0rb stop who nc cw tw
	s0c=$(hoff_stat d1 syn_cookies_sent) s0a=$(hoff_stat d1 accepted)
	s0e=$(hoff_stat d1 established) s0r=$(hoff_stat d1 requests_sent)
	s0cl=$(hoff_stat t1 tgt_claimed) s0rb=$(hoff_stat d1 request_bytes)
	nt_log "$tg: d1 before: $(hoff_stats d1)"
	# the access logs from here on (the servers append: emptying them is safe)
	for w in "$NT_WORK"/hoff-access-t*.log; do : >"$w"; done
	n=0	# connections made to VIPA:80 in this scenario
	# by path: /static/ -> t1 (three connections)
	out=""
	for i in 1 2 3; do out="$out $(hoff_get "$(hoff_url "$vip" /static/p$i)" | \
		awk '{print $1; exit}')"; n=$((n + 1)); done
	nt_check "${tg}_route_path" "/static/ answered by:$out (want t1 t1 t1)" \
		[ "$out" = " t1 t1 t1" ]
	# by host (case and port do not matter) -> t2
	w=$(hoff_who "$(hoff_url "$vip" /any)" -H "Host: api.example.com")
	nt_check "${tg}_route_host" "Host api.example.com answered by $w (want t2)" [ "$w" = t2 ]
	w=$(hoff_who "$(hoff_url "$vip" /any)" -H "Host: API.Example.COM:80")
	n=$((n + 2))
	nt_check "${tg}_route_host_case_port" "Host API.Example.COM:80 answered by $w (want t2)" \
		[ "$w" = t2 ]
	# none matches -> the service's targets (t3); "/static" is not under "/static/"
	out="$(hoff_who "$(hoff_url "$vip" /other)") $(hoff_who "$(hoff_url "$vip" /static)")"
	out="$out $(hoff_who "$(hoff_url "$vip" /x)" -H "Host: www.example.com")"
	n=$((n + 3))
	nt_check "${tg}_route_unmatched" "unmatched requests answered by: $out (want t3 t3 t3)" \
		[ "$out" = "t3 t3 t3" ]
	# the application saw the client's own address
	w=$(hoff_get "$(hoff_url "$vip" /static/addr)")
	n=$((n + 1))
	nt_check "${tg}_real_client_address" "t1 answered '$w' (want the address $cip)" \
		[ "$(echo "$w" | awk '{print $2}')" = "$cip" ]
	bad=$(cat "$NT_WORK"/hoff-access-t*.log 2>/dev/null | awk -v c="$cip" '$1 != c' | wc -l)
	nt_check "${tg}_access_logs_real_client" "$bad requests logged from another address than $cip" \
		[ "$bad" -eq 0 ]
	# keep-alive: three URLs on one connection; the first decides for all
	out=$(nt_x c curl -sS -m 15 --connect-timeout 5 -w 'NC %{num_connects}\n' \
		"$(hoff_url "$vip" /static/k1)" "$(hoff_url "$vip" /other/k2)" \
		"$(hoff_url "$vip" /k3)" 2>&1)
	n=$((n + 1))
	who=$(echo "$out" | awk '$1 != "NC" {printf "%s ", $1}')
	nc=$(echo "$out" | awk '$1 == "NC" {s += $2} END {print s + 0}')
	nt_check "${tg}_keepalive_first_target" "answers: $who (want t1 t1 t1)" \
		[ "$who" = "t1 t1 t1 " ]
	nt_check "${tg}_keepalive_one_connection" "curl made $nc connections for 3 URLs (want 1)" \
		[ "$nc" = 1 ]
	out=$(nt_x c curl -sS -m 15 --connect-timeout 5 -w 'NC %{num_connects}\n' \
		"$(hoff_url "$vip" /other/k1)" "$(hoff_url "$vip" /static/k2)" 2>&1)
	n=$((n + 1))
	who=$(echo "$out" | awk '$1 != "NC" {printf "%s ", $1}')
	nc=$(echo "$out" | awk '$1 == "NC" {s += $2} END {print s + 0}')
	nt_check "${tg}_keepalive_first_target_t3" \
		"answers: $who, $nc connections (want t3 t3, 1 connection)" [ "$who/$nc" = "t3 t3 /1" ]
	# pipelined: three requests in one segment, answered in order by the first one's target
	out=$(hoff_client pipe "$vip" 80 /static/q1 /other/q2 /q3 2>&1 | awk '{printf "%s:%s ", $1, $3}')
	n=$((n + 1))
	nt_check "${tg}_pipelined" "answers: $out (want t1:/static/q1 t1:/other/q2 t1:/q3)" \
		[ "$out" = "t1:/static/q1 t1:/other/q2 t1:/q3 " ]
	# a connection held open: d1 lists it as a handoff entry
	stop=$NT_WORK/hold-$tg.stop
	rm -f "$stop"
	nt_bg c "hold-$tg" "$PY" -u "$HOFF_CLIENT" hold "$vip" 80 /static/held "$stop"
	n=$((n + 1))
	nt_wait_until 15 grep -q . "$NT_WORK/hold-$tg.log"
	nt_wait_until 5 eval '[ -n "$(hoff_conns d1 '"$cip"')" ]'
	hoff_conns d1 "$cip" >"$NT_WORK/conns-$tg.json"
	nt_log "$tg: d1's handoff entries of $cip: $(head -c 600 "$NT_WORK/conns-$tg.json")"
	nt_check "${tg}_conns_shows_handoff" "d1's clusterctl conns --json has no handoff entry for \
$cip (its rows: $(hoff_rows d1 "$cip"))" [ -s "$NT_WORK/conns-$tg.json" ]
	# the window t1 advertises reaches the client rescaled from t1's scale to the front-end's:
	# the client's snd_wnd and t1's rcv_ssthresh agree within a factor of 2 (not 8: scales
	# 10 and 7 here)
	cw=$(nt_x c ss -Htin state established '( dport = :80 )' | grep -o 'snd_wnd:[0-9]*' | \
		head -n 1 | cut -d: -f2)
	tw=$(nt_x t1 ss -Htin state established '( sport = :8080 )' | grep -o 'rcv_ssthresh:[0-9]*' | \
		head -n 1 | cut -d: -f2)
	nt_log "$tg: held connection: the client's snd_wnd ${cw:-?}, t1's rcv_ssthresh ${tw:-?}" \
		"(t1: $(nt_x t1 ss -Htin state established '( sport = :8080 )' | grep -o 'wscale:[0-9,]*'))"
	nt_check "${tg}_window_rescaled" "the client's snd_wnd ${cw:-?} vs t1's rcv_ssthresh \
${tw:-?} (want within a factor of 2)" \
		[ "${cw:-0}" -gt 0 -a "${tw:-0}" -gt 0 -a $((${cw:-0} * 2)) -ge "${tw:-0}" -a \
		$((${tw:-0} * 2)) -ge "${cw:-0}" ]
	touch "$stop"
	nt_wait_until 15 eval '[ "$(grep -c . "$NT_WORK/hold-$tg.log")" -ge 2 ]'
	out=$(awk '{printf "%s ", $1}' "$NT_WORK/hold-$tg.log")
	nt_check "${tg}_held_connection" "answers on the held connection: $out (want t1 t1)" \
		[ "$out" = "t1 t1 " ]
	nt_stop "hold-$tg"
	# the counters moved with the connections (n of them, 7 to t1)
	nt_log "$tg: $n connections; d1 after: $(hoff_stats d1)"
	nt_log "$tg: t1: $(hoff_stats t1)"
	nt_check "${tg}_stat_syn_cookies" "handoff.syn_cookies_sent $s0c -> \
$(hoff_stat d1 syn_cookies_sent) after $n connections" hoff_delta_ge d1 syn_cookies_sent "$s0c" "$n"
	nt_check "${tg}_stat_accepted" "handoff.accepted $s0a -> $(hoff_stat d1 accepted)" \
		hoff_delta_ge d1 accepted "$s0a" "$n"
	nt_check "${tg}_stat_established" "handoff.established $s0e -> $(hoff_stat d1 established)" \
		hoff_delta_ge d1 established "$s0e" "$n"
	nt_check "${tg}_stat_requests_sent" "handoff.requests_sent $s0r -> \
$(hoff_stat d1 requests_sent)" hoff_delta_ge d1 requests_sent "$s0r" "$n"
	nt_check "${tg}_stat_request_bytes" "handoff.request_bytes $s0rb -> \
$(hoff_stat d1 request_bytes)" hoff_delta_ge d1 request_bytes "$s0rb" $((n * 40))
	nt_check "${tg}_stat_t1_claimed" "t1's handoff.tgt_claimed $s0cl -> \
$(hoff_stat t1 tgt_claimed) (7 connections went to t1)" hoff_delta_ge t1 tgt_claimed "$s0cl" 7
	nt_check "${tg}_stat_responses_at_target" "t1's handoff.tgt_payload_bytes = \
$(hoff_stat t1 tgt_payload_bytes) (the responses t1 translated; want > 0)" \
		[ "$(hoff_num "$(hoff_stat t1 tgt_payload_bytes)")" -gt 0 ]
	nt_check "${tg}_stat_no_failures" "d1: handoff.no_target $(hoff_stat d1 no_target), \
failed $(hoff_stat d1 failed), bad_request $(hoff_stat d1 bad_request)" \
		[ "$(hoff_stat d1 no_target)/$(hoff_stat d1 failed)/$(hoff_stat d1 bad_request)" = 0/0/0 ]
}

# hoff_dl_check TAG URL SHA: one download from the client, byte-exact (and the FE's counters of
# response payload still 0); non-zero when it was not byte-exact.
hoff_dl_check()
{
	local tg=$1 url=$2 sha=$3 f=$NT_WORK/dl.out got info fb0 tb0 fb tb size
	fb0=$(hoff_num "$(hoff_stat d1 forwarded_payload_bytes)")
	tb0=$(hoff_num "$(hoff_stat t1 tgt_payload_bytes)")
	rm -f "$f"
	info=$(hoff_download "$url" "$f" 2>&1)
	got=$([ -f "$f" ] && hoff_sha "$f")
	nt_log "$tg: $info"
	nt_check "${tg}_byte_exact" "sha256 ${got:-none} (want $sha): $info" [ "$got" = "$sha" ]
	nt_check "${tg}_fe_nft_no_payload" "d1's nft counters: response segments in \
$(hoff_nft d1 resp_in), out $(hoff_nft d1 resp_out) (want 0 0)" \
		[ "$(hoff_nft d1 resp_in)/$(hoff_nft d1 resp_out)" = 0/0 ]
	# The daemons' own account: the front-end carried the client's bytes only (a request
	# head), the target translated the whole response (its retransmissions may add more).
	fb=$(( $(hoff_num "$(hoff_stat d1 forwarded_payload_bytes)") - fb0 ))
	tb=$(( $(hoff_num "$(hoff_stat t1 tgt_payload_bytes)") - tb0 ))
	size=$(stat -c %s "$f" 2>/dev/null || echo 0)
	nt_check "${tg}_fe_stat_no_payload" "d1 forwarded $fb payload bytes of the client's, t1 \
translated $tb of response for a $size-byte file (want d1 < 64 KiB, t1 >= the file)" \
		[ "$fb" -ge 0 ] && [ "$fb" -lt 65536 ] && [ "$tb" -ge "$size" ] && [ "$size" -gt 0 ]
	[ "$got" = "$sha" ]
}

# hoff_large_checks VIP MB TAG: a file of MB MiB, byte-exact through the VIPA: plainly, with the
# client's timestamps, SACK and window scaling each turned off, and under 2 % loss each way;
# with loss towards the client, t1 (the sender) must have retransmitted, recovered with SACK
# and discarded no SACK block (a SACK block left untranslated is discarded as invalid).
hoff_large_checks()
{
	local vip=$1 mb=$2 tg=$3 sha url k lost fwd0 re0 sd0 sr0 re sd sr i
	hoff_mkfile big.bin "$mb"
	sha=$(hoff_sha "$HOFF_WWW/big.bin")
	url=$(hoff_url "$vip" /static/big.bin)
	hoff_nft_on d1 "$NT_VIP4" "$NT_VIP6" || { nt_fail "${tg}_nft" "counters on d1"; return; }
	# positive control: a response that does reach d1 is counted (d1's own request to a server
	# on t1:80, outside clusterd's business: t1's clusterd takes every reply from 8080)
	hoff_http_start t1 80 || nt_fail "${tg}_nft_control" "no server on t1:80"
	nt_x d1 curl -sS -m 5 -o /dev/null "http://${NT_IP4[t1]}:80/control" 2>/dev/null
	nt_check "${tg}_nft_counts_responses" "d1's counter of response segments in: \
$(hoff_nft d1 resp_in) after d1's own GET from t1:80 (want > 0)" [ "$(hoff_nft d1 resp_in)" -gt 0 ]
	nt_stop hoff-http-t1-80
	hoff_nft_reset d1
	[ "$(hoff_nft d1 resp_in)" = 0 ] || nt_fail "${tg}_nft_reset" "resp_in $(hoff_nft d1 resp_in)"
	hoff_nft_tgt_on t1 || nt_fail "${tg}_nft_t1" "counters on t1"
	fwd0=$(hoff_stat d1 forwarded)
	hoff_dl_check "${tg}" "$url" "$sha"
	nt_check "${tg}_nft_sees_requests" "d1's nft counter of request segments to the VIPA: \
$(hoff_nft d1 req_in) (want > 0: the counters see the FE's traffic)" [ "$(hoff_nft d1 req_in)" -gt 0 ]
	nt_check "${tg}_fe_forwarded_acks" "d1's handoff.forwarded $fwd0 -> \
$(hoff_stat d1 forwarded) (the client's ACKs of $mb MiB)" hoff_delta_ge d1 forwarded "$fwd0" "$mb"
	nt_check "${tg}_served_by_t1" "t1's access log has no GET /static/big.bin" \
		grep -q ' GET /static/big.bin ' "$NT_WORK/hoff-access-t1.log"
	# t1's replies all left translated (from VIPA:80), none from its own port 8080
	nt_check "${tg}_t1_translated_all" "t1 sent $(hoff_nft t1 xlated) segments with payload from \
port 80 (want > 0) and $(hoff_nft t1 leak) from its port 8080 (want 0)" \
		[ "$(hoff_nft t1 xlated)" -gt 0 -a "$(hoff_nft t1 leak)" = 0 ]
	for k in tcp_timestamps tcp_sack tcp_window_scaling; do
		nt_x c sysctl -qw "net.ipv4.$k=0" >/dev/null
		hoff_dl_check "${tg}_no_${k#tcp_}" "$url" "$sha"
		nt_x c sysctl -qw "net.ipv4.$k=1" >/dev/null
	done
	for k in in out; do
		re0=$(hoff_tcpstat t1 TcpRetransSegs) sd0=$(hoff_tcpstat t1 TcpExtTCPSACKDiscard)
		sr0=$(hoff_tcpstat t1 TcpExtTCPSackRecovery)
		hoff_loss "$k" || { nt_fail "${tg}_loss_$k" "no loss rule on the router"; continue; }
		# again (3 times at most) while the loss missed the data: a small file is few
		# packets (GSO), and the 1 in 50 may fall on none of the data segments
		for i in 1 2 3; do
			hoff_dl_check "${tg}_loss_$k" "$url" "$sha" || break
			lost=$(hoff_lost)
			[ "${lost:-0}" -gt 0 ] || continue
			[ "$k" = in ] || [ "$(hoff_tcpstat t1 TcpRetransSegs)" -gt "$re0" -a \
				"$(hoff_tcpstat t1 TcpExtTCPSackRecovery)" -gt "$sr0" ] && break
		done
		hoff_loss_off
		re=$(hoff_tcpstat t1 TcpRetransSegs) sd=$(hoff_tcpstat t1 TcpExtTCPSACKDiscard)
		sr=$(hoff_tcpstat t1 TcpExtTCPSackRecovery)
		nt_log "${tg}_loss_$k: router dropped $lost; t1: TcpRetransSegs +$((re - re0))," \
			"TcpExtTCPSackRecovery +$((sr - sr0)), TcpExtTCPSACKDiscard +$((sd - sd0))"
		nt_check "${tg}_loss_${k}_no_leak" "t1 sent $(hoff_nft t1 leak) segments from its \
port 8080 (want 0: retransmissions are translated too)" [ "$(hoff_nft t1 leak)" = 0 ]
		nt_check "${tg}_loss_${k}_happened" "the router dropped ${lost:-no} packets" \
			[ "${lost:-0}" -gt 0 ]
		# the client's SACK blocks reach t1 translated into its sequence space: none
		# discarded as invalid
		nt_check "${tg}_loss_${k}_sack_valid" "t1 discarded $((sd - sd0)) SACK blocks \
(TcpExtTCPSACKDiscard)" [ "$sd" -ge 0 -a $((sd - sd0)) -eq 0 ]
		[ "$k" = out ] && nt_check "${tg}_loss_out_recovered" "t1 retransmitted \
$((re - re0)) segments, SACK recoveries +$((sr - sr0)) (want both > 0: the client's SACKs \
drove the recovery)" [ $((re - re0)) -gt 0 -a $((sr - sr0)) -gt 0 ]
	done
}
