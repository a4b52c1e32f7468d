#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dmwarden as an administrator installs it: the harness has put the build
# where `meson install` puts it, enabling nothing. Two parts:
#
# 1. Watch-only (the installed default) beside Docker's own units: starting
#    and restarting the shipped dmwarden.service leaves docker.service,
#    containerd.service and docker.socket running (the same main PIDs),
#    restarting docker.service leaves dmwarden.service running, and a leak
#    made with Docker then is reported in the journal by dmwardend.
# 2. Taking the engine over as docs/install.md says: mask Docker's units,
#    set ExecStart= in a drop-in, enable the shipped dmwarden.service and
#    dmwarden.socket. Docker works through it (and neither `docker` nor
#    `systemctl start docker` brings docker.service back), the bus and
#    dmwardenctl agree, reload and restart keep working, the watchdog
#    restarts a hung dmwardend, and `systemctl disable --now` leaves no
#    mount or pinned namespace behind.
#
# Last in the suite: it masks Docker's own units for good.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

unit=dmwarden.service
main_pid() { systemctl show -p MainPID --value "$unit"; }
n_restarts() { systemctl show -p NRestarts --value "$unit"; }
journal_says() { journalctl -b -u "$unit" -o cat --no-pager | grep -qF -- "$1"; }
manager_number() {
        busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager "$1" | awk '{ print $2 }'
}
restarted_by_watchdog() { (($(n_restarts) > restarts_before)) && systemctl -q is-active "$unit"; }
nothing_left() {
        [[ ! -e /run/dmwarden/engine.mnt ]] && ! pgrep -x dockerd >/dev/null && ! pgrep -x containerd >/dev/null &&
                ! grep -qE 'nsfs|devicemapper/mnt' /proc/1/mountinfo
}

assert "the unit is installed where systemd looks" systemctl cat "$unit"
assert "the socket unit is installed" systemctl cat dmwarden.socket
# Against the real docker.service and containerd.service it is ordered after.
unit_files=("$(systemctl show -p FragmentPath --value "$unit")"
        "$(systemctl show -p FragmentPath --value dmwarden.socket)")
systemd-analyze verify --man=no "${unit_files[@]}" >"$DMWARDEN_VM_ARTIFACTS/verify.txt" 2>&1 ||
        fail "systemd-analyze verify ${unit_files[*]}: $(cat "$DMWARDEN_VM_ARTIFACTS/verify.txt")"
log "ok: systemd-analyze verify ${unit_files[*]}"
refute "installing enabled nothing" systemctl -q is-enabled "$unit"

# --- 1. watch-only, beside docker.service -----------------------------------

engine_units=(docker.service containerd.service docker.socket)
unit_pid() { systemctl show -p MainPID --value "$1"; }
# engine_units_untouched WHAT: each engine unit active, the services with the
# main PID they had before.
engine_units_untouched() {
        local u
        for u in "${engine_units[@]}"; do
                assert "$u is active $1" systemctl -q is-active "$u"
        done
        assert_eq "$(unit_pid docker.service)" "$docker_pid" "docker.service's MainPID $1"
        assert_eq "$(unit_pid containerd.service)" "$containerd_pid" "containerd.service's MainPID $1"
}
# Alerts of dmwarden.service itself (an earlier scenario's unit may have
# watched a device of the same name).
unit_alert_seen() {
        [[ -n $(journalctl -b "_SYSTEMD_UNIT=$unit" "MESSAGE_ID=$1" "DM_NAME=$2" -o cat --no-pager) ]]
}

assert_eq "$(dmwardend --dump-config | sed -n 's/^ExecStart=//p' | head -n 1)" "" \
        "the installed configuration's ExecStart= (watch-only)"
systemctl -q is-active docker.service || docker_start
docker_pid=$(unit_pid docker.service) containerd_pid=$(unit_pid containerd.service)
log "docker.service $docker_pid, containerd.service $containerd_pid"
engine_units_untouched "before dmwarden starts"

t0=$SECONDS
systemctl start "$unit"
defer "systemctl stop $unit 2>/dev/null || true; journalctl -b -u $unit --no-pager >$DMWARDEN_VM_ARTIFACTS/dmwardend-watch-only.log"
timing watch-only-start "$((SECONDS - t0))"
assert "$unit is active in watch-only mode" systemctl -q is-active "$unit"
engine_units_untouched "after systemctl start $unit"
assert_eq "$(manager_number EngineNamespace)" "$(mntns_of "$(dockerd_pid)")" \
        "the engine namespace dmwardend watches is dockerd's"

