#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-unreachable.sh — no hypervisor: the daemon starts and serves, machine calls and
# GetCapabilities say NotConnected, HypervisorConnected is false.
. "$(dirname "$0")/lib.sh"

AIM_URI="qemu+unix:///system?socket=/nonexistent/libvirt-sock"
aim_setup
aim_activate
assert_eq "$(prop org.abiquo.Node1 HypervisorConnected)" "b false" "HypervisorConnected"
assert_eq "$(prop org.abiquo.Node1 HypervisorURI)" "s \"$AIM_URI\"" "HypervisorURI"
msg=$(assert_bus_error org.abiquo.Node1.Error.NotConnected gdbus_call /org/abiquo/Node1 org.abiquo.Node1.GetCapabilities)
assert_contains "$msg" "not connected" "NotConnected message"
# Never connected: no list is the truth, not an empty one (nor NotFound).
assert_bus_error org.abiquo.Node1.Error.NotConnected gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.ListMachines >/dev/null
assert_bus_error org.abiquo.Node1.Error.NotConnected gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test >/dev/null
assert_bus_error org.abiquo.Node1.Error.NotConnected gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.DefineMachine vm "{}" >/dev/null
# aimctl status tells people the state, not the zeros of a hypervisor it does not have (issue 9 §5);
# --json keeps every property for programs.
out=$("$AIMCTL" status)
assert_contains "$out" "Hypervisor: disconnected; aimd is connecting to $AIM_URI" "aimctl status"
assert_not_contains "$out" "CPUs:" "aimctl status"
assert_not_contains "$out" "HypervisorConnected" "aimctl status"
assert_contains "$("$AIMCTL" --json status)" '"HypervisorConnected":false' "aimctl --json status"
ok "unreachable hypervisor: the daemon serves, HypervisorConnected false; GetCapabilities, ListMachines, GetMachine, DefineMachine NotConnected"

# It keeps trying in the background and stays responsive meanwhile.
sleep 2
pid=$(daemon_pid)
[ -n "$pid" ] || fail "the daemon went away"
assert_eq "$(prop org.abiquo.Node1 HypervisorConnected)" "b false" "HypervisorConnected after retries"
# The retries (after 0.25, 0.5, 1 s, …: three or more in these 2 s) are logged once at warning
# level, then at debug only.
n=$(grep -c -F "<4>Failed to connect to $AIM_URI, retrying: " "$AIM_TMP/bus.log" || true)
assert_eq "$n" 1 "warnings for the failed attempts"
ok "retries do not disturb the daemon; the first failure is a warning, the retries are not"
