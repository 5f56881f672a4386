#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_tls: content routing for HTTPS without terminating TLS.  VIPA:443 is a handoff
# service with protocol = "tls": the front-end reads the ClientHello's server name and hands
# the connection to the rule's target, whose own TLS server answers (the front-end holds no
# certificate).  a.example -> t1, b.example -> t2, any other name -> the service's target t3.
# Checks: each name is answered by its target, over one TLS connection several requests (keep-
# alive) by the same one, a large download byte-exact, no handoff failure counted, and a
# connection that sends no TLS gets a RST without reaching any target.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"

nt_need curl openssl

# hoff_lib's cluster, plus VIPA:443 on the IPv4 VIPA.
tls_conf()
{
	"$PY" - "$NT_WORK/clusterd.conf" <<'PY'
import sys
f = sys.argv[1]
s = open(f).read()
svc = ('{ port = 443; protocol = "tcp"; targets = ( "t3" ); target_port = 8443;\n'
       '        handoff = { protocol = "tls"; rules = ( { host = "a.example"; targets = ( "t1" ); },\n'
       '                    { host = "b.example"; targets = ( "t2" ); } ); }; },\n      ')
anchor = '{ port = 5353; protocol = "udp";'
assert s.count(anchor) == 1
open(f, "w").write(s.replace(anchor, svc + anchor, 1))
PY
}

tls_server()
{
	local h=$1
	[ -f "$NT_WORK/tls_server.py" ] || cat >"$NT_WORK/tls_server.py" <<'PY'
import http.server, ssl, sys, os
name, crt, key, www = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"
	def do_GET(self):
		p = os.path.join(www, os.path.basename(self.path))
		if os.path.isfile(p):
			body = open(p, "rb").read()
		else:
			body = ("%s %s %s\n" % (name, self.client_address[0], self.path)).encode()
		self.send_response(200)
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)
	def log_message(self, *a):
		pass
srv = http.server.ThreadingHTTPServer(("", 8443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
	nt_bg "$h" "tls-$h" "$PY" -u "$NT_WORK/tls_server.py" "$h" "$NT_WORK/tls.crt" \
		"$NT_WORK/tls.key" "$HOFF_WWW"
	nt_wait_until 15 nt_listening "$h" tcp 8443
}

# tls_who NAME: who answered https://NAME/who through the VIPA.
tls_who()
{
	nt_x c curl -sk -m 5 --resolve "$1:443:$NT_VIP4" "https://$1/who" 2>/dev/null |
		awk '{print $1; exit}'
}

# The configuration hook also makes the targets' certificate (self-signed: the client is told
# not to check it; what matters is whose server answers).
tls_setup()
{
	tls_conf || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=example" \
		-keyout "$NT_WORK/tls.key" -out "$NT_WORK/tls.crt" >/dev/null 2>&1
}

HOFF_CONF_EDIT='tls_setup || { nt_fail setup "TLS service or certificate"; nt_finish; }'
hoff_cluster_up
for h in t1 t2 t3; do
	tls_server "$h" || { nt_fail setup "TLS server on $h"; nt_finish; }
done
nt_wait_until 30 eval '[ "$(tls_who a.example)" = t1 ] && [ "$(tls_who b.example)" = t2 ]' ||
	nt_log "the TLS rules' targets do not answer within 30 s"

f0=$(hoff_stat d1 failed) n0=$(hoff_stat d1 no_target) b0=$(hoff_stat d1 bad_request)
for i in 1 2 3; do
	nt_check "sni_a_$i" "a.example answered by $(tls_who a.example) (want t1)" \
		[ "$(tls_who a.example)" = t1 ]
	nt_check "sni_b_$i" "b.example answered by $(tls_who b.example) (want t2)" \
		[ "$(tls_who b.example)" = t2 ]
	nt_check "sni_other_$i" "c.example answered by $(tls_who c.example) (want t3)" \
		[ "$(tls_who c.example)" = t3 ]
done

# Keep-alive: three requests on one TLS connection, all answered by a.example's target.
out=$(nt_x c curl -sk -m 10 --resolve "a.example:443:$NT_VIP4" -w '%{num_connects}\n' \
	"https://a.example/k1" "https://a.example/k2" "https://a.example/k3" 2>/dev/null)
nt_check keepalive_same_target "answers: $(echo "$out" | tr '\n' '|')" \
	[ "$(echo "$out" | awk '/^t[0-9] /{print $1}' | sort -u | tr -d '\n')" = t1 ]
nt_check keepalive_one_connection "connections made: $(echo "$out" | grep -cx '[01]') lines" \
	[ "$(echo "$out" | grep -cx 1)" = 1 ]

# A large download, byte-exact, through a TLS connection the front-end never decrypts.
hoff_mkfile big.bin 20
sha=$(hoff_sha "$HOFF_WWW/big.bin")
rm -f "$NT_WORK/dl.bin"
nt_x c curl -sk -m 60 --resolve "b.example:443:$NT_VIP4" -o "$NT_WORK/dl.bin" \
	"https://b.example/big.bin" 2>/dev/null
got=$([ -f "$NT_WORK/dl.bin" ] && hoff_sha "$NT_WORK/dl.bin")
nt_check tls_download_byte_exact "sha256 ${got:-none} (want $sha)" [ "$got" = "$sha" ]

nt_check no_failures "d1: failed $f0 -> $(hoff_stat d1 failed), no_target $n0 -> \
$(hoff_stat d1 no_target), bad_request $b0 -> $(hoff_stat d1 bad_request)" \
	[ "$(hoff_stat d1 failed)/$(hoff_stat d1 no_target)/$(hoff_stat d1 bad_request)" = \
	  "$f0/$n0/$b0" ]

# Not TLS: the front-end resets it (a TLS service gets no HTTP answer) and counts it.
b0=$(hoff_stat d1 bad_request)
out=$(nt_x c "$PY" - "$NT_VIP4" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 443), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
try:
	d = s.recv(100)
	print("closed" if d == b"" else "data")
except ConnectionResetError:
	print("reset")
except socket.timeout:
	print("timeout")
PY
)
nt_check not_tls_reset "a plain HTTP request to the TLS service: $out (want reset)" [ "$out" = reset ]
nt_check not_tls_counted "bad_request $b0 -> $(hoff_stat d1 bad_request)" \
	[ "$(hoff_stat d1 bad_request)" -gt "$b0" ]
nt_finish
