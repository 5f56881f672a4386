# SPDX-License-Identifier: GPL-2.0-or-later
# lib_takeover.sh: helpers of the distributor takeover / takeback tests (t_takeover_*.sh) and of
# bench/takeover_bench.sh.  Sourced after lib.sh (uses its nt_* helpers and the standard
# cluster: d1 distributes 10.2.0.100, d2 backs it up); sources nothing itself.
#
# Pieces:
#   nto_lc_*     the client load: tests/netns/longconn.py run from C against VIPA:80
#   nto_watch_*  a poller per node that timestamps role and forwarding changes (epoch ms)
#   nto_link_*, nto_sync_loss_all   the events
#   nto_begin / nto_end             the common frame of every test
#
# Environment: NTO_DURATION (seconds of load after READY at least, default 12; the load ends 3 s
# after a test's last step, 40 s after READY at most), NTO_EVENT_S (when the event comes,
# seconds after READY, default 3), NTO_CONNS (long-lived connections, 48), NTO_MAX_STALL_MS /
# NTO_MAX_WINDOW_MS (limits, 1000 each), NTO_SCHED / NTO_HB (see nto_cluster_up), NTO_VIP (the
# VIPA under test: the load's, the watchers' and the checks'; default $NT_VIP4, or $NT_VIP6).

NTO_DURATION=${NTO_DURATION:-12}
NTO_EVENT_S=${NTO_EVENT_S:-3}
NTO_CONNS=${NTO_CONNS:-48}
NTO_MAX_STALL_MS=${NTO_MAX_STALL_MS:-1000}
NTO_MAX_WINDOW_MS=${NTO_MAX_WINDOW_MS:-1000}
NTO_SYNC_PORT=${NTO_SYNC_PORT:-7788}
NTO_VIP=${NTO_VIP:-$NT_VIP4}

# nto_ipv: 6 when the VIPA under test is IPv6, else 4 (for ip -4 / -6).
nto_ipv() { case $NTO_VIP in *:*) echo 6 ;; *) echo 4 ;; esac; }

# ---------------------------------------------------------------- the client load

# nto_lc_start NAME [ARGS...]: starts longconn.py on the client against NTO_VIP; waits
# (15 s) for its READY line; 0 when every long-lived connection got its first answer.
nto_lc_start()
{
	local name=$1
	shift
	rm -f "$NT_WORK/$name.json" "$NT_WORK/$name.stop"
	nt_bg c "$name" "$PY" -u "$NT_DIR/longconn.py" "$NTO_VIP" --conns "$NTO_CONNS" \
		--duration "${NTO_MAX_DURATION:-40}" --stop-file "$NT_WORK/$name.stop" \
		--out "$NT_WORK/$name.json" "$@"
	nt_wait_until 15 grep -q -e '^READY' -e '^DONE' "$NT_WORK/$name.log"
	grep -q "^READY [0-9]* $NTO_CONNS\$" "$NT_WORK/$name.log"
}

# nto_lc_ready_ms NAME: epoch ms at which the load was established.
nto_lc_ready_ms() { awk '/^READY/ { print $2; exit }' "$NT_WORK/$1.log"; }

# nto_lc_wait NAME: ends the load NTO_DURATION s after its READY, or 3 s from now if that is
# later, waits until longconn.py has written its summary and exited; 0 if the summary exists.
nto_lc_wait()
{
	local name=$1 pid ready end
	ready=$(nto_lc_ready_ms "$name")
	end=$(($(nt_now_ms) + 3000))
	[ -n "$ready" ] && [ $((ready + NTO_DURATION * 1000)) -gt "$end" ] &&
		end=$((ready + NTO_DURATION * 1000))
	nto_sleep_until "$end"
	touch "$NT_WORK/$name.stop"
	pid=$(cat "$NT_WORK/$name.pid" 2>/dev/null)
	[ -n "$pid" ] && nt_wait_until 60 nt_gone "$pid"
	nt_stop "$name"
	[ -s "$NT_WORK/$name.json" ]
}

# nto_lc NAME PYEXPR: a value from the summary (bound to j).
nto_lc() { nt_json "$2" <"$NT_WORK/$1.json"; }

