#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-libvirtd.sh — a real libvirtd with QEMU (TCG): changes made outside the daemon
# (virsh) arrive as MachineEvents; libvirtd killed → NotConnected while the rest answers; a
# domain that died meanwhile is reported after the daemon reconnected by itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirtd.sh"

aim_enter_mount_ns "$@"
AIM_URI=qemu:///system
aim_setup
aim_on_teardown libvirtd_teardown
libvirtd_setup
libvirtd_start

connected() { [ "$(prop org.abiquo.Node1 HypervisorConnected)" = "b $1" ]; }
state_is() { [ "$(prop org.abiquo.Node1.Machine State "$path")" = "s \"$1\"" ]; }
# events: every MachineEvent of our domain seen by the subscriber, as "event detail" lines.
events() { sed -n "s/.*MachineEvent (objectpath '[^']*', '[^']*', 'aimtest', '\([a-z_]*\)', '\([a-z_]*\)')/\1 \2/p" "$AIM_TMP/monitor.txt"; }
new_events() { events | tail -n +$((seen + 1)); }
n_new_events_ge() { [ "$(new_events | wc -l)" -ge "$1" ]; }
new_event_seen() { new_events | grep -qx "$1"; }
seen=0
# expect_events "EVENT DETAIL"...: the next events the subscriber gets are exactly these.
expect_events() {
        wait_for 60 n_new_events_ge $# || fail "expected events '$*', the subscriber saw: $(new_events | tr '\n' ',')"
        assert_eq "$(new_events | head -n $# | tr '\n' ',')" "$(printf '%s,' "$@")" "events"
        seen=$((seen + $#))
}
# expect_until "EVENT DETAIL" REGEX: waits for that event; the ones before it must match REGEX.
# QEMU reports some transitions as two events (a start also resumes the CPUs; a destroy is seen by
# QEMU as a host-signalled shutdown first, when it gets to say so before it is killed).
expect_until() {
        local want=$1 allowed=$2 i=$seen line
        wait_for 60 new_event_seen "$want" || fail "expected event '$want', the subscriber saw: $(new_events | tr '\n' ',')"
        while IFS= read -r line; do
                i=$((i + 1))
                [ "$line" = "$want" ] && break
                [[ "$line" =~ $allowed ]] || fail "unexpected event '$line' before '$want'"
        done < <(new_events)
        seen=$i
}

aim_activate
wait_for 30 connected true || fail "the daemon did not connect to libvirtd"
assert_eq "$(prop org.abiquo.Node1 HypervisorType)" 's "QEMU"' "HypervisorType"
ok "connected to a real libvirtd (QEMU driver) at start"

gdbus monitor --system --dest org.abiquo.Node1 > "$AIM_TMP/monitor.txt" 2>&1 &
mon=$!
wait_for 10 grep -q "is owned by" "$AIM_TMP/monitor.txt" || fail "gdbus monitor did not subscribe"

# A diskless domain, defined outside the daemon: a "defined" event and a new object.
cat > "$AIM_TMP/aimtest.xml" <<EOT
<domain type='qemu'>
  <name>aimtest</name>
  <memory unit='MiB'>48</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='user'><mac address='52:54:00:aa:bb:cc'/><model type='e1000'/></interface>
  </devices>
</domain>
EOT
virsh -q -c qemu:///system define "$AIM_TMP/aimtest.xml" >/dev/null
expect_events "defined added"
uuid=$(virsh -q -c qemu:///system domuuid aimtest)
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine aimtest | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
assert_eq "$(prop org.abiquo.Node1.Machine UUID "$path")" "s \"$uuid\"" "UUID"
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "shutoff"' "State"
assert_eq "$(prop org.abiquo.Node1.Machine MaxMemoryKiB "$path")" "t 49152" "MaxMemoryKiB"
assert_eq "$(prop org.abiquo.Node1.Machine Interfaces "$path")" 'a(sss) 1 "52:54:00:aa:bb:cc" "" "e1000"' "Interfaces"
grep -q "InterfacesAdded (objectpath '$path'" "$AIM_TMP/monitor.txt" || fail "no InterfacesAdded for $path"
ok "a domain defined with virsh appears as a 'defined' event and a new object"

virsh -q -c qemu:///system start aimtest >/dev/null
expect_until "started booted" "^resumed unpaused$"
virsh -q -c qemu:///system suspend aimtest >/dev/null
expect_events "suspended paused"
virsh -q -c qemu:///system resume aimtest >/dev/null
expect_events "resumed unpaused"
virsh -q -c qemu:///system destroy aimtest >/dev/null
expect_until "stopped destroyed" "^shutdown (host|finished)$"
wait_for 10 state_is shutoff || fail "State is not shutoff after virsh destroy"
ok "virsh start, suspend, resume, destroy outside the daemon: the matching MachineEvents"

# Through the daemon, on the real hypervisor (the call runs in a worker; the loop stays free).
gdbus_call "$path" org.abiquo.Node1.Machine.Start >/dev/null
expect_until "started booted" "^resumed unpaused$"
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "running"' "State after Start"
ok "Machine.Start through the daemon boots QEMU"

# libvirtd dies. The daemon notices, says so, refuses machine calls and keeps serving the rest.
qemu=$(qemu_pid aimtest)
[ -n "$qemu" ] && kill -0 "$qemu" || fail "no QEMU process for aimtest"
libvirtd_kill
wait_for 30 connected false || fail "HypervisorConnected still true after libvirtd was killed"
grep -q "PropertiesChanged ('org.abiquo.Node1', {'HypervisorConnected': <false>}" "$AIM_TMP/monitor.txt" \
        || fail "no PropertiesChanged for HypervisorConnected"
msg=$(assert_bus_error org.abiquo.Node1.Error.NotConnected gdbus_call "$path" org.abiquo.Node1.Machine.Destroy)
assert_contains "$msg" "not connected" "NotConnected message"
assert_bus_error org.abiquo.Node1.Error.NotConnected gdbus_call /org/abiquo/Node1 org.abiquo.Node1.GetCapabilities >/dev/null
assert_contains "$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Machines ListMachines)" "\"$uuid\"" "ListMachines"
assert_eq "$(prop org.abiquo.Node1 Datastore)" "s \"$AIM_TMP/datastore\"" "Datastore"
busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.freedesktop.DBus.ObjectManager GetManagedObjects >/dev/null \
        || fail "GetManagedObjects while disconnected"
ok "libvirtd killed: HypervisorConnected false (with PropertiesChanged), machine calls NotConnected, the rest answers"

# A crash nobody can report: QEMU dies while libvirtd is down.
kill -9 "$qemu"
wait_for 10 bash -c "! kill -0 $qemu 2>/dev/null" || fail "QEMU did not die"
libvirtd_start
wait_for 60 connected true || fail "the daemon did not reconnect by itself"
wait_for 10 state_is shutoff || fail "State is not shutoff after the reconnect"
expect_events "stopped $(virsh -q -c qemu:///system domstate --reason aimtest | sed -n 's/^shut off (\(.*\))$/\1/p' | tr 'A-Z ' 'a-z_')"
ok "libvirtd back: the daemon reconnected by itself, State shutoff, the missed 'stopped' event was emitted"

virsh -q -c qemu:///system start aimtest >/dev/null
expect_until "started booted" "^resumed unpaused$"
gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null
expect_until "stopped destroyed" "^shutdown (host|finished)$"
virsh -q -c qemu:///system undefine aimtest >/dev/null
expect_events "undefined removed"
wait_for 10 bash -c "! busctl --system tree --list org.abiquo.Node1 | grep -q '^$path\$'" || fail "$path still exists"
grep -q "InterfacesRemoved (objectpath '$path'" "$AIM_TMP/monitor.txt" || fail "no InterfacesRemoved for $path"
ok "after the reconnect events flow again: start, Destroy, undefine (the object goes away)"

kill "$mon" 2>/dev/null || true; wait "$mon" 2>/dev/null || true
