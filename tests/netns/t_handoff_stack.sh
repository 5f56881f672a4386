#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_handoff_stack: what the target's own stack does to a replayed connection (hoff_lib.sh's
# cluster; /static/ and /only1/ -> t1, /multi/ -> t1 or t2).
#  - uploads: request bodies after the head (5 MiB, with and without "Expect: 100-continue",
#    and a small body in the head's own segment) reach t1 byte-exact (sha256 from the server);
#  - t1's stack drops every other SYN that arrives on lo (nft numgen): the injected SYN it drops
#    is injected again and the requests are answered by t1 (handoff.syns_resent grows);
#  - t1's stack drops every SYN on lo: /only1/ gets 503 after t1's 2 s (t1 NAKs, d1 counts it),
#    /multi/ is answered by t2, nothing stays pending on t1;
#  - d1 dies while a request waits on t1: t1 drops it and counts handoff.lost_in_flight.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hoff_lib.sh"

HOFF_OPTS="timeout_ms = 3000; request_timeout_ms = 5000; max_request = 16384;"
nt_need curl sha256sum
hoff_cluster_up

# --- uploads
hoff_mkfile up.bin 5
want="t1 $((5 * 1048576)) $(hoff_sha "$HOFF_WWW/up.bin")"
for ex in "" "Expect:"; do
	got=$(nt_x c curl -sS -m 30 -H "$ex" --data-binary @"$HOFF_WWW/up.bin" \
		"$(hoff_url "$NT_VIP4" /static/up)" 2>&1)
	nt_check "upload_5m${ex:+_no_expect}" "answer '$got' (want '$want')" [ "$got" = "$want" ]
done
printf 'x%.0s' $(seq 1 700) >"$NT_WORK/small.txt"
want="t1 700 $(hoff_sha "$NT_WORK/small.txt")"
got=$(nt_x c curl -sS -m 10 -H "Expect:" --data-binary @"$NT_WORK/small.txt" \
	"$(hoff_url "$NT_VIP4" /static/small)" 2>&1)
nt_check upload_small "answer '$got' (want '$want')" [ "$got" = "$want" ]

# --- the stack drops every other SYN injected into it
nt_x t1 nft add table inet hostack
nt_x t1 nft add chain inet hostack in '{ type filter hook input priority 0; }'
nt_x t1 nft add rule inet hostack in iifname lo tcp dport 8080 \
	'tcp flags & (syn|ack) == syn' numgen inc mod 2 0 counter drop
r0=$(hoff_num "$(hoff_stat t1 syns_resent)")
ok=0
for i in 1 2 3 4; do
	[ "$(hoff_who "$(hoff_url "$NT_VIP4" "/static/alt$i")")" = t1 ] && ok=$((ok + 1))
done
nt_check resyn_answered "$ok of 4 requests answered by t1 while its stack drops every other SYN" \
	[ "$ok" = 4 ]
nt_check resyn_counted "t1's handoff.syns_resent $r0 -> $(hoff_stat t1 syns_resent) (want +2 at least)" \
	[ "$(hoff_num "$(hoff_stat t1 syns_resent)")" -ge $((r0 + 2)) ]
nt_x t1 nft delete table inet hostack

# --- the stack drops every SYN injected into it
nt_x t1 nft add table inet hostack
nt_x t1 nft add chain inet hostack in '{ type filter hook input priority 0; }'
nt_x t1 nft add rule inet hostack in iifname lo tcp dport 8080 \
	'tcp flags & (syn|ack) == syn' counter drop
n0=$(hoff_num "$(hoff_stat d1 naks)") f0=$(hoff_num "$(hoff_stat d1 failed)")
s0=$(hoff_num "$(hoff_stat t1 naks_sent)")
s=$(hoff_status "$(hoff_url "$NT_VIP4" /only1/a)")
nt_check deaf_stack_503 "status $s (want 503)" [ "$s" = 503 ]
w=$(hoff_who "$(hoff_url "$NT_VIP4" /multi/b)")
nt_check deaf_stack_next_candidate "answered by $w (want t2)" [ "$w" = t2 ]
nt_check deaf_stack_counted "d1 naks $n0 -> $(hoff_stat d1 naks), failed $f0 -> \
$(hoff_stat d1 failed); t1 naks_sent $s0 -> $(hoff_stat t1 naks_sent)" \
	[ "$(hoff_num "$(hoff_stat d1 naks)")" -gt "$n0" ] &&
	[ "$(hoff_num "$(hoff_stat d1 failed)")" -gt "$f0" ] &&
	[ "$(hoff_num "$(hoff_stat t1 naks_sent)")" -gt "$s0" ]
nt_check deaf_stack_nothing_pending "t1 pending $(hoff_stat t1 pending)" \
	[ "$(hoff_stat t1 pending)" = 0 ]

# --- the front-end dies while its request waits at the target
l0=$(hoff_num "$(hoff_stat t1 lost_in_flight)")
nt_bg c lost curl -sS -m 8 "$(hoff_url "$NT_VIP4" /only1/c)"
if nt_wait_until 5 eval '[ "$(hoff_stat t1 pending)" = 1 ]'; then
	nt_cd_stop d1 KILL
	nt_wait_until 10 eval '[ "$(hoff_num "$(hoff_stat t1 lost_in_flight)")" -gt "$l0" ]'
	nt_check lost_in_flight "t1 lost_in_flight $l0 -> $(hoff_stat t1 lost_in_flight), pending \
$(hoff_stat t1 pending)" [ "$(hoff_num "$(hoff_stat t1 lost_in_flight)")" -gt "$l0" ] &&
		[ "$(hoff_stat t1 pending)" = 0 ]
else
	nt_fail lost_in_flight "the request never waited at t1 (pending $(hoff_stat t1 pending))"
fi
nt_finish
