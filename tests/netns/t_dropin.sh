#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_dropin: the nft drop-in mode (daemon.manage_rules = false) end to end.
#
# Part 1, the shipped example: rules/clusterd.nft (its comments aside) is exactly what
# `clusterd --print-rules` prints for etc/clusterd.conf with the node, daemon.workers and the
# first queue its header names: the two cannot drift apart.
#
# Part 2, a cluster whose rules the operator loads (lib.sh's cluster, every node with
# manage_rules = false): for each node the test runs `clusterd --print-rules -f CONF -n NODE` and
# loads the output with `nft -f` in its namespace, before the daemon starts (d1, the targets) or
# after (d2, the backup).  Then: every daemon says "rules": "external" and never installed a
# ruleset (its log), and the table of each node is the one the operator loaded (same handles: not
# recreated), after a reload too; traffic through the VIPA works (short connections spread over
# the three targets, whose replies go from the targets to the router, none through d1); with
# lib_takeover.sh's load of long-lived connections, a SIGKILL of d1 hands the VIPA to d2, which
# forwards through the ruleset loaded after its start, and no connection is lost; d2 and a
# target stopped with SIGTERM leave their table as it was (the operator owns it).
#
# A kernel without the nftables queue expression (CONFIG_NFT_QUEUE) cannot load the printed text
# (`queue` is the only way nft's syntax says it; clusterd itself falls back to the xtables target
# there).  On such a kernel part 2 loads the same printed rules through iptables-nft instead: each
# rule's match, its notrack and its queue (NFQUEUE, the flow hash of --queue-balance in place of
# the printed jhash split; the input chain's sync-port filter is left out), and says so.  The
# daemon's side, the part under test, is the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
nt_need_daemon

# ---------------------------------------------------------------- part 1: the shipped example
ex_nft=$NT_TOP/rules/clusterd.nft
ex_conf=$NT_TOP/etc/clusterd.conf
ex_dir=$(mktemp -d /tmp/t_dropin.XXXXXX)
hdr=$(grep '^#' "$ex_nft")
ex_node=$(sed -n 's/.*ruleset for node \([A-Za-z0-9._-]*\) of the example.*/\1/p' <<<"$hdr" | head -n 1)
ex_workers=$(grep -o 'daemon\.workers = [0-9]*' <<<"$hdr" | head -n 1 | grep -o '[0-9]*$')
ex_queue=$(grep -oE 'daemon\.queue(_base)? = [0-9]+' <<<"$hdr" | head -n 1 | grep -o '[0-9]*$')
if [ -n "$ex_node" ] && [ -n "$ex_workers" ] && [ -n "$ex_queue" ]; then
	nt_pass example_header
	sed -e "s/^\([[:space:]]*\)workers = [0-9]*;/\1workers = $ex_workers;/" \
		-e "s/^\([[:space:]]*\)queue = [0-9]*;/\1queue = $ex_queue;/" "$ex_conf" >"$ex_dir/c.conf"
	if "$CLUSTERD" --print-rules -f "$ex_dir/c.conf" -n "$ex_node" >"$ex_dir/printed" \
		2>"$ex_dir/err"; then
		grep -v '^[[:space:]]*#' "$ex_nft" | grep -v '^[[:space:]]*$' >"$ex_dir/shipped"
		grep -v '^[[:space:]]*$' "$ex_dir/printed" >"$ex_dir/printed.nb"
		nt_check example_is_printed "rules/clusterd.nft differs from --print-rules -n $ex_node \
(workers $ex_workers, queue $ex_queue): $(diff "$ex_dir/shipped" "$ex_dir/printed.nb" | head -n 6 |
			tr '\n' '|')" cmp -s "$ex_dir/shipped" "$ex_dir/printed.nb"
	else
		nt_fail example_is_printed "--print-rules failed: $(cat "$ex_dir/err")"
	fi
else
	nt_fail example_header "rules/clusterd.nft's header names no node/workers/queue: \
node '$ex_node' workers '$ex_workers' queue '$ex_queue'"
fi
rm -rf "$ex_dir"

# ---------------------------------------------------------------- part 2: the cluster
DROPIN_NATIVE=1

# dropin_print HOST: the operator's ruleset file of HOST, from the running configuration.
dropin_print()
{
	"$CLUSTERD" --print-rules -f "$NT_WORK/clusterd.conf" -n "$1" >"$NT_WORK/rules-$1.nft"
}