# nto_lc_report NAME T0_MS: prints the figures of the load relative to the event at T0_MS and
# checks them: no connection lost, stall and new-connection window within the limits.
nto_lc_report()
{
	local name=$1 t0=$2 lost stall win
	if [ ! -s "$NT_WORK/$name.json" ]; then
		nt_fail "${name}_summary" "no summary: $(tail -n 3 "$NT_WORK/$name.log" | tr '\n' ' ')"
		return 1
	fi
	"$PY" - "$NT_WORK/$name.json" "$t0" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t0 = int(sys.argv[2])
lo, nw = j["long"], j["new"]
rel = lambda x: "t0%+d ms" % (x - t0) if x else "-"
print("load: %d/%d long-lived connections established, %d requests answered, targets %s"
      % (lo["established"], lo["connections"], lo["requests_ok"], lo["targets"]))
print("load: lost %d; max stall %d ms (ending %s); %d stalled > 1 s"
      % (lo["lost"], lo["max_stall_ms"], rel(lo["max_stall_end_ms"]), lo["stalled_over_1s"]))
print("load: new connections %d/%d ok, %d failed, %d slower than 1 s; longest window "
      "without one %d ms (ending %s)"
      % (nw["ok"], nw["attempts"], nw["failures"], nw["slow_over_1s"], nw["max_window_ms"],
         rel(nw["max_window_end_ms"])))
if nw["failures"]:
    print("load: new-connection failures at %s: %s"
          % (", ".join(rel(x) for x in nw["failure_times_ms"][:10]),
             "; ".join(nw["failure_reasons"][:5])))
lost = [c for c in j["connections"] if c["lost"]]
for c in lost[:6]:
    print("load: connection %d (port %s, %s) lost at %s: %s"
          % (c["index"], c["local_port"], c["target"], rel(c["lost_at_ms"]), c["why"]))
if len(lost) > 6:
    print("load: ... and %d more lost, between %s and %s" % (len(lost) - 6,
          rel(min(c["lost_at_ms"] for c in lost)), rel(max(c["lost_at_ms"] for c in lost))))
PY
	lost=$(nto_lc "$name" "j['long']['lost']")
	stall=$(nto_lc "$name" "j['long']['max_stall_ms']")
	win=$(nto_lc "$name" "j['new']['max_window_ms']")
	nt_check "${name}_none_lost" "$lost of $NTO_CONNS long-lived connections lost" \
		[ "$lost" -eq 0 ]
	nt_check "${name}_max_stall" "a connection stalled $stall ms (limit $NTO_MAX_STALL_MS)" \
		[ "$stall" -le "$NTO_MAX_STALL_MS" ]
	nt_check "${name}_new_conns" \
		"no new connection succeeded for $win ms (limit $NTO_MAX_WINDOW_MS)" \
		[ "$win" -le "$NTO_MAX_WINDOW_MS" ]
}

# ---------------------------------------------------------------- role and forwarding watch

