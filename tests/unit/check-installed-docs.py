#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks that every Support: URL of the journal catalog names a file that
`meson install` puts there (from the build's meson-info), so that
`journalctl -x` never points at nothing. Prints each dangling URL and exits 1
if there is any; exits 77 (skip) if the prefix is not /usr, which the
catalog's file:///usr/... URLs assume.

Usage: check-installed-docs.py SOURCE_ROOT BUILD_ROOT
"""
import json
import os
import sys

PREFIX = 'file://'


def installed_paths(source_root, build_root):
    """Every file meson installs, by its installed path; install_subdir()
    entries are expanded from the source tree."""
    with open(os.path.join(build_root, 'meson-info', 'intro-installed.json')) as f:
        installed = json.load(f)
    paths = set()
    for source, dest in installed.items():
        if os.path.isdir(source):
            for folder, _, files in os.walk(source):
                rel = os.path.relpath(folder, source)
                paths.update(os.path.normpath(os.path.join(dest, rel, name)) for name in files)
        else:
            paths.add(dest)
    return paths


def main():
    source_root, build_root = sys.argv[1:3]
    with open(os.path.join(build_root, 'meson-info', 'intro-buildoptions.json')) as f:
        prefix = next(o['value'] for o in json.load(f) if o['name'] == 'prefix')
    if prefix != '/usr':
        print(f'SKIP: prefix is {prefix}, the catalog assumes /usr')
        return 77
    paths = installed_paths(source_root, build_root)
    urls = []
    with open(os.path.join(source_root, 'conf', 'dmwarden.catalog')) as f:
        urls = [line.split(':', 1)[1].strip() for line in f if line.startswith('Support:')]
    if not urls:
        print('the catalog has no Support: line')
        return 1
    bad = [u for u in urls if not u.startswith(PREFIX) or u[len(PREFIX):] not in paths]
    for u in sorted(set(bad)):
        print(f'conf/dmwarden.catalog: Support: {u} is not a file meson installs')
    print(f'{len(urls) - len(bad)} of {len(urls)} Support: URLs name an installed file')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
