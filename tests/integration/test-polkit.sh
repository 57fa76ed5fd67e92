#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-polkit.sh — daemon/polkit.c against a real polkitd: root passes unasked, rules allow one user
# and deny another, interaction is honoured, details reach the rules, parked calls come back right,
# and no polkitd means a clear AccessDenied.
. "$(dirname "$0")/lib.sh"
aim_enter_mount_ns "$@"
aim_setup

: "${POLKIT_PROBE:?}"
# daemon (uid 1) is allowed only if the call's details reach the rules; bin would have to
# authenticate; nobody is refused.
aim_start_polkitd '
polkit.addRule(function(action, subject) {
        if (action.id.indexOf("org.abiquo.node1.") != 0)
                return polkit.Result.NOT_HANDLED;
        if (subject.user == "daemon" && action.lookup("probe") == "yes")
                return polkit.Result.YES;
        if (subject.user == "bin")
                return polkit.Result.AUTH_ADMIN;
        if (subject.user == "nobody")
                return polkit.Result.NO;
        return polkit.Result.NOT_HANDLED;
});'

"$POLKIT_PROBE" 2>>"$AIM_TMP/bus.log" &
probe=$!
wait_for 10 name_has_owner org.abiquo.Node1 || fail "the probe service did not come up"

check() { gdbus call --system --dest org.abiquo.Node1 --object-path /org/abiquo/Node1/test \
        --method org.abiquo.Node1.Test.Check "$1"; }
action=org.abiquo.node1.manage-network

# pkaction reads our actions through polkitd: the shipped policy file is valid and says what we mean.
out=$(pkaction --action-id "$action" --verbose)
assert_contains "$out" "implicit any:      no" "pkaction"
assert_contains "$out" "implicit active:   auth_admin_keep" "pkaction"
for a in manage-network manage-images manage-machines; do
        pkaction --action-id "org.abiquo.node1.$a" >/dev/null || fail "polkitd does not know org.abiquo.node1.$a"
done
ok "polkitd loads the shipped actions with the intended defaults"

assert_eq "$(check $action)" "('authorized',)" "root"
ok "root is authorized without a rule"

assert_eq "$(as_user daemon bash -c "$(declare -f check); check $action")" "('authorized',)" "daemon"
ok "a user the rules allow (given the call's details) is authorized"

msg=$(assert_bus_error org.freedesktop.DBus.Error.AccessDenied as_user nobody bash -c "$(declare -f check); check $action")
assert_contains "$msg" "Not authorized for $action" "denial message"
ok "a user the rules deny gets AccessDenied naming the action"

msg=$(assert_bus_error org.freedesktop.DBus.Error.InteractiveAuthorizationRequired \
        as_user bin bash -c "$(declare -f check); check $action")
assert_contains "$msg" "Interactive authentication is required for $action" "message"
ok "without allow-interactive, a challenge becomes InteractiveAuthorizationRequired"

# The caller's allow-interactive flag is what we hand polkit (CheckAuthorization's flags argument,
# seen on the bus): busctl allows interaction, gdbus does not.
busctl --system monitor --json=short org.freedesktop.PolicyKit1 >"$AIM_TMP/monitor.json" 2>/dev/null &
monitor=$!
sleep 0.5
as_user bin busctl --system --allow-interactive-authorization=yes call org.abiquo.Node1 \
        /org/abiquo/Node1/test org.abiquo.Node1.Test Check s "$action" >/dev/null 2>&1 || true
as_user bin bash -c "$(declare -f check); check $action" >/dev/null 2>&1 || true
wait_for 5 grep -c CheckAuthorization "$AIM_TMP/monitor.json" >/dev/null
sleep 0.5
kill "$monitor"; wait "$monitor" 2>/dev/null || true
flags=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("member") == "CheckAuthorization":
        print(m["payload"]["data"][3], end=" ")' "$AIM_TMP/monitor.json")
assert_eq "$flags" "1 0 " "CheckAuthorization flags (interactive, then not)"
ok "the caller's allow-interactive flag reaches polkit"

# Many parked calls at once: each comes back with its own caller's verdict.
pids=()
for i in $(seq 1 10); do
        (assert_eq "$(as_user daemon bash -c "$(declare -f check); check $action")" "('authorized',)" "daemon #$i") &
        pids+=($!)
        (assert_bus_error org.freedesktop.DBus.Error.AccessDenied \
                as_user nobody bash -c "$(declare -f check); check $action" >/dev/null) &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent check got the wrong verdict"; done
ok "20 concurrent parked calls each get their own verdict"

aim_stop_polkitd
msg=$(assert_bus_error org.freedesktop.DBus.Error.AccessDenied as_user daemon bash -c "$(declare -f check); check $action")
assert_contains "$msg" "polkit is not available" "message without polkitd"
assert_eq "$(check $action)" "('authorized',)" "root without polkitd"
ok "without polkitd: others get AccessDenied saying so, root still passes"

kill "$probe"; wait "$probe" || fail "the probe did not exit cleanly"
