#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A leaked device goes away underneath a reap in progress, and dmwardend
# says so once, without a storm of failures, and goes on serving.
#
# Action=kill with GraceSec=5min and holders that ignore SIGTERM, so each
# reap waits in its grace period while someone else acts:
# 1. the holder is killed by another hand: the kernel removes the device at
#    its last close (deferred removal) in the middle of the reap;
# 2. an operator runs `dmsetup remove --force` on the leaked device: its
#    table becomes `error`, so it is no longer a watched thin device,
#    though it exists until its holder goes.
# Then a plain leak is handled as usual.
set -euo pipefail
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

thin_pool_create vpool
dmwarden_start_stand_in '[Policy]' 'Action=kill' 'GraceSec=5min'
pid=$(systemctl show -p MainPID --value dmwarden-vm.service)

# A `sleep` in a namespace of its own made from the engine's, its cwd in
# DIR, that ignores SIGTERM (an ignored signal stays ignored across exec).
spawn_stubborn_holder() {
        # shellcheck disable=SC2016 # $1 is for the inner shell
        nsenter --mount=/run/dmwarden/engine.mnt unshare --mount --propagation private \
                sh -c 'trap "" TERM; cd "$1" && exec sleep 86400' holder "$1" </dev/null >/dev/null 2>&1 &
        _holder_started "$1" "nsenter engine.mnt, unshare -m, SIGTERM ignored"
}

leak_in_grace() {
        local name=$1 dir
        thin_snapshot "$name"
        dir=$(engine_mount "$name")
        spawn_stubborn_holder "$dir"
        engine_let_go "$name"
        wait_for 120 "$name reaping" dmwarden_device_state_is "$name" reaping
        assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" "$name")" 1 "leak alerts for $name"
        assert "$name's holder ignored SIGTERM and lives" alive "$HOLDER_PID"
}

# Lines about a device in dmwardend's journal, alerts included.
device_lines() { journalctl -b -u dmwarden-vm.service -o cat --no-pager | grep -F -- "$1" || true; }
warnings_about() {
        journalctl -b -u dmwarden-vm.service -p warning -o cat --no-pager | grep -F -- "$1" || true
}

# 1. The holder dies by another hand during the grace period.
t0=$SECONDS
leak_in_grace gone-1
h=$HOLDER_PID
kill -KILL "$h"
wait_for 60 "gone-1 removed by the kernel" dm_gone gone-1
wait_for 60 "gone-1 off the bus" eval '! dmwarden_device_path gone-1'
wait_for 30 "gone-1's removal alert" alert_seen "$ALERT_DEVICE_REMOVED" gone-1
assert_eq "$(alert_count "$ALERT_DEVICE_REMOVED" gone-1)" 1 "removal alerts for gone-1"
assert_eq "$(alert_count "$ALERT_REAP_FAILED" gone-1)" 0 "reap-failed alerts for gone-1"
assert_eq "$(alert_count "$ALERT_REMOVAL_FAILED" gone-1)" 0 "removal-failed alerts for gone-1"
# Another hand ended it, not dmwarden: the only holder-reaped alert is
# kill's first step, the detach of the leaked mount.
assert_eq "$(alert_count "$ALERT_HOLDER_REAPED" gone-1)" 1 "holder-reaped alerts for gone-1"
assert_eq "$(alert_field "$ALERT_HOLDER_REAPED" gone-1 ACTION)" detach "the action of gone-1's holder-reaped alert"
wait_for 30 "dmwardend to say the holder went by another hand" \
        dmwarden_journal_says "exited during the grace period, not by our SIGTERM, which it ignores"
device_lines gone-1 >"$DMWARDEN_VM_ARTIFACTS/gone-1.txt"
log "gone-1 in the journal: $(wc -l <"$DMWARDEN_VM_ARTIFACTS/gone-1.txt") lines; warnings: $(warnings_about gone-1 | wc -l)"
timing holder-killed-by-another "$((SECONDS - t0))"

# 2. Forced removal: the table goes, the device stays while held.
t0=$SECONDS
leak_in_grace forced-1
h=$HOLDER_PID
dmsetup remove --force forced-1 || true  # busy: it fails, the table is gone
assert_eq "$(dmsetup table forced-1 | awk '{ print $3 }')" error "forced-1's table after remove --force"
wait_for 60 "forced-1 off the bus" eval '! dmwarden_device_path forced-1'
assert "forced-1 still exists in the kernel" dm_exists forced-1
assert "forced-1's holder lives" alive "$h"
wait_for 30 "dmwardend to say it no longer watches forced-1" \
        dmwarden_journal_says "Device forced-1 is no longer a watched device (now target error) while reaping"
device_lines forced-1 >"$DMWARDEN_VM_ARTIFACTS/forced-1.txt"
kill -KILL "$h"
wait_for 60 "forced-1 removed by the kernel" dm_gone forced-1
# Neither free nor removed while it was held, and not ours after.
for id in "$ALERT_DEVICE_RELEASED" "$ALERT_DEVICE_REMOVED" "$ALERT_REAP_FAILED" "$ALERT_REMOVAL_FAILED"; do
        assert_eq "$(alert_count "$id" forced-1)" 0 "alerts $id for forced-1"
done
device_lines forced-1 >"$DMWARDEN_VM_ARTIFACTS/forced-1-after.txt"
assert_eq "$(grep -c 'no longer a watched device' "$DMWARDEN_VM_ARTIFACTS/forced-1-after.txt")" 1 \
        "forced-1's notice, once"
timing forced-removal "$((SECONDS - t0))"

# 3. dmwardend goes on: the same process handles an ordinary leak.
t0=$SECONDS
thin_snapshot after-1
dir=$(engine_mount after-1)
spawn_engine_cwd_holder "$dir"
h=$HOLDER_PID
engine_let_go after-1
wait_for 60 "after-1 leaked" alert_seen "$ALERT_LEAK_DETECTED" after-1
busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager Scan
wait_for 60 "after-1 removed" dm_gone after-1
refute "after-1's holder lives" alive "$h"
assert_eq "$(systemctl show -p MainPID --value dmwarden-vm.service)" "$pid" "dmwardend's PID"
timing ordinary-leak-after "$((SECONDS - t0))"
journalctl -b -u dmwarden-vm.service -o short-monotonic --no-pager >"$DMWARDEN_VM_ARTIFACTS/dmwardend-journal.txt"
