#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion for dmwardenctl, run as bash-completion runs it: the
# words of a command line in COMP_WORDS (split at "=" as bash splits them),
# the function called, COMPREPLY checked. Device names come from a stand-in
# dmwardenctl that prints them as "dmwardenctl list -n -o name" does.
set -u

completion=${DMWARDEN_COMPLETION:?run through meson}
library=/usr/share/bash-completion/bash_completion
if [[ ! -r $library ]]; then
        echo "SKIP: bash-completion is not installed ($library)"
        [[ ${DMWARDEN_REQUIRE_ALL:-0} == 1 ]] && exit 1
        exit 77
fi
# shellcheck disable=SC1090
. "$library"
# shellcheck disable=SC1090
. "$completion"

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cat >"$bin/dmwardenctl" <<'STUB'
#!/bin/sh
[ "$*" = "list -n -o name" ] || exit 2
printf '%s\n' thin-a thin-b other 'with space'
echo '4 devices listed.' >&2
STUB
chmod +x "$bin/dmwardenctl"
PATH=$bin:$PATH

passed=0 failed=0

# expect LINE WORD...: completing LINE (cursor at its end) offers WORD...
expect() {
        local line=$1
        shift
        COMP_LINE=$line
        COMP_POINT=${#line}
        read -ra COMP_WORDS <<<"${line//=/ = }"
        [[ $line == *' ' ]] && COMP_WORDS+=('')
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _dmwardenctl dmwardenctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        local got="${COMPREPLY[*]}" want="$*"
        if [[ $got == "$want" ]]; then
                passed=$((passed + 1))
                echo "ok $((passed + failed)) - \"$line\""
        else
                failed=$((failed + 1))
                echo "not ok $((passed + failed)) - \"$line\" offered \"$got\", expected \"$want\""
        fi
}

expect 'dmwardenctl ' status list holders scan reap remove
expect 'dmwardenctl re' reap remove
expect 'dmwardenctl --json s' status scan
expect 'dmwardenctl --j' --json
expect 'dmwardenctl reap ' thin-a thin-b other 'with\ space'
expect 'dmwardenctl reap thin-' thin-a thin-b
expect 'dmwardenctl remove o' other
expect 'dmwardenctl remove wi' 'with\ space'
expect 'dmwardenctl holders thin-b' thin-b
expect 'dmwardenctl reap thin-a ' ''
expect 'dmwardenctl status ' ''
expect 'dmwardenctl reap thin-a --action=' report detach restart-unit kill
expect 'dmwardenctl reap thin-a --action=re' report restart-unit
expect 'dmwardenctl reap thin-a --action k' kill
expect 'dmwardenctl --action kill reap ' thin-a thin-b other 'with\ space'
expect 'dmwardenctl holders x --source=l' listmount
expect 'dmwardenctl --source mountinfo holders t' thin-a thin-b
expect 'dmwardenctl holders x --walk=' auto bpf proc
expect 'dmwardenctl --walk bpf holders t' thin-a thin-b
expect 'dmwardenctl holders x --w' --walk=
# Each command its own options; before a command, all of them.
expect 'dmwardenctl status -' -J --json -n --noheadings -o --output= -r --raw
expect 'dmwardenctl reap x -' -J --json --action=
expect 'dmwardenctl remove x -' -J --json
expect 'dmwardenctl holders x --f' --full
expect 'dmwardenctl list --f' ''
expect 'dmwardenctl --v' --version
expect 'dmwardenctl status --v' ''
# -o's columns, the command's own, after the commas typed.
expect 'dmwardenctl list -o n' name
expect 'dmwardenctl holders x -o pid,k' pid,kind
expect 'dmwardenctl status --output=engine-p' engine-pid
expect 'dmwardenctl status -o last-scan,wa' last-scan,watched last-scan,walk last-scan,walk-unavailable

echo "1..$((passed + failed))"
echo "completion: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
