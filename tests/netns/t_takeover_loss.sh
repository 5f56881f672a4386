#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# t_takeover_loss: t_takeover_linkdown with 10 % random loss of the cluster traffic (UDP to or
# from port 7788, in and out) on every node, from before the load until the end: no false
# takeover before the event, the same takeover and takeback, nothing lost, no stall over 1 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_takeover.sh"
DOWN_MS=${DOWN_MS:-3500}
LOSS=${LOSS:-10}

NTO_PRELOAD='nto_sync_loss_all $LOSS || { nt_fail loss_rules "nft refused"; nt_finish; }'
nto_begin
nto_link_prepare d1
t0=$(nt_now_ms)
nto_link_down d1
nt_log "d1's link is down ($LOSS % loss on the sync port everywhere)"
nto_check_takeover "$t0"

nto_sleep_until $((t0 + DOWN_MS))
t1=$(nt_now_ms)
nto_link_up d1
nt_log "d1's link is up again (t0+$((t1 - t0)) ms)"
nto_check_takeback "$t1"
nto_end "$t0"
dropped=""
for h in $NT_HOSTS; do dropped="$dropped $h=$(nto_sync_loss_dropped "$h")"; done
echo "sync packets dropped by the loss rules:$dropped"
nt_check loss_was_applied "no sync packet dropped on d2" [ "$(nto_sync_loss_dropped d2)" -gt 0 ]
nt_finish
