#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what building dmwarden and running every test suite needs on a
# Debian 12 machine (root). Safe to run again: apt-get skips what is there.
set -euo pipefail

packages=(
        # build
        gcc meson ninja-build pkg-config
        libsystemd-dev libmount-dev libdevmapper-dev libudev-dev libinih-dev libsmartcols-dev
        # the BPF task walk: clang (below) builds it, bpftool makes its skeleton
        libbpf-dev bpftool
        # man pages
        scdoc
        # unit and privileged suites
        libcriterion-dev e2fsprogs util-linux dbus-daemon bash-completion systemd
        # promtool: the alerting rules and the metrics format
        prometheus
        # fuzz targets (libFuzzer and sanitizers come with clang) and valgrind runs
        clang libclang-rt-14-dev valgrind
        # VM suite: image build and boot
        debootstrap qemu-system-x86 qemu-utils
)

if [ "$(id -u)" -ne 0 ]; then
        echo "setup-host: must run as root to install packages" >&2
        exit 1
fi

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        echo "setup-host: all ${#packages[@]} packages present"
        exit 0
fi

echo "setup-host: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
