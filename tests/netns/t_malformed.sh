#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_malformed: a burst of malformed packets toward the VIPA, from the client (routed) and from a
# LAN host (raw frames, including IPv4 headers a router would drop): d1's daemon survives,
# counts drops by reason, and serves normal requests afterwards.
. "$(dirname "$0")/lib.sh"
N=${MALFORMED_COUNT:-2000}
nt_cluster_up

before=$(nt_stat d1 "sum(v for v in j.get('drops', {}).values() if isinstance(v, int))")
d1mac=$(nt_x d1 cat /sys/class/net/lan0/address)
nt_log "from the client: $(nt_x c "$PY" "$NT_DIR/malformed.py" --mode ip --src 10.1.0.2 \
	--dst "$NT_VIP4" --src6 fd01::2 --dst6 "$NT_VIP6" --count "$N")"
nt_log "from t3 (raw frames to d1 $d1mac): $(nt_x t3 "$PY" "$NT_DIR/malformed.py" --mode l2 \
	--iface lan0 --dst-mac "$d1mac" --src 10.2.0.23 --dst "$NT_VIP4" --src6 fd02::23 \
	--dst6 "$NT_VIP6" --count "$N")"

nt_check daemon_alive "clusterd on d1 died: $(nt_dump_logs clusterd-d1 | tail -n 5 | tr '\n' '|')" \
	nt_alive clusterd-d1
nt_check daemon_answers "d1 control socket does not answer" nt_wait_until 3 nt_ctl d1 status

drops=$(nt_stat d1 "j.get('drops')")
echo "d1 drops: $drops"
after=$(nt_stat d1 "sum(v for v in j.get('drops', {}).values() if isinstance(v, int))")
mal=$(nt_stat d1 "j.get('drops', {}).get('malformed', 0)")
nt_check drops_counted "drops went from ${before:-?} to ${after:-?}" \
	[ "${after:-0}" -gt "${before:-0}" ]
nt_check malformed_counted "drops.malformed = ${mal:-?}" [ "${mal:-0}" -gt 0 ]

out=$NT_WORK/after.out
nt_curl_loop 50 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_check requests_after_burst "$ok/50 succeeded" [ "$ok" -eq 50 ]
nt_check still_alive_at_end "clusterd on d1 died" nt_alive clusterd-d1
nt_finish
