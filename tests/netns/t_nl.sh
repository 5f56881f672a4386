#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nl_smoke: vipaddr (add/del/present/announce) and listen_scan in a scratch
# network namespace.  Needs root, iproute2, python3 and tests/netns/nl_tool
# (`make check` or `make netns-tools` builds it): NL_TOOL, else the one beside
# $CLUSTERD's build (tests/run passes it); without it the test skips (exit 77).
# Prints "N passed, N failed"; exits non-zero on any failure.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
NS="nlsmoke-$$-$RANDOM"
TMPD=$(mktemp -d /tmp/nl_smoke.XXXXXX)
PY=$(python3 -c 'import sys; print(sys.executable)')
VIP4=10.9.0.100
VIP6=fd00::100
PIDS=()
pass=0
fail=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$TMPD"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok   - $*"; }
ko() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else ko "$desc"; fi
}
in_ns() { ip netns exec "$NS" "$@"; }

TOOL=${NL_TOOL:-$(dirname "${CLUSTERD:-$TOP/clusterd}")/tests/netns/nl_tool}
if [ ! -x "$TOOL" ]; then
	echo "SKIP: t_nl: no nl_tool at $TOOL (make netns-tools, then NL_TOOL=PATH)"
	exit 77
fi
tool() { in_ns "$TOOL" "$@"; }

# refused RC TEXT ARGS...: nl_tool ARGS answers "no" the way it is written to: exit RC exactly,
# no sanitizer report (reports exit 99 here: their default, 1, is a refusal's), and stderr
# holds the fixed string TEXT, or is empty when TEXT is "".  A crash is not a "no".
refused() {
	local want=$1 text=$2 rc=0
	shift 2
	in_ns env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=99" \
		"$TOOL" "$@" >/dev/null 2>"$TMPD/refused.err" || rc=$?
	if grep -qE 'Sanitizer|runtime error:' "$TMPD/refused.err"; then
		echo "    nl_tool $*: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' \
			"$TMPD/refused.err")"
		return 1
	fi
	if [ "$rc" -ne "$want" ]; then
		echo "    nl_tool $*: exit $rc, want $want: $(head -c 200 "$TMPD/refused.err")"
		return 1
	fi
	if [ -z "$text" ] && [ -s "$TMPD/refused.err" ]; then
		echo "    nl_tool $*: unexpected stderr: $(head -c 200 "$TMPD/refused.err")"
		return 1
	fi
	if [ -n "$text" ] && ! grep -qF -- "$text" "$TMPD/refused.err"; then
		echo "    nl_tool $*: stderr lacks '$text': $(head -c 200 "$TMPD/refused.err")"
		return 1
	fi
	return 0
}

ip netns add "$NS"
in_ns sysctl -qw net.ipv6.conf.all.ndisc_notify=0 net.ipv6.conf.default.ndisc_notify=0
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
ip -n "$NS" addr add 10.9.0.1/24 dev v0
ip -n "$NS" addr add fd00::1/64 dev v0 nodad
MAC=$(in_ns cat /sys/class/net/v0/address)

# --- vipaddr: add ----------------------------------------------------------
check "add $VIP4" tool add v0 $VIP4
check "add $VIP4 again (already present = success)" tool add v0 $VIP4
check "add $VIP6" tool add v0 $VIP6
check "add $VIP6 again" tool add v0 $VIP6
A4=$(ip -n "$NS" -4 -o addr show dev v0)
A6=$(ip -n "$NS" -6 -o addr show dev v0)
check "ip addr shows $VIP4/32" grep -q "inet $VIP4/32 " <<<"$A4"
check "ip addr shows $VIP6/128" grep -q "inet6 $VIP6/128 " <<<"$A6"
check "$VIP6 is nodad and noprefixroute" \
	grep -Eq "inet6 $VIP6/128 .*nodad.*noprefixroute" <<<"$A6"
check "$VIP6 is not tentative right after add" \
	bash -c "! grep 'inet6 $VIP6/128 ' <<<'$A6' | grep -q tentative"
check "no prefix route for $VIP6" \
	bash -c "! ip -n '$NS' -6 route show table main | grep -q '^$VIP6 '"
