#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_sctp_reload: a live SCTP association survives reloads (issue 13), sctp_lib.sh's cluster, the
# family SCTP_FAMILY (4).  Worker 0's association table names the VIPA by its index in the
# configuration and the target by its node index: a reload that lists them in another order
# must carry every association to its new numbers (daemon/dsctp.c, nfq/assoc's assoc_remap).
#   1. A client streams RL_N (400) messages, one every 20 ms, through the VIPA.  Meanwhile every
#      node reloads (clusterctl reload) a file listing the nodes in reverse order and the two
#      VIPAs (IPv4, IPv6) swapped, otherwise the same.  Every reload is applied; afterwards d1
#      and d2 still list the association, established, with the same target as before; the
#      client ends with every message echoed, 0 lost, no COMM_LOST, no restart.
#   2. A second client, the same way; every node reloads a file whose SCTP service lists only
#      the association's target (the other one removed): d1 then counts one target listening,
#      the association stays with its target on d1, the client loses nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sctp_lib.sh"
N=${RL_N:-400}

# rl_write_config NODES FAMILIES TARGETS: st_write_config's file with the nodes in the order
# NODES, the VIPAs of FAMILIES in that order and TARGETS the targets of the SCTP service.
rl_write_config() { NT_HOSTS="$1" ST_VIPA_ORDER="$2" ST_SVC_TARGETS="$3" st_write_config; }

# rl_reloads HOST: HOST's count of applied reloads ("-" when it does not answer).
rl_reloads() { nt_ctl "$1" status --json 2>/dev/null | nt_json "j['reloads']" 2>/dev/null || echo -; }

rl_applied() { [ "$1" -eq 0 ] && [ "$2" != - ] && [ "$3" != "$2" ]; }

# rl_reload_all WHAT: every node reloads the file; each must apply it (its reload count grows).
rl_reload_all()
{
	local h before out rc
	for h in $NT_HOSTS; do
		before=$(rl_reloads "$h")
		out=$(nt_ctl "$h" reload 2>&1); rc=$?
		nt_check "${1}_reload_$h" "clusterctl reload on $h: rc $rc: $out; reloads $before ->\
 $(rl_reloads "$h")" rl_applied "$rc" "$before" "$(rl_reloads "$h")"
	done
}

# rl_target HOST PORT: the target HOST lists for the established association of client port
# PORT (empty when none).
rl_target()
{
	st_assocs "$1" | awk -v p="$2" '$1 == p && $2 == "established" { print $3; exit }'
}

# rl_packets HOST PORT: the packets HOST routed for the association of client port PORT (0:
# none listed).
rl_packets()
{
	nt_ctl "$1" conns --json 2>/dev/null | "$PY" -c 'import json, sys
try:
	j = json.load(sys.stdin)
except ValueError:
	j = {}
print(max([a.get("packets", 0) for a in j.get("associations") or []
	   if a.get("vipa") == sys.argv[1] and a.get("client_port") == int(sys.argv[2])] or [0]))' \
		"$ST_VIP" "$2" 2>/dev/null || echo 0
}

# rl_midstream HOST PORT: HOST routed 100 packets of the association of PORT (the reloads then
# come mid-stream).
rl_midstream() { [ "$(rl_packets "$1" "$2")" -ge 100 ]; }

# rl_has HOST PORT TARGET: HOST lists the association of PORT established, with TARGET.
rl_has() { [ "$(rl_target "$1" "$2")" = "$3" ]; }

# rl_stream NAME PORT: starts client NAME on PORT, waits until it is up and d1 and d2 list its
# association; RL_TG: its target (as d1 names it), empty on failure.
rl_stream()
{
	local name=$1 port=$2
	RL_TG=
	st_client "$name" "$port" "$N" 20
	st_go "$name"
	st_client_up "$name" 20 || { nt_log "$name: not up: $(st_summary "$name")"; return; }
	nt_wait_until 10 eval '[ -n "$(rl_target d1 '"$port"')" ]'
	RL_TG=$(rl_target d1 "$port")
	[ -n "$RL_TG" ] && nt_wait_until 10 rl_has d2 "$port" "$RL_TG" ||
		nt_log "d2 does not list $port with $RL_TG: $(st_assocs d2 | tr '\n' ';')"
}

