#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the root file system of the VM image: mkroot.sh ROOT SUITE PACKAGE...
# image.sh runs it inside `unshare --mount --propagation private`, so the
# /proc, /sys and /dev/pts mounted into ROOT for the chroot die with it.
# Mirrors: DMWARDEN_VM_MIRROR, DMWARDEN_VM_SECURITY_MIRROR.
set -euo pipefail

root=$1 suite=$2
shift 2
packages=("$@")
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DMWARDEN_VM_MIRROR:-http://deb.debian.org/debian}
security=${DMWARDEN_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

step() { printf '[%(%H:%M:%S)T] mkroot: %s\n' -1 "$*"; }

in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

apt_install() {
        in_root apt-get -q -y --no-install-recommends \
                -o Dpkg::Options::=--force-confold -o Dpkg::Use-Pty=0 install "$@"
}

bootstrap() {
        step "debootstrap $suite from $mirror"
        debootstrap --variant=minbase --components=main "$suite" "$root" "$mirror"
        cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
        mount -t proc proc "$root/proc"
        mount -t sysfs sysfs "$root/sys"
        mkdir -p "$root/dev/pts"
        mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
        # No service may start inside the chroot (docker.io's and containerd's
        # postinsts try).
        printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
        chmod 755 "$root/usr/sbin/policy-rc.d"
}

# A small initrd boots faster under emulation: the root disk is virtio, ext4.
configure_initramfs() {
        step "initramfs-tools: MODULES=list"
        apt_install initramfs-tools
        echo MODULES=list >"$root/etc/initramfs-tools/conf.d/dmwarden-vm.conf"
        printf '%s\n' virtio_pci virtio_blk ext4 >>"$root/etc/initramfs-tools/modules"
}

install_packages() {
        step "apt-get install ${packages[*]}"
        in_root apt-get -q update
        apt_install "${packages[@]}"
}

configure_system() {
        step "configuring the system"
        echo dmwarden-vm >"$root/etc/hostname"
        printf '127.0.0.1 localhost\n127.0.1.1 dmwarden-vm\n' >"$root/etc/hosts"
        echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
        # A fixed machine-id: an empty one means "first boot", and systemd
        # would then apply presets and re-enable docker.service.
        od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
        echo >>"$root/etc/machine-id"
        # Lets a person who boots the image by hand log in on the console.
        in_root passwd -d root
        # The tests (and later dmwarden) start the engine themselves. Which
        # of these units exist depends on the suite's engine packages.
        local unit units=()
        for unit in docker.service docker.socket containerd.service; do
                [[ -e $root/usr/lib/systemd/system/$unit || -e $root/lib/systemd/system/$unit ]] && units+=("$unit")
        done
        ((${#units[@]})) || { echo "mkroot: no engine unit to disable" >&2; return 1; }
        in_root systemctl disable "${units[@]}"
        # Nothing periodic should wake up during a test.
        in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer \
                e2scrub_all.timer e2scrub_reap.service fstrim.timer
        printf '%s\n' loop dm_thin_pool >"$root/etc/modules-load.d/dmwarden-vm.conf"
        mkdir -p "$root/etc/systemd/system.conf.d" "$root/etc/systemd/journald.conf.d"
        # Under emulation a hung stop job would eat the run's time budget.
        printf '[Manager]\nDefaultTimeoutStopSec=20s\n' \
                >"$root/etc/systemd/system.conf.d/dmwarden-vm.conf"
        # Keep every line a scenario logs; nothing needs the journal on disk.
        printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' \
                >"$root/etc/systemd/journald.conf.d/dmwarden-vm.conf"
}

# The runner: a oneshot unit pulled in by dmwarden-vm.target (selected on the
# kernel command line), which mounts the host's shares and runs runner.sh.
install_runner() {
        step "installing the test runner units"
        install -D -m 644 "$here/guest/dmwarden-vm.target" "$root/etc/systemd/system/dmwarden-vm.target"
        install -D -m 644 "$here/guest/dmwarden-vm-runner.service" "$root/etc/systemd/system/dmwarden-vm-runner.service"
        install -D -m 755 "$here/guest/mount-shares" "$root/usr/local/libexec/dmwarden-vm/mount-shares"
}

# A busybox root file system that lib.sh imports with `docker import`, or
# wraps into an OCI image for `ctr image import`.
make_busybox_tar() {
        local bb applet
        step "making the busybox image tarball"
        bb=$(mktemp -d)
        mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp" "$bb/proc" "$bb/sys" "$bb/dev" "$bb/root"
        cp "$root/usr/bin/busybox" "$bb/bin/busybox"
        for applet in $("$bb/bin/busybox" --list); do
                [[ $applet == busybox ]] || ln -s busybox "$bb/bin/$applet"
        done
        mkdir -p "$root/usr/local/share/dmwarden-vm"
        tar --numeric-owner --owner=0 --group=0 -C "$bb" -cf "$root/usr/local/share/dmwarden-vm/busybox-rootfs.tar" .
        rm -rf "$bb"
}

finish() {
        step "cleaning up"
        rm -f "$root/usr/sbin/policy-rc.d"
        in_root apt-get -q clean
        rm -rf "$root"/var/lib/apt/lists/*_* "$root"/tmp/* "$root"/var/tmp/*
        umount "$root/dev/pts" "$root/sys" "$root/proc"
}

bootstrap
configure_initramfs
install_packages
configure_system
install_runner
make_busybox_tar
finish
step "done"
