#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: trixie
# What used to hang the holder scan, all at once, on a real kernel, with
# dmwardend under systemd's watchdog (WatchdogSec=20s here) and a short
# ScanTimeoutSec=:
#  - a FIFO bound over a namespace pin by an unprivileged user (nobody, in a
#    user and mount namespace of its own, the pinned namespace's process
#    gone), so a blocking open() of the pin would never return;
#  - a process whose cwd is on a FUSE mount whose server is stopped
#    (SIGSTOP), so anything that asks the server waits;
#  - a loop device backed by a file on that mount, so LOOP_GET_STATUS64,
#    which asks for the backing file's attributes, waits.
# Then a leak on the stand-in engine (a holder keeps its cwd in a thin
# device the engine unmounted and removes with --force). Checked:
# `dmwardenctl status` answers within 1 s every time it is asked, twice a
# second throughout (artifacts/status.tsv); the leak is reported, its
# holder killed and the device removed; the watchdog never fires (the
# same dmwardend throughout, no restart); dmwardend stops cleanly.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

fuse_dir=/run/never-hang-fuse
status_tsv=$DMWARDEN_VM_ARTIFACTS/status.tsv

[[ -x $VM_TOOLS/stall-fuse-server ]] || fail "no $VM_TOOLS/stall-fuse-server (run with --build-dir)"
thin_pool_create nhpool
DMWARDEN_UNIT_PROPS=(-p WatchdogSec=20s)
dmwarden_start_stand_in '[Watch]' 'ScanTimeoutSec=3s' '[Policy]' 'Action=kill' 'GraceSec=3s'
DMWARDEN_UNIT_PROPS=()
main_pid=$(systemctl show -p MainPID --value dmwarden-vm.service)

# --- the FIFO over a pin, by nobody ------------------------------------------

