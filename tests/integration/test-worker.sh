#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-worker.sh — the exec'd copy worker, aimd-worker, as the daemon runs it: only its job's fds
# (worker/protocol.h), no_new_privs, a seccomp filter, none of the daemon's libraries; and
# durability seen by strace on it: fdatasync of the image and fsync of its folder before a pull or
# an export is done, none with sync=false.
# Suite plain: the seccomp filter and strace need a build without sanitizers (the worker of an
# AddressSanitizer build runs unfiltered, and LeakSanitizer cannot run traced), so the main pass
# runs this test; the sanitize pass runs it too, without those two checks.
. "$(dirname "$0")/lib.sh"
: "${AIMD_WORKER:?}"
require_cmd python3 readelf
aim_setup
R=$AIM_TMP/repository D=$AIM_TMP/datastore
aim_activate
asan=
grep -q __asan_init "$AIMD_WORKER" && asan=1

# ---- a running worker: its fds, privileges and libraries ----
# Hashing an all-hole 16 GiB file reads nothing yet takes seconds: a long job that costs no disk.
truncate -s 16G "$R/slow.img"
# Progress means the worker has made its new file.
aim_start_job "$AIM_TMP/slow.out" image import slow.img slow --checksum "sha256:$(printf '%064d' 0)"
wpid=$(aim_workers | head -n 1) || fail "no aimd-worker process"
assert_eq "$(readlink "/proc/$wpid/exe")" "$(readlink -f "$AIMD_WORKER")" "the worker's executable"
fds=$(for f in /proc/$wpid/fd/*; do printf '%s=%s\n' "${f##*/}" "$(readlink "$f")"; done | sort -n)
echo "$fds" | sed 's/^/# worker fd /'
assert_eq "$(echo "$fds" | cut -d= -f1 | tr '\n' ' ')" "0 1 2 3 4 5 6 " "the worker's fds"
assert_eq "$(echo "$fds" | sed -n 's/^0=//p')" /dev/null "worker fd 0"
assert_eq "$(echo "$fds" | sed -n 's/^1=//p')" /dev/null "worker fd 1"
assert_contains "$(echo "$fds" | sed -n 's/^3=//p')" "socket:" "worker fd 3 (its channel)"
assert_eq "$(echo "$fds" | sed -n 's/^4=//p')" "$D" "worker fd 4 (the destination folder)"
assert_eq "$(echo "$fds" | sed -n 's/^5=//p')" "$R/slow.img" "worker fd 5 (the source)"
assert_contains "$(echo "$fds" | sed -n 's/^6=//p')" "$D/#" "worker fd 6 (its invisible new file)"
grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$wpid/status" || fail "the worker may gain privileges"
filter=seccomp
if [ -n "$asan" ]; then
        echo "# an AddressSanitizer build: its worker runs without the syscall filter (the main pass checks it)"
        filter="no seccomp (ASan)"
else
        grep -q "^Seccomp:[[:space:]]*2" "/proc/$wpid/status" || fail "the worker has no syscall filter"
fi
needed=$(readelf -d "$AIMD_WORKER" | grep NEEDED)
assert_not_contains "$needed" libsystemd "aimd-worker's libraries"
assert_not_contains "$needed" libvirt "aimd-worker's libraries"
"$AIMCTL" job cancel "$AIM_JOB_ID" >/dev/null
wait "$AIM_JOB_PID" && fail "a cancelled import exited 0"
wait_for 10 aim_no_workers || fail "the cancelled worker did not exit"
ok "the worker: exec'd aimd-worker with fds 0-6 only (null, null, stderr, channel, folder, source, new file), no_new_privs, $filter, no sd-bus or libvirt linked"

# ---- durability, seen with strace on the worker ----
if [ -n "$asan" ]; then
        echo "# an AddressSanitizer build: durability is checked by the main pass (LeakSanitizer cannot run under strace)"
elif command -v strace >/dev/null && strace -f -e trace=none -o /dev/null true 2>/dev/null; then
        mkdir -p "$AIM_TMP/www"
        head -c $((2 * 1024 * 1024)) /dev/urandom > "$AIM_TMP/www/disk.img"
        aim_start_http www "$AIM_TMP/www"
        dpid=$(daemon_pid)
        strace -f -qq -e trace=fdatasync,fsync -p "$dpid" -o "$AIM_TMP/strace.log" &
        spid=$!
        # Attached to the main thread, which forks the workers (-f follows them).
        wait_for 10 grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$dpid/status" || fail "strace did not attach"
        url=http://127.0.0.1:$AIM_HTTP_PORT/disk.img
        "$AIMCTL" image pull "$url" synced >/dev/null || fail "the synced pull failed"
        "$AIMCTL" image pull "$url" unsynced --no-sync >/dev/null || fail "the sync=false pull failed"
        "$AIMCTL" image export synced exported.img >/dev/null || fail "the export failed"
        kill "$spid"; wait "$spid" 2>/dev/null || true
        n_data=$(grep -c "fdatasync(" "$AIM_TMP/strace.log" || true)
        n_dir=$(grep -c "fsync(" "$AIM_TMP/strace.log" || true)
        [ "$n_data" = 2 ] && [ "$n_dir" = 2 ] || fail "expected 2 fdatasync and 2 fsync (the synced pull and the export), got: $(cat "$AIM_TMP/strace.log")"
        cmp -s "$AIM_TMP/www/disk.img" "$R/exported.img" || fail "the exported image differs from what was pulled"
        ok "durability (strace -f on the worker): fdatasync of the image and fsync of the folder before done; none with sync=false"
else
        echo "# strace cannot trace here: durability unchecked"
fi
