#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-broker-vlan.sh — VLAN events in the stream: created, operstate changes, deleted, with interface,
# parent, tag, bridge and operstate, seq without a gap. One short User-Mode Linux boot (802.1Q), a
# redis-server inside it.
. "$(dirname "$0")/lib.sh"
aim_run_in_uml 512M 240 "$@"
. "$(dirname "$0")/broker-redis.sh"
require_cmd ip
aim_setup
redis_start r1
broker_config "redisHost=$AIM_TMP/r1.sock" nodeName=node-v
ip link add d0 type dummy
ip link set d0 up
aim_activate
wait_for 30 broker_connected || fail "the broker did not connect: $(bprop LastError)"

vlans() { stream_fields r1 aim:events kind event interface parent tag bridge operstate | grep '^vlan' || true; }
has() { vlans | grep -q "$1"; }
gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Network.CreateVlan d0 100 br100 '{}' >/dev/null || fail "CreateVlan"
wait_for 30 has "vlan created d0.100 d0 100 br100" || fail "no created entry: $(vlans)"
# Someone sets the VLAN down and up again.
ip link set d0.100 down
wait_for 60 has "vlan operstate d0.100 d0 100 br100 down" || fail "no operstate entry: $(vlans)"
ip link set d0.100 up
wait_for 60 has "vlan operstate d0.100 d0 100 br100 up" || fail "no operstate entry once up again: $(vlans)"
gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Network.DeleteVlan d0 100 br100 >/dev/null || fail "DeleteVlan"
wait_for 30 has "vlan deleted d0.100 d0 100 br100 notpresent" || fail "no deleted entry: $(vlans)"
echo "# $(vlans | tr '\n' ';')"
assert_eq "$(vlans | head -n 1 | cut -d' ' -f2)" created "the first VLAN entry"
assert_eq "$(vlans | tail -n 1 | cut -d' ' -f2)" deleted "the last VLAN entry"
seqs=$(stream_fields r1 aim:events seq)
assert_eq "$(tr '\n' ' ' <<<"$seqs")" "$(seq 1 "$(wc -l <<<"$seqs")" | tr '\n' ' ')" "seq"
ok "CreateVlan, ip link set down and up, DeleteVlan: created, operstate, deleted entries with their fields, seq without a gap"
