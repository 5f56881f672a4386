#!/bin/bash
# t_ctl_daemon: the control socket serves its clients without blocking the daemon.  40 clients
# connect to d1's socket and send nothing: an operator's clusterctl still gets its answer at
# once (the oldest silent clients make room, counted in ctl.clients_dropped), d1 stays alive on
# d2 (heartbeats go on), and every silent client is closed by d1 within its 5 s allowance.
. "$(dirname "$0")/lib.sh"
nt_cluster_up

# The silent clients: connect, wait for EOF on each (bounded: 9 s), print "EOF <n> <max ms>".
nt_bg d1 silent "$PY" -u -c 'import socket, sys, time, selectors
path, n = sys.argv[1], int(sys.argv[2])
sel = selectors.DefaultSelector()
t0 = time.monotonic()
for i in range(n):
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.connect(path)
	sel.register(s, selectors.EVENT_READ)
print("CONNECTED", n, flush=True)
eof, last = 0, 0
while eof < n and time.monotonic() - t0 < 9:
	for key, _ in sel.select(timeout=0.5):
		if key.fileobj.recv(4096) == b"":
			sel.unregister(key.fileobj)
			key.fileobj.close()
			eof += 1
			last = int((time.monotonic() - t0) * 1000)
print("EOF", eof, last, flush=True)' "$(nt_sock d1)" 40
nt_wait_until 5 grep -q CONNECTED "$NT_WORK/silent.log"
nt_check status_answers "clusterctl status failed with 40 silent clients" \
	nt_ctl d1 status
dropped=$(nt_ctl d1 stats --json | nt_json "j['ctl']['clients_dropped']")
nt_check oldest_dropped "ctl.clients_dropped = $dropped, expected >= 9 (41 clients, 32 slots)" \
	[ "${dropped:-0}" -ge 9 ]
nt_check d1_alive_on_d2 "d1 not alive on d2" eval "[ \"\$(nt_ctl d2 status --json | nt_json \
	\"[n['alive'] for n in j['nodes'] if n['name'] == 'd1'][0]\")\" = True ]"
nt_wait_until 10 grep -q '^EOF' "$NT_WORK/silent.log"
read -r _ eof last < <(grep '^EOF' "$NT_WORK/silent.log")
echo "silent clients closed by d1: ${eof:-?} of 40, the last after ${last:-?} ms"
nt_check silent_closed "${eof:-0} of 40 silent clients closed within 9 s" [ "${eof:-0}" -eq 40 ]
nt_check requests_still_served "VIPA requests failed" eval \
	"[ \"\$(nt_curl_loop 10 http://$NT_VIP4/ | grep -vc '^ERR:')\" -eq 10 ]"
nt_finish
