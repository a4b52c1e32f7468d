#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The device watch on a real kernel, in watch-only mode (Docker runs as
# docker.service in the host namespace, dmwardend only watches): udev and
# libdevmapper find the container's thin device, the engine's mount table
# says it is active; after `docker rm -f` with a pinned holder it turns
# leaked, with the holder's cwd named; when the holder exits it turns
# released, and the kernel's deferred removal makes it removed.
set -euo pipefail
# shellcheck source=../lib.sh
. "${DMWARDEN_VM_LIB:?run me with tests/vm/run}"

unit=dmwarden-watch-only
journal() { journalctl -b -u "$unit" -o cat --no-pager; }
journal_says() { journal | grep -qF -- "$1"; }
journal_matches() { journal | grep -qE -- "$1"; }

systemctl -q is-active docker.service || docker_start
docker_run_container watched

dev=$(container_thin_device watched)
mnt=$(container_mount_point watched)
log "container watched: thin device $dev, mounted on $mnt"

t0=$SECONDS
# Only watching here: Action=report tells and calls the leak stuck.
printf '[Policy]\nAction=report\n' >/run/dmwarden-watch-only.conf
systemd-run --unit "$unit" -p Type=notify -p NotifyAccess=main \
        -E DMWARDEN_LOG_LEVEL=debug "$(command -v dmwardend)" --config /run/dmwarden-watch-only.conf
defer "systemctl stop $unit; journalctl -b -u $unit --no-pager >$DMWARDEN_VM_ARTIFACTS/dmwardend.log"
timing dmwardend-ready "$((SECONDS - t0))"
assert "dmwardend is active after its first scan" systemctl -q is-active "$unit"
assert "the running container's device is watched" journal_says "Watching $dev ("
refute "an engine device is not leaked" journal_matches "Device $dev: [a-z]+ → leaked"

spawn_cwd_holder "$mnt/rootfs"
holder=$HOLDER_PID
t0=$SECONDS
assert "docker rm -f reports success" docker rm -f watched
rm_done=$SECONDS
wait_for 120 "dmwardend to call $dev leaked" journal_matches "Device $dev: (active|idle) → leaked\\."
timing rm-to-leaked "$((SECONDS - rm_done))"
log "leaked $((SECONDS - rm_done)) s after docker rm returned"
assert "the device still exists" dm_exists "$dev"

stop_process "$holder"
t0=$SECONDS
wait_for 120 "dmwardend to call $dev released" journal_matches "Device $dev: (leaked|stuck) → released\\."
wait_for 120 "the kernel to remove $dev" dm_gone "$dev"
wait_for 120 "dmwardend to notice $dev is gone" journal_says "Device $dev is gone (was released)."
timing release-to-removed "$((SECONDS - t0))"
refute "dmwardend logged no error" journal_says "Cannot "