pin_dir=$(mktemp -d /tmp/never-hang-pin.XXXXXX)
chown nobody "$pin_dir"
defer "rm -rf $pin_dir"
# shellcheck disable=SC2016 # for the inner shell
setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -Urm --propagation private sh -c '
        d=$1
        touch "$d/pin"
        unshare -m sleep 86400 &
        c=$!
        while [ "$(readlink /proc/$c/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ]; do sleep 0.1; done
        mount --bind "/proc/$c/ns/mnt" "$d/pin"
        kill "$c"
        mkfifo "$d/fifo"
        mount --bind "$d/fifo" "$d/pin"
        touch "$d/ready"
        exec sleep 86400' pinner "$pin_dir" </dev/null >"$DMWARDEN_VM_ARTIFACTS/pinner.log" 2>&1 &
pinner=$!
defer "kill -KILL $pinner 2>/dev/null || true"
wait_for 60 "nobody's FIFO over its namespace pin" test -e "$pin_dir/ready"
log "pinner $pinner (user $(stat -c %U "/proc/$pinner")): $(grep -c nsfs "/proc/$pinner/mountinfo" || true) nsfs" \
    "mount(s), a FIFO over the pin: $(awk -v p="$pin_dir/pin" '$5 == p' "/proc/$pinner/mountinfo" | wc -l) mounts on it"

# --- a FUSE mount whose server stops ------------------------------------------

mkdir -p "$fuse_dir"
"$VM_TOOLS/stall-fuse-server" "$fuse_dir" >/run/never-hang-fuse.pid &
fuse_tool=$!
defer "kill -KILL $fuse_tool 2>/dev/null || true; umount -l $fuse_dir 2>/dev/null || true"
wait_for 60 "the FUSE server to say its PID" test -s /run/never-hang-fuse.pid
server=$(cat /run/never-hang-fuse.pid)
defer "kill -KILL $server 2>/dev/null || true"
loop=$(losetup -f --show "$fuse_dir/img")
defer "losetup -d $loop 2>/dev/null || true"
(cd "$fuse_dir/d" && exec sleep 86400) </dev/null >/dev/null 2>&1 &
fuse_cwd=$!
defer "kill -KILL $fuse_cwd 2>/dev/null || true"
wait_for 60 "process $fuse_cwd to have its cwd on the FUSE mount" \
        eval "[[ \$(readlink /proc/$fuse_cwd/cwd) == $fuse_dir/d ]]"
kill -STOP "$server"
log "FUSE server $server stopped; $loop backed by $fuse_dir/img; process $fuse_cwd has its cwd there"
refute "a stat through the stopped server answers" timeout 5 stat "$fuse_dir/d" >/dev/null

# --- dmwardenctl status, twice a second, from now on ---------------------------

printf 'usec\tms\texit\n' >"$status_tsv"
(
        while :; do
                t0=$(now_usec)
                rc=0
                timeout 60 dmwardenctl status >/dev/null 2>&1 || rc=$?
                printf '%s\t%d\t%d\n' "$t0" "$(ms_between "$t0" "$(now_usec)")" "$rc" >>"$status_tsv"
                sleep 0.5
        done
) &
prober=$!
defer "kill $prober 2>/dev/null || true"

# --- a leak, while all of it stands --------------------------------------------

name=nh-leak
thin_snapshot "$name"
dir=$(engine_mount "$name")
wait_for 120 "$name active" dmwarden_device_state_is "$name" active
spawn_engine_cwd_holder "$dir"
holder=$HOLDER_PID
t0=$(now_usec)
engine_do umount "$dir"
tries=$(engine_remove_forced "$name") || tries="not removed by the engine"
wait_for 120 "$name's leak alert" alert_seen "$ALERT_LEAK_DETECTED" "$name"
wait_for 120 "$name's holder reaped" alert_seen "$ALERT_HOLDER_REAPED" "$name"
wait_for 60 "holder $holder to exit" _gone "$holder"
wait_for 120 "$name to be removed" dm_gone "$name"
log "leak: holder reaped $(ms_between "$t0" "$(alert_usec "$ALERT_HOLDER_REAPED" "$name")") ms after let-go;" \
    "the engine's removal: $tries tries"
# Scans after the leak too, with everything still stalled.
dmwardenctl scan >/dev/null 2>&1 || true
wait_for 60 "ten answers of dmwardenctl status" eval "(( \$(wc -l <$status_tsv) > 10 ))"
kill "$prober" 2>/dev/null || true
wait "$prober" 2>/dev/null || true

n=$(awk 'NR > 1' "$status_tsv" | wc -l)
worst=$(awk -F'\t' 'NR > 1 && $2 > m { m = $2 } END { print m + 0 }' "$status_tsv")
failed=$(awk -F'\t' 'NR > 1 && $3 != 0' "$status_tsv" | wc -l)
log "dmwardenctl status: $n answers, the slowest in $worst ms, $failed failed"
assert_eq "$failed" 0 "dmwardenctl status calls that failed"
assert "every dmwardenctl status answered within 1000 ms (slowest $worst ms)" test "$worst" -lt 1000

assert_eq "$(systemctl show -p MainPID --value dmwarden-vm.service)" "$main_pid" "dmwardend's PID (no watchdog restart)"
assert_eq "$(systemctl show -p NRestarts --value dmwarden-vm.service)" 0 "restarts of dmwarden-vm.service"
refute "the journal tells of a watchdog timeout" \
        sh -c "journalctl -b -u dmwarden-vm.service --no-pager | grep -qi 'watchdog timeout'"
journalctl -b -u dmwarden-vm.service -o cat --no-pager | grep -E 'did not finish|went round|stalled' |
        head -n 5 | while read -r line; do log "dmwardend: $line"; done

t0=$SECONDS
systemctl stop dmwarden-vm.service
timing stop-while-stalled "$((SECONDS - t0))"
refute "systemd had to kill dmwardend at stop" \
        sh -c "journalctl -b -u dmwarden-vm.service --no-pager | grep -qiE 'timed out|Killing process'"
