#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vm-image: bookworm trixie
# The BPF task and mount walks on the kernels of Debian 12 (6.1) and 13
# (6.12): the kernel's task, file and mapping iterators and the mount walk
# load (the kernel applying their CO-RE relocations against its own BTF),
# and find the processes a scan of /proc finds; the mount walk clears the
# namespaces without a mount of the device, and spares the mapping walk
# while no file of the device is mapped, not after. On a thin device of the stand-in engine, mounted in the
# engine's namespace, holders from namespaces of their own: a cwd in it, a
# file open on it, a program run from it (its exe and its mappings), and
# the device node open. `dmwardenctl holders --full` walked both ways must
# print the same report, naming every one of those; then dmwardend, by
# default, scans with the BPF walk (ProcessWalk on the bus) and tells a
# leak made from that device.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

art=$DMWARDEN_VM_ARTIFACTS
log "kernel $(uname -r)"

thin_pool_create bwpool
dmwarden_start_stand_in '[Policy]' 'Action=kill' 'GraceSec=5s'
thin_snapshot bwalk
dir=$(engine_mount bwalk)
node=$(dm_node bwalk)
wait_for 60 "bwalk active" dmwarden_device_state_is bwalk active

# The holders, each in a mount namespace of its own made from the engine's
# (nsenter itself in the background: $! must be the holder, not a subshell).
spawn_engine_cwd_holder "$dir"
cwd_holder=$HOLDER_PID
# shellcheck disable=SC2016 # $1 is for the inner shell
nsenter --mount=/run/dmwarden/engine.mnt unshare --mount --propagation private \
        sh -c 'exec 3>>"$1/held-file"; exec sleep 86400' holder "$dir" </dev/null >/dev/null 2>&1 &
fd_holder=$!
defer "kill $fd_holder 2>/dev/null || true"
# No file of the device mapped yet: the mount walk says so, and no
# mapping is walked.
engine_do cp /bin/sleep "$dir/sleep-on-device"
DMWARDEN_LOG_LEVEL=debug dmwardenctl holders "$node" --full --walk=bpf >/dev/null 2>"$art/unmapped.err"
assert "the mapping walk spared while nothing is mapped" \
        grep -q "mappings in 0.0 ms (none: no file of the devices is mapped)" "$art/unmapped.err"
nsenter --mount=/run/dmwarden/engine.mnt unshare --mount --propagation private \
        "$dir/sleep-on-device" 86400 </dev/null >/dev/null 2>&1 &
exe_holder=$!
defer "kill $exe_holder 2>/dev/null || true"
# shellcheck disable=SC2016 # $1 is for the inner shell
unshare --mount --propagation private sh -c 'exec 3<"$1"; exec sleep 86400' holder "$node" \
        </dev/null >/dev/null 2>&1 &
node_holder=$!
defer "kill $node_holder 2>/dev/null || true"
wait_for 60 "the fd holder's file" sh -c "ls -l /proc/$fd_holder/fd | grep -q held-file"
wait_for 60 "the program run from the device" sh -c "readlink /proc/$exe_holder/exe | grep -q sleep-on-device"
wait_for 60 "the node holder's fd" sh -c "ls -l /proc/$node_holder/fd | grep -qF -- '$node'"

# Both walks, twice each (the first BPF one loads the programs).
for walk in proc bpf proc bpf; do
        t0=$(now_usec)
        assert "dmwardenctl holders --walk=$walk" \
                sh -c "dmwardenctl holders '$node' --full --walk=$walk -J >'$art/$walk.json' 2>'$art/$walk.err'"
        log "--walk=$walk: $(ms_between "$t0" "$(now_usec)") ms; $(tr '\n' ' ' <"$art/$walk.err")"
done
assert "the BPF walk ran" grep -q "processes (bpf)" "$art/bpf.err"
assert "the /proc walk ran" grep -q "processes (proc)" "$art/proc.err"
assert "the two walks print the same report" cmp "$art/bpf.json" "$art/proc.json"
assert "the mount walk cleared namespaces" grep -q "cleared by the BPF mount walk" "$art/bpf.err"
DMWARDEN_LOG_LEVEL=debug dmwardenctl holders "$node" --full --walk=bpf >/dev/null 2>"$art/mapped.err"
assert "the mapping walk runs once a file is mapped" grep -q "BPF walk: .* mappings in" "$art/mapped.err"
refute "... and not spared" grep -q "no file of the devices is mapped" "$art/mapped.err"

dmwardenctl holders "$node" --full --walk=bpf -r -n -o pid,kind >"$art/bpf.rows"
names() { grep -qx "$1 $2" "$art/bpf.rows"; }
assert "the cwd holder named" names "$cwd_holder" cwd
assert "the fd holder named" names "$fd_holder" fd
assert "the program's exe named" names "$exe_holder" exe
assert "the program's mapping named" names "$exe_holder" map
assert "the open node named" names "$node_holder" device-node

# dmwardend: the BPF walk by default, said on the bus and at start.
assert "dmwardend says it scans with the BPF walk" dmwarden_journal_says "find processes with the BPF task walk"
assert "dmwardend says it has the mount walk" dmwarden_journal_says "to read with the BPF mount walk"
engine_let_go bwalk
wait_for 120 "the leak alert for bwalk" alert_seen "$ALERT_LEAK_DETECTED" bwalk
assert_eq "$(dmwarden_manager_property ProcessWalk)" '"bpf"' "ProcessWalk after the leak's scan"
assert_eq "$(dmwarden_manager_property ProcessWalkUnavailable)" '""' "ProcessWalkUnavailable"
wait_for 120 "bwalk to be removed" dm_gone bwalk
