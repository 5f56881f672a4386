#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_nonroot: every clusterd runs as an unprivileged system user with CAP_NET_ADMIN and
# CAP_NET_RAW as ambient capabilities (what systemd/clusterd.service does, here with setpriv):
# each starts, binds its queues, installs its rules and serves IPv4 and IPv6 traffic; after
# start every thread keeps CAP_NET_ADMIN only.  Then d1 is SIGKILLed: d2 takes the VIPAs over
# and announces them (gratuitous ARP, unsolicited NA) long after it dropped CAP_NET_RAW, so
# the router follows; d1, started again, cleans up what it left and takes them back.
#
# Creates the user clusterd-test (and its group) when absent, removes them at the end if it
# created them.  State directory, control socket and key under the test's work directory,
# owned by that user.
. "$(dirname "$0")/lib.sh"
NR_USER=${NR_USER:-clusterd-test}
NR_CREATED=
NR_CAP_NET_ADMIN=0000000000001000	# 1 << 12: CapEff / CapPrm with CAP_NET_ADMIN alone

nt_need_daemon
nt_need setpriv useradd userdel

# The control sockets live in a directory the user owns (as /run/clusterd under systemd).
nt_sock() { echo "$NT_WORK/run/$1.sock"; }

# nr_exit: the daemons run as NR_USER, so stop them before removing the user, then the
# harness's own cleanup (which exits with the status of the script).
nr_exit()
{
	local rc=$? h
	for h in $NT_HOSTS; do nt_stop "clusterd-$h" KILL; done
	if [ -n "$NR_CREATED" ] && ! userdel "$NR_USER" 2>/dev/null; then
		nt_log "could not remove user $NR_USER"
	fi
	(exit $rc)
	nt_cleanup
}

if ! id -u "$NR_USER" >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group "$NR_USER" || { nt_fail setup "useradd $NR_USER"; nt_finish; }
	NR_CREATED=1
	trap nr_exit EXIT
fi
NR_UID=$(id -u "$NR_USER")
nt_log "running clusterd as $NR_USER (uid $NR_UID)"

nt_topo_up
rc=$?
trap nr_exit EXIT	# nt_topo_up set its own
[ $rc -eq 0 ] || { nt_fail setup "topology"; nt_finish; }
nt_write_config
install -d -o "$NR_USER" -g "$NR_USER" -m 0755 "$NT_WORK/run"
for h in $NT_HOSTS; do install -d -o "$NR_USER" -g "$NR_USER" -m 0755 "$NT_WORK/state-$h"; done

# As the unit runs it: NR_USER, the two capabilities ambient and nothing else in the
# bounding set, no_new_privs.
NR_AS_USER=(setpriv --reuid="$NR_UID" --regid="$(id -g "$NR_USER")" --init-groups
	--inh-caps=-all,+net_admin,+net_raw --ambient-caps=+net_admin,+net_raw
	--bounding-set=-all,+net_admin,+net_raw --no-new-privs)

# A key the user cannot read is refused before anything starts (the unit's ExecStartPre).
out=$("${NR_AS_USER[@]}" "$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" -n d1 2>&1)
rc=$?
nt_check root_key_refused "rc $rc with a key owned by root: $out" \
	[ $rc -ne 0 -a -n "$(grep 'cannot open key file: Permission denied' <<<"$out")" ]
chown "$NR_USER:$NR_USER" "$NT_WORK/cluster.key"
chmod 0600 "$NT_WORK/cluster.key"
out=$("${NR_AS_USER[@]}" "$CLUSTERD" --check-config -f "$NT_WORK/clusterd.conf" -n d1 2>&1)
nt_check user_key_accepted "$out" [ $? -eq 0 ]

nt_servers_start || { nt_fail setup "http servers"; nt_finish; }

nr_launch()
{
	local h=$1
	rm -f "$(nt_sock "$h")"
	nt_bg "$h" "clusterd-$h" "${NR_AS_USER[@]}" "$CLUSTERD" -f "$NT_WORK/clusterd.conf" \
		-n "$h" -s "$(nt_sock "$h")" --state-dir "$NT_WORK/state-$h" --foreground
}

