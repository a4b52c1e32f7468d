#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: trixie
# The real containerd 1.7 with its devmapper snapshotter under dmwardend,
# SettleSec=infinity (containerd's deletion the only let-go) and
# Action=detach. The holder is a mount namespace with no process left in
# it: copied from the engine's while the container ran, given a bind mount
# of the container's root, pinned by an nsfs bind mount in the host's /run
# (what `unshare --mount=FILE` does), then its last process ended. Checked
# as a user would:
#  - `ctr tasks rm` unmounts; with the settle rule off, nothing is reported
#    for three default settle times (the device idle on the bus);
#  - `ctr containers rm`: containerd's forced removal swaps the table for
#    error; the leak alert (LET_GO=forced-remove, "a mount namespace with
#    no process", HOLDER_MNTNS= the pinned namespace); detached through the
#    pin (ACTION=detach), the bind mount gone from the pinned namespace;
#  - containerd's own removal succeeds (its dmsetup runs counted, RESULT=
#    "removed by the engine"), the device gone, the snapshot gone from ctr;
#    the pin itself left alone.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

pool=ctrpinned
id=pinned
pins=/run/dmwarden-vm-pins
pin=$pins/holder.mnt

command -v dmwardend >/dev/null || fail "dmwardend is not installed (run with --build-dir)"
thin_pool_create_empty "$pool"
dmwarden_start_containerd '[Watch]' 'SettleSec=infinity' '[Policy]' 'Action=detach'
ctr_has_snapshot() { ctr_do snapshots --snapshotter devmapper ls | awk -v k="$1" '$1 == k { f = 1 } END { exit !f }'; }

ctr_run_container "$id"
dev=$(ctr_snapshot_device "$id")
[[ $dev == "$pool"-snap-* ]] || fail "no devmapper snapshot device for $id (got '$dev')"
majmin=$(dm_majmin "$dev")
rootfs=$(ctr_rootfs "$id")
wait_for 60 "$dev active on the bus" dmwarden_device_state_is "$dev" active

# The pin's directory: a tmpfs in the host namespace, made private before
# the pin goes on it (an nsfs mount may not propagate to peers), so the
# pin is in the host namespace only.
mkdir -p "$pins"
mount -t tmpfs -o size=1m dmwarden-vm-pins "$pins"
mount --make-private "$pins"
defer "umount -l $pins 2>/dev/null || true"
touch "$pin"
spawn_engine_bind_holder "$rootfs"
holder=$HOLDER_PID
holder_ns=$(mntns_of "$holder")
assert "pin the holder's namespace at $pin" mount --bind "/proc/$holder/ns/mnt" "$pin"
defer "umount $pin 2>/dev/null || true"
stop_process "$holder"
assert_eq "$(mntns_of "$pin")" "$holder_ns" "the namespace behind the pin"
assert_eq "$(pids_in_mntns "$holder_ns" | wc -l)" 0 "processes in the pinned namespace"
assert "the pinned namespace has a mount of $dev" ns_mounts_device "$pin" "$majmin"
log "namespace $holder_ns pinned at $pin, no process in it"

# --- ctr tasks rm: nothing to report with the settle rule off -----------------

assert "ctr tasks kill -s SIGKILL $id" ctr_do tasks kill -s SIGKILL "$id"
wait_for 120 "task $id to stop" ctr_task_status_is "$id" STOPPED
assert "ctr tasks rm $id" ctr_do tasks rm "$id"
refute "the shim unmounted $dev in the engine namespace" ns_mounts_device /run/dmwarden/engine.mnt "$majmin"
assert "the pinned namespace still has its bind mount of $dev" ns_mounts_device "$pin" "$majmin"
wait_for 60 "$dev idle on the bus" dmwarden_device_state_is "$dev" idle
# Absence takes a while to show: three times the default SettleSec=.
# Meanwhile dmwardend waits for a let-go without spinning.
daemon_ticks() { awk '{ print $14 + $15 }' "/proc/$(systemctl show -p MainPID --value dmwarden-vm.service)/stat"; }
ticks0=$(daemon_ticks)
t0=$SECONDS
while ((SECONDS - t0 < 15)); do
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 0 "leak alerts for $dev after ctr tasks rm"
        sleep 3
done
cpu_pct=$((($(daemon_ticks) - ticks0) * 100 / $(getconf CLK_TCK) / (SECONDS - t0)))
log "dmwardend used ${cpu_pct}% of a CPU while the copy was held"
((cpu_pct < 20)) || fail "dmwardend used ${cpu_pct}% of a CPU waiting for a let-go under SettleSec=infinity"
assert "$dev is still idle on the bus" dmwarden_device_state_is "$dev" idle

# --- ctr containers rm: containerd's forced removal ---------------------------

rm_usec=$(now_usec)
assert "ctr containers rm $id" ctr_do containers rm "$id"
wait_for 120 "the leak alert for $dev" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
log "leak alert $(ms_between "$rm_usec" "$(alert_usec "$ALERT_LEAK_DETECTED" "$dev")") ms after ctr containers rm"
journalctl -b "MESSAGE_ID=$ALERT_LEAK_DETECTED" "DM_NAME=$dev" -o verbose --no-pager \
        >"$DMWARDEN_VM_ARTIFACTS/leak-alert.txt"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" LET_GO)" forced-remove "LET_GO of the alert"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_MNTNS)" "$holder_ns" "HOLDER_MNTNS of the alert"
msg=$(journalctl -b "MESSAGE_ID=$ALERT_LEAK_DETECTED" "DM_NAME=$dev" -o cat --no-pager | tail -n 1)
log "alert: $msg"
[[ $msg == *"a mount namespace with no process"* ]] || fail "the alert does not name a namespace with no process: $msg"
wait_for 120 "the pinned namespace's mount to be detached" alert_seen "$ALERT_HOLDER_REAPED" "$dev"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" "$dev" ACTION)" detach "ACTION of the reap"
log "reap: $(alert_field "$ALERT_HOLDER_REAPED" "$dev" RESULT)"
refute "the pinned namespace has no mount of $dev any more" ns_mounts_device "$pin" "$majmin"
wait_for 120 "$dev to be removed" dm_gone "$dev"
wait_for 60 "the removal alert" alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
log "removed $(ms_between "$rm_usec" "$(alert_usec "$ALERT_DEVICE_REMOVED" "$dev")") ms after ctr containers rm," \
    "containerd's $(ctr_removal_tries "$dev") dmsetup remove run(s)"
assert_eq "$(alert_field "$ALERT_DEVICE_REMOVED" "$dev" RESULT)" "removed by the engine" "RESULT of the removal alert"
assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$dev")" 1 "leak alerts for $dev"
assert_eq "$(alert_count "$ALERT_REMOVAL_FAILED" "$dev")" 0 "removal-failed alerts for $dev"
refute "ctr lists no snapshot $id any more" ctr_has_snapshot "$id"
assert_eq "$(mntns_of "$pin")" "$holder_ns" "the pin, left alone"