# nto_watch_start HOST [PERIOD_MS]: polls HOST's daemon every PERIOD_MS (10) until
# $NT_WORK/watch-HOST.stop exists (bounded: 120 s); appends to $NT_WORK/watch-HOST.txt lines
# "EPOCH_MS WHAT ARGS", one per change:
#   ROLE role owner       NTO_VIP's role on HOST and the owner it reports
#   FWD_START n           packets.rewritten moves again (n: its value), after >= 200 ms still
#   FWD_STOP n            packets.rewritten has not moved for 200 ms (stamped at its last move)
#   CTL up|down           the control socket answers or not (a killed daemon)
#   REPLICA n             conns.from_replica changed (when the daemon reports it)
nto_watch_start()
{
	local h=$1 period=${2:-10}
	rm -f "$NT_WORK/watch-$h.stop" "$NT_WORK/watch-$h.txt"
	nt_bg "$h" "watch-$h" "$PY" -u -c 'import json, os, subprocess, sys, time
ctl, sock, vip, out, stop, period = sys.argv[1:7]
period = int(period) / 1000.0
f = open(out, "a", buffering=1)
def ms(t):
	return int(t * 1000)
def ask(cmd):
	r = subprocess.run([ctl, "-s", sock, cmd, "--json"], capture_output=True, timeout=2)
	if r.returncode:
		raise OSError("exit %d" % r.returncode)
	return json.loads(r.stdout)
ctl_up = None
role = None
last_n = None
last_move = None
moving = False
replica = None
end = time.time() + 120
while not os.path.exists(stop) and time.time() < end:
	t = time.time()
	try:
		st = ask("status")
		sa = ask("stats")
		t = time.time()
		up = True
	except (OSError, ValueError, subprocess.TimeoutExpired):
		up = False
	if up != ctl_up:
		f.write("%d CTL %s\n" % (ms(t), "up" if up else "down"))
		ctl_up = up
		if not up:
			role, last_n, moving = None, None, False
	if up:
		r = None
		for v in st.get("vipas", []):
			if v.get("address") == vip:
				r = (v.get("role"), v.get("owner"))
		if r != role:
			f.write("%d ROLE %s %s\n" % (ms(t), r[0] if r else "-", (r[1] if r else "-") or "-"))
			role = r
		n = sa.get("packets", {}).get("rewritten")
		if n is not None:
			if last_n is None:
				last_n, last_move = n, t
			elif n != last_n:
				if not moving:
					f.write("%d FWD_START %d\n" % (ms(t), n))
					moving = True
				last_n, last_move = n, t
			elif moving and t - last_move >= 0.2:
				f.write("%d FWD_STOP %d\n" % (ms(last_move), n))
				moving = False
		rp = sa.get("conns", {}).get("from_replica") if isinstance(sa.get("conns"), dict) \
			else None
		if rp is not None and rp != replica:
			f.write("%d REPLICA %d\n" % (ms(t), rp))
			replica = rp
	time.sleep(max(0.0, period - (time.time() - t)))
' "$CLUSTERCTL" "$(nt_sock "$h")" "$NTO_VIP" "$NT_WORK/watch-$h.txt" "$NT_WORK/watch-$h.stop" \
		"$period"
	nt_wait_until 5 test -s "$NT_WORK/watch-$h.txt"
}

nto_watch_stop()
{
	local h
	for h in "$@"; do touch "$NT_WORK/watch-$h.stop"; done
	for h in "$@"; do nt_stop "watch-$h"; done
}

# nto_watch_first HOST WHAT AFTER_MS [ARG1]: epoch ms of HOST's first WHAT line (ARG1: its
# first argument must match) at or after AFTER_MS; empty if none.
nto_watch_first()
{
	awk -v w="$2" -v t="$3" -v a="${4:-}" '$2 == w && $1 >= t && (a == "" || $3 == a) {
		print $1; exit }' "$NT_WORK/watch-$1.txt" 2>/dev/null
}

# nto_fwd_stopped HOST: the stamp of HOST's last FWD_STOP when no FWD_START came after it (it
# is quiet now), else nothing.  The stamp is its last forwarded packet, which may come before
# the moment one asks from (an ex-owner that went quiet just before d1's return).
nto_fwd_stopped()
{
	awk '$2 == "FWD_STOP" { s = $1 } $2 == "FWD_START" { s = "" } END { if (s != "") print s }' \
		"$NT_WORK/watch-$1.txt" 2>/dev/null
}

# nto_since T0_MS MS: "MS - T0_MS" or -1 when MS is empty.
nto_since() { if [ -n "$2" ]; then echo $(($2 - $1)); else echo -1; fi; }

# nto_watch_show T0_MS HOST...: every watched line of the HOSTs, times relative to T0_MS.
nto_watch_show()
{
	local t0=$1 h
	shift
	for h in "$@"; do
		awk -v t0="$t0" -v h="$h" '{ e = $1; $1 = sprintf("t0%+d ms %s", e - t0, h)
			print e "\t" $0 }' "$NT_WORK/watch-$h.txt" 2>/dev/null
	done | sort -n -s -k1,1 | cut -f2- | sed 's/^/watch: /'
}

# nto_state HOST: "role owner" of NTO_VIP on HOST, in one question ("- -" if no answer).
nto_state()
{
	nt_ctl "$1" status --json 2>/dev/null | nt_json "' '.join('%s %s' % (v['role'], v['owner'])
		for v in j['vipas'] if v['address'] == '$NTO_VIP')" 2>/dev/null || echo "- -"
}

