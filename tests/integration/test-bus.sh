#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-bus.sh — the daemon on a private system bus: activation, properties, introspection, exit.
. "$(dirname "$0")/lib.sh"

aim_setup

# The first call bus-activates the daemon from the build tree.
name_has_owner org.abiquo.Node1 && fail "the daemon runs before anyone called it"
version=$(prop org.abiquo.Node1 Version)
assert_eq "$version" "s \"$("$AIMD" --version | awk '{print $2}')\"" "Version"
pid=$(daemon_pid)
# (Under a wrapper such as valgrind the executable is the wrapper's.)
[ -n "${AIM_DAEMON_WRAPPER:-}" ] || assert_eq "$(readlink -f /proc/"$pid"/exe)" "$(readlink -f "$AIMD")" "activated executable"
ok "bus activation started $AIMD (pid $pid) on the first call"

# Properties, read with busctl and with gdbus.
assert_eq "$(prop org.abiquo.Node1 Repository)" "s \"$AIM_TMP/repository\"" "Repository"
assert_eq "$(prop org.abiquo.Node1 Datastore)" "s \"$AIM_TMP/datastore\"" "Datastore"
assert_eq "$(prop org.abiquo.Node1 HypervisorURI)" "s \"test:///default\"" "HypervisorURI"
assert_eq "$(prop org.abiquo.Node1 Hostname)" "s \"$(hostname)\"" "Hostname"
out=$(gdbus call --system --dest org.abiquo.Node1 --object-path /org/abiquo/Node1 \
        --method org.freedesktop.DBus.Properties.Get org.abiquo.Node1 Datastore)
assert_eq "$out" "(<'$AIM_TMP/datastore'>,)" "gdbus Get Datastore"
out=$(gdbus call --system --dest org.abiquo.Node1 --object-path /org/abiquo/Node1 \
        --method org.freedesktop.DBus.Properties.GetAll org.abiquo.Node1)
for p in Version Hostname HypervisorURI HypervisorType HypervisorConnected CPUs CPUModel MemoryKiB Repository Datastore; do
        assert_contains "$out" "'$p':" "GetAll"
done
ok "properties match the configuration (busctl and gdbus)"

# The hypervisor (test:///default) is connected at start, in the background: the flag turns true by
# itself, and the host properties and capabilities are the driver's.
wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "HypervisorConnected did not become true"
assert_eq "$(prop org.abiquo.Node1 HypervisorType)" 's "TEST"' "HypervisorType"
assert_eq "$(prop org.abiquo.Node1 CPUs)" "u 16" "CPUs"
out=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.GetCapabilities)
assert_contains "$out" "<capabilities>" "GetCapabilities"
ok "the hypervisor is connected at start: HypervisorConnected, host properties, GetCapabilities"

# aimctl status, as a table and as JSON.
out=$("$AIMCTL" status)
assert_contains "$out" "Datastore: $AIM_TMP/datastore" "aimctl status"
assert_contains "$out" "HypervisorURI: test:///default" "aimctl status"
json=$("$AIMCTL" --json status)
assert_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Repository"], d["CPUs"] >= 0)' <<<"$json")" \
        "$AIM_TMP/repository True" "aimctl --json status"
ok "aimctl status prints the node as a table and as JSON"

# Live introspection equals the shipped XML, interface by interface.
check_introspection /org/abiquo/Node1
live=$(busctl --system introspect --xml-interface org.abiquo.Node1 /org/abiquo/Node1)
assert_contains "$live" '<interface name="org.freedesktop.DBus.ObjectManager">' "introspection"
ok "live introspection of /org/abiquo/Node1 equals dbus/*.xml"

out=$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
assert_contains "$out" "a{oa{sa{sv}}}" "GetManagedObjects"
ok "ObjectManager.GetManagedObjects answers"

# Errors: a malformed call gets InvalidArgs and the daemon keeps running.
assert_bus_error org.freedesktop.DBus.Error.UnknownProperty \
        gdbus_call /org/abiquo/Node1 org.freedesktop.DBus.Properties.Get org.abiquo.Node1 NoSuchProperty >/dev/null
assert_bus_error org.freedesktop.DBus.Error.InvalidArgs gdbus_call /org/abiquo/Node1 org.abiquo.Node1.GetCapabilities 42 >/dev/null
assert_eq "$(daemon_pid)" "$pid" "daemon pid after a bad call"
ok "a bad call gets a D-Bus error and the daemon keeps running"

# SIGTERM: the activated daemon leaves the bus; one started by hand shows its exit status, 0.
aim_stop_daemon
wait_for 5 bash -c '! busctl --system status org.abiquo.Node1 >/dev/null 2>&1' || fail "name still owned after SIGTERM"
$(aim_daemon_cmd) 2>"$AIM_TMP/daemon.log" &
pid=$!
wait_for 10 name_has_owner org.abiquo.Node1 || fail "the daemon started by hand did not take its name"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
ok "SIGTERM: the daemon exits with status 0"
