#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh: the README's demo.  Builds the namespace cluster (client, router, distributors d1 d2,
# targets t1 t2 t3), starts the HTTP servers and clusterd everywhere, sends 30 requests to the
# VIPA showing which target answered each, then shows clusterctl status and targets from d1.
#
#   tests/netns/demo.sh            run the demo and clean up
#   tests/netns/demo.sh --keep     leave it running (prints how to look around)
#   tests/netns/demo.sh --stop     clean up what --keep left
state=/run/clusterd-demo.env

if [ "${1:-}" = --stop ]; then
	[ -f "$state" ] || { echo "demo.sh: no demo running ($state missing)"; exit 0; }
	# shellcheck disable=SC1090
	. "$state"
	export NT_ID NT_WORK
	. "$(dirname "$0")/lib.sh"
	NT_UP=1
	rm -f "$state"
	nt_log "stopping demo $NT_ID"
	nt_cleanup
fi

keep=
[ "${1:-}" = --keep ] && keep=1
. "$(dirname "$0")/lib.sh"
if [ -n "$keep" ] && [ -f "$state" ]; then
	echo "demo.sh: a demo is already running; '$0 --stop' first"
	exit 1
fi
nt_log "building the topology (run id $NT_ID)"
nt_cluster_up
for t in $NT_TARGETS; do nt_udp_start "$t" 5353; done
[ "$NT_FAIL" -eq 0 ] || exit 1

echo
echo "== 30 requests from the client (10.1.0.2) to http://$NT_VIP4/"
out=$NT_WORK/demo.out
nt_curl_loop 30 "http://$NT_VIP4/" >"$out"
i=0
while read -r who; do
	i=$((i + 1))
	printf 'request %2d -> %s\n' "$i" "$who"
done <"$out"
echo
echo "== answers per target"
nt_tally "$out" | awk '{ printf "  %-6s %3d\n", $1, $2 }'
echo
echo "== the servers saw the real client:"
for t in $NT_TARGETS; do
	printf '  %s: %s\n' "$t" "$(awk '{print $1}' "$NT_WORK/access-$t-8080.log" | sort | uniq -c |
		tr -s ' ' | tr '\n' ' ')"
done
echo
echo "== clusterctl status (d1)"
nt_ctl d1 status
echo
echo "== clusterctl targets (d1)"
nt_ctl d1 targets

if [ -n "$keep" ]; then
	printf 'NT_ID=%s\nNT_WORK=%s\n' "$NT_ID" "$NT_WORK" >"$state"
	NT_KEEP=1
	cat <<MSG

The demo keeps running (run id $NT_ID, files in $NT_WORK).
  enter a namespace:   ip netns exec $NT_ID-c bash        (also -r -lan -d1 -d2 -t1 -t2 -t3)
  a request:           ip netns exec $NT_ID-c curl http://$NT_VIP4/
  the daemon's view:   ip netns exec $NT_ID-d1 $CLUSTERCTL -s $NT_WORK/d1.sock status
  daemon logs:         $NT_WORK/clusterd-*.log
  clean up:            $0 --stop
MSG
fi
exit 0
