#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_ctl_sctp: what clusterctl shows of SCTP association failover, against running daemons.
# The IPv4 VIPA gets an SCTP service (3868 on t1 and t2) and an alternate address (10.2.0.101);
# the IPv6 VIPA has none.
#  - status: the IPv4 VIPA says "alternate": {"address": "10.2.0.101", "held", "holder"}: d1
#    holds the VIPA, d2 the alternate (held false / holder d2 on d1, held true on d2), the text
#    shows "10.2.0.101 (d2)"; the IPv6 VIPA has no "alternate".  With d2 stopped, d1 holds both.
#  - conns (no SCTP packet yet): the "conns" answer keeps its fields and gains "associations": [],
#    "associations_total": 0, "associations_truncated": false; the text shows no association
#    table.
#  - stats: sctp.associations (and per state) 0, sctp.table.* present.
#  - an INIT forged by the client (raw IP protocol 132) to VIPA:3868, once d1 sees an SCTP
#    target listening (sctp_peer servers on t1 and t2, found by the listener probe): d1's conns
#    lists the association with every field (client_tag = the INIT's Initiate Tag, state init or
#    established, target t1 or t2, the client's address among its paths), stats count it, the
#    text shows the second table.  Then 4000 more INITs: the answer, streamed a few hundred rows
#    a step, lists each of the 4001 associations exactly once, total 4001, not truncated.
#    Without sctp_peer, or when the targets are not seen listening, that part is reported as
#    SKIP (the rest still runs).
. "$(dirname "$0")/lib.sh"
nt_need_daemon
ALT4=10.2.0.101
SPORT=3868
nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
sed -i -e "/{ address = \"$NT_VIP4\"; interface = \"lan0\";/a\\    alternate_address = \"$ALT4\";" \
	-e "/{ port = 5353; protocol = \"udp\"; targets/i\\      { port = $SPORT; protocol = \"sctp\"; targets = ( \"t1\", \"t2\" ); }," \
	"$NT_WORK/clusterd.conf"
if ! grep -q "alternate_address = \"$ALT4\"" "$NT_WORK/clusterd.conf" ||
	! grep -q 'protocol = "sctp"' "$NT_WORK/clusterd.conf" ||
	! "$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" -n d1 >"$NT_WORK/check.out" 2>&1; then
	nt_fail setup "configuration with an alternate address: $(head -c 300 "$NT_WORK/check.out")"
	nt_finish
fi
nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
have_peer=0
if [ -x "$SCTP_PEER" ]; then
	have_peer=1
	for t in t1 t2; do
		nt_bg "$t" "sctp-$t" "$SCTP_PEER" server --bind "${NT_IP4[$t]}" --port $SPORT
	done
fi
nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }

# alt HOST: HOST's view of the IPv4 VIPA's alternate address: "ADDRESS HELD HOLDER"
alt()
{
	nt_ctl "$1" status --json | nt_json "' '.join(str(x) for x in [(a or {}).get(k) for a in \
[v.get('alternate') for v in j['vipas'] if v['address'] == '$NT_VIP4'] for k in \
('address', 'held', 'holder')])"
}
owner() { nt_ctl "$1" status --json | nt_json "[v['owner'] for v in j['vipas'] if v['address'] == \
'$NT_VIP4'][0]"; }
NT_EXPECT=d1 nt_wait_until 15 nt_is owner d1
NT_EXPECT="$ALT4 True d2" nt_wait_until 15 nt_is alt d2
NT_EXPECT="$ALT4 False d2" nt_wait_until 5 nt_is alt d1
nt_check status_alternate_on_d1 "d1 shows the alternate as '$(alt d1)' (VIPA owner $(owner d1)), \
want '$ALT4 False d2'" [ "$(alt d1)" = "$ALT4 False d2" ]
nt_check status_alternate_on_d2 "d2 shows the alternate as '$(alt d2)', want '$ALT4 True d2'" \
	[ "$(alt d2)" = "$ALT4 True d2" ]
nt_check status_alternate_address_on_d2 "$ALT4 is not on d2's lan0" \
	eval "nt_x d2 ip -4 addr show dev lan0 | grep -q 'inet $ALT4/'"
