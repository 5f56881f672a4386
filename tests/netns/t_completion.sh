#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_completion: clusterctl's bash completion (contrib/bash-completion/clusterctl), sourced into
# this shell and called as bash calls it (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT set),
# its COMPREPLY compared exactly, for lines typed against d1's daemon (the only one started:
# its status lists every node of the configuration; 10.2.0.100 has an alternate address, which
# is no VIPA) and against none.
#   - the commands are exactly those `clusterctl --help` lists, the options exactly its options
#     (a command added to common/ctlproto.h and not to the completion fails here);
#   - after drain/undrain the node names, after failover the VIPAs (the IPv6 one trimmed at the
#     last ':' as readline needs), from the daemon at the socket given on the line (-s, --socket=,
#     -js, after the command too), else $CLUSTERD_SOCKET; nothing from a socket nobody answers
#     on, and quickly;
#   - file names after -s / --socket=, options after the command, nothing after the argument.
# COMPLETION=FILE tests another file (to see this test fail on a broken one).
. "$(dirname "$0")/lib.sh"
COMPLETION=${COMPLETION:-$NT_TOP/contrib/bash-completion/clusterctl}
nt_need_daemon
nt_need timeout grep
[ -r "$COMPLETION" ] || { nt_fail setup "no completion file $COMPLETION"; nt_finish; }
unset CLUSTERD_SOCKET
# shellcheck disable=SC1090
. "$COMPLETION"
nt_check registered "complete -p clusterctl: $(complete -p clusterctl 2>&1)" \
	eval '[[ "$(complete -p clusterctl 2>/dev/null)" == *"-F _clusterctl "*clusterctl ]]'
COMP_WORDBREAKS=$' \t\n"\'@><=;|&(:'

# comp LINE: calls the completion for LINE with the cursor at its end; COMP_WORDS split the way
# readline splits (blanks, and runs of ':' or '=' as words of their own).  Sets got: the
# candidates sorted, one line each.
comp()
{
	local w
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMP_WORDS=()
	for w in $1; do
		mapfile -t -O "${#COMP_WORDS[@]}" COMP_WORDS < <(grep -oE '[^:=]+|[:=]+' <<<"$w")
	done
	[[ $1 == *[[:space:]] ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=(unset)
	_clusterctl
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}

# want NAME LINE CANDIDATE...: the completion of LINE is exactly these candidates (any order).
want()
{
	local name=$1 line=$2 exp
	shift 2
	comp "$line"
	if [ $# -eq 0 ]; then exp=""; else exp=$(printf '%s\n' "$@" | sort); fi
	if [ "$got" = "$exp" ]; then
		nt_pass "$name"
	else
		nt_fail "$name" "'$line' completes to [$(echo $got)], want [$(echo $exp)]"
	fi
}

nt_topo_up || { nt_fail setup "topology"; nt_finish; }
nt_write_config
# an alternate address: a member "address" inside a VIPA's object that is no VIPA
sed -i "s|{ address = \"$NT_VIP4\"; interface|{ address = \"$NT_VIP4\"; \
alternate_address = \"10.2.0.101\"; interface|" "$NT_WORK/clusterd.conf"
nt_cd_start d1 || { nt_fail setup "clusterd did not start on d1"; nt_finish; }
S=$(nt_sock d1)
alt=$(nt_ctl d1 status --json | nt_json "[v['alternate']['address'] for v in j['vipas'] if 'alternate' in v]")
nt_check status_has_alternate "status --json shows alternates $alt" [ "$alt" = '["10.2.0.101"]' ]
C=$CLUSTERCTL

# ---- what clusterctl's --help lists
"$C" --help >"$NT_WORK/help" || nt_fail help "clusterctl --help failed"
# the first word of each line of the "commands:" block; every -x and --xxx of "options:"
cmds=$(sed -n '/^commands:/,/^$/{/^  [a-z]/{s/^  \([a-z]*\).*/\1/;p}}' "$NT_WORK/help")
opts=$(sed -n '/^options:/,/^$/p' "$NT_WORK/help" | grep -oE '(^|[ ,])--?[A-Za-z][-A-Za-z]*' |
	tr -d ' ,')
nt_check help_lists_commands "--help lists $(echo $cmds)" [ "$(echo "$cmds" | wc -w)" -ge 9 ]
nt_check help_lists_options "--help lists $(echo $opts)" [ "$(echo "$opts" | wc -w)" -ge 8 ]
# shellcheck disable=SC2086
want commands "$C " $cmds
# shellcheck disable=SC2086
want options "$C -" $opts
want commands_prefix "$C st" status stats
want command_unique "$C -s $S fa" failover
want long_options "$C --" --socket --json --help --version
want option_after_command "$C -s $S status --j" --json
want nothing_after_status "$C -s $S status "
want unknown_command "$C -s $S frob "

# ---- names and addresses from the daemon
want drain_nodes "$C -s $S drain " d1 d2 t1 t2 t3
want undrain_prefix "$C -s $S undrain t" t1 t2 t3
want drain_socket_eq "$C --socket=$S drain d" d1 d2
want drain_bundled "$C -js $S drain t2" t2
want drain_bundled_attached "$C -js$S drain d2" d2
want drain_socket_after "$C drain -s $S " d1 d2 t1 t2 t3
want drain_json_after "$C drain --json -s $S t" t1 t2 t3
want failover_vipas "$C -s $S failover " 10.2.0.100 fd02::100
want failover_v4_prefix "$C -s $S failover 10." 10.2.0.100
# readline replaces the text after the last ':' only
want failover_v6_colon "$C -s $S failover fd02:" :100
want failover_v6_colons "$C -s $S failover fd02::" 100
want nothing_after_argument "$C -s $S drain t1 "
want nothing_after_failover_argument "$C -s $S failover 10.2.0.100 "
CLUSTERD_SOCKET=$S want drain_env_socket "$C drain " d1 d2 t1 t2 t3
# the -s on the line wins over the environment, as in clusterctl
CLUSTERD_SOCKET=$S want drain_option_over_env "$C -s $NT_WORK/none.sock drain "

# ---- files after -s
mkdir -p "$NT_WORK/socks/dir"
: >"$NT_WORK/socks/a.sock"
: >"$NT_WORK/socks/b.txt"
want socket_files "$C -s $NT_WORK/socks/a" "$NT_WORK/socks/a.sock"
want socket_dir "$C -s $NT_WORK/socks/d" "$NT_WORK/socks/dir"
want socket_all "$C drain -s $NT_WORK/socks/" "$NT_WORK/socks/a.sock" "$NT_WORK/socks/b.txt" \
	"$NT_WORK/socks/dir"
# after '=' (a word break) readline replaces the path only
want socket_eq_files "$C --socket=$NT_WORK/socks/b" "$NT_WORK/socks/b.txt"

# ---- no daemon: nothing, and at once
t0=$(nt_now_ms)
want none_socket "$C -s $NT_WORK/none.sock drain "
want stale_file "$C -s $NT_WORK/socks/a.sock failover "
ms=$(( $(nt_now_ms) - t0 ))
nt_check no_daemon_fast "two completions without a daemon took $ms ms" [ "$ms" -lt 2000 ]
nt_cd_stop d1
want stopped_daemon "$C -s $S drain "
want stopped_daemon_commands "$C -s $S dr" drain
nt_finish
