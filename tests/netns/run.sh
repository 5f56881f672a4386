#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh: runs every t_*.sh of this directory (or those named) in sequence, each with a timeout,
# and ends with exactly one line "N passed, N failed, N skipped"; exits non-zero if any failed.
# A test's exit status: 0 passed, 77 skipped (a tool it needs is missing), anything else failed.
# A test also fails when any of its processes left a sanitizer report (see lib.sh).
#
#   tests/netns/run.sh [t_spread.sh ...]
#   env: CLUSTERD, CLUSTERCTL (binaries), NT_TIMEOUT (seconds per test, default 240),
#        NT_SAVE_LOGS=DIR (keep every test's daemon and server logs and sanitizer reports under
#        DIR/TEST/; without it they go to a temporary directory, removed when all passed),
#        NT_RESULTS=FILE (append "TEST pass|fail|skip SECONDS" per test)
# On a failure it prints the tail of that test's daemon logs and its sanitizer reports.
dir=$(cd "$(dirname "$0")" && pwd)
timeout_s=${NT_TIMEOUT:-240}
if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: needs root (network namespaces)" >&2
	exit 2
fi
if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do tests+=("$dir/$(basename "$t")"); done
else
	tests=("$dir"/t_*.sh)
fi
logs=${NT_SAVE_LOGS:-}
tmplogs=
if [ -z "$logs" ]; then
	logs=$(mktemp -d /tmp/clusterd-netns-logs.XXXXXX) || exit 2
	tmplogs=$logs
fi
san_re='ERROR: [A-Za-z]*Sanitizer|WARNING: ThreadSanitizer|runtime error:'

# reap ID: whatever a killed test left behind (its EXIT trap normally does this).
reap()
{
	local ns p
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1-"); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "/tmp/clusterd-netns.$1"
}

# san_reports DIR: the files of DIR holding a sanitizer report.
san_reports()
{
	local f
	for f in "$1"/*.san.* "$1"/clusterd-*.log; do
		[ -f "$f" ] && grep -qE "$san_re" "$f" && echo "$f"
	done
	return 0
}

# show_logs DIR: what a failed test left: its daemons' log tails and its sanitizer reports.
show_logs()
{
	local f
	for f in "$1"/clusterd-*.log; do
		[ -f "$f" ] || continue
		echo "----- $f (last 30 lines)"
		tail -n 30 "$f"
	done
	for f in $(san_reports "$1"); do
		case $f in *.log) continue ;; esac
		echo "----- $f (first 60 lines)"
		head -n 60 "$f"
	done
}

# main: every test, then the summary.
main()
{
	pass=0 fail=0 skip=0 failed="" skipped="" n=0
	for t in "${tests[@]}"; do
		name=$(basename "$t" .sh)
		n=$((n + 1))
		id=cdr$$x$n
		echo "=== $name"
		start=$(date +%s)
		save=$logs/$name
		rm -rf "$save"
		mkdir -p "$save"
		# Anything of the test that lib.sh does not direct elsewhere (a tool a test builds, a test
		# without lib.sh) stops at its first sanitizer report and leaves it in $save/other.san.PID.
		# The caller's settings come after ours; lib.sh keeps them in NT_USER_*.
		c="halt_on_error=1:exitcode=86" o=log_path=$save/other.san
		# in its own session and process group, so a timeout can stop all of it at once
		NT_ID=$id NT_SAVE_LOGS=$save \
			NT_USER_ASAN=${ASAN_OPTIONS:-} NT_USER_UBSAN=${UBSAN_OPTIONS:-} \
			NT_USER_TSAN=${TSAN_OPTIONS:-} \
			ASAN_OPTIONS="$c:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}:$o" \
			UBSAN_OPTIONS="$c:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}:$o" \
			TSAN_OPTIONS="$c:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}:$o" \
			setsid bash "$t" </dev/null &
		pid=$!
		deadline=$((start + timeout_s))
		while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "FAIL: $name: timed out after $timeout_s s"
			kill -TERM -- "-$pid" 2>/dev/null
			# its EXIT trap stops the daemons (up to NT_STOP_S each) and saves the logs
			for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			kill -KILL -- "-$pid" 2>/dev/null
		fi
		wait "$pid"
		rc=$?
		reap "$id"
		reports=$(san_reports "$save")
		if [ -n "$reports" ] && [ $rc -eq 0 -o $rc -eq 77 ]; then
			echo "FAIL: $name: sanitizer reports in $(echo $reports | sed "s|$save/||g")"
			rc=1
		fi
		secs=$(($(date +%s) - start))
		echo "=== $name: exit $rc ($secs s)"
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			res=pass
		elif [ $rc -eq 77 ]; then
			skip=$((skip + 1))
			skipped="$skipped $name"
			res=skip
		else
			fail=$((fail + 1))
			failed="$failed $name"
			res=fail
			show_logs "$save"
		fi
		[ -n "${NT_RESULTS:-}" ] && echo "$name $res $secs" >>"$NT_RESULTS"
	done
	[ -n "$skipped" ] && echo "skipped:$skipped"
	if [ -n "$failed" ]; then
		echo "failed:$failed"
		echo "logs kept in $logs"
	elif [ -n "$tmplogs" ]; then
		rm -rf "$tmplogs"
	fi
	echo "$pass passed, $fail failed, $skip skipped"
	[ $fail -eq 0 ]
}

# in a function, read whole before it runs: an edit of this file during a run changes nothing
main; exit
