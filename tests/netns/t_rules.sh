#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# rules_smoke: rules/ against the real kernel, in a scratch network namespace.
#
# For several nodes and worker counts: install the ruleset with libnftnl,
# check that `nft list table inet clusterd` reads back what --print-rules
# renders, that a failed install changes nothing, that VIPA traffic with no
# queue reader is dropped (not passed), and that remove leaves no table.
#
# Usage (root): tests/netns/t_rules.sh [path/to/rules_tool]
# Without an argument: RULES_TOOL, else tests/netns/rules_tool beside $CLUSTERD's
# build (`make check` or `make netns-tools` builds it; tests/run passes it); without
# one it skips (exit 77).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/rules_smoke.XXXXXX)
ns=rsmoke.$$
listener=
listener2=

cleanup() {
	[ -n "$listener" ] && kill "$listener" 2>/dev/null || true
	[ -n "$listener2" ] && kill "$listener2" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# exit 77: skipped (run.sh counts it so), like lib.sh's nt_need
for c in socat nft; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: t_rules: missing $c"; exit 77; }
done

tool=${1:-${RULES_TOOL:-$(dirname "${CLUSTERD:-$top/clusterd}")/tests/netns/rules_tool}}
if [ ! -x "$tool" ]; then
	echo "SKIP: t_rules: no rules_tool at $tool (make netns-tools, then RULES_TOOL=PATH)"
	exit 77
fi

ip netns add "$ns"
ip -n "$ns" link set lo up
nsx() { ip netns exec "$ns" "$@"; }

# What `nft list` prints differs from the rendering only in layout: a warning
# comment (a compat expression makes nft call the table iptables-nft's), a
# blank line between chains, `==` left out after a hash, and a counter's
# values (the fast path's rewrites count).  libxtables also complains on
# stderr about the inet family; that is dropped.
normalize() {
	grep -v -e '^#' -e '^[[:space:]]*$' |
		sed 's/ == / /; s/counter packets [0-9]* bytes [0-9]*/counter/'
}

listed() {
	nsx nft list table inet clusterd 2>/dev/null | normalize
}

mode=$(nsx "$tool" probe) || fail "probe"
echo "queue statement: $mode"
case $mode in native|compat) ;; *) fail "probe said '$mode'" ;; esac

n=0
for fp in 0 1; do
	export RULES_FASTPATH=$fp
	for node in d1 d2 t1 t2; do
		for w in 1 4; do
			"$tool" print "$node" "$w" 10 | normalize >"$tmp/want"
			nsx "$tool" install "$node" "$w" 10 "$mode" || fail "install $node w=$w fp=$fp"
			listed >"$tmp/got"
			if ! diff -u "$tmp/want" "$tmp/got"; then
				fail "listing differs from rendering for $node w=$w fastpath=$fp"
			fi
			n=$((n + 1))
		done
	done
done
export RULES_FASTPATH=0
echo "ok: $n installs read back as rendered (fast path off and on)"

# The fast path (rules_opts.fastpath) on t1: udp 53 (v4, the port stays)
# and tcp 8443 -> 443 (v6) are rewritten, tcp 80 (handoff) and SCTP stay
# queued, and no rewrite comes after a queue rule of the output chain.
RULES_FASTPATH=1 nsx "$tool" install t1 4 10 "$mode" || fail "install t1 with the fast path"
listed >"$tmp/got"
grep -q '^[[:space:]]*ip saddr 10.2.0.21 udp sport 53 notrack ip saddr set 10.2.0.100 counter accept$' \
	"$tmp/got" || fail "t1: no v4 UDP rewrite: $(grep ' set ' "$tmp/got")"
grep -q '^[[:space:]]*ip6 saddr fd00::21 tcp sport 8443 notrack ip6 saddr set fd00::100 tcp sport set 443 counter accept$' \
	"$tmp/got" || fail "t1: no v6 TCP rewrite: $(grep ' set ' "$tmp/got")"
[ "$(grep -c ' set ' "$tmp/got")" = 2 ] || fail "t1: rewrites other than udp 53 and tcp 8443"
grep -q 'tcp sport 8080 notrack jhash' "$tmp/got" || fail "t1: handoff's tcp 8080 not queued"
sed -n '/chain output/,/}/p' "$tmp/got" | awk '/queue num/ { q = 1 } / set / && q { exit 1 }' ||
	fail "t1: a rewrite after a queue rule in output"