# dropin_xt FILE: the rules of a --print-rules FILE as iptables-nft / ip6tables-nft argument
# lines ("4 ARGS" / "6 ARGS"), for a kernel without the nft queue expression.  The lines that
# differ only in their jhash split become one NFQUEUE --queue-balance rule.  Fails on a line it
# does not know.
dropin_xt()
{
	awk '
	function emit(fam, args) { if (!(fam " " args in seen)) { seen[fam " " args] = 1; print fam, args } }
	/^[ \t]*(table|type|}|$)/ { next }
	/^[ \t]*chain / { chain = $2; next }
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		if (chain == "input") next	# the sync-port filter: not needed for the test
		# the fast path static reply rewrite has no iptables form: it stays an nft rule
		if (line ~ / set .* counter accept$/) { print "F", line; next }
		tbl = chain == "prerouting" ? "-t raw -A PREROUTING" : chain == "output" ? "-t raw -A OUTPUT" : ""
		if (tbl == "") { print "ERR chain " chain; exit 1 }
		if (!match(line, /^(ip|ip6) (daddr|saddr) [^ ]+/)) { print "ERR " line; exit 1 }
		split(substr(line, 1, RLENGTH), a, " ")
		fam = a[1] == "ip" ? 4 : 6
		m = (a[2] == "daddr" ? "-d " : "-s ") a[3]
		rest = substr(line, RLENGTH + 2)
		types = ""
		if (match(rest, /^(tcp|udp|sctp) (dport|sport) [0-9]+/)) {
			split(substr(rest, 1, RLENGTH), b, " ")
			m = m " -p " b[1] " --" b[2] " " b[3]
		} else if (match(rest, /^(icmp|icmpv6) type \{[^}]*\}/)) {
			t = substr(rest, 1, RLENGTH)
			sub(/^[a-z0-9]+ type \{ */, "", t); sub(/ *\}$/, "", t); gsub(/ /, "", t)
			types = t
			proto = fam == 4 ? "icmp" : "ipv6-icmp"
			opt = fam == 4 ? "--icmp-type" : "--icmpv6-type"
		} else { print "ERR " line; exit 1 }
		n = types == "" ? 1 : split(types, tl, ",")
		for (i = 1; i <= n; i++) {
			mm = types == "" ? m : m " -p " proto " " opt " " tl[i]
			if (line ~ / notrack/) emit(fam, tbl " " mm " -j CT --notrack")
			if (match(line, /queue num [0-9]+$/)) {
				q = substr(line, RSTART + 10) + 0
				k = fam SUBSEP tbl SUBSEP mm
				if (!(k in lo) || q < lo[k]) lo[k] = q
				if (!(k in hi) || q > hi[k]) hi[k] = q
				if (!(k in order)) { order[k] = ++nq; keys[nq] = k }
			}
		}
	}
	END {
		for (i = 1; i <= nq; i++) {
			split(keys[i], p, SUBSEP)
			qs = lo[keys[i]] == hi[keys[i]] ? "--queue-num " lo[keys[i]] : \
				"--queue-balance " lo[keys[i]] ":" hi[keys[i]]
			print p[1], p[2] " " p[3] " -j NFQUEUE " qs
		}
	}' "$1"
}

