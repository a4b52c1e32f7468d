#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A mount-visible leak under Action=detach: a process in a namespace of its
# own (made from the engine namespace) bind-mounts the container's root;
# after `docker rm -f` dmwarden alerts with the holder's pid, comm and
# namespace, unmounts the copy inside that namespace, the holder lives on,
# and the device is removed.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

dmwarden_start_engine '[Policy]' 'Action=detach'
docker_run_container detachme
dev=$(container_thin_device detachme)
mnt=$(container_mount_point detachme)
majmin=$(dm_majmin "$dev")
spawn_engine_bind_holder "$mnt/rootfs"
holder=$HOLDER_PID
holder_ns=$(mntns_of "$holder")

assert "docker rm -f reports success" docker rm -f detachme
rm_usec=$(now_usec)
wait_for 120 "the leak alert for $dev" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID)" "$holder" "HOLDER_PID of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_COMM)" sleep "HOLDER_COMM of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_MNTNS)" "$holder_ns" "HOLDER_MNTNS of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" MOUNTPOINT)" "$HOLDER_MOUNT" "MOUNTPOINT of the alert"
log "alert $(ms_between "$rm_usec" "$(alert_usec "$ALERT_LEAK_DETECTED" "$dev")") ms after docker rm returned"

wait_for 120 "the holder to be reaped by detach" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" detach "ACTION of the reap"
refute "the copy is gone from the holder's namespace" mounts_device "$holder" "$majmin"
assert "the holder still runs" alive "$holder"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
removed_usec=$(alert_usec "$ALERT_DEVICE_REMOVED" "$dev")
log "removed $(ms_between "$(alert_usec "$ALERT_HOLDER_REAPED" "$dev")" "$removed_usec") ms after the reap," \
        "$(ms_between "$rm_usec" "$removed_usec") ms after docker rm returned"
assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 1 "leak alerts for $dev"
log "pool of $dev: $(alert_field "$ALERT_DEVICE_REMOVED" "$dev" DM_POOL)"
# Reported, not asserted: whether Docker's deferred deletion of the thin
# volume then completes is Docker's business (baseline-leak saw it never
# retried within 3 minutes).
log "docker info: Deferred Deleted Device Count $(docker_info_value 'Deferred Deleted Device Count')"
