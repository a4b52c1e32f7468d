#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: trixie
# The real containerd 1.7 with its devmapper snapshotter under dmwardend
# with the defaults SettleSec=5s and Action=detach. `ctr tasks rm` unmounts
# the container's root (the snapshot and its device stay until the
# container is deleted); a copy of that mount held in another mount
# namespace (a bind mount of the root, as a monitoring container's rbind
# gives) outlives SettleSec= and is a leak: the engine's original is gone,
# the copy is stale and would make the container's deletion fail. Checked
# as a user would:
#  - the leak alert at `ctr tasks rm`, before any deletion: LET_GO=settled,
#    HOLDER_PID= the holder, HOLDER_REFERENCE=mount;
#  - the copy detached inside the holder's namespace, the holder alive;
#  - the device freed but not removed by dmwarden (the device still there,
#    no removal alert, DevicesRemoved on the bus unchanged);
#  - then `ctr containers rm`: containerd's removal succeeds at its first
#    try (its one `dmsetup remove`, no "retrying" line in its log, no
#    second leak alert), the device gone, the snapshot gone from ctr.
# SettleSec=infinity keeps the deletion the only let-go (containerd-pinned).
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

pool=ctrsettle
id=settle

command -v dmwardend >/dev/null || fail "dmwardend is not installed (run with --build-dir)"
thin_pool_create_empty "$pool"
# The defaults, written out: what this scenario is about.
dmwarden_start_containerd '[Watch]' 'SettleSec=5s' '[Policy]' 'Action=detach'

manager_property() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | awk '{ print $2 }'
}
ctr_has_snapshot() { ctr_do snapshots --snapshotter devmapper ls | awk -v k="$1" '$1 == k { f = 1 } END { exit !f }'; }

ctr_run_container "$id"
dev=$(ctr_snapshot_device "$id")
[[ $dev == "$pool"-snap-* ]] || fail "no devmapper snapshot device for $id (got '$dev')"
majmin=$(dm_majmin "$dev")
rootfs=$(ctr_rootfs "$id")
wait_for 60 "$dev active on the bus" dmwarden_device_state_is "$dev" active
log "container $id: snapshot device $dev ($majmin), root $rootfs"

# Only a bind mount of the container's root, in a namespace copied from
# the engine's; its cwd is the namespace's root, on no snapshot.
spawn_engine_bind_holder "$rootfs"
holder=$HOLDER_PID
holder_ns=$(mntns_of "$holder")
assert "the holder's bind mount is of $dev" mounts_device "$holder" "$majmin"
removed_before=$(manager_property DevicesRemoved)

# --- ctr tasks rm: containerd unmounts, the copy stays ------------------------

assert "ctr tasks kill -s SIGKILL $id" ctr_do tasks kill -s SIGKILL "$id"
wait_for 120 "task $id to stop" ctr_task_status_is "$id" STOPPED
rm_usec=$(now_usec)
assert "ctr tasks rm $id" ctr_do tasks rm "$id"
refute "the shim unmounted $dev in the engine namespace" ns_mounts_device /run/dmwarden/engine.mnt "$majmin"

wait_for 120 "the leak alert for $dev" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
log "leak alert $(ms_between "$rm_usec" "$(alert_usec "$ALERT_LEAK_DETECTED" "$dev")") ms after ctr tasks rm"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" LET_GO)" settled "LET_GO of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID)" "$holder" "HOLDER_PID of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_MNTNS)" "$holder_ns" "HOLDER_MNTNS of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_REFERENCE)" mount "HOLDER_REFERENCE of the alert"
wait_for 120 "the holder's copy to be detached" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" detach "ACTION of the reap"
journalctl -b "DM_NAME=$dev" -o verbose --no-pager >"$DMWARDEN_VM_ARTIFACTS/alerts-after-tasks-rm.txt"
refute "the holder has no mount of $dev any more" mounts_device "$holder" "$majmin"
assert "the holder lives" alive "$holder"
wait_for 60 "$dev free (open count 0)" test "$(dm_open_count "$dev")" = 0
# Let go by time alone: freed, never removed by dmwarden.
assert "$dev still exists (the container still owns its snapshot)" dm_exists "$dev"
assert_eq "$(alert_count "$ALERT_DEVICE_REMOVED" "$dev")" 0 "removal alerts for $dev before the deletion"
assert_eq "$(manager_property DevicesRemoved)" "$removed_before" "devices dmwarden removed"
assert_eq "$(ctr_removal_tries "$dev")" 0 "containerd's removals of $dev before the deletion"
assert "ctr still lists snapshot $id" ctr_has_snapshot "$id"

# --- ctr containers rm: containerd's own removal, first try --------------------

del_usec=$(now_usec)
assert "ctr containers rm $id" ctr_do containers rm "$id"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
log "removed $(ms_between "$del_usec" "$(alert_usec "$ALERT_DEVICE_REMOVED" "$dev")") ms after ctr containers rm"
assert_eq "$(alert_field "$ALERT_DEVICE_REMOVED" "$dev" RESULT)" "removed by the engine" "RESULT of the removal alert"
assert_eq "$(ctr_removal_tries "$dev")" 1 "containerd's tries to remove $dev (dmsetup remove runs)"
assert_eq "$(containerd_retry_lines "$del_usec")" 0 "\"retrying\" lines in containerd's log"
assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 1 "leak alerts for $dev (none at the deletion)"
assert_eq "$(alert_count "$ALERT_REMOVAL_FAILED" "$dev")" 0 "removal-failed alerts for $dev"
# DevicesRemoved counts every removal of a leaked device, the engine's too.
assert_eq "$(manager_property DevicesRemoved)" "$((removed_before + 1))" "DevicesRemoved after containerd's removal"
refute "ctr lists no snapshot $id any more" ctr_has_snapshot "$id"
assert "the holder still lives" alive "$holder"
