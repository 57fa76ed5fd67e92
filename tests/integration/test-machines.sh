#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines.sh — machines on libvirt's test:///default: objects match the driver, lifecycle calls
# produce MachineEvent and PropertiesChanged at a separate subscriber, errors, polkit, aimctl.
. "$(dirname "$0")/lib.sh"

aim_enter_mount_ns "$@"
require_cmd virsh
aim_setup
# "daemon" may control machines; everybody else is refused.
aim_start_polkitd 'polkit.addRule(function(action, subject) {
        if (action.id == "org.abiquo.node1.manage-machines")
                return subject.user == "daemon" ? polkit.Result.YES : polkit.Result.NO;
});'
aim_activate
wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"

# What the driver says (every test:///default connection starts from the same node).
virsh_info() { virsh -c test:///default dominfo test | awk -F': *' -v k="$1" '$1 == k { print $2 }'; }
uuid=$(virsh -c test:///default domuuid test)
uuid=${uuid%%$'\n'*}
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
[ -n "$path" ] || fail "GetMachine(test) gave no path"
assert_eq "$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Machines ListMachines)" \
        "a(ssso) 1 \"$uuid\" \"test\" \"running\" \"$path\"" "ListMachines"
assert_eq "$(prop org.abiquo.Node1.Machine UUID "$path")" "s \"$uuid\"" "UUID"
assert_eq "$(prop org.abiquo.Node1.Machine Name "$path")" 's "test"' "Name"
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "running"' "State"
assert_eq "$(prop org.abiquo.Node1.Machine VCPUs "$path")" "u $(virsh_info 'CPU(s)')" "VCPUs"
assert_eq "$(prop org.abiquo.Node1.Machine MaxMemoryKiB "$path")" "t $(virsh_info 'Max memory' | awk '{print $1}')" "MaxMemoryKiB"
assert_eq "$(prop org.abiquo.Node1.Machine MemoryKiB "$path")" "t $(virsh_info 'Used memory' | awk '{print $1}')" "MemoryKiB"
assert_eq "$(prop org.abiquo.Node1.Machine Persistent "$path")" "b $(virsh_info Persistent | sed 's/yes/true/;s/no/false/')" "Persistent"
assert_eq "$(prop org.abiquo.Node1.Machine Autostart "$path")" "b $(virsh_info Autostart | sed 's/enable/true/;s/disable/false/')" "Autostart"
disk=$(virsh -c test:///default domblklist test | awk 'NR > 2 && NF { print $1, $2 }')
assert_eq "$(prop org.abiquo.Node1.Machine Disks "$path")" "a(sss) 1 \"${disk% *}\" \"${disk#* }\" \"\"" "Disks"
mac=$(virsh -c test:///default domiflist test | awk 'NR > 2 && NF { print $5, $3 }')
assert_eq "$(prop org.abiquo.Node1.Machine Interfaces "$path")" "a(sss) 1 \"${mac% *}\" \"${mac#* }\" \"\"" "Interfaces"
ok "the machine object matches the driver's domain (ListMachines, GetMachine, properties)"

assert_eq "$(prop org.abiquo.Node1 HypervisorType)" 's "TEST"' "HypervisorType"
assert_eq "$(prop org.abiquo.Node1 CPUs)" "u $(virsh -c test:///default nodeinfo | awk -F': *' '$1 == "CPU(s)" { print $2 }')" "CPUs"
assert_eq "$(prop org.abiquo.Node1 MemoryKiB)" "t $(virsh -c test:///default nodeinfo | awk -F': *' '$1 == "Memory size" { print $2 }' | awk '{print $1}')" "MemoryKiB"
caps=$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 GetCapabilities)
assert_contains "$caps" "<capabilities>" "GetCapabilities"
vcaps=$(virsh -c test:///default capabilities)
assert_contains "$caps" "$(grep -m1 '<arch>' <<<"$vcaps" | sed 's/^ *//')" "GetCapabilities"
ok "host properties and GetCapabilities come from the hypervisor"

check_introspection /org/abiquo/Node1
check_introspection "$path"
out=$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
assert_contains "$out" "\"$path\" 4 " "GetManagedObjects"
assert_contains "$out" "\"org.abiquo.Node1.Machine\" 11 \"UUID\" s \"$uuid\"" "GetManagedObjects"
ok "introspection of the root and the machine equals dbus/*.xml; GetManagedObjects lists the machine"

# A separate subscriber: gdbus monitor adds match rules for the daemon's signals.
gdbus monitor --system --dest org.abiquo.Node1 > "$AIM_TMP/monitor.txt" 2>&1 &
mon=$!
"$AIMCTL" monitor --json > "$AIM_TMP/aimctl-monitor.txt" 2> "$AIM_TMP/aimctl-monitor.err" &
amon=$!
wait_for 10 grep -q "is owned by" "$AIM_TMP/monitor.txt" || fail "gdbus monitor did not subscribe"
wait_for 10 grep -q "Monitoring" "$AIM_TMP/aimctl-monitor.err" || fail "aimctl monitor did not subscribe"

for m in Destroy Start Suspend Resume; do
        gdbus_call "$path" org.abiquo.Node1.Machine.$m >/dev/null || fail "$m failed"
done
expected="stopped destroyed
started booted
suspended paused
resumed unpaused"
events() { sed -n "s/.*MachineEvent (objectpath '[^']*', '[^']*', 'test', '\([a-z_]*\)', '\([a-z_]*\)')/\1 \2/p" "$AIM_TMP/monitor.txt"; }
wait_for 10 bash -c "[ \$(grep -c MachineEvent '$AIM_TMP/monitor.txt') -ge 4 ]" || fail "4 events expected: $(cat "$AIM_TMP/monitor.txt")"
assert_eq "$(events)" "$expected" "MachineEvents in order"
grep -q "MachineEvent (objectpath '$path', '$uuid', 'test'" "$AIM_TMP/monitor.txt" || fail "MachineEvent carries path and uuid"
# Each event's State change is its own signal and may trail the last MachineEvent: wait for all four.
states() { sed -n "s/.*PropertiesChanged ('org.abiquo.Node1.Machine', {'State': <'\([a-z]*\)'>}.*/\1/p" "$AIM_TMP/monitor.txt" | tr '\n' ' '; }
wait_for 10 bash -c "[ \$(grep -c \"{'State':\" '$AIM_TMP/monitor.txt') -ge 4 ]" || fail "4 State changes expected: $(states)"
assert_eq "$(states)" "shutoff running paused running " "State PropertiesChanged in order"
ok "Destroy, Start, Suspend, Resume: MachineEvents and State changes arrive in order at a subscriber"

# A call the state does not allow is a Conflict, whatever the driver's own words for it.
assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Conflict gdbus_call "$path" org.abiquo.Node1.Machine.Resume)" \
        "Cannot resume machine test: it is running." "Resume of a running machine"
assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Conflict gdbus_call "$path" org.abiquo.Node1.Machine.Start)" \
        "Cannot start machine test: it is running." "Start of a running machine"
ok "Resume or Start of a running machine: Conflict saying why"

wait_for 10 bash -c "[ \$(wc -l < '$AIM_TMP/aimctl-monitor.txt') -ge 4 ]" || fail "aimctl monitor printed: $(cat "$AIM_TMP/aimctl-monitor.txt")"
assert_eq "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] + "/" + json.loads(l)["detail"] for l in sys.stdin))' < "$AIM_TMP/aimctl-monitor.txt")" \
        "stopped/destroyed started/booted suspended/paused resumed/unpaused" "aimctl monitor --json"
ok "aimctl monitor --json prints one JSON line per event"

# Bad names and UUIDs.
msg=$(assert_bus_error org.freedesktop.DBus.Error.InvalidArgs gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine "''")
assert_contains "$msg" "'machine'" "InvalidArgs message names the argument"
assert_bus_error org.freedesktop.DBus.Error.InvalidArgs gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine "a/b" >/dev/null
assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine nosuchvm >/dev/null
assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine \
        00000000-0000-0000-0000-000000000000 >/dev/null
assert_bus_error org.freedesktop.DBus.Error.UnknownObject \
        gdbus_call /org/abiquo/Node1/machine/_30000 org.abiquo.Node1.Machine.Start >/dev/null
rc=0; out=$("$AIMCTL" machine start nosuchvm 2>&1) || rc=$?
assert_eq "$rc" 1 "aimctl exit status for an unknown machine"
assert_contains "$out" "No machine with UUID or name 'nosuchvm'" "aimctl error"
ok "bad names and UUIDs: InvalidArgs naming the argument, NotFound, UnknownObject; aimctl says so"

# polkit: nobody is refused and the domain stays as it was; daemon is allowed.
msg=$(assert_bus_error org.freedesktop.DBus.Error.AccessDenied as_user nobody gdbus call --system \
        --dest org.abiquo.Node1 --object-path "$path" --method org.abiquo.Node1.Machine.Destroy)
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "running"' "State after a refused Destroy"
assert_eq "$(events | wc -l)" 4 "no event after a refused call"
as_user daemon gdbus call --system --dest org.abiquo.Node1 --object-path "$path" --method org.abiquo.Node1.Machine.Suspend >/dev/null \
        || fail "daemon may suspend"
wait_for 10 bash -c "[ \"\$(busctl --system get-property org.abiquo.Node1 '$path' org.abiquo.Node1.Machine State)\" = 's \"paused\"' ]" \
        || fail "not paused after an allowed Suspend"
as_user daemon "$AIMCTL" machine resume "$uuid" || fail "daemon may resume with aimctl"
ok "polkit: an unauthorized caller gets AccessDenied and the domain is untouched; an authorized one acts"

# aimctl machine list and lifecycle verbs, by name.
"$AIMCTL" machine destroy test
out=$("$AIMCTL" machine list)
assert_contains "$out" "test" "aimctl machine list"
assert_contains "$out" "shutoff" "aimctl machine list"
json=$("$AIMCTL" --json machine list)
assert_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["name"], d[0]["uuid"], d[0]["state"])' <<<"$json")" \
        "test $uuid shutoff" "aimctl --json machine list"
"$AIMCTL" machine start test
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "running"' "State after aimctl machine start"
rc=0; out=$("$AIMCTL" machine start test 2>&1) || rc=$?
assert_eq "$rc" 1 "starting a running machine fails"
assert_contains "$out" "Cannot start machine test: it is running." "aimctl start error"
ok "aimctl machine list (table and JSON), destroy and start by name; a refused start says why"

kill "$mon" "$amon" 2>/dev/null || true; wait "$mon" "$amon" 2>/dev/null || true
