#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The D-Bus API on the real system bus, with Docker (devicemapper) running
# under dmwarden: the container's thin device appears on the bus as active;
# a leak (a process that entered the engine namespace, unshared, and keeps
# its cwd in the container's mount) turns it leaked, and ListHolders names
# the holder; an unprivileged user can read but not Reap; a restarted
# dmwarden finds the leak again; when the holder goes, the device goes.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

tree_has() { busctl tree --list org.dmwarden1 | grep -qxF -- "$1"; }
# A real user with a home and a login shell, not root and in no group that
# polkit or the bus policy would trust.
useradd --create-home --shell /bin/bash dmw-user 2>/dev/null || id dmw-user >/dev/null
defer "userdel --remove dmw-user 2>/dev/null"
nobody() { setpriv --reuid=dmw-user --regid=dmw-user --init-groups "$@"; }
# denied_as_user WHAT CALL...: the call fails, and says it was not allowed.
denied_as_user() {
        local what=$1 out
        shift
        if out=$(nobody busctl call "$@" 2>&1); then
                fail "an unprivileged $what succeeded: $out"
        fi
        log "unprivileged $what: $out"
        assert "an unprivileged $what is denied as such" \
                grep -qi "denied\|not allowed\|interactive authentication" <<<"$out"
}

dmwarden_start_engine '[Policy]' 'Action=report'
assert "org.dmwarden1 is on the system bus" busctl status org.dmwarden1
busctl introspect org.dmwarden1 /org/dmwarden1 >"$DMWARDEN_VM_ARTIFACTS/introspect.txt"
for member in org.dmwarden1.Manager org.freedesktop.DBus.ObjectManager .ListHolders .Reap .EngineState; do
        assert "introspection lists $member" grep -qF -- "$member" "$DMWARDEN_VM_ARTIFACTS/introspect.txt"
done
assert_eq "$(busctl get-property org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager EngineState)" \
        's "running"' "EngineState"

docker_run_container onbus
dev=$(container_thin_device onbus)
mnt=$(container_mount_point onbus)
wait_for 60 "$dev to be on the bus" dmwarden_device_path "$dev"
path=$(dmwarden_device_path "$dev")
log "container onbus: $dev at $path, mounted on $mnt inside the engine namespace"
assert "busctl tree lists $path" tree_has "$path"
wait_for 60 "$dev to be active" dmwarden_device_state_is "$dev" active
assert_eq "$(dmwarden_device_property "$dev" Target)" 's "thin"' "Target"

spawn_engine_cwd_holder "$mnt/rootfs"
holder=$HOLDER_PID
assert "docker rm -f reports success" docker rm -f onbus
rm_done_usec=${EPOCHREALTIME/./}
wait_for 120 "$dev to turn leaked on the bus (stuck under Action=report)" dmwarden_device_leaked "$dev"
# The daemon stamps the leak (CLOCK_REALTIME, µs): exact, not polled.
leaked_usec=$(dmwarden_device_property "$dev" LeakedSinceUSec | awk '{ print $2 }')
log "leaked on the bus $(((leaked_usec - rm_done_usec) / 1000)) ms after docker rm returned (negative: before it returned)"
echo "rm_to_leaked_ms=$(((leaked_usec - rm_done_usec) / 1000))" >"$DMWARDEN_VM_ARTIFACTS/leak-latency.txt"

holders=$(busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager ListHolders s "$dev")
log "ListHolders: $holders"
assert "ListHolders names holder $holder" grep -qE "^a\(ussttbsst\) [0-9]+ $holder " <<<"$holders"
assert "ListHolders names its comm" grep -qF '"sleep"' <<<"$holders"
assert "ListHolders names the pinned cwd" grep -qF '"cwd"' <<<"$holders"
assert "ListHolders shows root the cwd's path" grep -qF '"cwd" "/' <<<"$holders"
# What /proc would show the user: the holder (root's) and its kind, not
# where its cwd is.
user_holders=$(nobody busctl call org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager ListHolders s "$dev")
log "ListHolders as dmw-user: $user_holders"
assert "ListHolders names holder $holder to a user" grep -qE "^a\(ussttbsst\) [0-9]+ $holder " <<<"$user_holders"
assert "ListHolders tells a user the kind" grep -qF '"cwd" ""' <<<"$user_holders"
refute "ListHolders shows a user where another user's process has its cwd" grep -qF '"cwd" "/' <<<"$user_holders"
user_prop=$(nobody busctl get-property org.dmwarden1 "$path" org.dmwarden1.Device Holders)
refute "the Holders property shows a user where another user's process has its cwd" \
        grep -qF '"cwd" "/' <<<"$user_prop"
assert "dmwardenctl list agrees" sh -c "dmwardenctl list | grep -F -- '$dev' | grep -qwE 'leaked|stuck'"
assert "dmwardenctl status counts the leak" sh -c "dmwardenctl status | grep -qE 'Devices: [0-9]+ watched, 1 leaked'"

assert "an unprivileged user can read the state" nobody busctl get-property org.dmwarden1 "$path" \
        org.dmwarden1.Device State
assert "an unprivileged user can list the devices" nobody busctl call org.dmwarden1 /org/dmwarden1 \
        org.dmwarden1.Manager ListDevices
reloads_before=$(journalctl -b -u dmwarden-vm.service -o cat | grep -c "reloaded" || true)
denied_as_user Scan org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager Scan
denied_as_user Reap org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager Reap ss "$dev" kill
denied_as_user Remove org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager Remove s "$dev"
denied_as_user Reload org.dmwarden1 /org/dmwarden1 org.dmwarden1.Manager Reload
# The bus policy (conf/org.dmwarden1.conf) lets only root own the name.
denied_as_user "RequestName of org.dmwarden1" org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus RequestName su org.dmwarden1 0
assert "the holder outlived the unprivileged Reap" alive "$holder"
assert "the device outlived the unprivileged Remove" dm_exists "$dev"
assert "the device is still leaked" dmwarden_device_leaked "$dev"
assert_eq "$(journalctl -b -u dmwarden-vm.service -o cat | grep -c "reloaded" || true)" "$reloads_before" \
        "journal lines about reloading after the unprivileged Reload"
assert "dmwardenctl reap as the user exits 4 (not allowed)" sh -c \
        "setpriv --reuid=dmw-user --regid=dmw-user --init-groups dmwardenctl reap --action=kill '$dev'; test \$? -eq 4"

t0=$SECONDS
systemctl restart dmwarden-vm.service
wait_for 120 "docker to answer after the restart" _docker_answers_plain
wait_for 120 "the restarted daemon to find the leak again" dmwarden_device_leaked "$dev"
timing restart-to-leak-found "$((SECONDS - t0))"

stop_process "$holder"
t0=$SECONDS
wait_for 120 "the kernel to remove $dev" dm_gone "$dev"
wait_for 60 "$dev to leave the bus" sh -c "! busctl tree --list org.dmwarden1 | grep -qxF -- '$path'"
timing release-to-off-bus "$((SECONDS - t0))"
assert "dmwardend logged the release" sh -c "journalctl -b -u dmwarden-vm.service -o cat | grep -qE -- 'Device $dev: (leaked|stuck) → released\.'"