pid=$(main_pid)
t0=$SECONDS
systemctl restart "$unit"
timing watch-only-restart "$((SECONDS - t0))"
assert "$unit is active after restart" systemctl -q is-active "$unit"
refute "restart gave a new dmwardend" test "$(main_pid)" = "$pid"
engine_units_untouched "after systemctl restart $unit"
assert "docker answers" _docker_answers_plain
engine_units_untouched "after a docker command"

# The other way round: the engine's restart leaves dmwarden alone.
pid=$(main_pid)
t0=$SECONDS
systemctl restart docker.service
wait_for 300 "docker to answer after its restart" _docker_answers_plain
timing docker-restart "$((SECONDS - t0))"
assert "$unit is active after docker.service's restart" systemctl -q is-active "$unit"
assert_eq "$(main_pid)" "$pid" "dmwardend's PID after docker.service's restart"
docker_pid=$(unit_pid docker.service)

# A leak made with Docker now is reported by the installed unit.
docker_run_container beside
dev=$(container_thin_device beside)
mnt=$(container_mount_point beside)
log "container beside: thin device $dev, mounted on $mnt"
spawn_cwd_holder "$mnt/rootfs"
holder=$HOLDER_PID
assert "docker rm -f reports success" docker rm -f beside
t0=$SECONDS
wait_for 120 "$unit to report the leak of $dev in the journal" unit_alert_seen "$ALERT_LEAK_DETECTED" "$dev"
timing watch-only-rm-to-alert "$((SECONDS - t0))"
assert_eq "$(alert_field "$ALERT_LEAK_DETECTED" "$dev" HOLDER_PID)" "$holder" "the alert's holder"
stop_process "$holder"
wait_for 120 "the kernel to remove $dev" dm_gone "$dev"
wait_for 120 "$unit to tell $dev is removed" unit_alert_seen "$ALERT_DEVICE_REMOVED" "$dev"
assert "$unit is still active" systemctl -q is-active "$unit"
engine_units_untouched "after the leak"

systemctl stop "$unit"
engine_units_untouched "after systemctl stop $unit"

# --- 2. taking the engine over ----------------------------------------------

# docs/install.md: mask Docker's own units (disable is not enough), give
# dmwarden the engine command in a drop-in.
t0=$SECONDS
systemctl mask --now docker.socket docker.service containerd.service
wait_for 120 "dockerd and containerd to exit" _no_process dockerd containerd
timing mask-now "$((SECONDS - t0))"
refute "a masked docker.service cannot be started" systemctl start docker.service
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
refute "the docker command brought docker.service back" systemctl -q is-active docker.service
refute "nor containerd.service" systemctl -q is-active containerd.service

busctl introspect org.dmwarden1 /org/dmwarden1 >"$DMWARDEN_VM_ARTIFACTS/introspect.txt"
assert "busctl introspect lists the manager interface" grep -qF org.dmwarden1.Manager \
        "$DMWARDEN_VM_ARTIFACTS/introspect.txt"
docker_run_container installed
watched=$(manager_number WatchedDevices)
log "WatchedDevices: $watched"
assert "the running container's device is watched" test "$watched" -ge 1
assert_eq "$(dmwardenctl status -n -o watched)" "$watched" "dmwardenctl status agrees with busctl"
assert_eq "$(dmwardenctl list --json | grep -c '^ *"name": ')" "$watched" "devices in dmwardenctl list --json"
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

# The restarted dmwardend got dmwarden.socket's sockets from systemd again,
# which sets their O_NONBLOCK on the file description dockerd shares. Had
# that made dockerd's listener blocking, its graceful stop would hang (in
# accept) until dmwardend's SIGKILL at StopTimeoutSec=.
cursor=$(journalctl --show-cursor -n 0 -o cat | sed -n 's/^-- cursor: //p')
t0=$SECONDS
systemctl disable --now "$unit" dmwarden.socket
wait_for 120 "no pin, engine or engine mount to be left" nothing_left
timing disable-now "$((SECONDS - t0))"
assert "$unit is inactive" sh -c "! systemctl -q is-active $unit"
stop_log=$(journalctl -b -o cat --no-pager --after-cursor="$cursor")
printf '%s\n' "$stop_log" >"$DMWARDEN_VM_ARTIFACTS/disable-now.log"
assert "the adopted dockerd said it was stopping" grep -qF "Engine says it is stopping." <<<"$stop_log"
assert "the adopted dockerd shut down gracefully" grep -qF "Daemon shutdown complete" <<<"$stop_log"
refute "dmwardend had to SIGKILL the adopted dockerd" grep -qF "after SIGTERM, sending SIGKILL" <<<"$stop_log"