check "present $VIP4 on v0" tool present v0 $VIP4
check "present $VIP6 on v0" tool present v0 $VIP6
check "not present $VIP6 on v1" refused 1 "" present v1 $VIP6
check "not present 10.9.0.99 on v0" refused 1 "" present v0 10.9.0.99
check "add on a missing interface fails" \
	refused 1 "nl_tool: add $VIP4/32 to nosuch0: No such device" add nosuch0 $VIP4
check "ARP announce on loopback is refused" \
	refused 1 "nl_tool: lo: gratuitous ARP needs an Ethernet link" announce lo $VIP4

# --- vipaddr: announce, captured on the peer -------------------------------
cat >"$TMPD/cap.py" <<'PYEOF'
import socket, struct, sys, time, os

ifname, vip4, vip6, mac, ready = sys.argv[1:6]
mac_b = bytes.fromhex(mac.replace(':', ''))
v4 = socket.inet_aton(vip4)
v6 = socket.inet_pton(socket.AF_INET6, vip6)
allnodes = socket.inet_pton(socket.AF_INET6, 'ff02::1')
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
s.settimeout(0.2)
open(ready, 'w').close()
arp, na = {}, []
end = time.time() + 5
while time.time() < end and not (1 in arp and 2 in arp and na):
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    et = struct.unpack('!H', f[12:14])[0]
    if et == 0x0806 and len(f) >= 42:
        arp[struct.unpack('!H', f[20:22])[0]] = f
    elif et == 0x86dd and len(f) >= 54 and f[20] == 58 and f[54] == 136:
        na.append(f)

res = []
def chk(name, cond):
    res.append(cond)
    print(('ok   - ' if cond else 'FAIL - ') + name)