# A reply from t1's address and port 53 leaves as 10.2.0.100:53, counted.
nsx ip addr add 10.2.0.21/32 dev lo
[ "$(nsx "$tool" counters 2>/dev/null)" = "packets 0 bytes 0 rules 2" ] ||
	fail "counters before traffic: $(nsx "$tool" counters 2>&1)"
got=$(nsx timeout 5 python3 -c '
import socket
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0)); r.settimeout(3)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.2.0.21", 53))
s.sendto(b"x" * 72, r.getsockname())
d, a = r.recvfrom(100)
print("%s:%d %d" % (a[0], a[1], len(d)))
') || fail "the UDP reply from 10.2.0.21:53 did not arrive"
[ "$got" = "10.2.0.100:53 72" ] || fail "the reply arrived as '$got', not from 10.2.0.100:53"
# 72 bytes of payload + 8 (UDP) + 20 (IP)
[ "$(nsx "$tool" counters 2>/dev/null)" = "packets 1 bytes 100 rules 2" ] ||
	fail "counters after one reply: $(nsx "$tool" counters 2>&1)"
echo "ok: the fast path rewrites t1's replies in the kernel and counts them ($(nsx "$tool" counters 2>&1 >/dev/null))"
RULES_FASTPATH=0 nsx "$tool" install t1 4 10 "$mode" || fail "install t1 without the fast path"
[ "$(nsx "$tool" counters 2>/dev/null)" = "packets 0 bytes 0 rules 0" ] ||
	fail "counters without the fast path: $(nsx "$tool" counters 2>&1)"
nsx ip addr del 10.2.0.21/32 dev lo
nsx "$tool" remove || fail "remove after the fast path checks"
[ "$(nsx "$tool" counters 2>/dev/null)" = "packets 0 bytes 0 rules 0" ] ||
	fail "counters without a table: $(nsx "$tool" counters 2>&1)"

# SCTP, as the kernel lists it: every SCTP rule is one rule to the first
# queue (worker 0 owns the associations), whatever the worker count, for the
# VIPA and its alternate address alike, on both distributors and both
# families; TCP stays split over the workers; the alternate gets SCTP and
# ICMP errors only.  A target's SCTP replies (t1: output) go to one queue too.
# count_lines PATTERN: the listed lines that match (grep -c, 0 without exit 1)
count_lines() { grep -c -e "$1" "$tmp/got" || true; }
for node in d1 d2; do
	nsx "$tool" install "$node" 4 10 "$mode" || fail "install $node w=4"
	listed >"$tmp/got"
	for a in "ip daddr 10.2.0.100" "ip daddr 10.2.0.101" "ip6 daddr fd00::100" \
		"ip6 daddr fd00::101"; do
		c=$(count_lines "^[[:space:]]*$a sctp dport 3868 notrack queue num 10\$")
		[ "$c" = 1 ] || fail "$node: $c rules '$a sctp dport 3868 ... queue num 10', not 1"
	done
	c=$(count_lines 'sctp.*jhash')
	[ "$c" = 0 ] || fail "$node: $c SCTP rules split over the workers"
	c=$(count_lines '^[[:space:]]*ip6\{0,1\} daddr [^ ]* sctp dport 3868 notrack queue')
	[ "$c" = 4 ] || fail "$node: $c queued SCTP rules in, not 4 (VIPA and alternate, v4, v6)"
	c=$(count_lines '^[[:space:]]*ip daddr 10.2.0.100 tcp dport 80 notrack jhash .* queue num 1[0-3]$')
	[ "$c" = 4 ] || fail "$node: $c TCP rules for 10.2.0.100:80, not one per worker (4)"
	c=$(count_lines '^[[:space:]]*ip daddr 10.2.0.101 icmp type .* queue num 1[0-3]$')
	[ "$c" = 4 ] || fail "$node: $c ICMP rules for the alternate address, not 4"
	c=$(count_lines 'daddr \(10.2.0.101\|fd00::101\) \(tcp\|udp\)')
	[ "$c" = 0 ] || fail "$node: TCP or UDP rules on the alternate address"
