#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Baseline, without dmwarden: the leak dmwarden exists for, on a real kernel.
#
# A container runs; a process in an `unshare -m` namespace takes its cwd
# inside the container's mount. `docker rm -f` reports success, yet the thin
# device stays, flagged for deferred removal, open count 1, and no
# /proc/*/mountinfo mentions it (the rmdir of the mount point detached the
# namespace's copy; the cwd pins the detached mount). Only when the holder
# exits does the kernel remove the device. Run: tests/vm/run THIS_FILE
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

docker_start
docker_run_container leaky

dev=$(container_thin_device leaky)
mnt=$(container_mount_point leaky)
majmin=$(dm_majmin "$dev")
node=$(dm_node "$dev")
log "container leaky: thin device $dev ($majmin, $node), mounted on $mnt"
assert "the container's root is mounted" test -n "$mnt"
assert_eq "$(dm_open_count "$dev")" 1 "open count while the container runs"
deferred_before=$(docker_info_value 'Deferred Deleted Device Count')

spawn_cwd_holder "$mnt/rootfs"
holder=$HOLDER_PID
refute "the holder is in a mount namespace of its own" \
        test "$(readlink "/proc/$holder/ns/mnt")" = "$(readlink /proc/1/ns/mnt)"
# The positive control for the mountinfo check below.
assert "the holder's namespace has a copy of the mount before docker rm" \
        mounts_device "$holder" "$majmin"
snapshot_state before-rm >/dev/null

assert "docker rm -f reports success" docker rm -f leaky
refute "docker no longer knows the container" container_exists leaky
wait_for 120 "$dev to be flagged for deferred removal" dm_deferred_remove_pending "$dev"
snapshot_state leaked >/dev/null

assert "the thin device still exists after docker rm" dm_exists "$dev"
log "dmsetup state of $dev: $(dm_state "$dev")"
assert_eq "$(dm_open_count "$dev")" 1 "open count of the leaked device"
assert_eq "$(pids_mounting "$majmin" | tr '\n' ' ')" "" "processes whose mountinfo has $majmin"
# shellcheck disable=SC2046 # a list of PIDs
assert "fuser -m $node names the holder (pid $holder)" \
        in_list "$holder" $(fuser_pids "$node")
deferred_leaked=$(docker_info_value 'Deferred Deleted Device Count')
log "docker info: Deferred Deleted Device Count $deferred_before before, $deferred_leaked now"
assert "docker counts the device as deferred-deleted" test "$deferred_leaked" -gt "$deferred_before"

stop_process "$holder"
wait_for 120 "the kernel to remove $dev once the holder is gone" dm_gone "$dev"
log "released: $dev is gone"
# Not asserted: whether and when Docker retries the deferred deletion (the
# thin volume and its pool space) is Docker's business, not the kernel's.
log "docker info: Deferred Deleted Device Count now $(docker_info_value 'Deferred Deleted Device Count')"
snapshot_state released >/dev/null
