#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Summarizes meson's testlog.json files (one per build directory): each
suite's test counts (from Criterion's synthesis lines and the TAP lines of
the VM harness and the fuzz runner) and one closing line. Exits non-zero if
any test failed or was skipped, or a log is missing: CI runs every suite."""
import json
import os
import re
import sys

SYNTHESIS = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
TAP = re.compile(r"^(not ok|ok) \d+ ", re.M)
# What failed, by name: a TAP "not ok" line or Criterion's "[FAIL]
# suite::test" (crashes and timeouts included). CI's record keeps only the
# end of the output, so the closing lines name them.
FAILED_LINE = re.compile(r"^(?:not ok \d+ .*|\[FAIL\] .*)$", re.M)


def count(entry):
    """(passed, failed) inside one meson test, or None if it printed no counts."""
    out = (entry.get("stdout") or "") + (entry.get("stderr") or "")
    found = SYNTHESIS.findall(out)
    if found:
        tested, passing, failing, crashing = (int(x) for x in found[-1])
        return passing, failing + crashing + (tested - passing - failing - crashing)
    tap = TAP.findall(out)
    if tap:
        return tap.count("ok"), tap.count("not ok")
    return None


def main(paths):
    passed = failed = skipped = 0
    entries = []
    failures = []
    for path in paths:
        # build/meson-logs/testlog.json: "build", so the ASan run of a suite
        # reads apart from the plain one.
        where = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
        try:
            with open(path) as f:
                entries += [dict(json.loads(line), where=where) for line in f if line.strip()]
        except FileNotFoundError:
            failed += 1  # a build directory whose suites never ran
            print(f"{path}: no test log (the suites there did not run), counted as a failure")
    for e in entries:
        result = e["result"]
        suite = ",".join(s.split(":")[-1] for s in e.get("suite", []))
        if len(paths) > 1:
            suite = f"{e['where']}/{suite}"
        counts = count(e)
        if result == "SKIP":
            skipped += 1
            print(f"{suite:<18} {e['name']:<20} SKIPPED (counted as a failure)")
            continue
        if counts is None:
            counts = (1, 0) if result == "OK" else (0, 1)
        elif result != "OK" and counts[1] == 0:
            counts = (counts[0], 1)  # the runner failed outside any single test
        passed += counts[0]
        failed += counts[1]
        print(f"{suite:<18} {e['name']:<20} {result:<8} {counts[0]} passed, {counts[1]} failed, "
              f"{e.get('duration', 0):.1f} s")
        if result != "OK":
            out = (e.get("stdout") or "") + (e.get("stderr") or "")
            named = FAILED_LINE.findall(out) or ["(no failing test named in its output)"]
            failures += [f"{suite} {e['name']}: {line.strip()[:200]}" for line in named]
    for line in failures:
        print(f"failed: {line}")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and skipped == 0 and entries else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
