#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh — the whole test run: installs what it needs, builds with warnings as errors, runs every
# suite (unit, integration) and ends with one "N passed, N failed, N skipped" line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-deps.sh
build=${AIM_BUILD_DIR:-build}
if [ -d "$build" ]; then
        meson setup --reconfigure -Dwerror=true "$build" >/dev/null
else
        meson setup -Dwerror=true "$build" >/dev/null
fi
ninja -C "$build"

rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || rc=$?

# The closing line CI reads, counted from meson's own log.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
n = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
    n[key] += 1
print(f"{n['OK']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
PY
exit $rc
