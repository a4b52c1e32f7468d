#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dmwarden as an administrator installs it: the harness has put the build
# where `meson install` puts it; this follows README.md's "Moving
# docker.service under dmwarden" with the shipped dmwarden.service and
# dmwarden.socket. Docker works through it, the bus and dmwardenctl agree,
# reload and restart keep working, the watchdog restarts a hung dmwardend,
# and `systemctl disable --now` leaves no mount or pinned namespace behind.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

unit=dmwarden.service
main_pid() { systemctl show -p MainPID --value "$unit"; }
n_restarts() { systemctl show -p NRestarts --value "$unit"; }
journal_says() { journalctl -b -u "$unit" -o cat --no-pager | grep -qF -- "$1"; }
manager_u32() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | awk '{ print $2 }'
}
restarted_by_watchdog() { (($(n_restarts) > restarts_before)) && systemctl -q is-active "$unit"; }
nothing_left() {
        [[ ! -e /run/dmwarden/engine.mnt ]] && ! pgrep -x dockerd >/dev/null && ! pgrep -x containerd >/dev/null &&
                ! grep -qE 'nsfs|devicemapper/mnt' /proc/1/mountinfo
}

assert "the unit is installed where systemd looks" systemctl cat "$unit"
assert "the socket unit is installed" systemctl cat dmwarden.socket

# README: disable Docker's own units, give dmwarden the engine command.
docker_stop
systemctl disable docker.service docker.socket containerd.service 2>/dev/null || true
docker_configure
mkdir -p /etc/dmwarden/dmwarden.conf.d
printf '[Engine]\nExecStart=/usr/sbin/dockerd -H fd://\n[Policy]\nAction=report\n' \
        >/etc/dmwarden/dmwarden.conf.d/engine.conf
defer "rm -f /etc/dmwarden/dmwarden.conf.d/engine.conf"
# Only for the test: a watchdog that fires within the scenario's time.
mkdir -p /run/systemd/system/$unit.d
printf '[Service]\nWatchdogSec=20s\nTimeoutAbortSec=10s\n' >/run/systemd/system/$unit.d/50-test-watchdog.conf
defer "rm -rf /run/systemd/system/$unit.d; systemctl daemon-reload"
systemctl daemon-reload

t0=$SECONDS
systemctl enable --now dmwarden.socket "$unit"
defer "systemctl disable --now $unit dmwarden.socket 2>/dev/null || true; journalctl -b -u $unit --no-pager >$DMWARDEN_VM_ARTIFACTS/dmwardend.log"
DOCKER_UNIT=$unit
timing enable-now "$((SECONDS - t0))"
assert "$unit is active" systemctl -q is-active "$unit"
status=$(systemctl show -p StatusText --value "$unit")
log "status line: $status"
assert "its status line says the engine runs" grep -q '^Engine running' <<<"$status"
assert "the engine namespace is pinned" test -e /run/dmwarden/engine.mnt
docker_import_busybox
assert_eq "$(docker run --rm --network none "$VM_BUSYBOX_IMAGE" echo ok 2>&1)" ok "docker run through dmwarden"

busctl introspect org.dmwarden1 /org/dmwarden1 >"$DMWARDEN_VM_ARTIFACTS/introspect.txt"
assert "busctl introspect lists the manager interface" grep -qF org.dmwarden1.Manager \
        "$DMWARDEN_VM_ARTIFACTS/introspect.txt"
docker_run_container installed
watched=$(manager_u32 WatchedDevices)
log "WatchedDevices: $watched"
assert "the running container's device is watched" test "$watched" -ge 1
assert "dmwardenctl status agrees with busctl" sh -c "dmwardenctl status | grep -qE 'Devices: $watched watched'"
assert_eq "$(dmwardenctl list --json | grep -o '"Name"' | wc -l)" "$watched" "devices in dmwardenctl list --json"
docker rm -f installed >/dev/null

pid=$(main_pid)
dpid=$(dockerd_pid)
systemctl reload "$unit"
wait_for 60 "the reload to be logged" journal_says "reloaded"
assert "$unit is still active after reload" systemctl -q is-active "$unit"
assert_eq "$(main_pid)" "$pid" "dmwardend's PID after reload"
assert_eq "$(dockerd_pid)" "$dpid" "dockerd's PID after reload"

t0=$SECONDS
systemctl restart "$unit"
assert "$unit is active after restart" systemctl -q is-active "$unit"
refute "restart gave a new dmwardend" test "$(main_pid)" = "$pid"
timing restart "$((SECONDS - t0))"

restarts_before=$(n_restarts)
hung=$(main_pid)
t0=$SECONDS
kill -STOP "$hung"
log "stopped dmwardend $hung with SIGSTOP"
wait_for 240 "the watchdog to restart $unit" restarted_by_watchdog
timing watchdog-restart "$((SECONDS - t0))"
assert "the journal names the watchdog" sh -c "journalctl -b -u $unit --no-pager | grep -qi watchdog"
assert "a new dmwardend runs" test "$(main_pid)" != "$hung"
wait_for 120 "docker to answer after the watchdog restart" _docker_answers_plain

t0=$SECONDS
systemctl disable --now "$unit" dmwarden.socket
wait_for 120 "no pin, engine or engine mount to be left" nothing_left
timing disable-now "$((SECONDS - t0))"
assert "$unit is inactive" sh -c "! systemctl -q is-active $unit"
