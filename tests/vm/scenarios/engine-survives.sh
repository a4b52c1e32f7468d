#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The engine survives dmwardend. dmwardend runs dockerd in a scope of its
# own (dmwarden-vm-engine.scope); with a container running:
#
# 1. dmwardend is SIGKILLed ENGINE_SURVIVES_KILLS times (default 2; 20 for
#    the full proof) and systemd restarts it each time;
# 2. dmwardend is SIGSTOPped past its watchdog (WatchdogSec=10s): systemd
#    aborts and kills it, and restarts it;
# 3. dmwardend re-executes itself on SIGUSR2 (the upgrade path);
#
# and after each: dockerd's PID, the container's PID and start time are
# unchanged (docker answers with them), and the new dmwardend says on the
# bus that it adopted that dockerd, in that scope. A leak made then, under
# the adopted engine, is told, its holder reaped (Reap kill) and the
# device removed. Then `systemctl stop`
# still stops dockerd, the container and the scope, and leaves no pin.
# Under TCG every docker and busctl call costs seconds: each check is one.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

: "${ENGINE_SURVIVES_KILLS:=2}"
unit=dmwarden-vm.service
scope=dmwarden-vm-engine.scope
pin=/run/dmwarden/engine.mnt
t_start=$SECONDS

# The engine as the bus shows it, one line.
bus_engine() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager \
                EnginePID EngineState EngineAdopted EngineUnit 2>/dev/null | tr '\n' ' '
}
main_pid() { systemctl show -p MainPID --value "$unit"; }
unit_active() { [[ $(systemctl show -p ActiveState --value "$unit") == active ]]; }
# The container's PID and start time, as dockerd answers.
container_state() { timeout 60 docker inspect -f '{{.State.Pid}} {{.State.StartedAt}}' survive-1; }
adoptions() { journalctl -b -u "$unit" -o cat --no-pager | grep -cF "Adopted the engine (PID $dpid," || true; }

# A dmwardend is active and has adopted dockerd once more.
_adopted_again() { unit_active && (($(adoptions) > adopted)) && [[ $(bus_engine) == "$adopted_view" ]]; }
check_after() {
        local what=$1 t0=$SECONDS
        wait_for 300 "dmwardend to adopt dockerd $dpid again after $what" _adopted_again
        adopted=$(adoptions)
        assert "dockerd $dpid still runs in $scope after $what" grep -qx "$dpid" "$scope_procs"
        assert_eq "$(container_state)" "$container" "the container's PID and start time after $what"
        log "after $what: dmwardend $(main_pid) adopted dockerd $dpid in $((SECONDS - t0)) s"
}

# --- set-up ------------------------------------------------------------------

# Restart=always: a SIGKILL is a failure anyway, but the watchdog's SIGABRT
# must bring it back too. No start limit: the kills come fast.
DMWARDEN_UNIT_PROPS=(-p Restart=always -p RestartSec=500ms -p StartLimitIntervalSec=0
                     -p WatchdogSec=10s -p TimeoutAbortSec=5s -p TimeoutStopSec=120s)
dmwarden_start_engine
dpid=$(dockerd_pid)
scope_procs=/sys/fs/cgroup/system.slice/$scope/cgroup.procs
adopted_view="u $dpid s \"running\" b true s \"$scope\" "
assert "dockerd runs in $scope" grep -qx "$dpid" "$scope_procs"
refute "dockerd is not in $unit's cgroup" grep -qx "$dpid" "/sys/fs/cgroup/system.slice/$unit/cgroup.procs"
assert_eq "$(bus_engine)" "u $dpid s \"running\" b false s \"$scope\" " "the engine on the bus, started"
docker_run_container survive-1
defer "docker rm -f survive-1 >/dev/null 2>&1 || true"
container=$(container_state)
cpid=${container%% *}
adopted=0
log "dockerd $dpid in $scope, container survive-1: $container"
timing setup "$((SECONDS - t_start))"

# --- 1. SIGKILL ----------------------------------------------------------------

t0=$SECONDS
for i in $(seq 1 "$ENGINE_SURVIVES_KILLS"); do
        old=$(main_pid)
        kill -KILL "$old"
        check_after "SIGKILL $i to dmwardend $old"
done
timing sigkill-cycles "$((SECONDS - t0))"

# --- 2. SIGSTOP past the watchdog ----------------------------------------------

t0=$SECONDS
old=$(main_pid)
kill -STOP "$old"
check_after "SIGSTOP of dmwardend $old past its watchdog"
journalctl -b -u "$unit" -o cat --no-pager | grep -F "Watchdog timeout" >/dev/null ||
        fail "systemd never reported the watchdog firing"
timing watchdog "$((SECONDS - t0))"

# --- 3. re-execution (the upgrade path) -----------------------------------------

old=$(main_pid)
kill -USR2 "$old"
check_after "SIGUSR2 (re-exec) of dmwardend $old"
assert_eq "$(main_pid)" "$old" "dmwardend's PID across its re-execution"

# --- 4. a leak under the adopted engine ----------------------------------------

docker_run_container survive-leak
dev=$(container_thin_device survive-leak)
spawn_engine_cwd_holder "$(container_mount_point survive-leak)/rootfs"
holder=$HOLDER_PID
assert "docker rm -f survive-leak" docker rm -f survive-leak
wait_for 120 "the leak alert for $dev from the adopting dmwardend" alert_seen "$ALERT_LEAK_DETECTED" "$dev"
assert "Reap($dev, kill)" busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager Reap ss "$dev" kill
wait_for 60 "holder $holder to exit" _gone "$holder"
wait_for 120 "$dev to be removed" dm_gone "$dev"
log "a leak under the adopted dockerd: told, its holder reaped, $dev removed"

# --- 5. systemctl stop still stops the engine ----------------------------------

t0=$SECONDS
engine_ns=$(mntns_of "$pin")
systemctl stop "$unit"
timing stop "$((SECONDS - t0))"
refute "dockerd $dpid is gone" test -e "/proc/$dpid"
refute "the container's process $cpid is gone" test -e "/proc/$cpid"
wait_for 60 "$scope to stop" bash -c "! systemctl -q is-active $scope"
refute "the pin $pin is gone" test -e "$pin"
assert_eq "$(pids_in_mntns "$engine_ns" | wc -l)" 0 "processes left in the engine namespace"
log "done: $ENGINE_SURVIVES_KILLS SIGKILLs, a watchdog abort and a re-exec; dockerd $dpid kept its container; $((SECONDS - t_start)) s"
timing total "$((SECONDS - t_start))"
