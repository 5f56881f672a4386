#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_listen: a target whose application stops listening leaves the distributor's set within 1.5 s
# and gets no new connection; when it listens again it comes back within 1.5 s.
. "$(dirname "$0")/lib.sh"
LIMIT_MS=1500
nt_cluster_up

# t_listen_wait WANT: ms until d1 reports t2 listening == WANT (5 s cap).
t_listen_wait() { nt_time_listening d1 t2 80 tcp "$1" 5; }

# the clock starts when t2's server is gone (nt_http_stop waits for that)
nt_http_stop t2
ms=$(t_listen_wait False)
echo "t2 seen not listening after $ms ms"
nt_check t2_down_detected "took $ms ms (limit $LIMIT_MS, -1 = not within 5 s)" \
	[ "$ms" -ge 0 -a "$ms" -le $LIMIT_MS ]

out=$NT_WORK/down.out
nt_curl_loop 100 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers while t2 is down: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_while_down "$ok/100 succeeded" [ "$ok" -eq 100 ]
nt_check none_to_t2 "t2 answered $(nt_count "$out" t2)" [ "$(nt_count "$out" t2)" -eq 0 ]

# the clock starts when t2's server listens (nt_http_start waits for that)
nt_http_start t2 || nt_fail t2_restart "server did not start"
ms=$(t_listen_wait True)
echo "t2 seen listening again after $ms ms"
nt_check t2_up_detected "took $ms ms (limit $LIMIT_MS, -1 = not within 5 s)" \
	[ "$ms" -ge 0 -a "$ms" -le $LIMIT_MS ]

out=$NT_WORK/up.out
nt_curl_loop 100 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers after t2 is back: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_after_up "$ok/100 succeeded" [ "$ok" -eq 100 ]
nt_check t2_gets_requests "t2 answered $(nt_count "$out" t2)" [ "$(nt_count "$out" t2)" -gt 0 ]
nt_finish
