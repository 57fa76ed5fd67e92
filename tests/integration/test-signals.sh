#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-signals.sh — what an administrator sends and writes (issue 10, D8 and D12): SIGUSR1, SIGUSR2
# and SIGALRM are ignored; SIGHUP reloads aim.ini ([rimp] maxJobs takes effect, other changed keys
# are logged as waiting for a restart, a broken file keeps the running configuration); aim.ini with
# a byte order mark and quoted values followed by comments; a relative datastore or repository is
# refused with file and line; bytes of the file never reach the log raw.
. "$(dirname "$0")/lib.sh"
require_cmd gdbus busctl python3
aim_setup
ROOT=/org/abiquo/Node1
LOG=$AIM_TMP/bus.log

# As a Windows editor saves it: a byte order mark, quoted values with comments after them.
write_config() {
        printf '\xef\xbb\xbf[monitor]\nuri = "test:///default" # the test driver\n[rimp]\n' > "$AIM_TMP/aim.ini"
        printf 'repository = "%s" ; the NFS mount\ndatastore = %s\nmaxJobs = %s\n' \
                "$AIM_TMP/repository" "${2:-$AIM_TMP/datastore}" "$1" >> "$AIM_TMP/aim.ini"
}
write_config 1
aim_activate
pid=$(daemon_pid)
assert_eq "$(prop org.abiquo.Node1 Datastore)" "s \"$AIM_TMP/datastore\"" "Datastore"
assert_eq "$(prop org.abiquo.Node1 HypervisorURI)" 's "test:///default"' "HypervisorURI"
ok "aim.ini with a UTF-8 byte order mark and quoted values followed by comments"

logged() { grep -qF -- "$1" "$LOG"; }
alive() { kill -0 "$pid" 2>/dev/null && [ "$(daemon_pid)" = "$pid" ]; }

# ---- signals that mean nothing to aimd ------------------------------------------------------------
for s in USR1 USR2 ALRM; do kill -s "$s" "$pid"; done
wait_for 30 logged "Ignoring Alarm clock" || fail "no log line for SIGALRM: $(tail -n 5 "$LOG")"
logged "Ignoring User defined signal 1" && logged "Ignoring User defined signal 2" || fail "SIGUSR1/SIGUSR2 not logged"
alive || fail "the daemon died of SIGUSR1, SIGUSR2 or SIGALRM"
prop org.abiquo.Node1 Version >/dev/null || fail "the daemon does not answer after the signals"
ok "SIGUSR1, SIGUSR2, SIGALRM: logged and ignored, the daemon serves on"

# ---- SIGHUP: maxJobs takes effect -----------------------------------------------------------------
# Two copies that take long (hashing 64 GiB of holes, against a checksum that cannot match).
truncate -s 64G "$AIM_TMP/repository/slow.img"
zero=$(head -c 0 /dev/null | sha256sum | cut -d' ' -f1)
copies=()
for k in 1 2; do
        "$AIMCTL" image import slow.img "slow$k" --checksum="sha256:$zero" > "$AIM_TMP/slow$k.out" 2>&1 &
        copies+=($!)
done
# jobs STATE: how many jobs are in STATE.
jobs_in() { "$AIMCTL" --json job list | python3 -c 'import json, sys; print(sum(j["state"] == sys.argv[1] for j in json.load(sys.stdin)))' "$1"; }
two_jobs() { [ "$(jobs_in running)" = 1 ] && [ "$(jobs_in queued)" = 1 ]; }
wait_for 60 two_jobs || fail "with maxJobs 1, expected one job running and one queued: $("$AIMCTL" job list)"
write_config 2 /srv/elsewhere
kill -HUP "$pid"
wait_for 60 logged "[rimp] maxJobs is now 2 (was 1)." || fail "the reload did not take maxJobs: $(tail -n 5 "$LOG")"
wait_for 60 bash -c '[ "$("$AIMCTL" --json job list | python3 -c "import json, sys; print(sum(j[\"state\"] == \"running\" for j in json.load(sys.stdin)))")" = 2 ]' ||
        fail "after the reload to maxJobs 2 the queued job did not start: $("$AIMCTL" job list)"
logged "[rimp] datastore changed in $AIM_TMP/aim.ini: it takes effect when aimd restarts." ||
        fail "the changed datastore is not logged as waiting for a restart: $(tail -n 5 "$LOG")"
assert_eq "$(prop org.abiquo.Node1 Datastore)" "s \"$AIM_TMP/datastore\"" "Datastore after the reload"
alive || fail "the daemon died of SIGHUP"
ok "SIGHUP: maxJobs 1 → 2 starts the queued job at once; a changed datastore waits for a restart"

# ---- SIGHUP with a broken file: the running configuration stays; its bytes are escaped ----------
printf '[rimp]\nmaxJobs = 1\n\033]0;owned\007 = 1\n' > "$AIM_TMP/aim.ini"
kill -HUP "$pid"
wait_for 60 logged "Reload failed, the running configuration stays" || fail "no log line for the failed reload"
logged "aim.ini:3: expected 'key = value' or '[section]', got '\\x1b]0;owned\\x07 = 1'" ||
        logged "aim.ini:3: unknown key '\\x1b]0;owned\\x07' in section [rimp]" ||
        fail "the broken line is not logged escaped: $(tail -n 5 "$LOG")"
! grep -q $'\033' "$LOG" || fail "a raw escape byte from aim.ini reached the log"
alive || fail "the daemon died of a SIGHUP with a broken file"
assert_eq "$(jobs_in running)" 2 "running jobs after the failed reload"
for id in $("$AIMCTL" --json job list | python3 -c 'import json, sys; print(" ".join(str(j["id"]) for j in json.load(sys.stdin)))'); do
        "$AIMCTL" job cancel "$id"
done
for p in "${copies[@]}"; do ! wait "$p" || fail "a cancelled copy succeeded"; done
grep -q "Cancelled" "$AIM_TMP/slow1.out" "$AIM_TMP/slow2.out" || fail "aimctl did not say the copies were cancelled"
ok "SIGHUP with a broken aim.ini: logged with its control bytes escaped, maxJobs stays 2, the daemon serves on"

# ---- relative paths are refused at start ---------------------------------------------------------
aim_stop_daemon
printf '[rimp]\ndatastore = "var/lib/virt" # relative\n' > "$AIM_TMP/rel.ini"
out=$("$AIMD" --bus="unix:path=$AIM_TMP/bus.sock" --config-file="$AIM_TMP/rel.ini" 2>&1) && fail "aimd started with a relative datastore"
assert_contains "$out" "$AIM_TMP/rel.ini:2: [rimp] datastore must be an absolute path, not 'var/lib/virt'"
write_config 1
out=$("$AIMD" --bus="unix:path=$AIM_TMP/bus.sock" --config-file="$AIM_TMP/aim.ini" --repository=repo 2>&1) &&
        fail "aimd started with a relative --repository"
assert_contains "$out" "--repository must be an absolute path, not 'repo'"
ok "a relative datastore (file:line) or --repository is refused at start"
