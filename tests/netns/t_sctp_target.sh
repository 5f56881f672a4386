#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_target: a target dies (issue 13).  sctp_lib.sh's cluster; TG_CLIENTS (4) usrsctp clients
# stream through the VIPA (round-robin: some on t1, some on t2); then t1 dies (TG_DEATH: "link",
# the default, its LAN link goes down; "kill": its clusterd and its servers are SIGKILLed):
#   - each association on t1 ends at the client (COMM_LOST) within TG_END_S (15 s) of the death,
#     and the client got an ABORT from the cluster's address (the distributor's answer for a
#     dead target; a capture on C shows it) rather than running out of retransmissions;
#   - the associations on t2 go on: every message echoed, no COMM_LOST;
#   - once d1 counts t1 dead, TG_NEW (4) new associations all go to t2 and echo everything;
#   - d1's `clusterctl conns` keeps no established association on t1;
#   - the cluster sent no ABORT before t1's death.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sctp_lib.sh"
CLIENTS=${TG_CLIENTS:-4}
NEW=${TG_NEW:-4}
N=${TG_N:-400}
END_S=${TG_END_S:-15}
DEATH=${TG_DEATH:-link}

# tg_alive HOST NODE: HOST's status says whether NODE is alive (True/False).
tg_alive()
{
	nt_ctl "$1" status --json 2>/dev/null |
		nt_json "[n['alive'] for n in j['nodes'] if n['name'] == '$2'][0]" 2>/dev/null
}

st_cluster_up
st_cap_start c c || { nt_fail capture "tcpdump did not start"; nt_finish; }
on1="" on2=""
for i in $(seq 1 "$CLIENTS"); do st_client "old-$i" $((42000 + i)) "$N" 20; done
# the new clients' stacks start now, while nothing else runs (see st_client); they connect later
for i in $(seq 1 "$NEW"); do st_client "new-$i" $((42100 + i)) 40 20; done
st_go $(seq -f "old-%g" 1 "$CLIENTS")
for i in $(seq 1 "$CLIENTS"); do
	port=$((42000 + i))
	st_client_up "old-$i" 20 || nt_log "client $i not up: $(st_summary "old-$i")"
	nt_wait_until 5 eval '[ -n "$(st_served_by '"$port"')" ]'
	case $(st_served_by "$port") in
	t1) on1="$on1 $i" ;;
	t2) on2="$on2 $i" ;;
	*) nt_log "client $i (port $port) served by '$(st_served_by "$port")'" ;;
	esac
done
echo "# before the death: on t1 clients$on1, on t2 clients$on2"
nt_check spread_before "clients on t1:$on1, on t2:$on2" [ -n "$on1" -a -n "$on2" ]
echo "d1's associations: $(st_assocs d1 | tr '\n' ';')"
sleep 1

t0=$(nt_now_ms)
case $DEATH in
link) nt_x t1 ip link set lan0 down ;;
kill) nt_cd_stop t1 KILL; nt_stop srv4-t1 KILL; nt_stop srv6-t1 KILL ;;
*) nt_fail setup "TG_DEATH=$DEATH: link or kill"; nt_finish ;;
esac
nt_log "t1 dies ($DEATH)"

# the associations on t1 end, each within END_S of the death
for i in $on1; do
	st_client_wait "old-$i" "$END_S"
	rc=$ST_RC
	ms=$(( $(nt_now_ms) - t0 ))
	echo "client $i (t1): exit $rc after ~$ms ms; $(grep -h '"assoc"' "$NT_WORK/old-$i.log" |
		tr '\n' ' ')"
	nt_check "t1_assoc_${i}_ends" "client $i still ran $END_S s after t1's death (exit $rc)" \
		[ "$rc" -ne 124 ]
	nt_check "t1_assoc_${i}_comm_lost" "client $i saw no COMM_LOST: $(st_summary "old-$i")" \
		st_has "$NT_WORK/old-$i.log" "o['event'] == 'assoc' and o['state'] == 'comm_lost'"
done
# ... by an ABORT from the VIPA or the alternate (sent after the death)
st_pcap c >"$NT_WORK/c.jsonl"
# and none before it (a distributor without an association's state: see st_aborts)
early=$(st_aborts c "$t0" | awk '$1 ~ /^t0-/ && / ABORT /')
nt_check no_abort_before_death "the cluster sent ABORTs before t1 died: $(st_aborts c "$t0" |
	awk '$1 ~ /^t0-/' | head -n 8 | tr '\n' ';')" [ -z "$early" ]
for i in $on1; do
	nt_check "t1_assoc_${i}_aborted" "no ABORT reached client port $((42000 + i)) from \
$ST_VIP/$ST_ALT after t1's death" st_has "$NT_WORK/c.jsonl" "o['dport'] == $((42000 + i)) and \
o['src'] in ('$ST_VIP', '$ST_ALT') and o['t'] * 1000 >= $t0 and \
any(c['type'] == 6 for c in o['chunks'])"
done

# d1 counts t1 dead; new associations all go to t2
nt_check d1_sees_t1_dead "d1 still counts t1 alive 15 s after its death" \
	nt_wait_until 15 eval '[ "$(tg_alive d1 t1)" = False ]'
st_go $(seq -f "new-%g" 1 "$NEW")
bad=0
for i in $(seq 1 "$NEW"); do
	st_client_wait "new-$i" 60
	if [ "$ST_RC" -ne 0 ] || ! st_client_ok "new-$i" 40; then
		bad=$((bad + 1))
		nt_log "new client $i: exit $ST_RC: $(st_summary "new-$i")"
	fi
done
nt_check new_assocs_succeed "$bad of $NEW new associations failed" [ "$bad" -eq 0 ]
bad=""
for i in $(seq 1 "$NEW"); do
	by=$(st_served_by $((42100 + i)))
	[ "$by" = t2 ] || bad="$bad $i:${by:-none}"
done
nt_check new_assocs_on_t2 "new associations not served by t2 alone:$bad" [ -z "$bad" ]

# the associations on t2 went on untouched
for i in $on2; do
	st_client_wait "old-$i" 60
	nt_check "t2_assoc_${i}_survives" "client $i (t2): exit $ST_RC: $(st_summary "old-$i")" \
		eval '[ "$ST_RC" -eq 0 ] && st_client_ok "old-$i" "$N"'
done

# d1 keeps no established association on t1
left=$(st_assocs d1 | awk '$2 == "established" && $3 == "t1"')
nt_check d1_none_on_t1 "d1 still lists established associations on t1: $(echo "$left" |
	tr '\n' ';')" [ -z "$left" ]
st_cap_stop c
nt_finish