# nto_owns HOST: HOST's daemon says it distributes the VIPA and names itself the owner.
nto_owns() { [ "$(nto_state "$1")" = "distributor $1" ]; }

# nto_stat_or HOST PYEXPR: a stats value, or "n/a" when the daemon does not report it.
nto_stat_or()
{
	nt_ctl "$1" stats --json 2>/dev/null | nt_json "$2" 2>/dev/null || echo n/a
}

# nto_replica_figures HOST: what HOST says about the replica (n/a until the daemon has it).
nto_replica_figures()
{
	nt_ctl "$1" stats --json 2>/dev/null | nt_json "'conns.from_replica=%s sync.repl=%s' % (
		j.get('conns', {}).get('from_replica', 'n/a') if isinstance(j.get('conns'), dict)
		else 'n/a', json.dumps(j.get('sync', {}).get('repl', 'n/a')))" 2>/dev/null || echo n/a
}

# ---------------------------------------------------------------- events

# nto_link_down HOST: all of HOST's links down (call nto_link_prepare first).
nto_link_down() { nt_x "$1" ip link set lan0 down; }

# nto_link_prepare HOST: IPv6 addresses are to be kept over the down (a server's network
# configuration would restore them; the kernel default flushes them).  Done before the moment
# of the failure is stamped: one process less between the stamp and the failure.
nto_link_prepare() { nt_sysctl "$1" net.ipv6.conf.lan0.keep_addr_on_down=1; }

# nto_link_up HOST: links up again, with the default routes that the down removed.
nto_link_up()
{
	nt_x "$1" ip link set lan0 up
	nt_x "$1" ip route replace default via 10.2.0.1
	nt_x "$1" ip -6 route replace default via fd02::1
}

# nto_sync_loss_all PCT: PCT % random loss of the cluster traffic (UDP to or from the sync
# port, IPv4 and IPv6), in and out, on every cluster node; nto_sync_loss_off heals it.
nto_sync_loss_all()
{
	local h
	for h in $NT_HOSTS; do
		nt_x "$h" nft -f - <<NFT || return 1
table inet ntoloss {
	chain in {
		type filter hook input priority -10; policy accept;
		udp dport $NTO_SYNC_PORT numgen random mod 100 < $1 counter drop
		udp sport $NTO_SYNC_PORT udp dport != $NTO_SYNC_PORT numgen random mod 100 < $1 counter drop
	}
	chain out {
		type filter hook output priority -10; policy accept;
		udp dport $NTO_SYNC_PORT numgen random mod 100 < $1 counter drop
		udp sport $NTO_SYNC_PORT udp dport != $NTO_SYNC_PORT numgen random mod 100 < $1 counter drop
	}
}
NFT
	done
}

nto_sync_loss_off()
{
	local h
	for h in $NT_HOSTS; do nt_x "$h" nft delete table inet ntoloss 2>/dev/null; done
	return 0
}

# nto_sync_loss_dropped HOST: packets the loss rules dropped on HOST.
nto_sync_loss_dropped()
{
	nt_x "$1" nft list table inet ntoloss 2>/dev/null |
		awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) }
		END { print s + 0 }'
}

# nto_has_vipa HOST: HOST's lan0 carries NTO_VIP.
nto_has_vipa() { nt_x "$1" ip -"$(nto_ipv)" -o addr show dev lan0 | grep -q " $NTO_VIP/"; }

# nto_has_rules HOST: HOST's namespace holds clusterd's nft table.
nto_has_rules() { nt_x "$1" nft list tables 2>/dev/null | grep -q clusterd; }

# nto_sleep_until EPOCH_MS: sleeps until then (at once if past).
nto_sleep_until()
{
	local d=$(($1 - $(nt_now_ms)))
	[ "$d" -gt 0 ] && sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
	return 0
}

# ---------------------------------------------------------------- the frame of a test