done
nsx "$tool" install t1 4 10 "$mode" || fail "install t1 w=4"
listed >"$tmp/got"
c=$(count_lines '^[[:space:]]*ip saddr 10.2.0.21 sctp sport 3868 notrack queue num 10$')
[ "$c" = 1 ] || fail "t1: $c output SCTP rules to queue 10, not 1"
c=$(count_lines 'sctp.*jhash')
[ "$c" = 0 ] || fail "t1: SCTP rules split over the workers"
grep -q '10.2.0.101\|fd00::101' "$tmp/got" && fail "t1 (a target only) matches an alternate address"
nsx "$tool" remove || fail "remove after the SCTP checks"
echo "ok: SCTP is one rule to the first queue, the alternate address queued like the VIPA"

# SCTP to the alternate address with no queue reader must be dropped by d1's
# rules, not passed.  An observer table (priority filter, after raw) counts
# what got past raw: SCTP to the alternate address and, as the control, to an
# address no rule names.  Raw IP sockets send them: this kernel may have no
# SCTP, but netfilter matches protocol 132 all the same.
nsx ip addr add 10.2.0.101/32 dev lo
nsx ip addr add 10.2.0.102/32 dev lo
nsx ip -6 addr add fd00::101/128 dev lo nodad
nsx ip -6 addr add fd00::102/128 dev lo nodad
nsx nft -f - <<'NFT' || fail "observer table"
table inet obs {
	chain pre {
		type filter hook prerouting priority filter; policy accept;
		ip daddr 10.2.0.101 meta l4proto sctp counter
		ip daddr 10.2.0.102 meta l4proto sctp counter
		ip6 daddr fd00::101 meta l4proto sctp counter
		ip6 daddr fd00::102 meta l4proto sctp counter
	}
}
NFT
# seen ADDR: packets the observer counted to ADDR
seen() {
	nsx nft list chain inet obs pre | grep "daddr $1 " | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
# sctp_to ADDR: one SCTP packet (common header + an INIT-sized chunk) to ADDR:3868
sctp_to() {
	nsx python3 -c '
import socket, struct, sys
a = sys.argv[1]
fam = socket.AF_INET6 if ":" in a else socket.AF_INET
s = socket.socket(fam, socket.SOCK_RAW, 132)
pkt = struct.pack("!HHII", 40000, 3868, 0, 0) + struct.pack("!BBH", 1, 0, 20) + bytes(16)
s.sendto(pkt, (a, 0))
' "$1" || fail "sending SCTP to $1"
}
# wait_seen ADDR N: bounded wait (5 s) until the observer counted N to ADDR
wait_seen() {
	i=0
	until [ "$(seen "$1")" = "$2" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "observer counted $(seen "$1") packets to $1, not $2"
		sleep 0.05
	done
}
for f in 4 6; do
	if [ $f = 4 ]; then alt=10.2.0.101 ctl=10.2.0.102; else alt=fd00::101 ctl=fd00::102; fi
	# without rules both arrive: the observer sees what passes
	sctp_to "$alt"
	sctp_to "$ctl"
	wait_seen "$alt" 1
	wait_seen "$ctl" 1
	nsx "$tool" install d1 4 0 "$mode" || fail "install d1 w=4"
	sctp_to "$alt"
	sctp_to "$ctl"
	wait_seen "$ctl" 2	# sent after the packet to the alternate: that one is through raw
	[ "$(seen "$alt")" = 1 ] || fail "SCTP to the alternate $alt passed with no queue reader"
	nsx "$tool" remove || fail "remove d1"
done
nsx nft delete table inet obs
echo "ok: SCTP to the alternate address without a reader is dropped (v4, v6)"
# back to a table in place, as the read-back loop left it: the replace below
# must go on top of an existing table
nsx "$tool" install t2 4 10 "$mode" || fail "install t2 w=4"

# Replacing works on top of an existing table and leaves only the new one.
nsx "$tool" install t1 1 0 "$mode" || fail "install t1 again"
"$tool" print t1 1 0 | normalize >"$tmp/want"
listed >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" || fail "replace"
echo "ok: replace"

# Atomicity: on a kernel without nft_queue, a native install is refused by
# the kernel half-way through the batch; the old table must be untouched.
if [ "$mode" = compat ]; then
	if nsx "$tool" install d1 4 0 native 2>"$tmp/err"; then
		fail "native install succeeded on a compat-only kernel"
	fi
	grep -q "kernel refused" "$tmp/err" || fail "error text: $(cat "$tmp/err")"
	listed >"$tmp/got"
	diff -u "$tmp/want" "$tmp/got" || fail "failed install changed the table"
	echo "ok: failed install changed nothing ($(cat "$tmp/err"))"
fi

# No reader on the queue: a TCP connection to the VIPA must not get through.
# Loopback traffic crosses prerouting too, so d1's rule for 10.2.0.100:80
# queues the SYN, and with no bypass the kernel drops it.
nsx ip addr add 10.2.0.100/32 dev lo
# ip netns exec execs socat, so $! is socat itself; no inherited stdout.
ip netns exec "$ns" socat TCP-LISTEN:80,bind=10.2.0.100,reuseaddr,fork SYSTEM:'echo hi' \
	</dev/null >/dev/null 2>&1 &
listener=$!
# bounded wait (5 s) until socat listens, so a refused connection below means the rules
i=0
until nsx ss -Hltn 'sport = :80' | grep -q .; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "socat does not listen on 10.2.0.100:80 after 5 s"
	sleep 0.05
done
# without rules it answers: the refusal below is the rules' doing, not a listener missing
out=$(nsx timeout 3 socat -u TCP:10.2.0.100:80,connect-timeout=2 - 2>/dev/null) || true
[ "$out" = hi ] || fail "before the rules the listener is not reachable (got '$out')"
nsx "$tool" install d1 1 0 "$mode" || fail "install d1"
if nsx timeout 3 socat -u TCP:10.2.0.100:80,connect-timeout=2 - >/dev/null 2>&1; then
	fail "VIPA traffic passed with no queue reader"
fi
echo "ok: VIPA traffic without a reader is dropped"

nsx "$tool" remove || fail "remove"
nsx nft list table inet clusterd >/dev/null 2>&1 && fail "table still there after remove"
out=$(nsx timeout 3 socat -u TCP:10.2.0.100:80,connect-timeout=2 - 2>/dev/null) || true
[ "$out" = hi ] || fail "without rules the listener is not reachable (got '$out')"
nsx "$tool" remove || fail "remove of an absent table"
echo "ok: remove (twice)"

# A target of a handoff service (t1: tcp 80 hands off) lets what clusterd
# injects into its own stack (SO_MARK 0x434c4844, RULES_INJECT_MARK) pass its
# output chain untracked: the first rule, ahead of the queue rule that would
# drop it with no reader.  A distributor has no such rule.
"$tool" print d1 1 0 | grep -q 'meta mark' && fail "d1 renders an inject mark rule"
nsx "$tool" install t1 1 0 "$mode" || fail "install t1"
first=$(listed | grep -A2 'chain output' | sed -n 3p | sed 's/^[[:space:]]*//')
[ "$first" = "meta mark 0x434c4844 notrack accept" ] ||
	fail "t1's output chain starts with '$first', not the inject mark rule"
nsx ip addr add 10.2.0.21/32 dev lo
ip netns exec "$ns" socat TCP-LISTEN:7000,bind=10.2.0.21,reuseaddr,fork SYSTEM:'echo hi' \
	</dev/null >/dev/null 2>&1 &
listener2=$!
i=0
until nsx ss -Hltn 'sport = :7000' | grep -q .; do
	i=$((i + 1))
	[ $i -le 100 ] || fail "socat does not listen on 10.2.0.21:7000 after 5 s"
	sleep 0.05
done
# From t1's address and target port 8080, as a reply of the service would
# leave: the output chain queues it (and drops it: no reader) unless marked.
from_tport() {
	nsx timeout 5 python3 -c '
import socket, sys
s = socket.socket()
mark = int(sys.argv[1], 0)
if mark:
    s.setsockopt(socket.SOL_SOCKET, 36, mark)  # SO_MARK
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.2.0.21", 8080))
s.settimeout(2)
s.connect(("10.2.0.21", 7000))
' "$1" 2>/dev/null
}
from_tport 0 && fail "an unmarked packet from the target port passed with no queue reader"
from_tport 0x434c4844 || fail "a packet with the inject mark did not pass t1's output chain"
echo "ok: the inject mark passes a handoff target's output chain"
nsx "$tool" remove || fail "remove t1"
echo "PASS"
