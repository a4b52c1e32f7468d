# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034,SC2154
# Sourced by tests/vm/run: finds or builds a cached Debian base image, one
# per suite: bookworm (Debian 12, Docker 20.10) or trixie (Debian 13,
# containerd 1.7). image_select SUITE picks the suite; bookworm by default.
#
# Cache layout ($cache_dir):
#   .lock-<suite>                 flock(1) lock held while looking up or
#                                 building an image of that suite
#   .build-<suite>-<key>.XXXXXX/  a build in progress (stale ones are removed)
#   <suite>-<key>/                a finished image: base.img (raw ext4,
#                                 read-only), vmlinuz, initrd.img,
#                                 manifest.txt, packages.txt, build.log,
#                                 last-used
# The key hashes the suite, the package list, IMAGE_VERSION, mkroot.sh and
# the files it copies into the image (guest/), so any change to them builds
# a new image. A build happens in a
# temporary directory and is renamed into place only when complete, so an
# interrupted build never leaves a half image that a later run would use.
# Expects stamp(), die() and run_child() from the caller.

# The harness version: bump it when a change to this file changes what an
# image contains (mkroot.sh and guest/ are hashed into the key anyway).
IMAGE_VERSION=1
IMAGE_SIZE=8G
IMAGE_SUITES=(bookworm trixie)

IMAGE_PACKAGES_COMMON=(
        linux-image-amd64 systemd systemd-sysv udev dbus polkitd kmod
        dmsetup thin-provisioning-tools e2fsprogs util-linux psmisc lsof procps
)
IMAGE_PACKAGES_LINKED=(
        # what dmwardend links
        libinih1 libsystemd0 libmount1 libdevmapper1.02.1 libudev1
)
# The engine each suite tests against: Docker 20.10 (devicemapper driver)
# on bookworm; containerd 1.7 with its devmapper snapshotter on trixie,
# whose docker.io no longer has the devicemapper driver.
IMAGE_PACKAGES_bookworm=(docker.io busybox-static)
# prometheus-node-exporter (and curl) serve and scrape dmwarden.prom (pool-metrics).
IMAGE_PACKAGES_trixie=(containerd runc busybox-static prometheus-node-exporter curl)

# image_select SUITE: sets IMAGE_SUITE and IMAGE_PACKAGES.
image_select() {
        [[ " ${IMAGE_SUITES[*]} " == *" $1 "* ]] || die "unknown image suite $1 (known: ${IMAGE_SUITES[*]})"
        local -n engine=IMAGE_PACKAGES_$1
        IMAGE_SUITE=$1
        IMAGE_PACKAGES=("${IMAGE_PACKAGES_COMMON[@]}" "${engine[@]}" "${IMAGE_PACKAGES_LINKED[@]}")
}
image_select bookworm