# nto_cluster_up: lib.sh's standard cluster (nt_cluster_up), with VIPA:80's scheduler set to
# NTO_SCHED and heartbeat_ms to NTO_HB.  The default scheduler is round-robin on purpose: with
# maglev over the same targets the backup recomputes every established connection's target
# from its hash, so connections would survive a takeover without any replica or target
# report, and the tests would show nothing about them.
NTO_SCHED=${NTO_SCHED:-round-robin}
NTO_HB=${NTO_HB:-100}
# NTO_SYNC_MODE / NTO_SYNC_INTERVAL: cluster.sync's replication mode and interval_ms.
NTO_SYNC_MODE=${NTO_SYNC_MODE:-every-update}
NTO_SYNC_INTERVAL=${NTO_SYNC_INTERVAL:-200}
nto_cluster_up()
{
	nt_need_daemon
	nt_topo_up || { nt_fail setup "topology"; nt_finish; }
	nt_write_config
	sed -i -e "s/scheduler = \"maglev\"/scheduler = \"$NTO_SCHED\"/" \
		-e "s/heartbeat_ms = [0-9]*;/heartbeat_ms = $NTO_HB;/" \
		-e "s/mode = \"[a-z-]*\"; interval_ms = [0-9]*;/mode = \"$NTO_SYNC_MODE\"; \
interval_ms = $NTO_SYNC_INTERVAL;/" "$NT_WORK/clusterd.conf"
	# NTO_PREEMPT=false: the VIPAs stay where they are when d1 returns.
	[ "${NTO_PREEMPT:-true}" = false ] && sed -i \
		-e 's/\(address = "[^"]*"; interface = "lan0";\)/\1 preempt = false;/' \
		"$NT_WORK/clusterd.conf"
	# NTO_CONF_EDIT: a test's own change of the file (a command), before any daemon reads it
	[ -n "${NTO_CONF_EDIT:-}" ] && eval "$NTO_CONF_EDIT"
	nt_servers_start || { nt_fail setup "http servers"; nt_finish; }
	if [ "${NTO_PREEMPT:-true}" = false ]; then
		# Without preemption the first node to distribute keeps the VIPA: a d1 that
		# starts slower than d2 (a loaded machine, the sanitizers) would leave it on d2
		# for good, as it should.  The scenario is "d1 was the distributor": it starts
		# first and owns the VIPA before the others start.
		nt_cd_start d1 || { nt_fail setup "clusterd did not start on d1"; nt_finish; }
		nt_wait_until 15 nto_owns d1 ||
			{ nt_fail setup "d1 alone did not take $NTO_VIP within 15 s"; nt_finish; }
		local h
		for h in $NT_HOSTS; do [ "$h" = d1 ] || nt_cd_launch "$h"; done
		for h in $NT_HOSTS; do
			nt_cd_ready "$h" || { nt_fail setup "clusterd did not start"; nt_finish; }
		done
	else
		nt_cd_start_all || { nt_fail setup "clusterd did not start"; nt_finish; }
	fi
	if ! nt_wait_listening d1 3 80 tcp 10 "$NTO_VIP"; then
		nt_fail setup "d1 does not see 3 listening targets for $NTO_VIP:80 within 10 s"
		nt_ctl d1 targets
		nt_finish
	fi
}

# nto_mac HOST: HOST's lan0 MAC address.
nto_mac() { nt_x "$1" cat /sys/class/net/lan0/address; }

# nto_router_sends_to HOST: the router's neighbour entry for NTO_VIP names HOST's MAC (the
# VIPA was announced by HOST, or learnt from it).
nto_router_sends_to()
{
	nt_x r ip -"$(nto_ipv)" neigh show "$NTO_VIP" dev lan0 | grep -qi " lladdr $(nto_mac "$1") "
}

# nto_router_entry: the router's neighbour entry for NTO_VIP (for messages).
nto_router_entry() { nt_x r ip -"$(nto_ipv)" neigh show "$NTO_VIP" dev lan0; }

# nto_burst_arm GO N DURATION_S: starts a burst of N long-lived connections of longconn.py (no
# new connections), loaded but waiting for the file GO: python's start-up (a few hundred ms on a
# busy machine) must not fall between the moment a test picks and its event.  Creates GO.armed
# once loaded.  Its files are those of nto_lc_start (burst.log, .json, .stop, .pid), so nto_lc_wait
# and nto_lc read them.
nto_burst_arm()
{
	rm -f "$1" "$1.armed" "$NT_WORK/burst.json" "$NT_WORK/burst.stop"
	nt_bg c burst "$PY" -u -c 'import os, sys, time
sys.path.insert(0, sys.argv[1])
import longconn
go = sys.argv[2]
open(go + ".armed", "w").close()
end = time.time() + 20
while not os.path.exists(go):
	if time.time() > end:
		sys.exit(3)
	time.sleep(0.002)
sys.argv = ["longconn.py"] + sys.argv[3:]
sys.exit(longconn.main())' "$NT_DIR" "$1" "$NT_VIP4" --conns "$2" --rate 0 \
		--duration "$3" --stop-file "$NT_WORK/burst.stop" --out "$NT_WORK/burst.json"
}

