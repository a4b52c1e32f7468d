#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a test under valgrind, and every process of ours it starts (the
# daemons, dmwardenctl, Criterion's workers), and fails if any of them had a
# memory error or a definite leak:
#
#   meson test -C build --suite unit --suite privileged --wrap="$PWD/tests/sanitizers/valgrind.sh"
#
# Criterion's workers report back to their parent before they exit, so a
# worker's valgrind exit status is lost; each process logs to a file of its
# own here, and any non-empty log is a failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# Tests run dmwardenctl as nobody too; its valgrind must be able to log.
chmod 1777 "$logs"

# System tools the privileged tests run (mkfs, mount, losetup, dbus-daemon)
# and the shell scripts that play the engine are not ours to check: only
# what lives outside /usr and /bin is traced. A child that forks without
# exec logs nothing (--child-silent-after-fork): otherwise its log file,
# made by root at fork, blocks the log of what it execs as nobody.
# --vgdb=no: no debugger pipes in /tmp, which private-/tmp namespaces
# cannot clean up.
valgrind --quiet --vgdb=no --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --trace-children=yes --child-silent-after-fork=yes \
        --trace-children-skip='/usr/*,/bin/*,/sbin/*,/lib/*,*.sh' \
        --suppressions="$here/valgrind.supp" --log-file="$logs/%p.log" "$@"
status=$?

# valgrind warns about ioctls and syscalls it has no wrapper for (the loop
# device ioctls, listmount(), which then fails and the mountinfo fallback
# runs); a warning is not a finding, the errors it may cause would be.
found=0
for f in "$logs"/*.log; do
        grep -v -e 'Warning: noted but unhandled ioctl' -e 'This could cause spurious value errors' \
                -e 'README_MISSING_SYSCALL_OR_IOCTL' -e '^==[0-9]*== *$' -e '^--[0-9]*--' "$f" | grep -q . || continue
        found=1
        echo "valgrind: process ${f##*/} of $1:" >&2
        cat "$f" >&2
done
[ "$found" = 1 ] && exit 1
exit "$status"
