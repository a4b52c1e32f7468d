#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dmwardend's udev monitor overflows, and the full re-read that follows
# makes up for every event the kernel dropped: devices made, removed and
# leaked while the socket was full are on the bus as device-mapper has them,
# and the leak is handled.
#
# How it overflows for sure: dmwardend is stopped (SIGSTOP; the transient
# unit has no WatchdogSec=), real dm change events fill its monitor socket
# until the kernel's own drop counter for that socket (/proc/net/netlink,
# Drops) moves, and only then do the changes that matter happen, so all
# their events are dropped: a stopped process cannot drain a byte. The
# journal's "overflowed" line after SIGCONT is dmwardend noticing.
#
# Why UdevReceiveBuffer=16K and not the default 8M: under TCG udev delivers
# about 5 dm events a second, each about 2.2 KB of socket memory (measured),
# and the kernel counts 16 MiB against an 8M buffer: about 7,500 events, some
# 25 minutes. The buffer size is an operator's setting like any other (it
# trades memory for full re-reads, nothing else); the overflow, the ENOBUFS
# and the re-read are the same code at any size.
set -euo pipefail
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

buffer=16K
thin_pool_create opool
pool_majmin=$(dm_majmin opool)
for i in 1 2 3 4 5 6 7 8; do thin_snapshot "old-$i"; done
dmwarden_start_stand_in "UdevReceiveBuffer=$buffer" '[Policy]' 'Action=kill' 'GraceSec=2s'
pid=$(systemctl show -p MainPID --value dmwarden-vm.service)
assert "dmwardend sized its udev buffer" dmwarden_journal_says "udev monitor receive buffer: 16384 bytes asked"

# Thin devices of our pool: by device-mapper, and by dmwardend's bus.
kernel_devices() {
        dmsetup table --target thin 2>/dev/null |
                awk -v p="$pool_majmin" '$5 == p { sub(/:$/, "", $1); print $1 }' | sort
}
# ListDevices answers a(sos) as: a(sos) N "name" "/path" "state" ...
bus_devices() {
        busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager ListDevices |
                tr ' ' '\n' | tail -n +3 | paste - - - | tr -d '"' | sort
}
bus_names() { bus_devices | cut -f1; }
bus_matches_kernel() { [[ $(bus_names) == "$(kernel_devices)" ]]; }
all_idle() { ! bus_devices | cut -f3 | grep -vqx idle; }
wait_for 120 "the bus to list old-1..8" bus_matches_kernel

# dmwardend's udev monitor: its netlink socket (protocol 15, kobject
# uevents) in group 2 (udev's); /proc/net/netlink columns: ... Rmem (5)
# ... Drops (9) Inode (10).
socket_inodes=$(for f in /proc/"$pid"/fd/*; do readlink "$f"; done | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
monitor_row() {
        local i
        for i in $socket_inodes; do
                awk -v i="$i" '$2 == 15 && $4 == "00000002" && $10 == i' /proc/net/netlink
        done
}
assert_eq "$(monitor_row | wc -l)" 1 "one udev monitor socket in dmwardend"
drops() { monitor_row | awk '{ print $9 }'; }
assert_eq "$(drops)" 0 "drops before the flood"

t0=$SECONDS
kill -STOP "$pid"
defer "kill -CONT $pid 2>/dev/null || true"
log "dmwardend $pid stopped"
triggers=0
until (($(drops) > 0)); do
        ((SECONDS - t0 < 240)) || fail "the monitor socket never overflowed (rmem $(monitor_row | awk '{ print $5 }'))"
        udevadm trigger --settle --action=change --subsystem-match=block --sysname-match='dm-*'
        triggers=$((triggers + 1))
done
fill_drops=$(drops)
log "overflowed after $triggers rounds of change events on every dm device: $(monitor_row)"
timing flood-fill "$((SECONDS - t0))"

# What the full socket now loses: four devices made, four removed, and a
# leak made from start to let-go.
t1=$SECONDS
for i in 1 2 3 4; do thin_snapshot "new-$i"; done
for i in 1 2 3 4; do dmsetup remove "old-$i"; done
thin_snapshot leak-1
dir=$(engine_mount leak-1)
spawn_engine_cwd_holder "$dir"
holder=$HOLDER_PID
engine_let_go leak-1
udevadm settle
lost_drops=$(($(drops) - fill_drops))
log "while full: $lost_drops more events dropped; $(monitor_row)"
((lost_drops >= 12)) || fail "expected the events of 9 new and 4 removed devices to be dropped, $lost_drops were"
refute "dmwardend has not seen leak-1 yet" dmwarden_journal_says "leak-1"
timing flood-changes "$((SECONDS - t1))"

t2=$SECONDS
kill -CONT "$pid"
log "dmwardend continued after $((SECONDS - t0)) s stopped"
wait_for 60 "dmwardend to notice the overflow" \
        dmwarden_journal_says "The udev monitor overflowed; re-reading every device."
overflows=$(journalctl -b -u dmwarden-vm.service -o cat --no-pager | grep -c 'udev monitor overflowed' || true)
log "overflow lines in the journal: $overflows"
wait_for 120 "leak-1 found, its holder killed and the device removed" dm_gone leak-1
refute "the holder of leak-1 lives" alive "$holder"
assert_eq "$(alert_count "$ALERT_LEAK_DETECTED" leak-1)" 1 "leak alerts for leak-1"
assert "leak-1's holder reaped" alert_seen "$ALERT_HOLDER_REAPED" leak-1
wait_for 60 "leak-1's removal alert" alert_seen "$ALERT_DEVICE_REMOVED" leak-1
wait_for 60 "the bus to list what device-mapper has" bus_matches_kernel
timing recover "$((SECONDS - t2))"
assert_eq "$(bus_names | tr '\n' ' ')" "new-1 new-2 new-3 new-4 old-5 old-6 old-7 old-8 " "devices on the bus"
assert "every device on the bus is idle" all_idle
assert "dmwardend still runs" systemctl -q is-active dmwarden-vm.service
bus_devices >"$DMWARDEN_VM_ARTIFACTS/bus-devices.txt"
journalctl -b -u dmwarden-vm.service -o short-monotonic --no-pager >"$DMWARDEN_VM_ARTIFACTS/dmwardend-journal.txt"