# nto_begin: the cluster (nto_cluster_up), then the command NTO_PRELOAD if set, the watchers on
# d1 and d2, the load; sleeps until the moment of the event (NTO_EVENT_S after READY).  Sets
# NTO_READY_MS.
nto_begin()
{
	nto_cluster_up
	[ -n "${NTO_PRELOAD:-}" ] && eval "$NTO_PRELOAD"
	# the daemons start together: give the primary the time to become ready and own the VIPA
	# each pass only in the branch where its condition held (nt_finish exits, but a pass must
	# not depend on that)
	if nt_wait_until 10 eval 'nto_owns d1 && [ "$(nto_state d2)" = "backup d1" ]'; then
		nt_pass d1_distributes_first
	else
		nt_fail d1_distributes_first "10 s after the start, d1: $(nto_state d1), d2: \
$(nto_state d2)"
		nt_finish
	fi
	nto_watch_start d1 || nt_fail watch_d1 "the watcher on d1 wrote nothing within 5 s"
	nto_watch_start d2 || nt_fail watch_d2 "the watcher on d2 wrote nothing within 5 s"
	if nto_lc_start lc; then
		nt_pass load_established
	else
		nt_fail load_established "$(tail -n 3 "$NT_WORK/lc.log" | tr '\n' ' ')"
		nt_finish
	fi
	NTO_READY_MS=$(nto_lc_ready_ms lc)
	nto_sleep_until $((NTO_READY_MS + NTO_EVENT_S * 1000))
}

# nto_stamps HOST: "AT_MS FIRST_FORWARD_MS" of HOST's last takeover (wall clock; 0 0 if none).
nto_stamps()
{
	nt_ctl "$1" status --json 2>/dev/null | nt_json "'%d %d' % (
		j.get('last_takeover', {}).get('at_ms', 0),
		j.get('last_takeover', {}).get('first_forward_ms', 0))" 2>/dev/null || echo "0 0"
}

# nto_took HOST T_MS: "ROLE_MS FORWARD_MS": how long after T_MS HOST took a VIPA and forwarded
# its first packet, from HOST's own stamps (exact to the ms), else from the watcher's polls
# (late by up to a poll); -1 for what did not happen.
nto_took()
{
	local h=$1 t=$2 at ff
	read -r at ff < <(nto_stamps "$h")
	[ "${at:-0}" -ge "$t" ] || at=$(nto_watch_first "$h" ROLE "$t" distributor)
	[ "${ff:-0}" -ge "$t" ] || ff=$(nto_watch_first "$h" FWD_START "$t")
	echo "$(nto_since "$t" "$at") $(nto_since "$t" "$ff")"
}

# nto_takeover_figures T0_MS: prints and returns (in NTO_TAKEOVER_MS, NTO_ROLE_MS) how long d2
# took, after the event at T0_MS, to call itself distributor and to forward its first packet.
nto_takeover_figures()
{
	local t0=$1
	read -r NTO_ROLE_MS NTO_TAKEOVER_MS < <(nto_took d2 "$t0")
	echo "takeover: d2 distributor after $NTO_ROLE_MS ms, first packet forwarded by d2 after" \
		"$NTO_TAKEOVER_MS ms (target 3 heartbeats + 100 ms = 400 ms; -1 = never)"
}

