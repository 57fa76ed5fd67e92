#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh — the whole test run: installs what it needs, builds with warnings as errors, runs every
# suite and ends with one "N passed, N failed, N skipped" line over all of the passes:
#   main      the build as shipped: unit, integration (with the systemd/UML test and the daemon
#             under valgrind), static (cppcheck, clang-tidy)
#   sanitize  a second build with -Db_sanitize=address,undefined: unit and integration again
#             (a sanitizer report from any of our processes fails the test, see lib.sh)
#   fuzz      clang + libFuzzer: every harness for AIM_FUZZ_SECONDS (default 30) each
# AIM_PASSES chooses passes (default "main sanitize fuzz"); arguments go to the main meson test.
# Timeouts are multiplied by AIM_TIMEOUT_MULTIPLIER (default 3): they catch hangs, and a shared
# machine may be busy.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-deps.sh
build=${AIM_BUILD_DIR:-build}
passes=${AIM_PASSES:-main sanitize fuzz}

setup() {
        local dir=$1; shift
        if [ -d "$dir" ]; then
                meson setup --reconfigure "$@" "$dir" >/dev/null
        else
                meson setup "$@" "$dir" >/dev/null
        fi
}

rc=0
logs=()
timings=()
# run_pass NAME BUILDDIR MESON_TEST_ARGS...: one meson test run, its log counted; the pass's time
# (its build included) counts from the pass_start before it.
pass_start=$SECONDS
run_pass() {
        local name=$1 dir=$2 start=$pass_start; shift 2
        rm -f "$dir/meson-logs/testlog.json"
        meson test -C "$dir" --print-errorlogs --num-processes 2 --timeout-multiplier "${AIM_TIMEOUT_MULTIPLIER:-3}" "$@" || rc=$?
        [ -f "$dir/meson-logs/testlog.json" ] && logs+=("$dir/meson-logs/testlog.json")
        timings+=("$name pass (build + tests): $((SECONDS - start)) s")
        pass_start=$SECONDS
}

if [[ " $passes " == *" main "* ]]; then
        pass_start=$SECONDS
        setup "$build" -Dwerror=true
        ninja -C "$build"
        run_pass main "$build" "$@"
fi

if [[ " $passes " == *" sanitize "* ]]; then
        pass_start=$SECONDS
        # The systemd test installs a build of its own (not this one), so it is not repeated here.
        san=${build}-sanitize
        setup "$san" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
        ninja -C "$san"
        run_pass sanitize "$san" --suite unit --suite integration --no-suite systemd
fi

if [[ " $passes " == *" fuzz "* ]]; then
        pass_start=$SECONDS
        fuzz=${build}-fuzz
        CC=clang setup "$fuzz" -Dwerror=true -Dfuzz=true -Dtests=false
        # Only the harnesses: the rest of the tree is built and tested by the passes above.
        mapfile -t targets < <(meson introspect --targets "$fuzz" | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz-"):
        print(os.path.relpath(t["filename"][0], sys.argv[1]))' "$(realpath "$fuzz")")
        ninja -C "$fuzz" "${targets[@]}"
        run_pass fuzz "$fuzz" --no-rebuild --suite fuzz
fi

printf '# %s\n' "${timings[@]}"
# The closing line CI reads, counted from meson's own logs.
python3 - "${logs[@]}" <<'PY'
import json, os, sys
n = {"OK": 0, "FAIL": 0, "SKIP": 0}
slow = []
for log in sys.argv[1:]:
    build = os.path.basename(os.path.dirname(os.path.dirname(log)))
    for line in open(log):
        t = json.loads(line)
        r = t["result"]
        key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
        n[key] += 1
        slow.append((t["duration"], f"{build}:{t['name']}"))
# Where the time goes (the UML tests run alone, see tests/integration/meson.build).
print("# slowest:", ", ".join(f"{name} {d:.0f} s" for d, name in sorted(slow, reverse=True)[:8]))
print(f"{n['OK']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
PY
exit $rc
