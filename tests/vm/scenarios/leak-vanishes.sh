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
#    table becomes `error`, and it stays the watched, leaked device (what
#    an engine's forced removal does, too) until its holder goes; then it
#    is released and removed.
# Then a plain leak is handled as usual, and one made entirely while
# dmwardend was not looking is found at its next look.
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

# 2. Forced removal: the table goes, the device stays leaked while held.
t0=$SECONDS
leak_in_grace forced-1
h=$HOLDER_PID
dmsetup remove --force forced-1 || true  # busy: it fails, the table is gone
assert_eq "$(dmsetup table forced-1 | awk '{ print $3 }')" error "forced-1's table after remove --force"
wait_for 60 "forced-1's target on the bus to be error" \
        eval '[[ $(dmwarden_device_property forced-1 Target 2>/dev/null) == "s \"error\"" ]]'
assert "forced-1 still exists in the kernel" dm_exists forced-1
assert "forced-1's holder lives" alive "$h"
assert "forced-1 is still leaked" dmwarden_device_leaked forced-1
assert_eq "$(dmwarden_device_property forced-1 Pool)" 's "vpool"' "forced-1's pool on the bus"
kill -KILL "$h"
wait_for 60 "forced-1 removed" dm_gone forced-1
wait_for 30 "forced-1's removal alert" alert_seen "$ALERT_DEVICE_REMOVED" forced-1
assert_eq "$(alert_count "$ALERT_DEVICE_RELEASED" forced-1)" 1 "released alerts for forced-1"
assert_eq "$(alert_count "$ALERT_DEVICE_REMOVED" forced-1)" 1 "removal alerts for forced-1"
# The engine had asked for deferred removal before (engine_let_go), and the
# new table keeps that flag: the kernel removed it at the last close.
assert_eq "$(alert_field "$ALERT_DEVICE_REMOVED" forced-1 RESULT)" "removed at its last close" \
        "who removed forced-1"
for id in "$ALERT_REAP_FAILED" "$ALERT_REMOVAL_FAILED"; do
        assert_eq "$(alert_count "$id" forced-1)" 0 "alerts $id for forced-1"
done
device_lines forced-1 >"$DMWARDEN_VM_ARTIFACTS/forced-1.txt"
assert_eq "$(grep -c 'no longer a watched device' "$DMWARDEN_VM_ARTIFACTS/forced-1.txt" || true)" 0 \
        "notices that forced-1 is no longer watched"
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
# 4. A leak made in one breath: the engine mounts, a holder copies the
# mount, the engine unmounts and lets go, all while dmwardend is not
# looking (stopped here; a loop busy with other devices does the same).
# The next pass sees a single change of the engine's table that leaves it
# as it was, and must still ask the kernel about the device.
t0=$SECONDS
thin_snapshot quick-1
wait_for 60 "quick-1 on the bus" eval 'dmwarden_device_path quick-1 >/dev/null'
kill -STOP "$pid"
defer "kill -CONT $pid"
dir=$(engine_mount quick-1)
spawn_engine_cwd_holder "$dir"
h=$HOLDER_PID
engine_let_go quick-1
kill -CONT "$pid"
# Well inside ReconcileSec= (5 min), which would find it in the end.
wait_for 60 "quick-1 leaked" alert_seen "$ALERT_LEAK_DETECTED" quick-1
wait_for 60 "quick-1 removed" dm_gone quick-1
refute "quick-1's holder lives" alive "$h"
timing leak-in-one-breath "$((SECONDS - t0))"

journalctl -b -u dmwarden-vm.service -o short-monotonic --no-pager >"$DMWARDEN_VM_ARTIFACTS/dmwardend-journal.txt"