# nto_takeback_figures T1_MS: the same for d1 after its return at T1_MS.
nto_takeback_figures()
{
	local t1=$1
	read -r NTO_BACK_ROLE_MS NTO_BACK_FWD_MS < <(nto_took d1 "$t1")
	local stop
	stop=$(nto_fwd_stopped d2)
	# d2's last forwarded packet, from d1's return (negative: before it); "never": it
	# still forwards
	NTO_D2_STOP_MS=never
	[ -n "$stop" ] && NTO_D2_STOP_MS=$((stop - t1))
	NTO_BACK_CTL_MS=$(nto_since "$t1" "$(nto_watch_first d1 CTL "$t1" up)")
	echo "takeback: d1 distributor after $NTO_BACK_ROLE_MS ms, forwarding after" \
		"$NTO_BACK_FWD_MS ms; d2 stopped forwarding after $NTO_D2_STOP_MS ms (\"never\": it still does;" \
		"a restarted d1 answered its control socket after $NTO_BACK_CTL_MS ms)"
}

# nto_check_takeover T0_MS: waits (3 s) for d2 to own the VIPA and forward, prints the figures,
# checks that d2 owns it, forwards, and that the router now sends the VIPA's packets to d2.
nto_check_takeover()
{
	local t0=$1
	local st
	nt_wait_until 3 eval '[ -n "$(nto_watch_first d2 FWD_START '"$t0"')" ] && nto_owns d2'
	nto_takeover_figures "$t0"
	st=$(nto_state d2)
	nt_check d2_no_early_claim "d2 called itself distributor before the event: $(awk -v t="$t0" \
		'$1 < t && $2 == "ROLE" && $3 == "distributor"' "$NT_WORK/watch-d2.txt" | head -n 3)" \
		eval '! awk -v t="$t0" '"'"'$1 < t && $2 == "ROLE" && $3 == "distributor" { f = 1 }
		END { exit !f }'"'"' "$NT_WORK/watch-d2.txt"'
	nt_check d2_owns_after_event "d2's role and owner: $st" [ "$st" = "distributor d2" ]
	nt_check d2_forwards "d2 forwarded nothing within 3 s of the event" \
		[ "$NTO_TAKEOVER_MS" -ge 0 ]
	nt_check router_to_d2 "the router's neighbour entry for $NTO_VIP: $(nto_router_entry) \
(d2 is $(nto_mac d2))" nto_router_sends_to d2
}

# nto_check_takeback T1_MS: after d1's return at T1_MS, waits (10 s) until d1 owns the VIPA
# again, forwards, and d2 is its backup and idle; prints the figures and checks each.
nto_check_takeback()
{
	local t1=$1 s1 s2
	nt_wait_until 10 eval '[ -n "$(nto_watch_first d1 FWD_START '"$t1"')" ] &&
		[ -n "$(nto_fwd_stopped d2)" ] && nto_owns d1 &&
		[ "$(nto_state d2)" = "backup d1" ]'
	nto_takeback_figures "$t1"
	s1=$(nto_state d1)
	s2=$(nto_state d2)
	nt_check d1_owns_after_return "d1's role and owner: $s1" [ "$s1" = "distributor d1" ]
	nt_check d2_backup_after_return "d2's role and owner: $s2" [ "$s2" = "backup d1" ]
	nt_check d1_forwards_again "d1 forwarded nothing within 10 s of its return" \
		[ "$NTO_BACK_FWD_MS" -ge 0 ]
	# an ex-owner forwards what still reaches it; once d1 has announced the VIPA that ends
	nt_check d2_idle_after_return "d2 stopped forwarding at $NTO_D2_STOP_MS ms, d1 started at \
$NTO_BACK_FWD_MS ms (want d2 quiet within 1 s of d1's start)" \
		eval '[ "$NTO_D2_STOP_MS" != never ] && [ "$NTO_BACK_FWD_MS" -ge 0 ] &&
			[ "$NTO_D2_STOP_MS" -le $((NTO_BACK_FWD_MS + 1000)) ]'
	nt_check router_to_d1 "the router's neighbour entry for $NTO_VIP: $(nto_router_entry) \
(d1 is $(nto_mac d1))" nto_router_sends_to d1
}

# nto_end T0_MS: waits for the load, prints the timeline of both distributors and checks the
# load's figures.
nto_end()
{
	local t0=$1
	nto_lc_wait lc || nt_fail load_summary "$(tail -n 3 "$NT_WORK/lc.log" | tr '\n' ' ')"
	nto_watch_stop d1 d2
	nto_watch_show "$t0" d1 d2
	echo "d2: $(nto_replica_figures d2)"
	echo "d1: $(nto_replica_figures d1)"
	nto_lc_report lc "$t0"
}
