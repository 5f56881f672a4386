#!/bin/bash
# t_config: bad configurations are refused with FILE:LINE, an unknown key is refused, a key file
# readable by others is refused.  Runs in one scratch namespace (a daemon that wrongly starts
# touches nothing outside it).
. "$(dirname "$0")/lib.sh"
nt_need_daemon
mkdir -p "$NT_WORK" && : >"$NT_WORK/all.pids"
NT_UP=1
trap nt_cleanup EXIT
ip netns add "$NT_ID-x" || { nt_fail setup "netns"; nt_finish; }
nt_x x ip link set lo up

good=$NT_WORK/clusterd.conf
nt_write_config "$good"
err=$NT_WORK/err.txt

# t_checkcfg FILE: runs --check-config; sets rc and leaves stderr in $err.
t_checkcfg()
{
	nt_x x timeout 10 "$CLUSTERD" --check-config -f "$1" >/dev/null 2>"$err"
	rc=$?
}

t_checkcfg "$good"
nt_check good_config_accepted "exit $rc: $(head -c 300 "$err")" [ $rc -eq 0 ]

# port = 70000 on a line we know
bad=$NT_WORK/bad_port.conf
sed 's/port = 5201;/port = 70000;/' "$good" >"$bad"
line=$(grep -n 'port = 70000;' "$bad" | cut -d: -f1)
t_checkcfg "$bad"
echo "port 70000 (line $line): exit $rc: $(head -n 3 "$err")"
nt_check bad_port_refused "exit $rc" [ $rc -ne 0 ]
nt_check bad_port_file_line "stderr lacks '$bad:$line:': $(head -c 300 "$err")" \
	grep -qF "$bad:$line:" "$err"

# an unknown key (a typo)
bad=$NT_WORK/bad_key.conf
sed 's/heartbeat_ms = 100;/hartbeat_ms = 100;/' "$good" >"$bad"
line=$(grep -n 'hartbeat_ms' "$bad" | cut -d: -f1)
t_checkcfg "$bad"
echo "unknown key (line $line): exit $rc: $(head -n 3 "$err")"
nt_check unknown_key_refused "exit $rc" [ $rc -ne 0 ]
nt_check unknown_key_named "stderr lacks '$bad:$line:' or the key's name: $(head -c 300 "$err")" \
	eval "grep -qF '$bad:$line:' '$err' && grep -q hartbeat_ms '$err'"

# a syntax error is also reported with its line
bad=$NT_WORK/bad_syntax.conf
sed 's/retry_threshold = 3;/retry_threshold = = 3;/' "$good" >"$bad"
t_checkcfg "$bad"
nt_check syntax_error_refused "exit $rc: $(head -c 200 "$err")" \
	eval "[ $rc -ne 0 ] && grep -qE '$bad:[0-9]+:' '$err'"

# a key file readable by group and others: refused by --check-config or, at the latest, by the
# daemon before it serves (it must exit non-zero within 5 s).
chmod 0644 "$NT_WORK/cluster.key"
t_checkcfg "$good"
if [ $rc -ne 0 ]; then
	echo "key 0644: --check-config refuses: $(head -n 2 "$err")"
	nt_pass key_0644_refused
else
	nt_bg x clusterd-x "$CLUSTERD" -f "$good" -n d1 -s "$NT_WORK/x.sock" --foreground
	pid=$(cat "$NT_WORK/clusterd-x.pid")
	if nt_wait_until 5 nt_gone "$pid"; then
		wait "$pid"
		rc=$?
		echo "key 0644: daemon exit $rc: $(head -n 2 "$NT_WORK/clusterd-x.log")"
		nt_check key_0644_refused "daemon exited with 0" [ $rc -ne 0 ]
	else
		nt_fail key_0644_refused "--check-config accepts it and the daemon still runs after 5 s"
	fi
fi
chmod 0600 "$NT_WORK/cluster.key"

# a key file that is too short
head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$NT_WORK/short.key"
chmod 0600 "$NT_WORK/short.key"
bad=$NT_WORK/short_key.conf
sed "s|key_file = .*|key_file = \"$NT_WORK/short.key\";|" "$good" >"$bad"
t_checkcfg "$bad"
if [ $rc -ne 0 ]; then
	nt_pass short_key_refused
else
	nt_bg x clusterd-y "$CLUSTERD" -f "$bad" -n d1 -s "$NT_WORK/y.sock" --foreground
	pid=$(cat "$NT_WORK/clusterd-y.pid")
	if nt_wait_until 5 nt_gone "$pid"; then
		wait "$pid"
		rc=$?
		nt_check short_key_refused "daemon exited with 0" [ $rc -ne 0 ]
	else
		nt_fail short_key_refused "a 16-hex-digit key is accepted and the daemon runs"
	fi
fi
nt_finish
