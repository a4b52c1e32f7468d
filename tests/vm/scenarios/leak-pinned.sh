#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A pinned leak (cwd inside the container's mount, which docker's rmdir
# detached from every table): under Action=detach it is reported stuck with
# the pinned path and the holder is left alone; `Reap(name, "kill")` over
# the bus then ends the holder and the device is removed.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

dmwarden_start_engine '[Policy]' 'Action=detach' 'GraceSec=10s'
docker_run_container pinned
dev=$(container_thin_device pinned)
mnt=$(container_mount_point pinned)
spawn_engine_cwd_holder "$mnt/rootfs"
holder=$HOLDER_PID

assert "docker rm -f reports success" docker rm -f pinned
rm_usec=$(now_usec)
wait_for 120 "the leak alert for $dev" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
log "alert $(ms_between "$rm_usec" "$(alert_usec "$ALERT_LEAK_DETECTED" "$dev")") ms after docker rm returned"
wait_for 120 "$dev to be reported stuck" alert_seen "$ALERT_LEAK_STUCK" "$dev"
assert_eq "$(alert_field "$ALERT_LEAK_STUCK" "$dev" HOLDER_PID)" "$holder" "HOLDER_PID of the stuck alert"
assert_eq "$(alert_field "$ALERT_LEAK_STUCK" "$dev" HOLDER_REFERENCE)" cwd "what pins it"
pinned=$(alert_field "$ALERT_LEAK_STUCK" "$dev" MOUNTPOINT)
log "stuck, pinned path: $pinned"
assert "the pinned path is the holder's cwd" test -n "$pinned"
assert "the state on the bus is stuck" dmwarden_device_state_is "$dev" stuck
assert "the holder is untouched" alive "$holder"
assert "the device still exists" dm_exists "$dev"

t0=$(now_usec)
assert "Reap(kill) over the bus is accepted" busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager \
        Reap ss "$dev" kill
wait_for 120 "the holder to be killed" sh -c "! [ -e /proc/$holder ] || ps -o stat= -p $holder | grep -q Z"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" kill "ACTION of the reap"
log "reap(kill) to removal: $(ms_between "$t0" "$(alert_usec "$ALERT_DEVICE_REMOVED" "$dev")") ms"
