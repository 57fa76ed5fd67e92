#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# run.sh — the whole test run: installs what it needs, builds with warnings as errors, runs every
# suite and ends with one "N passed, N failed, N skipped" line over all of the passes:
#   main      the build as shipped: unit, static (cppcheck, clang-tidy), the User-Mode Linux
#             tests (suite uml), the daemon under valgrind, and the host integration tests'
#             checks that need an unsanitized build (suite plain); every host integration test
#             when the sanitize pass is not chosen
#   sanitize  a second build with -Db_sanitize=address,undefined: unit and every host integration
#             test (a sanitizer report from any of our processes fails the test, see lib.sh)
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
# run_tests NAME BUILDDIR MESON_TEST_ARGS...: one meson test run, its log (meson-logs/NAME.json)
# counted and its time written down.
run_tests() {
        local name=$1 dir=$2 start=$SECONDS r=0; shift 2
        rm -f "$dir/meson-logs/$name.json"
        meson test -C "$dir" --no-rebuild --print-errorlogs --logbase "$name" --num-processes 2 \
                --timeout-multiplier "${AIM_TIMEOUT_MULTIPLIER:-3}" "$@" || r=$?
        echo "$name tests: $((SECONDS - start)) s (exit $r)" >> "$times"
        return $r
}
times=$(mktemp)
fuzz_claim=$(mktemp -u)         # made by the lane that takes the fuzz pass
uml_lane=
# A failed build ends the run: the UML lane, if started, with it.
trap '[ -z "$uml_lane" ] || kill -- "-$uml_lane" 2>/dev/null; rm -rf "$times" "$fuzz_claim"' EXIT
want() { [[ " $passes " == *" $1 "* ]]; }

san=${build}-sanitize
fuzz=${build}-fuzz
build_main() {
        # Configured as a distribution would, so that the systemd test installs this very build.
        setup "$build" -Dwerror=true --prefix=/usr --sysconfdir=/etc --localstatedir=/var
        ninja -C "$build"
}
build_sanitize() {
        setup "$san" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
        ninja -C "$san"
}
build_fuzz() {
        CC=clang setup "$fuzz" -Dwerror=true -Dfuzz=true -Dtests=false
        # Only the harnesses: the rest of the tree is built and tested by the passes above.
        mapfile -t targets < <(meson introspect --targets "$fuzz" | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["name"].startswith("fuzz-"):
        print(os.path.relpath(t["filename"][0], sys.argv[1]))' "$(realpath "$fuzz")")
        ninja -C "$fuzz" "${targets[@]}"
}
# timed NAME CMD...: runs CMD, its time written down.
timed() {
        local name=$1 start=$SECONDS; shift
        "$@"
        echo "$name: $((SECONDS - start)) s" >> "$times"
}

# First, with both cores: the main, sanitize and fuzz builds, and beside them the static suite
# (cppcheck, clang-tidy). In the non-UML lane they had half of one core beside a CPU hog: the
# sanitize build took 214 s of a 995 s run, clang-tidy 395 s of a 918 s one, for 93 CPU-s of work;
# the fuzz build, at a lane's end, 21-42 s. Then two lanes side by side.
# The User-Mode Linux tests (suite uml) take one at a time, on one CPU at nice -10 (see
# uml-launch.sh): they hold that core. The other lane has the other core: the main build's other
# tests, then the sanitize pass (where the UML tests skip). The lane that ends first runs the fuzz
# pass (which one does varies with the machine's load). The host integration tests run
# once, in the sanitize pass (the same -O2 code with more checks), except for what only the main
# build can check. Arguments name what the main pass runs: then one lane.
fuzz_pass() {
        want fuzz || return 0
        mkdir "$fuzz_claim" 2>/dev/null || return 0     # the other lane has it
        run_tests fuzz "$fuzz" --suite fuzz
}
want main && timed "main build" build_main
if [ $# -gt 0 ]; then
        want main && { run_tests main "$build" "$@" || rc=1; }
else
        # The static suite beside the sanitize and fuzz builds: they all want CPU only, and together
        # they get more of it beside another load than one after the other.
        static=
        if want main; then run_tests static "$build" --suite static & static=$!; fi
        want sanitize && timed "sanitize build" build_sanitize
        want fuzz && timed "fuzz build" build_fuzz
        [ -z "$static" ] || wait "$static" || rc=1
        if want main; then
                set -m          # the lane in a process group of its own, for the trap above
                ( export PYTHONUNBUFFERED=1      # meson's progress lines as they come
                  r=0
                  run_tests uml "$build" --suite uml --num-processes 1 2>&1 | sed -u 's/^/[uml] /' || r=1
                  fuzz_pass 2>&1 | sed -u 's/^/[fuzz] /' || r=1
                  exit $r ) &
                uml_lane=$!
                set +m
                if want sanitize; then
                        run_tests main "$build" --suite unit --suite plain --suite valgrind || rc=1
                else
                        run_tests main "$build" --no-suite uml --no-suite static || rc=1
                fi
        fi
        if want sanitize; then
                # Three at a time: these tests wait far more than they compute (images needs 22
                # CPU-s, and took 191 s beside UML and a hog in r25), so a third fills the others' waits.
                run_tests sanitize "$san" --suite unit --suite integration --no-suite uml \
                        --num-processes 3 || rc=1
        fi
        fuzz_pass || rc=1
        if [ -n "$uml_lane" ]; then
                wait "$uml_lane" || rc=1
                uml_lane=
        fi
fi
for name in static uml main sanitize fuzz; do
        for dir in "$build" "$san" "$fuzz"; do
                [ -f "$dir/meson-logs/$name.json" ] && logs+=("$dir/meson-logs/$name.json")
        done
done
mapfile -t timings < "$times"
timings+=("whole run: ${SECONDS} s")

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