# dropin_load HOST: the operator's part on HOST: nft -f of its printed ruleset (or, without the
# nft queue expression, the same rules through iptables-nft).
dropin_load()
{
	local h=$1 fam args
	dropin_print "$h" || return 1
	if [ "$DROPIN_NATIVE" = 1 ]; then
		nt_x "$h" nft -f "$NT_WORK/rules-$h.nft"
		return
	fi
	dropin_xt "$NT_WORK/rules-$h.nft" >"$NT_WORK/rules-$h.xt" || {
		nt_log "cannot translate the rules of $h: $(grep ERR "$NT_WORK/rules-$h.xt")"
		return 1
	}
	# the fast path's rewrites (F lines): an output chain of their own, loaded with nft
	if grep -q '^F ' "$NT_WORK/rules-$h.xt"; then
		{
			echo "table inet clusterd {"
			echo "	chain output {"
			echo "		type filter hook output priority raw; policy accept;"
			sed -n 's/^F /		/p' "$NT_WORK/rules-$h.xt"
			echo "	}"
			echo "}"
		} >"$NT_WORK/rules-$h.fast.nft"
		nt_x "$h" nft -f "$NT_WORK/rules-$h.fast.nft" ||
			{ nt_log "$h: nft -f of the fast path's rules failed"; return 1; }
	fi
	# (the NFQUEUE rules come after every CT --notrack one: the queue is terminal)
	grep -v -e NFQUEUE -e '^F ' "$NT_WORK/rules-$h.xt" >"$NT_WORK/rules-$h.xt.1"
	grep NFQUEUE "$NT_WORK/rules-$h.xt" >>"$NT_WORK/rules-$h.xt.1"
	while read -r fam args; do
		# shellcheck disable=SC2086
		if [ "$fam" = 4 ]; then nt_x "$h" iptables-nft $args; else nt_x "$h" ip6tables-nft $args; fi ||
			{ nt_log "$h: ${fam/4/}iptables-nft $args failed"; return 1; }
	done <"$NT_WORK/rules-$h.xt.1"
}

# dropin_table HOST: the operator's table(s) on HOST with their handles, counters zeroed (the
# fast path's rewrites count the replies): what the daemon must neither recreate nor change.
dropin_table()
{
	if [ "$DROPIN_NATIVE" = 1 ]; then
		nt_x "$1" nft -a list table inet clusterd 2>&1
	else
		{ nt_x "$1" nft -a list table ip raw; nt_x "$1" nft -a list table ip6 raw
		  ! nt_x "$1" nft list tables | grep -q 'inet clusterd' ||
			nt_x "$1" nft -a list table inet clusterd; } 2>&1
	fi | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
}

# dropin_tables HOST: the names of HOST's nft tables, one line.
dropin_tables() { nt_x "$1" nft list tables 2>&1 | sort | tr '\n' ' '; }

# dropin_same HOST: HOST's table is still what the operator loaded.
dropin_same()
{
	dropin_table "$1" >"$NT_WORK/table-$1.now"
	cmp -s "$NT_WORK/table-$1.loaded" "$NT_WORK/table-$1.now" &&
		[ "$(dropin_tables "$1")" = "$(cat "$NT_WORK/tables-$1.loaded")" ]
}

# dropin_check_same NAME HOST: dropin_same as a check, with the difference on failure.
dropin_check_same()
{
	if dropin_same "$2"; then
		nt_pass "$1"
	else
		nt_fail "$1" "$2's table changed: $(diff "$NT_WORK/table-$2.loaded" \
			"$NT_WORK/table-$2.now" | head -n 6 | tr '\n' '|') tables now: \
$(dropin_tables "$2")(loaded: $(cat "$NT_WORK/tables-$2.loaded"))"
	fi
}

# dropin_setup: (NTO_CONF_EDIT: after the configuration is written, before any daemon starts)
# manage_rules = false for all; the rules of every node but d2 loaded now.
dropin_setup()
{
	local h
	sed -i 's/^daemon = { \(.*\) };$/daemon = { \1 manage_rules = false; };/' \
		"$NT_WORK/clusterd.conf"
	grep -q 'manage_rules = false;' "$NT_WORK/clusterd.conf" ||
		{ nt_fail setup "manage_rules = false not set"; nt_finish; }
	if ! nt_x d1 nft -f - <<<'table inet ntprobe { chain c { type filter hook prerouting priority 0; ip daddr 192.0.2.1 queue num 0; }; }' 2>/dev/null; then
		DROPIN_NATIVE=0
		nt_need iptables-nft ip6tables-nft
		echo "NOTE: this kernel has no nft queue expression (CONFIG_NFT_QUEUE): the printed" \
			"rules are loaded through iptables-nft (NFQUEUE), not nft -f"
	fi
	nt_x d1 nft delete table inet ntprobe 2>/dev/null
	for h in $NT_HOSTS; do
		[ "$h" = d2 ] && continue
		dropin_load "$h" || { nt_fail "operator_rules_$h" "cannot load $h's rules"; nt_finish; }
		dropin_table "$h" >"$NT_WORK/table-$h.loaded"
		dropin_tables "$h" >"$NT_WORK/tables-$h.loaded"
	done
	nt_pass operator_rules_before_start
}