for h in $NT_HOSTS; do nr_launch "$h"; done
for h in $NT_HOSTS; do
	if ! nt_wait_until 30 nt_ctl "$h" status; then
		nt_fail "start_$h" "clusterd on $h does not answer as $NR_USER"
		nt_dump_logs "clusterd-$h"
		nt_finish
	fi
done
nt_pass started_without_root

# nr_pid HOST: the daemon's pid (ip netns exec and setpriv exec it: same process).
nr_pid() { cat "$NT_WORK/clusterd-$1.pid"; }

# nr_uids_ok HOST: real, effective, saved and fs uid are all NR_USER's.
nr_uids_ok()
{
	[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$(nr_pid "$1")/status")" = \
		"$NR_UID $NR_UID $NR_UID $NR_UID" ]
}

# nr_caps_ok HOST: every thread of the daemon has CAP_NET_ADMIN alone, effective and
# permitted (CAP_NET_RAW gone), and nothing inheritable or ambient beyond it.
nr_caps_ok()
{
	local t pid bad=0
	pid=$(nr_pid "$1")
	for t in /proc/"$pid"/task/*; do
		awk -v want="$NR_CAP_NET_ADMIN" '
			/^Cap(Eff|Prm):/ && $2 != want { bad = 1; print FILENAME ": " $0 }
			/^Cap(Inh|Amb):/ && $2 != want && $2 != "0000000000000000" {
				bad = 1; print FILENAME ": " $0 }
			END { exit bad }' "$t/status" >&2 || bad=1
	done
	[ "$bad" -eq 0 ]
}

nr_threads() { ls "/proc/$(nr_pid "$1")/task" | wc -l; }

for h in $NT_HOSTS; do
	nt_check "uid_$h" "$(grep ^Uid: "/proc/$(nr_pid "$h")/status")" nr_uids_ok "$h"
	nt_check "caps_dropped_$h" "$(grep ^Cap "/proc/$(nr_pid "$h")/status" | tr '\n' ' ')" \
		nr_caps_ok "$h"
	nt_check "caps_logged_$h" "no capability line in its log" grep -q \
		"capabilities: keeping CAP_NET_ADMIN; dropped 1, CAP_NET_RAW among them" \
		"$NT_WORK/clusterd-$h.log"
	nt_check "epoch_written_$h" "$(ls -l "$NT_WORK/state-$h" 2>&1)" \
		[ "$(stat -c %U "$NT_WORK/state-$h/epoch" 2>/dev/null)" = "$NR_USER" ]
	nt_check "socket_owned_$h" "$(ls -l "$(nt_sock "$h")" 2>&1)" \
		[ "$(stat -c %U "$(nt_sock "$h")" 2>/dev/null)" = "$NR_USER" ]
done
nt_log "threads per daemon: d1 $(nr_threads d1), t1 $(nr_threads t1)"
nr_has_rules() { nt_x "$1" nft list tables 2>/dev/null | grep -q 'inet clusterd'; }
nt_check rules_installed "no table inet clusterd on d1" nr_has_rules d1
nt_check d1_has_vipa4 "$NT_VIP4 not on d1" \
	nt_wait_until 10 eval "nt_x d1 ip -4 -o addr show dev lan0 | grep -q ' $NT_VIP4/'"
if ! nt_wait_listening d1 3 80 tcp 10 "$NT_VIP4"; then
	nt_fail setup "d1 does not see 3 listening targets for $NT_VIP4:80 within 10 s"
	nt_ctl d1 targets
	nt_finish
fi
nt_wait_listening d1 3 80 tcp 10 "$NT_VIP6" || nt_log "d1 sees fewer than 3 targets for $NT_VIP6"

# nr_serve NAME URL [CURL_OPTS]: 30 requests, all answered, by more than one target.
nr_serve()
{
	local name=$1 url=$2 out ok n
	shift 2
	out=$(nt_curl_loop 30 "$url" "$@")
	ok=$(grep -vc '^ERR' <<<"$out")
	n=$(grep -v '^ERR' <<<"$out" | sort -u | grep -c .)
	nt_check "$name" "$ok/30 answered by $n targets: $(sort <<<"$out" | uniq -c | tr '\n' ' ')" \
		[ "$ok" -eq 30 -a "$n" -ge 2 ]
}
nr_serve served_v4 "http://$NT_VIP4/"
nr_serve served_v6 "http://[$NT_VIP6]/" -g

# nr_router_to HOST 4|6 VIPA: the router's neighbour entry for VIPA names HOST's lan0 MAC.
nr_router_to()
{
	local mac
	mac=$(nt_x "$1" cat /sys/class/net/lan0/address)
	nt_x r ip -"$2" neigh show "$3" dev lan0 | grep -qi " lladdr $mac "
}
nt_check router_v4_to_d1 "$(nt_x r ip -4 neigh show "$NT_VIP4" dev lan0)" nr_router_to d1 4 "$NT_VIP4"
nt_check router_v6_to_d1 "$(nt_x r ip -6 neigh show "$NT_VIP6" dev lan0)" nr_router_to d1 6 "$NT_VIP6"

# Takeover, long after every daemon dropped CAP_NET_RAW: only the sockets opened at start
# can announce the VIPAs on d2.
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nt_check d2_takes_vipa4 "$NT_VIP4 not on d2" \
	nt_wait_until 5 eval "nt_x d2 ip -4 -o addr show dev lan0 | grep -q ' $NT_VIP4/'"
nt_check d2_takes_vipa6 "$NT_VIP6 not on d2" \
	nt_wait_until 5 eval "nt_x d2 ip -6 -o addr show dev lan0 | grep -q ' $NT_VIP6/'"
nt_check router_v4_to_d2 "$(nt_x r ip -4 neigh show "$NT_VIP4" dev lan0) (d2: $(nt_x d2 cat \
	/sys/class/net/lan0/address))" nt_wait_until 3 nr_router_to d2 4 "$NT_VIP4"
nt_check router_v6_to_d2 "$(nt_x r ip -6 neigh show "$NT_VIP6" dev lan0) (d2: $(nt_x d2 cat \
	/sys/class/net/lan0/address))" nt_wait_until 3 nr_router_to d2 6 "$NT_VIP6"
nt_check no_announce_errors_d2 "$(grep -m3 'announcing' "$NT_WORK/clusterd-d2.log")" \
	eval "! grep -q 'announcing VIPA' '$NT_WORK/clusterd-d2.log'"
nr_serve served_by_d2_v4 "http://$NT_VIP4/"
nr_serve served_by_d2_v6 "http://[$NT_VIP6]/" -g

# d1 again, still without root: it removes the address and the rules SIGKILL left, then takes
# the VIPAs back from d2 and announces them.
nr_launch d1
nt_check d1_restarts "clusterd on d1 does not answer" nt_wait_until 30 nt_ctl d1 status
nt_check d1_caps_after_restart "$(grep ^Cap "/proc/$(nr_pid d1)/status" | tr '\n' ' ')" \
	nr_caps_ok d1
nt_check d1_cleaned_leftovers "no 'removing VIPA ... left' line" \
	nt_wait_until 5 grep -q "removing VIPA $NT_VIP4 left" "$NT_WORK/clusterd-d1.log"
nt_check router_v4_back_to_d1 "$(nt_x r ip -4 neigh show "$NT_VIP4" dev lan0)" \
	nt_wait_until 15 nr_router_to d1 4 "$NT_VIP4"
nt_check router_v6_back_to_d1 "$(nt_x r ip -6 neigh show "$NT_VIP6" dev lan0)" \
	nt_wait_until 5 nr_router_to d1 6 "$NT_VIP6"
n=$(nt_x d1 nft list tables 2>/dev/null | grep -c clusterd)
nt_check d1_one_ruleset "d1 holds $n clusterd tables" [ "$n" -eq 1 ]
nr_serve served_after_takeback_v4 "http://$NT_VIP4/"

# SIGTERM as the user: the VIPAs and the rules go with the daemon.
nt_cd_stop d1
nt_check d1_removed_rules "table inet clusterd left on d1" eval '! nr_has_rules d1'
nt_check d1_removed_vipa "$NT_VIP4 left on d1" \
	eval "! nt_x d1 ip -4 -o addr show dev lan0 | grep -q ' $NT_VIP4/'"
nt_finish
