#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A process holding the device node open, under Action=report: an alert
# naming it, and nothing touched. Ending the holder by hand then lets
# dmwarden remove the device.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

dmwarden_start_engine '[Policy]' 'Action=report'
docker_run_container fdheld
dev=$(container_thin_device fdheld)
node=$(dm_node "$dev")
# shellcheck disable=SC2016 # $1 is for the inner shell
sh -c 'exec 3<"$1"; exec sleep 86400' holder "$node" </dev/null >/dev/null 2>&1 &
holder=$!
defer "kill $holder 2>/dev/null || true"
wait_for 60 "holder $holder to have $node open" sh -c "ls -l /proc/$holder/fd | grep -qF -- '$node'"

assert "docker rm -f reports success" docker rm -f fdheld
wait_for 120 "the leak alert for $dev" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID)" "$holder" "HOLDER_PID"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_REFERENCE)" device-node "HOLDER_REFERENCE"
wait_for 60 "$dev to be stuck (report only tells)" dmwarden_device_state_is "$dev" stuck
refute "no holder was reaped" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert "the holder still runs" alive "$holder"
assert "the device still exists" dm_exists "$dev"

t0=$(now_usec)
stop_process "$holder"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
log "holder ended to removal: $(ms_between "$t0" "$(alert_usec "$ALERT_DEVICE_REMOVED" "$dev")") ms"