# dropin_late: (NTO_PRELOAD: the daemons run) d2's rules, loaded after its daemon started.
dropin_late()
{
	nt_check d2_no_table_of_its_own "d2's daemon created a table: $(dropin_tables d2)" \
		eval '! nt_x d2 nft list tables 2>/dev/null | grep -q clusterd'
	dropin_load d2 || { nt_fail operator_rules_d2 "cannot load d2's rules"; nt_finish; }
	dropin_table d2 >"$NT_WORK/table-d2.loaded"
	dropin_tables d2 >"$NT_WORK/tables-d2.loaded"
	nt_pass operator_rules_d2_after_start
}

NTO_CONF_EDIT=dropin_setup NTO_PRELOAD=dropin_late nto_begin
echo "queueing: $([ "$DROPIN_NATIVE" = 1 ] && echo "nft -f of --print-rules" ||
	echo "iptables-nft NFQUEUE (no nft queue expression)")"

for h in $NT_HOSTS; do
	r=$(nt_ctl "$h" status --json | nt_json "j['rules']")
	nt_check "external_$h" "$h's status says rules '$r'" [ "$r" = external ]
	nt_check "never_installed_$h" "$h's log: $(grep -i 'ruleset\|nftables' \
		"$NT_WORK/clusterd-$h.log" | head -n 2)" eval '! grep -q "ruleset installed" \
		"$NT_WORK/clusterd-$h.log"'
	dropin_check_same "table_untouched_$h" "$h"
done

# short connections: all three targets answer, and the replies go from the targets to the router
tmacs=$(for h in $NT_TARGETS; do nto_mac "$h"; done | paste -sd, | sed 's/,/, /g')
nt_x r nft -f - <<NFT
table ip ntdsr {
	chain forward {
		type filter hook forward priority 0; policy accept;
		ip saddr $NT_VIP4 tcp sport 80 ether saddr { $tmacs } counter
		ip saddr $NT_VIP4 tcp sport 80 counter
	}
}
NFT
nt_curl_loop 30 "http://$NT_VIP4/" >"$NT_WORK/short.out"
echo "short connections: $(nt_tally "$NT_WORK/short.out" | tr '\n' ' ')"
nt_check short_all_answered "$(grep -c ERR "$NT_WORK/short.out") of 30 failed" \
	eval '! grep -q ERR "$NT_WORK/short.out"'
for h in $NT_TARGETS; do
	nt_check "spread_$h" "no short connection answered by $h" \
		[ "$(nt_count "$NT_WORK/short.out" "$h")" -gt 0 ]
done
read -r from_targets all < <(nt_x r nft list table ip ntdsr | grep -o 'packets [0-9]*' |
	awk '{ printf "%s ", $2 }')
echo "replies from $NT_VIP4:80 forwarded by the router: $all, from a target's MAC: $from_targets"
nt_check replies_from_targets "of $all replies the router forwarded, $from_targets came from a \
target" [ "${all:-0}" -gt 0 -a "${from_targets:-x}" = "${all:-y}" ]
rew=$(nt_stat d1 "j['packets']['rewritten']")
nt_check d1_rewrites "d1 rewrote ${rew:-?} packets" [ "${rew:-0}" -gt 0 ]

# a reload changes nothing of the table either
gen=$(nt_ctl d1 status --json | nt_json "j['generation']")
nt_ctl d1 reload >/dev/null
nt_check reload_applied "d1's generation stayed $gen" nt_wait_until 10 eval \
	'[ "$(nt_ctl d1 status --json | nt_json "j[\"generation\"]")" -gt "$gen" ]'
dropin_check_same table_untouched_by_reload d1

# the takeover: d2 forwards through the rules loaded after its start
t0=$(nt_now_ms)
nt_cd_stop d1 KILL
nt_log "clusterd on d1 killed"
nto_check_takeover "$t0"
nto_end "$t0"
dropin_check_same table_kept_after_kill d1

# stops: the operator's table stays as it was
for h in d2 t1; do
	nt_cd_stop "$h"
	nt_check "${h}_stopped" "$h's daemon did not exit on SIGTERM: $(grep "^clusterd-$h " \
		"$NT_WORK/exits")" grep -q "^clusterd-$h [0-9]* 0 exited TERM" "$NT_WORK/exits"
	dropin_check_same "table_kept_after_stop_$h" "$h"
done
nt_finish
