#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
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

# t_checkcfg FILE: runs --check-config; sets rc and leaves stderr in $err.  A sanitizer report
# exits 99 (its default, 1, is the exit of a refused configuration).
t_checkcfg()
{
	nt_x x env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99" \
		UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=99" \
		timeout 10 "$CLUSTERD" --check-config -f "$1" >/dev/null 2>"$err"
	rc=$?
}

# t_refused NAME TEXT [TEXT2] [FILE]: the daemon refused the configuration the way it documents
# (clusterd(8): exit 1, the problem on stderr), not by crashing: exit 1 exactly (a signal gives
# 128 + N, timeout 124), no sanitizer report, and stderr (FILE, default $err) holds the fixed
# strings TEXT (e.g. "FILE:LINE:") and TEXT2.
t_refused()
{
	local name=$1 t1=$2 t2=${3:-} f=${4:-$err} why=""
	if grep -qE 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$f"; then
		why="sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$f")"
	elif [ "$rc" -eq 124 ]; then
		why="no answer within 10 s"
	elif [ "$rc" -ge 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ "$rc" -ne 1 ]; then
		why="exit $rc, want 1"
	elif ! grep -qF -- "$t1" "$f"; then
		why="stderr lacks '$t1': $(head -c 300 "$f")"
	elif [ -n "$t2" ] && ! grep -qF -- "$t2" "$f"; then
		why="stderr lacks '$t2': $(head -c 300 "$f")"
	fi
	if [ -z "$why" ]; then nt_pass "$name"; else nt_fail "$name" "$why"; fi
}

t_checkcfg "$good"
nt_check good_config_accepted "exit $rc: $(head -c 300 "$err")" [ $rc -eq 0 ]

# port = 70000 on a line we know
bad=$NT_WORK/bad_port.conf
sed 's/port = 5201;/port = 70000;/' "$good" >"$bad"
line=$(grep -n 'port = 70000;' "$bad" | cut -d: -f1)
t_checkcfg "$bad"
echo "port 70000 (line $line): exit $rc: $(head -n 3 "$err")"
t_refused bad_port_refused "$bad:$line:" "70000"

# an unknown key (a typo)
bad=$NT_WORK/bad_key.conf
sed 's/heartbeat_ms = 100;/hartbeat_ms = 100;/' "$good" >"$bad"
line=$(grep -n 'hartbeat_ms' "$bad" | cut -d: -f1)
t_checkcfg "$bad"
echo "unknown key (line $line): exit $rc: $(head -n 3 "$err")"
t_refused unknown_key_refused "$bad:$line:" hartbeat_ms

# a syntax error is also reported with its line
bad=$NT_WORK/bad_syntax.conf
sed 's/retry_threshold = 3;/retry_threshold = = 3;/' "$good" >"$bad"
line=$(grep -n 'retry_threshold = = 3;' "$bad" | cut -d: -f1)
t_checkcfg "$bad"
t_refused syntax_error_refused "$bad:$line:"

# a key file readable by group and others: refused by --check-config or, at the latest, by the
# daemon before it serves (it must exit non-zero within 5 s).
chmod 0644 "$NT_WORK/cluster.key"
t_checkcfg "$good"
if [ $rc -ne 0 ]; then
	echo "key 0644: --check-config refuses: $(head -n 2 "$err")"
	t_refused key_0644_refused "$NT_WORK/cluster.key:" "mode 0644"
else
	nt_bg x clusterd-x "$CLUSTERD" -f "$good" -n d1 -s "$NT_WORK/x.sock" --foreground
	pid=$(cat "$NT_WORK/clusterd-x.pid")
	if nt_wait_until 5 nt_gone "$pid"; then
		wait "$pid"
		rc=$?
		echo "key 0644: daemon exit $rc: $(head -n 2 "$NT_WORK/clusterd-x.log")"
		t_refused key_0644_refused "$NT_WORK/cluster.key:" "mode 0644" \
			"$NT_WORK/clusterd-x.log"
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
	t_refused short_key_refused "$NT_WORK/short.key:" "16 hex digits"
else
	nt_bg x clusterd-y "$CLUSTERD" -f "$bad" -n d1 -s "$NT_WORK/y.sock" --foreground
	pid=$(cat "$NT_WORK/clusterd-y.pid")
	if nt_wait_until 5 nt_gone "$pid"; then
		wait "$pid"
		rc=$?
		t_refused short_key_refused "$NT_WORK/short.key:" "16 hex digits" \
			"$NT_WORK/clusterd-y.log"
	else
		nt_fail short_key_refused "a 16-hex-digit key is accepted and the daemon runs"
	fi
fi
nt_finish