v6alt=$(nt_ctl d1 status --json | nt_json "[('alternate' in v) for v in j['vipas'] if \
v['address'] == '$NT_VIP6']")
nt_check status_no_alternate_without_one "IPv6 VIPA: 'alternate' present: $v6alt" \
	[ "$v6alt" = "[false]" ]
nt_ctl d1 status >"$NT_WORK/status.txt"
nt_check status_text_alternate "d1's status text: $(grep -F "$NT_VIP4" "$NT_WORK/status.txt")" \
	eval "grep -q '^ *VIPA .*ALTERNATE' '$NT_WORK/status.txt' &&
	      grep -F '$NT_VIP4 ' '$NT_WORK/status.txt' | grep -qF '$ALT4 (d2)'"

# conns before any SCTP packet: the connections as they were, and an empty associations array.
nt_ctl d1 conns --json >"$NT_WORK/conns0.json"
shape=$(nt_json "[sorted(j.keys()), type(j['conns']).__name__, j['total'], j['truncated'], \
j['associations'], j['associations_total'], j['associations_truncated']]" <"$NT_WORK/conns0.json")
nt_check conns_associations_empty "d1's conns answer: $shape" [ "$shape" = \
'[["associations", "associations_total", "associations_truncated", "conns", "ok", "total", "truncated"], "list", 0, false, [], 0, false]' ]
nt_ctl d1 conns >"$NT_WORK/conns0.txt"
nt_check conns_text_no_association_table "d1's conns text: $(head -c 300 "$NT_WORK/conns0.txt")" \
	eval "! grep -q 'CLIENT_TAG\|associations' '$NT_WORK/conns0.txt'"
sctp=$(nt_stat d1 "[j['sctp'][k] for k in ('associations', 'associations_init', \
'associations_established', 'associations_closed', 'associations_unconfirmed')] + \
sorted(j['sctp']['table'].keys())")
nt_check stats_sctp_table "d1's sctp stats: $sctp" [ "$sctp" = \
'[0, 0, 0, 0, 0, "capacity", "confirmed", "evicted_closed", "evicted_init", "evicted_unconfirmed", "expired", "full", "replaced"]' ]

# An association: an INIT from the client, forged (this kernel has no SCTP).
if [ $have_peer = 0 ]; then
	nt_log "SKIP association_row: no sctp_peer at $SCTP_PEER (libusrsctp-dev, make netns-tools)"
elif ! nt_wait_listening d1 2 $SPORT sctp 45 "$NT_VIP4"; then
	nt_log "SKIP association_row: d1 does not see t1 and t2 listening on $SPORT within 45 s" \
		"(targets: $(nt_ctl d1 targets --json | nt_json "[(t['node'], t['listening']) for t in \
j['targets'] if t['protocol'] == 'sctp']"))"
else
	ITAG=0x5ca1ab1e
	# inits VIPA PORT FIRST_CLIENT_PORT N TAG: N INITs from client ports FIRST.., Initiate Tags
	# TAG, TAG+1..., 100 at a time (a burst would overflow the queue)
	cat >"$NT_WORK/inits.py" <<'EOF2'
import socket, struct, sys, time
def crc32c(b):
	c = 0xffffffff
	for x in b:
		c ^= x
		for _ in range(8):
			c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
	return c ^ 0xffffffff
vipa, port, first, n, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
	int(sys.argv[5], 16)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
for i in range(n):
	# INIT: type 1, flags 0, length 20; Initiate Tag, a_rwnd, 1 outbound and 1 inbound
	# stream, initial TSN
	chunk = struct.pack("!BBHIIHHI", 1, 0, 20, tag + i, 65536, 1, 1, 1)
	pkt = struct.pack("!HHII", first + i, port, 0, 0) + chunk
	pkt = pkt[:8] + struct.pack("<I", crc32c(pkt)) + pkt[12:]
	s.sendto(pkt, (vipa, 0))
	if i % 100 == 99:
		time.sleep(0.02)
