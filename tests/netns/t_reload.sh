#!/bin/bash
# t_reload: SIGHUP with a configuration that removes t3 from VIPA:80: the connection established
# to t3 before continues, new connections avoid t3.
. "$(dirname "$0")/lib.sh"
nt_cluster_up

nt_keepalive_start ka "$NT_VIP4" t3 ||
	{ nt_fail keepalive_setup "$(tail -n 3 "$NT_WORK/ka.log")"; nt_finish; }
gen0=$(nt_ctl d1 status --json | nt_json "j.get('generation')")
k0=$(nt_keepalive_oks ka)

NT_TARGETS80='"t1", "t2"' nt_write_config
pid=$(cat "$NT_WORK/clusterd-d1.pid")
kill -HUP "$pid"
NT_EXPECT=$((gen0 + 1)) nt_wait_until 5 nt_is eval \
	"nt_ctl d1 status --json | nt_json \"j.get('generation')\"" ||
	nt_log "status.generation did not go from $gen0 to $((gen0 + 1))"
gen1=$(nt_ctl d1 status --json | nt_json "j.get('generation')")
echo "d1 configuration generation: $gen0 -> $gen1"
nt_check daemon_alive_after_hup "clusterd on d1 died on SIGHUP" nt_alive clusterd-d1
nt_check reloaded "generation $gen0 -> $gen1" [ "$gen1" != "$gen0" ]

out=$NT_WORK/reloaded.out
nt_curl_loop 100 "http://$NT_VIP4/" >"$out"
ok=$(grep -vc '^ERR:' "$out")
nt_log "answers after the reload: $(nt_tally "$out" | tr '\n' ' ')"
nt_check requests_after_reload "$ok/100 succeeded" [ "$ok" -eq 100 ]
nt_check none_to_removed "t3 answered $(nt_count "$out" t3) new connections" \
	[ "$(nt_count "$out" t3)" -eq 0 ]

k1=$(nt_keepalive_oks ka)
nt_wait_until 3 eval "[ \$(nt_keepalive_oks ka) -ge $((k1 + 5)) ]"
k2=$(nt_keepalive_oks ka)
echo "long-lived connection to t3: $k0 requests before the reload, $k2 now"
nt_check established_survives_reload \
	"requests: $k0 -> $k2; $(grep '^ERR' "$NT_WORK/ka.log")" \
	eval "[ $k2 -gt $k0 ] && ! grep -q '^ERR' '$NT_WORK/ka.log'"
nt_check keepalive_clean "$(tail -n 2 "$NT_WORK/ka.log" | tr '\n' ' ')" nt_keepalive_stop ka
nt_finish