# rl_after CASE NAME PORT TARGET: the association is still listed with TARGET by d1 and d2,
# and client NAME ends with every message echoed.
rl_after()
{
	local c=$1 name=$2 port=$3 tg=$4 h
	for h in d1 d2; do
		# the reloads asked for bulks: what a peer sends may take a moment to settle
		nt_wait_until 10 rl_has "$h" "$port" "$tg"
		nt_check "${c}_${h}_keeps_it" "$h lists $(st_assocs "$h" | tr '\n' ';') (want $port\
 established with $tg)" rl_has "$h" "$port" "$tg"
	done
	st_client_wait "$name" 60
	nt_log "$name: exit $ST_RC: $(st_summary "$name")"
	nt_check "${c}_client_ok" "exit $ST_RC: $(st_summary "$name")" st_client_ok "$name" "$N"
}

# rl_stat HOST KEY: a counter of HOST's stats (0 when absent).
rl_stat()
{
	local v
	v=$(st_flat_stats "$1" | awk -v k="$2" '$1 == k { v = $2 } END { print v }')
	echo "${v:-0}"
}

# rl_aborts HOST: the no-state ABORTs HOST sent (its no-state packets not held back).
rl_aborts() { echo $(($(rl_stat "$1" sctp.no_state) - $(rl_stat "$1" sctp.no_state_held))); }

# rl_counts: "d1 aborts held d2 aborts held" now.
rl_counts()
{
	local h
	for h in d1 d2; do echo -n "$(rl_aborts "$h") $(rl_stat "$h" sctp.no_state_held) "; done
}

# rl_no_abort CASE BEFORE: no distributor sent a no-state ABORT since BEFORE (rl_counts); the
# packets held back meanwhile are logged.
rl_no_abort()
{
	local c=$1 b a
	read -r -a b <<<"$2"
	read -r -a a <<<"$(rl_counts)"
	nt_log "$c: no-state ABORTs/held drops, before -> after: d1 ${b[0]}/${b[1]} -> ${a[0]}/${a[1]};\
 d2 ${b[2]}/${b[3]} -> ${a[2]}/${a[3]}"
	nt_check "${c}_no_abort_d1" "d1 sent no-state ABORTs: ${b[0]} -> ${a[0]}" [ "${a[0]}" = "${b[0]}" ]
	nt_check "${c}_no_abort_d2" "d2 sent no-state ABORTs: ${b[2]} -> ${a[2]}" [ "${a[2]}" = "${b[2]}" ]
}

st_cluster_up

# the VIPAs in the other order
RL_FAMS=$([ "$SCTP_FAMILY" = 4 ] && echo "6 4" || echo "4 6")

# ---- 1: nodes and VIPAs listed in another order
rl_stream rn 44301
tg=$RL_TG
nt_check renum_setup "no association listed by d1: $(st_assocs d1 | tr '\n' ';')" [ -n "$tg" ]
nt_log "association 44301 goes to $tg"
nt_wait_until 10 rl_midstream d1 44301 || nt_log "d1 routed $(rl_packets d1 44301) packets of 44301"
rl_write_config "t2 t1 d2 d1" "$RL_FAMS" "t1 t2"
before=$(rl_counts)
rl_reload_all renum
rl_after renum rn 44301 "$tg"
rl_no_abort renum "$before"
grep -h "SCTP associations renumbered" "$NT_WORK"/clusterd-d[12].log 2>/dev/null | sed 's/^/# /'

# ---- 2: the other target removed from the service
st_wait_targets 30 || nt_log "d1 does not see both targets again: $(nt_ctl d1 targets 2>&1 |
	tr '\n' ' ' | head -c 400)"
rl_stream rm 44302
tg=$RL_TG
nt_check drop_setup "no association listed by d1: $(st_assocs d1 | tr '\n' ';')" [ -n "$tg" ]
nt_log "association 44302 goes to $tg"
nt_wait_until 10 rl_midstream d1 44302 || nt_log "d1 routed $(rl_packets d1 44302) packets of 44302"
rl_write_config "t2 t1 d2 d1" "$RL_FAMS" "$tg"
before=$(rl_counts)
rl_reload_all drop
nt_check drop_applied "d1 does not list 1 target of $ST_VIP:$ST_PORT/sctp listening: $(nt_ctl d1 \
targets 2>&1 | tr '\n' ' ' | head -c 400)" nt_wait_until 10 eval \
	'[ "$(nt_listening_count d1 '"$ST_PORT"' sctp '"$ST_VIP"')" = 1 ]'
rl_after drop rm 44302 "$tg"
rl_no_abort drop "$before"
nt_finish
