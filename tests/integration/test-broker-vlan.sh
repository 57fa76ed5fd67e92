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

# The stream's entries (one python3 run: a process costs much under UML), VLAN entries as
# "vlan EVENT INTERFACE PARENT TAG BRIDGE OPERSTATE" in VLANS[], every entry's seq in SEQS[] and the
# last entry's ID in LAST.
entries() {
        local id kind event iface parent tag bridge operstate seq
        VLANS=() SEQS=() LAST=0-0
        while read -r id kind event iface parent tag bridge operstate seq; do
                [ -n "$id" ] || continue
                [ "$kind" != vlan ] || VLANS+=("$kind $event $iface $parent $tag $bridge $operstate")
                SEQS+=("$seq")
                LAST=$id
        done <<<"$(stream_fields r1 aim:events id kind event interface parent tag bridge operstate seq)"
}
# has TEXT: a VLAN entry contains TEXT; if none does yet, waits (XREAD BLOCK, up to 2 s) for the
# stream to grow before wait_for asks again, rather than re-reading it every 50 ms beside the daemon.
has() {
        local v
        entries
        for v in "${VLANS[@]}"; do [[ "$v" != *"$1"* ]] || return 0; done
        rcli r1 XREAD BLOCK 2000 STREAMS aim:events "$LAST" >/dev/null
        return 1
}
gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Network.CreateVlan d0 100 br100 '{}' >/dev/null || fail "CreateVlan"
wait_for 30 has "vlan created d0.100 d0 100 br100" || fail "no created entry: ${VLANS[*]}"
# Someone sets the VLAN down and up again.
ip link set d0.100 down
wait_for 60 has "vlan operstate d0.100 d0 100 br100 down" || fail "no operstate entry: ${VLANS[*]}"
ip link set d0.100 up
wait_for 60 has "vlan operstate d0.100 d0 100 br100 up" || fail "no operstate entry once up again: ${VLANS[*]}"
gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Network.DeleteVlan d0 100 br100 >/dev/null || fail "DeleteVlan"
wait_for 30 has "vlan deleted d0.100 d0 100 br100 notpresent" || fail "no deleted entry: ${VLANS[*]}"
printf -v all "%s;" "${VLANS[@]}"
echo "# $all"
read -r _ first _ <<<"${VLANS[0]}"
read -r _ last _ <<<"${VLANS[-1]}"
assert_eq "$first" created "the first VLAN entry"
assert_eq "$last" deleted "the last VLAN entry"
want=
for ((i = 1; i <= ${#SEQS[@]}; i++)); do want+="$i "; done
assert_eq "${SEQS[*]} " "$want" "seq"
ok "CreateVlan, ip link set down and up, DeleteVlan: created, operstate, deleted entries with their fields, seq without a gap"