# Files copied into the image, so part of the key.
image_input_files() {
        printf '%s\n' "$VM_DIR/mkroot.sh" "$VM_DIR"/guest/*
}

image_key() {
        {
                echo "version=$IMAGE_VERSION suite=$IMAGE_SUITE size=$IMAGE_SIZE"
                printf '%s\n' "${IMAGE_PACKAGES[@]}"
                local f
                while read -r f; do
                        printf '%s ' "${f#"$VM_DIR"/}"
                        sha256sum <"$f"
                done < <(image_input_files)
        } | sha256sum | cut -c1-16
}

# The build functions run in a `||` context, where set -e is off: each step
# that can fail says `|| return 1` itself.

# Sets IMAGE_DIR to a ready image, building it first if needed.
# Sets IMAGE_BUILD_SECONDS (0 when the cache was warm).
image_ensure() {
        local cache=$1 key
        key=$(image_key)
        IMAGE_DIR=$cache/$IMAGE_SUITE-$key
        IMAGE_BUILD_SECONDS=0
        mkdir -p "$cache"
        # One builder of a suite at a time; a second run waits and then
        # finds the image.
        exec {image_lock_fd}>"$cache/.lock-$IMAGE_SUITE"
        stamp "image: waiting for the cache lock $cache/.lock-$IMAGE_SUITE"
        flock "$image_lock_fd"
        if [[ -f $IMAGE_DIR/base.img && -f $IMAGE_DIR/manifest.txt ]]; then
                stamp "image: reusing $IMAGE_DIR"
        else
                local t0=$SECONDS
                image_remove_stale "$cache"
                image_build "$cache" "$key"
                IMAGE_BUILD_SECONDS=$((SECONDS - t0))
                image_prune_old "$cache" "$IMAGE_DIR"
        fi
        touch "$IMAGE_DIR/last-used"
        exec {image_lock_fd}>&-
}

# Leftovers of builds of this suite that were killed. We hold the suite's
# lock, so none is running.
# The chroot mounts lived in a private mount namespace and died with it;
# --one-file-system guards against anything still mounted all the same.
image_remove_stale() {
        local d
        for d in "$1"/.build-"$IMAGE_SUITE"-*; do
                [[ -d $d ]] || continue
                stamp "image: removing stale build $d"
                rm -rf --one-file-system "$d" || die "cannot remove stale build $d"
        done
}

# Images of other keys that no run used for a day: an old harness version.
image_prune_old() {
        local cache=$1 keep=$2 d
        for d in "$cache"/"$IMAGE_SUITE"-*; do
                [[ -d $d && $d != "$keep" ]] || continue
                if [[ -z $(find "$d" -maxdepth 1 -name last-used -mmin -1440) ]]; then
                        stamp "image: pruning unused image $d"
                        rm -rf --one-file-system "$d"
                fi
        done
}

image_build() {
        local cache=$1 key=$2 tmp
        tmp=$(mktemp -d "$cache/.build-$IMAGE_SUITE-$key.XXXXXX")
        IMAGE_BUILD_TMP=$tmp  # removed by the caller's cleanup if we are interrupted
        stamp "image: building $IMAGE_SUITE-$key in $tmp (log: $tmp/build.log)"
        image_build_root "$tmp" || image_build_failed "$tmp" "building the root file system"
        image_build_disk "$tmp" || image_build_failed "$tmp" "making the disk image"
        mv -T "$tmp" "$IMAGE_DIR" || die "cannot rename $tmp to $IMAGE_DIR"
        IMAGE_BUILD_TMP=
        stamp "image: ready: $IMAGE_DIR"
}

image_build_failed() {
        echo "--- last 40 lines of $1/build.log ---" >&2
        tail -n 40 "$1/build.log" >&2 || true
        die "image build failed while $2"
}

# debootstrap and the chroot installs run in a private mount namespace, so
# their /proc, /sys and /dev/pts mounts vanish with it, even after kill -9.
image_build_root() {
        local tmp=$1 t0=$SECONDS
        mkdir "$tmp/root" || return 1
        stamp "image: debootstrap and apt-get install (${#IMAGE_PACKAGES[@]} packages; takes minutes)"
        run_child "$tmp/build.log" unshare --mount --propagation private \
                "$VM_DIR/mkroot.sh" "$tmp/root" "$IMAGE_SUITE" "${IMAGE_PACKAGES[@]}" || return 1
        stamp "image: root file system done in $((SECONDS - t0)) s"
}

image_build_disk() {
        local tmp=$1 root=$1/root t0=$SECONDS kver
        kver=$(cd "$root/boot" && find . -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sort -V | tail -n 1)
        kver=${kver#vmlinuz-}
        [[ -n $kver && -f $root/boot/initrd.img-$kver ]] || { echo "no kernel or initrd in $root/boot" >>"$tmp/build.log"; return 1; }
        cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz" || return 1
        cp "$root/boot/initrd.img-$kver" "$tmp/initrd.img" || return 1
        # shellcheck disable=SC2016 # dpkg-query's format, not ours
        chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$tmp/packages.txt" || return 1
        stamp "image: mkfs.ext4 -d ($IMAGE_SIZE sparse)"
        truncate -s "$IMAGE_SIZE" "$tmp/base.img" || return 1
        mkfs.ext4 -q -F -L dmwvm-root -d "$root" "$tmp/base.img" >>"$tmp/build.log" 2>&1 || return 1
        # Runs only ever write to a qcow2 overlay on top of it.
        chmod a-w "$tmp/base.img" || return 1
        rm -rf --one-file-system "$root" || return 1
        {
                echo "key: $(basename "$IMAGE_DIR")"
                echo "suite: $IMAGE_SUITE"
                echo "image-version: $IMAGE_VERSION"
                echo "kernel: $kver"
                echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
                echo "packages: ${IMAGE_PACKAGES[*]}"
        } >"$tmp/manifest.txt"
        stamp "image: disk done in $((SECONDS - t0)) s (kernel $kver)"
}
