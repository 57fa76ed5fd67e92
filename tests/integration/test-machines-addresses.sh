#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-addresses.sh — Machine.GetAddresses and `aimctl machine addresses` on libvirt's test
# driver: every source, `any`, the resolver through /etc/hosts, a stopped machine, a bad source.
# (The real guest on a bridge, with the neighbour table, is test-machines-guest.sh.)
. "$(dirname "$0")/lib.sh"
aim_enter_mount_ns "$@"
aim_setup

# The host's resolver answers for the machine's name from /etc/hosts (private to this namespace).
cp /etc/hosts "$AIM_TMP/hosts"
printf '192.0.2.99 test\n2001:db8::99 test\n' >> "$AIM_TMP/hosts"
mount --bind "$AIM_TMP/hosts" /etc/hosts

aim_activate
wait_for 30 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
[ -n "$path" ] || fail "no machine 'test'"

# The test driver answers every libvirt source with its one made-up lease.
for s in lease agent arp any; do
        assert_eq "$(gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses "$s")" \
                "([('testnet0', 'aa:bb:cc:dd:ee:ff', 'ipv4', '192.168.122.3', uint32 24)],)" "GetAddresses $s"
done
ok "GetAddresses lease, agent, arp and any: the driver's address with interface, MAC, family and prefix"

out=$(gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses dns)
assert_eq "$out" "([('', '', 'ipv4', '192.0.2.99', uint32 0), ('', '', 'ipv6', '2001:db8::99', 0)],)" "GetAddresses dns"
ok "GetAddresses dns: the machine's name through the host's resolver (both families, no prefix known)"

out=$("$AIMCTL" machine addresses test --source=arp)
assert_contains "$out" "INTERFACE" "table header"
assert_contains "$(echo "$out" | tail -n 1)" "testnet0" "table row"
assert_contains "$(echo "$out" | tail -n 1)" "192.168.122.3" "table row"
out=$("$AIMCTL" --json machine addresses test --source=dns)
assert_contains "$out" '"address":"2001:db8::99"' "--json"
assert_contains "$("$AIMCTL" machine addresses test --json)" '"mac":"aa:bb:cc:dd:ee:ff"' "machine addresses --json"
if out=$("$AIMCTL" machine addresses test --source=bogus 2>&1); then fail "aimctl accepted --source=bogus"; fi
assert_contains "$out" "source" "aimctl's error"
assert_contains "$("$AIMCTL" machine show test)" "192.168.122.3 (testnet0)" "machine show"
ok "aimctl machine addresses: table, --json, --source, the daemon's error for a bad source; machine show has them"

msg=$(assert_bus_error org.freedesktop.DBus.Error.InvalidArgs gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses ARP)
assert_contains "$msg" "'source'" "InvalidArgs message"
msg=$(assert_bus_error org.freedesktop.DBus.Error.InvalidArgs gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses "$(printf 'a\001b')")
assert_not_contains "$msg" "$(printf '\001')" "InvalidArgs message"
ok "a source that is not one of the five: InvalidArgs naming 'source', no control characters echoed"

gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null
wait_for 10 bash -c "[ \"\$(busctl --system get-property org.abiquo.Node1 '$path' org.abiquo.Node1.Machine State)\" = 's \"shutoff\"' ]" \
        || fail "the machine did not stop"
for s in lease dns any; do
        msg=$(assert_bus_error org.abiquo.Node1.Error.Conflict gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses "$s")
        assert_contains "$msg" "not running" "Conflict message"
done
ok "a machine that is not running: Error.Conflict for every source"
check_introspection "$path"
ok "the Machine interface with GetAddresses matches dbus/org.abiquo.Node1.Machine.xml"
