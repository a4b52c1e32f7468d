#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# How long dmwardend takes to report N leaks found at once (a node drain):
# N loop devices with ext4 on them, each mounted by a process in a mount
# namespace of its own, all described to the directory device source as let
# go by the engine (deferred removal). Prints the seconds from start to the
# last leak reported, and the walks over /proc if the daemon counts them.
# A benchmark, not a test: it needs root, and the numbers depend on the
# machine. Usage: bench-drain.sh DMWARDEND [N]
set -euo pipefail

daemon=$(realpath "${1:?usage: bench-drain.sh DMWARDEND [N]}")
n=${2:-100}
dir=$(mktemp -d /tmp/dmwarden-drain-XXXXXX)
pids=()

cleanup() {
        [[ -n ${daemon_pid:-} ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
        for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/devices" "$dir/mnt" "$dir/run"
truncate -s 16M "$dir/image"
mkfs.ext4 -q -F "$dir/image"
for ((i = 0; i < n; i++)); do
        cp --sparse=always "$dir/image" "$dir/image$i"
        loop=$(losetup -f --show "$dir/image$i")
        mkdir "$dir/mnt/$i"
        # The holder: a namespace of its own with the device mounted in it.
        unshare -m --propagation private sh -c \
                "mount -o ro $loop $dir/mnt/$i && touch $dir/mnt/ready$i && exec sleep infinity" &
        pids+=($!)
        until [[ -e $dir/mnt/ready$i ]]; do sleep 0.01; done
        losetup -d "$loop"  # detached once the holder's mount goes
        majmin=$(lsblk -dno MAJ:MIN "$loop" | tr -d ' ')
        printf 'name=thin-drain-%d\ndev=%s\ntarget=thin\npool=pool0\nopen_count=1\ndeferred_remove=1\n' \
                "$i" "$majmin" > "$dir/devices/d$i"
done

# The engine's namespace is ours (the host's); the holders' are not.
echo $$ > "$dir/engine.pid"
cat > "$dir/dmwarden.conf" <<EOF
[Engine]
PIDFile=$dir/engine.pid
[Policy]
Action=report
Remove=no
EOF

start=$(date +%s.%N)
RUNTIME_DIRECTORY=$dir/run DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/no-bus \
        "$daemon" --config "$dir/dmwarden.conf" --test-device-source="$dir/devices" 2> "$dir/log" &
daemon_pid=$!
until (( $(grep -c "was let go by the engine" "$dir/log" || true) >= n )); do
        kill -0 "$daemon_pid" 2>/dev/null || { cat "$dir/log"; exit 1; }
        sleep 0.05
done
end=$(date +%s.%N)
printf '%d leaks reported in %.2f s\n' "$n" "$(echo "$end - $start" | bc)"
