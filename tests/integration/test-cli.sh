#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-cli.sh — aimd's command line and configuration file, as an administrator meets them.
. "$(dirname "$0")/lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$AIMD" --version)
assert_eq "$out" "aimd $(sed -n "s/^ *version : '\(.*\)',/\1/p" "$AIM_SRCDIR/meson.build")" "--version"
assert_eq "$("$AIMD" -v)" "$out" "-v"
out=$("$AIMD" --help)
for o in --config-file --uri --repository --datastore --bus --state-dir --port --daemon; do
        assert_contains "$out" "$o" "--help"
done
ok "--version, -v and --help"

# A bad config file: exit 1 and an error naming file and line; nothing else runs.
printf '[monitor]\nuri = test:///default\n[rimp]\ncolour = blue\n' > "$tmp/bad.ini"
rc=0; out=$("$AIMD" -c "$tmp/bad.ini" --bus=unix:path=/nonexistent 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status with a bad config"
assert_contains "$out" "$tmp/bad.ini:4: unknown key 'colour' in section [rimp]" "error message"
ok "unknown key: exit 1 with file:line"

printf '[monitor]\nredisPort = lots\n' > "$tmp/bad.ini"
rc=0; out=$("$AIMD" -c "$tmp/bad.ini" 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status with a bad port"
assert_contains "$out" "<3>$tmp/bad.ini:2: [monitor] redisPort must be a port number 1..65535, not 'lots'" "error"
ok "malformed value: exit 1 with file:line at error priority"

rc=0; out=$("$AIMD" -c "$tmp/missing.ini" 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status with a missing -c file"
assert_contains "$out" "$tmp/missing.ini: No such file or directory" "error"
ok "a missing --config-file is an error"

# Hostile files: each is exit 1 (no crash) with an error naming the file, and the line if it has one.
mkdir "$tmp/dir.ini"
{ printf 'x'; head -c 4096 /dev/urandom | tr -d '\n'; } > "$tmp/garbage.ini"     # never a comment
{ printf '[monitor]\nuri = '; head -c 1048576 /dev/zero | tr '\0' 'u'; printf '\nuri = x\n'; } > "$tmp/long.ini"
printf '[rimp]\nmaxJobs = 5\x01\n' > "$tmp/control.ini"
for f in dir.ini:"Is a directory" garbage.ini:"garbage.ini:1: " long.ini:"long.ini:3: [monitor] uri is set twice" \
         control.ini:"control.ini:2: [rimp] maxJobs must be a number"; do
        rc=0; out=$("$AIMD" -c "$tmp/${f%%:*}" --bus=unix:path=/nonexistent 2>&1) || rc=$?
        assert_eq "$rc" 1 "exit status with ${f%%:*}"
        assert_contains "$out" "$tmp/${f%%:*}" "error names the file"
        assert_contains "$out" "${f#*:}" "error for ${f%%:*}"
done
ok "a directory, binary garbage, a 1 MiB line, a control character: exit 1 naming file (and line)"

rc=0; out=$("$AIMD" --log-level=loud 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status with a bad --log-level"
rc=0; out=$("$AIMD" stray 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status with a stray argument"
assert_contains "$out" "Unexpected argument 'stray'" "error"
ok "bad command lines exit 1"

# Obsolete keys and flags are accepted, each with one notice saying why. The daemon gets that far,
# then fails to reach a bus that is not there.
printf '[server]\nport = 60606\n[vlan]\nbrctlCmd = /usr/sbin/brctl\n' > "$tmp/old.ini"
rc=0; out=$("$AIMD" -c "$tmp/old.ini" -p 60606 -d --bus=unix:path="$tmp/nobus" 2>&1) || rc=$?
assert_eq "$rc" 1 "exit status without a bus"
assert_eq "$(grep -c '\[server\] port is ignored' <<<"$out")" 1 "notices about [server] port"
assert_contains "$out" "<5>$tmp/old.ini:4: [vlan] brctlCmd is ignored: bridges are created over netlink" "notice"
assert_contains "$out" "<5>Option --port is ignored" "notice"
assert_contains "$out" "<5>Option --daemon is ignored" "notice"
assert_contains "$out" "<3>Failed to connect to the unix:path=$tmp/nobus bus" "error"
ok "obsolete keys and flags: one notice each; no bus: exit 1 with the reason"
# aimctl: command-line mistakes are told as such, before (and without) any bus.
rc=0; out=$("$AIMCTL" --bus=unix:path=/nonexistent frob 2>&1) || rc=$?
assert_eq "$rc" 1 "aimctl exit status for an unknown verb"
assert_eq "$out" "aimctl: unknown verb 'frob'; see --help." "aimctl unknown verb"
rc=0; out=$("$AIMCTL" --bus=unix:path=/nonexistent status extra 2>&1) || rc=$?
assert_eq "$rc" 1 "aimctl exit status for a stray argument"
assert_contains "$out" "wrong number of arguments" "aimctl stray argument"
for group in "VLANs and bridges" Images Machines; do
        assert_contains "$("$AIMCTL" --help)" "$group:" "aimctl --help"
done
ok "aimctl: usage errors before any bus, --help grouped by subsystem"
echo "$AIM_TESTS passed, 0 failed"