EOF2
	nt_x c "$PY" "$NT_WORK/inits.py" "$NT_VIP4" $SPORT 40000 1 $ITAG
	row() { nt_ctl d1 conns --json | nt_json "[a for a in j['associations'] if \
a['client_port'] == 40000]"; }
	nt_wait_until 5 eval '[ "$(row)" != "[]" ]'
	nt_ctl d1 conns --json >"$NT_WORK/conns1.json"
	got=$(nt_json "[(sorted(a.keys()), a['vipa'], a['port'], a['client_tag'], a['state'], \
a['target'] in ('t1', 't2'), '10.1.0.2' in a['paths'], a['state'] == 'init' or \
a['target_tag'] != '0x00000000', all(isinstance(a[k], int) and a[k] >= 0 for k in ('packets', \
'bytes', 'idle_ms', 'age_ms')), a['flags']) for a in j['associations'] if \
a['client_port'] == 40000] + [j['associations_total'], j['associations_truncated']]" \
		<"$NT_WORK/conns1.json")
	want='[[["age_ms", "bytes", "client_port", "client_tag", "flags", "idle_ms", "packets", '
	want+='"paths", "port", "state", "target", "target_tag", "vipa"], "'$NT_VIP4'", '$SPORT', '
	want+='"'$ITAG'", "STATE", true, true, true, true, []], 1, false]'
	state=$(nt_json "[a['state'] for a in j['associations']]" <"$NT_WORK/conns1.json")
	nt_check association_row "d1's association: $got (want $want, STATE init or established)" \
		eval "[ \"\$got\" = \"\${want/STATE/init}\" ] || [ \"\$got\" = \"\${want/STATE/established}\" ]"
	n=$(nt_stat d1 "[j['sctp']['associations'], j['sctp']['associations_init'] + \
j['sctp']['associations_established']]")
	nt_check association_counted "d1's sctp.associations, init + established: $n (want [1, 1])" \
		[ "$n" = "[1, 1]" ]
	nt_ctl d1 conns >"$NT_WORK/conns1.txt"
	nt_check conns_text_association_table "d1's conns text: $(tail -n 4 "$NT_WORK/conns1.txt")" \
		eval "grep -q '^VIPA  *PORT  *CLIENT_PORT  *CLIENT_TAG  *TARGET_TAG' '$NT_WORK/conns1.txt' &&
		      grep -q '$ITAG' '$NT_WORK/conns1.txt' && grep -qx '1 associations' '$NT_WORK/conns1.txt'"
	nt_log "d1 conns: $(tail -n 3 "$NT_WORK/conns1.txt" | tr '\n' '|'), state $state"

	# Many: the answer comes in several steps (512 rows each); every association once.
	M=4000
	nt_x c "$PY" "$NT_WORK/inits.py" "$NT_VIP4" $SPORT 41000 $M 0x10000000
	assocs() { nt_stat d1 "j['sctp']['associations']"; }
	nt_wait_until 20 eval '[ "$(assocs)" -ge $((M + 1)) ]'
	t=$(nt_now_ms)
	nt_ctl d1 conns --json >"$NT_WORK/conns2.json"
	t=$(( $(nt_now_ms) - t ))
	got=$(nt_json "[len(j['associations']), j['associations_total'], \
j['associations_truncated'], len(set((a['client_port'], a['client_tag']) for a in \
j['associations'])), sum(1 for a in j['associations'] if 41000 <= a['client_port'] < 41000 + $M \
and int(a['client_tag'], 16) == 0x10000000 + a['client_port'] - 41000)]" <"$NT_WORK/conns2.json")
	nt_log "$M more INITs: d1 counts $(assocs) associations; conns --json in $t ms: [rows, total," \
		"truncated, distinct, the INITs' own] = $got"
	nt_check many_associations_listed_once "[rows, total, truncated, distinct, the INITs' own] = \
$got, want [$((M + 1)), $((M + 1)), false, $((M + 1)), $M]" \
		[ "$got" = "[$((M + 1)), $((M + 1)), false, $((M + 1)), $M]" ]
	nt_log "d2 (holding the alternate address) lists $(nt_ctl d2 conns --json | \
nt_json "len(j['associations'])") associations"
fi

# d2 gone: d1 holds the VIPA and its alternate.
nt_cd_stop d2
NT_EXPECT="$ALT4 True d1" nt_wait_until 15 nt_is alt d1
nt_check status_alternate_alone "with d2 stopped d1 shows '$(alt d1)', want '$ALT4 True d1'" \
	[ "$(alt d1)" = "$ALT4 True d1" ]
nt_finish
