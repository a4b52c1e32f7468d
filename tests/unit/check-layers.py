#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that every #include "..." under daemon/ names a layer the
including folder may use: dependencies point down, and the client knows
only what it speaks. Prints each violation as FILE:LINE: why, and exits 1
if there is any.

Usage: check-layers.py DAEMON_DIR
"""
import os
import re
import sys

# Each layer, and the layers below it that it may include. The meson
# libraries link the same way (daemon/*/meson.build).
ALLOWED = {
    'basic': set(),
    'shared': {'basic'},
    'config': {'basic', 'shared'},
    'holders': {'basic', 'shared'},
    'engine': {'basic', 'shared', 'config', 'holders'},
    'watch': {'basic', 'shared', 'config', 'holders'},
    'reap': {'basic', 'shared', 'config', 'holders', 'watch'},
    'bus': {'basic', 'shared', 'config', 'holders', 'engine', 'watch', 'reap'},
    'dmwardend': {'basic', 'shared', 'config', 'holders', 'engine', 'watch', 'reap', 'bus'},
    # The client: the wire names, the local scan, and nothing of the daemon.
    'dmwardenctl': {'basic', 'shared', 'holders'},
}
# Folders that hold no C (man pages, completion).
NOT_CODE = {'man', 'completion'}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]*)"')


def check_file(path, layer, errors):
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            where = f'{path}:{number}'
            if '/' not in target:
                errors.append(f'{where}: "{target}" does not name its layer (write "LAYER/{target}")')
                continue
            used = target.split('/', 1)[0]
            if used not in ALLOWED:
                errors.append(f'{where}: "{target}" is in no layer')
            elif used != layer and used not in ALLOWED[layer]:
                errors.append(f'{where}: {layer}/ may not include {used}/ ("{target}")')


def check_tree(daemon_dir):
    errors = []
    checked = 0
    for layer in sorted(os.listdir(daemon_dir)):
        folder = os.path.join(daemon_dir, layer)
        if not os.path.isdir(folder) or layer in NOT_CODE:
            continue
        sources = sorted(f for f in os.listdir(folder) if f.endswith(('.c', '.h')))
        if layer not in ALLOWED:
            if sources:
                errors.append(f'{folder}: a folder of code that is no layer (add it to check-layers.py)')
            continue
        for name in sources:
            check_file(os.path.join(folder, name), layer, errors)
            checked += 1
    loose = sorted(f for f in os.listdir(daemon_dir) if f.endswith(('.c', '.h')))
    for name in loose:
        errors.append(f'{os.path.join(daemon_dir, name)}: code outside any layer folder')
    return checked, errors


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    checked, errors = check_tree(sys.argv[1])
    for e in errors:
        print(e)
    if checked == 0:
        print(f'{sys.argv[1]}: no source files found')
        return 1
    print(f'check-layers: {checked} files, {len(errors)} violations')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