def icmp6_sum(src, dst, body):
    d = src + dst + struct.pack('!IxxxB', len(body), 58) + body
    if len(d) % 2:
        d += b'\0'
    t = sum(struct.unpack('!%dH' % (len(d) // 2), d))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return t

for op, name, tha in ((1, 'request', b'\0' * 6), (2, 'reply', mac_b)):
    f = arp.get(op)
    chk('gratuitous ARP %s captured' % name, f is not None)
    if f is None:
        continue
    chk('ARP %s: broadcast from %s' % (name, mac), f[0:6] == b'\xff' * 6 and f[6:12] == mac_b)
    chk('ARP %s: htype 1 ptype 0x0800 hlen 6 plen 4' % name,
        f[14:20] == bytes([0, 1, 8, 0, 6, 4]))
    chk('ARP %s: sender %s/%s, target ip %s' % (name, mac, vip4, vip4),
        f[22:28] == mac_b and f[28:32] == v4 and f[38:42] == v4)
    chk('ARP %s: target mac %s' % (name, tha.hex()), f[32:38] == tha)

chk('unsolicited NA captured (exactly one)', len(na) == 1)
if na:
    f = na[0]
    ip6 = f[14:54]
    plen = struct.unpack('!H', ip6[4:6])[0]
    body = f[54:54 + plen]
    chk('NA: ethernet 33:33:00:00:00:01 from %s' % mac,
        f[0:6] == bytes.fromhex('333300000001') and f[6:12] == mac_b)
    chk('NA: ipv6 hop limit 255', ip6[7] == 255)
    chk('NA: to ff02::1 from %s' % vip6, ip6[24:40] == allnodes and ip6[8:24] == v6)
    chk('NA: 32 bytes, code 0', plen == 32 and body[1] == 0)
    chk('NA: flags O only (0x20), reserved zero', body[4:8] == bytes([0x20, 0, 0, 0]))
    chk('NA: target %s' % vip6, body[8:24] == v6)
    chk('NA: TLLA option type 2 len 1 = %s' % mac, body[24:26] == bytes([2, 1]) and
        body[26:32] == mac_b)
    chk('NA: icmpv6 checksum verifies', icmp6_sum(ip6[8:24], ip6[24:40], body) == 0xffff)
sys.exit(0 if all(res) else 1)
PYEOF
ip netns exec "$NS" "$PY" "$TMPD/cap.py" v1 $VIP4 $VIP6 "$MAC" "$TMPD/ready" >"$TMPD/cap.out" 2>&1 &
CAP=$!
PIDS+=("$CAP")
for _ in $(seq 50); do [ -e "$TMPD/ready" ] && break; sleep 0.1; done
check "announce $VIP4" tool announce v0 $VIP4
check "announce $VIP6" tool announce v0 $VIP6
wait "$CAP" || true
cat "$TMPD/cap.out"
pass=$((pass + $(grep -c '^ok ' "$TMPD/cap.out" || true)))
fail=$((fail + $(grep -c '^FAIL' "$TMPD/cap.out" || true)))
grep -q '^ok ' "$TMPD/cap.out" || ko "capture produced no results"

# --- vipaddr: delete -------------------------------------------------------
check "del $VIP4" tool del v0 $VIP4
check "del $VIP6" tool del v0 $VIP6
check "del $VIP4 again (absent = success)" tool del v0 $VIP4
check "del $VIP6 again" tool del v0 $VIP6
check "ip addr no longer shows $VIP4" \
	bash -c "! ip -n '$NS' -4 -o addr show dev v0 | grep -q 'inet $VIP4/'"
check "ip addr no longer shows $VIP6" \
	bash -c "! ip -n '$NS' -6 -o addr show dev v0 | grep -q 'inet6 $VIP6/'"
check "present $VIP4 now false" refused 1 "" present v0 $VIP4
check "present $VIP6 now false" refused 1 "" present v0 $VIP6
check "other addresses untouched" tool present v0 10.9.0.1

# --- listen_scan ------------------------------------------------------------
# scan_is "EXPECTED" SPEC...: one listen_scan() call, output compared exactly.
scan_is() {
	local want=$1 got i
	shift
	for i in $(seq 50); do
		got=$(tool listen "$@" | awk '{ printf "%s ", $2 }')
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	echo "    listen $*: want '$want' got '$got'"
	return 1
}
# Not through in_ns: $! must be the python process itself (ip execs it).
bg() {
	ip netns exec "$NS" "$PY" "$@" >/dev/null 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

check "nothing listens yet" scan_is "0 0 0 0 " tcp4:8080 tcp6:8080 udp4:5353 udp6:5353
# http.server on :: turns IPV6_V6ONLY off: a dual-stack listener.
bg -m http.server --bind :: 8080
HTTP=$LAST
check "http.server (dual-stack ::) seen for tcp4 and tcp6 only" \
	scan_is "1 1 0 0 0 " tcp4:8080 tcp6:8080 udp4:8080 udp6:8080 tcp4:8081
stop "$HTTP"
check "http.server stopped: gone" scan_is "0 0 " tcp4:8080 tcp6:8080

bg -m http.server --bind 0.0.0.0 8081
HTTP=$LAST
check "http.server on 0.0.0.0: tcp4 yes, tcp6 no" scan_is "1 0 " tcp4:8081 tcp6:8081
stop "$HTTP"
check "http.server on 0.0.0.0 stopped" scan_is "0 " tcp4:8081

bg -m http.server --bind 127.0.0.1 8082
HTTP=$LAST
bg -c 'import socket,time
s=socket.socket(socket.AF_INET,socket.SOCK_STREAM); s.bind(("10.9.0.1",8083)); s.listen()
time.sleep(60)'
L1=$LAST
bg -c 'import socket,time
s=socket.socket(socket.AF_INET6,socket.SOCK_STREAM); s.bind(("::ffff:10.9.0.1",8084)); s.listen()
time.sleep(60)'
L2=$LAST
check "tcp on node address seen, loopback-only not, v4-mapped counts as v4" \
	scan_is "0 1 1 0 " tcp4:8082 tcp4:8083 tcp4:8084 tcp6:8084
stop "$HTTP"; stop "$L1"; stop "$L2"

UDP='import socket,sys,time
fam=socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s=socket.socket(fam,socket.SOCK_DGRAM)
if fam==socket.AF_INET6: s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,int(sys.argv[3]))
s.bind((sys.argv[1],int(sys.argv[2])))
if len(sys.argv)>4: s.connect(("127.0.0.1",9))
time.sleep(60)'
bg -c "$UDP" 0.0.0.0 5353 0
U1=$LAST
check "udp bound 0.0.0.0:5353: udp4 yes, udp6 no, tcp4 no" \
	scan_is "1 0 0 " udp4:5353 udp6:5353 tcp4:5353
stop "$U1"
check "udp 5353 closed: gone" scan_is "0 " udp4:5353
bg -c "$UDP" :: 5354 1
U2=$LAST
bg -c "$UDP" :: 5355 0
U3=$LAST
bg -c "$UDP" 0.0.0.0 5356 0 connect
U4=$LAST
check "udp [::]:5354 v6only: udp6 only; [::]:5355 dual: both; connected: none" \
	scan_is "1 0 1 1 0 " udp6:5354 udp4:5354 udp6:5355 udp4:5355 udp4:5356
stop "$U2"; stop "$U3"; stop "$U4"
check "all udp closed" scan_is "0 0 0 0 " udp6:5354 udp4:5354 udp6:5355 udp4:5355

# --- listen_conns -----------------------------------------------------------
cat >"$TMPD/conn.py" <<'PYEOF'
import os, socket, sys, threading, time

def hold(c):
    # Close on EOF so that the server side does not linger in CLOSE_WAIT.
    while c.recv(4096):
        pass
    c.close()

def done(path, text):
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(path + '.tmp', path)

mode = sys.argv[1]
if mode == 'srv':                       # srv ADDR PORT V6ONLY
    addr, port, v6only = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=hold, args=(c,), daemon=True).start()
elif mode == 'cli':                     # cli ADDR PORT N OUT: prints local ports
    addr, port, n, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    socks = []
    for _ in range(n):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.connect((addr, port))
        socks.append(c)
    done(out, ''.join('%d\n' % c.getsockname()[1] for c in socks))
    time.sleep(60)
elif mode == 'udp':                     # udp BIND PORT V6ONLY OUT [PEER PEERPORT]
    addr, port, v6only, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET6:
        u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    u.bind((addr, port))
    if len(sys.argv) > 7:
        u.connect((sys.argv[6], int(sys.argv[7])))
    done(out, '')
    time.sleep(60)
PYEOF
CONN="$TMPD/conn.py"
waitfile() {
	local i
	for i in $(seq 50); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "    $1 never appeared"
	return 1
}
# expect_lines FAM LOCAL LPORT REMOTE STATE PORTFILE: the lines listen_conns
# should print, one per client port in PORTFILE, sorted, then "count N".
expect_lines() {
	local p
	while read -r p; do
		echo "$1 $2 $3 $4 $p $5"
	done <"$6" | sort
	echo "count $(wc -l <"$6")"
}
# conns_are SPEC EXPECTED [MAX]: nl_tool conns output (lines sorted, count
# last) compared exactly, retried while sockets settle.
conns_are() {
	local spec=$1 want=$2 got i
	shift 2
	for i in $(seq 50); do
		got=$(tool conns "$spec" "$@") || got="(nl_tool failed)"
		got=$(grep -v '^count' <<<"$got" | sort; grep '^count' <<<"$got")
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	echo "    conns $spec $*: want:"
	sed 's/^/      /' <<<"$want"
	echo "    got:"
	sed 's/^/      /' <<<"$got"
	return 1
}
N=5
ESTAB=1

check "conns: nothing on 9001 yet" conns_are tcp4:9001 "count 0"
check "conns: port 0 is refused" refused 2 "usage: nl_tool" conns tcp4:0

# IPv4 server, IPv4 clients.
bg "$CONN" srv 10.9.0.1 9001 0
S1=$LAST
check "conns: v4 server listening" scan_is "1 " tcp4:9001
bg "$CONN" cli 10.9.0.1 9001 $N "$TMPD/c1"
C1=$LAST
check "conns: $N v4 clients connected" waitfile "$TMPD/c1"
check "conns: tcp4:9001 reports exactly the $N client ports" \
	conns_are tcp4:9001 "$(expect_lines 4 10.9.0.1 9001 10.9.0.1 $ESTAB "$TMPD/c1")"
check "conns: tcp6:9001 reports none" conns_are tcp6:9001 "count 0"
check "conns: udp4:9001 reports none" conns_are udp4:9001 "count 0"
check "conns: callback stop after 2 returns 2" \
	bash -c "[ \"\$(ip netns exec '$NS' '$TOOL' conns tcp4:9001 2 | tail -n 1)\" = 'count 2' ]"
# The filter is on the local port only: the client sockets (remote port
# 9001) were not in the 9001 answer, and a client's own port gives just it.
CP=$(head -n 1 "$TMPD/c1")
check "conns: tcp4:$CP is the one client socket (local $CP, remote 9001)" \
	conns_are tcp4:"$CP" "$(printf '4 10.9.0.1 %s 10.9.0.1 9001 %s\ncount 1' "$CP" $ESTAB)"

# IPv6-only server, IPv6 clients.
bg "$CONN" srv fd00::1 9002 1
S2=$LAST
check "conns: v6 server listening" scan_is "1 " tcp6:9002
bg "$CONN" cli fd00::1 9002 $N "$TMPD/c2"
C2=$LAST
check "conns: $N v6 clients connected" waitfile "$TMPD/c2"
check "conns: tcp6:9002 reports exactly the $N client ports" \
	conns_are tcp6:9002 "$(expect_lines 6 fd00::1 9002 fd00::1 $ESTAB "$TMPD/c2")"
check "conns: tcp4:9002 reports none" conns_are tcp4:9002 "count 0"

# Dual-stack server on ::, IPv4 clients (v4-mapped) and IPv6 clients.
bg "$CONN" srv :: 9003 0
S3=$LAST
check "conns: dual-stack server listening" scan_is "1 1 " tcp4:9003 tcp6:9003
bg "$CONN" cli 10.9.0.1 9003 $N "$TMPD/c3"
C3=$LAST
bg "$CONN" cli fd00::1 9003 2 "$TMPD/c4"
C4=$LAST
check "conns: mapped and v6 clients connected" \
	bash -c "$(declare -f waitfile); waitfile '$TMPD/c3' && waitfile '$TMPD/c4'"
check "conns: tcp4:9003 reports the $N v4-mapped clients as plain v4" \
	conns_are tcp4:9003 "$(expect_lines 4 10.9.0.1 9003 10.9.0.1 $ESTAB "$TMPD/c3")"
check "conns: tcp6:9003 reports only the 2 v6 clients" \
	conns_are tcp6:9003 "$(expect_lines 6 fd00::1 9003 fd00::1 $ESTAB "$TMPD/c4")"

# Clients close: the servers close on EOF, nothing is left.
stop "$C1"; stop "$C2"; stop "$C3"; stop "$C4"
check "conns: tcp4:9001 back to 0 after close" conns_are tcp4:9001 "count 0"
check "conns: tcp6:9002 back to 0 after close" conns_are tcp6:9002 "count 0"
check "conns: tcp4:9003 back to 0 after close" conns_are tcp4:9003 "count 0"
check "conns: tcp6:9003 back to 0 after close" conns_are tcp6:9003 "count 0"
stop "$S1"; stop "$S2"; stop "$S3"

# UDP: connected sockets count, a merely bound one does not.
bg "$CONN" udp 10.9.0.1 9004 0 "$TMPD/u1" 10.9.0.1 40004
U1=$LAST
bg "$CONN" udp 0.0.0.0 9005 0 "$TMPD/u2"
U2=$LAST
bg "$CONN" udp :: 9006 0 "$TMPD/u3" ::ffff:10.9.0.1 40006
U3=$LAST
bg "$CONN" udp fd00::1 9007 1 "$TMPD/u4" fd00::1 40007
U4=$LAST
check "conns: udp sockets ready" bash -c "$(declare -f waitfile); waitfile '$TMPD/u1' &&
	waitfile '$TMPD/u2' && waitfile '$TMPD/u3' && waitfile '$TMPD/u4'"
check "conns: udp4:9004 connected socket reported" \
	conns_are udp4:9004 "$(printf '4 10.9.0.1 9004 10.9.0.1 40004 %s\ncount 1' $ESTAB)"
check "conns: udp4:9005 bound, unconnected: none" conns_are udp4:9005 "count 0"
check "conns: udp4:9006 dual-stack connected to a mapped peer, reported as v4" \
	conns_are udp4:9006 "$(printf '4 10.9.0.1 9006 10.9.0.1 40006 %s\ncount 1' $ESTAB)"
check "conns: udp6:9006 none" conns_are udp6:9006 "count 0"
check "conns: udp6:9007 connected socket reported" \
	conns_are udp6:9007 "$(printf '6 fd00::1 9007 fd00::1 40007 %s\ncount 1' $ESTAB)"
check "conns: tcp6:9007 none" conns_are tcp6:9007 "count 0"
stop "$U1"; stop "$U2"; stop "$U3"; stop "$U4"
check "conns: udp closed: udp4:9004 0" conns_are udp4:9004 "count 0"
check "conns: udp closed: udp6:9007 0" conns_are udp6:9007 "count 0"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
