#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-network-netns.sh — the Network interface on the host kernel, in a private network namespace:
# what needs no 802.1Q (parent checks, bridge conflicts, a kernel that refuses VLANs, a restart with
# an unusable record), checked against the kernel's view. The VLAN scenarios run in test-network.sh.
if [ -z "${AIM_IN_NETNS:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
        unshare -n true 2>/dev/null || { echo "SKIP: cannot make a network namespace"; exit 77; }
        AIM_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
require_cmd ip python3
aim_setup

N=org.abiquo.Node1.Network
ROOT=/org/abiquo/Node1
create() { gdbus_call $ROOT $N.CreateVlan "$1" "$2" "$3" "${4:-{\}}"; }
links() { ip -d -j link | python3 -c 'import json,sys; print(sorted((l["ifname"], l.get("linkinfo", {}).get("info_kind", "-"), l.get("master", "-")) for l in json.load(sys.stdin)))'; }

ip link set lo up
ip link add eth9 type veth peer name eth9p
ip link set eth9 up
ip link add vethX type veth peer name vethY
ip link add brpre type bridge
aim_activate
before=$(links)

assert_contains "$(assert_bus_error org.abiquo.Node1.Error.NotFound create nosuch 10 br10)" "'nosuch' does not exist" "NotFound"
assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Conflict create eth9 10 vethX)" "is a veth, not a bridge" "Conflict"
assert_eq "$(links)" "$before" "links after refused calls"
ok "parent missing: NotFound; a bridge name taken by a veth: Conflict; nothing changed"

# This kernel has no 802.1Q: the very first step fails and nothing is left behind, not even the bridge.
if [ -d /sys/module/8021q ]; then
        ok "# SKIP the host kernel has 802.1Q; the refusal path is not reachable here"
else
        msg=$(assert_bus_error org.abiquo.Node1.Error.Unsupported create eth9 10 br10)
        assert_contains "$msg" "Failed to create VLAN link 'eth9.10'" "Unsupported"
        assert_eq "$(links)" "$before" "links after a refused VLAN"
        assert_eq "$(gdbus_call $ROOT $N.ListVlans)" "(@a(sqso) [],)" "ListVlans"
        [ -z "$(ls "$AIM_TMP/state/network")" ] || fail "a record was written"
        ok "a kernel without 802.1Q: Error.Unsupported, no link, no record, no object"
fi

# A restart with a record whose parent is gone and one whose bridge name is taken: both are marked,
# the daemon starts and serves, the links are left alone.
aim_stop_daemon
mkdir -p "$AIM_TMP/state/network"
printf 'name=eth8.5\nparent=eth8\ntag=5\nbridge=br5\nmtu=0\ncreated-vlan=1\ncreated-bridge=1\n' > "$AIM_TMP/state/network/vlan-eth8.5"
printf 'name=eth9.6\nparent=eth9\ntag=6\nbridge=vethX\nmtu=0\ncreated-vlan=1\ncreated-bridge=1\n' > "$AIM_TMP/state/network/vlan-eth9.6"
printf 'garbage\n' > "$AIM_TMP/state/network/vlan-bad"
aim_activate
assert_contains "$(prop org.abiquo.Node1.Vlan Conflict $ROOT/vlan/eth8_2e5)" "does not exist" "Conflict of eth8.5"
assert_contains "$(prop org.abiquo.Node1.Vlan Conflict $ROOT/vlan/eth9_2e6)" "not a bridge" "Conflict of eth9.6"
assert_eq "$(prop org.abiquo.Node1.Vlan OperState $ROOT/vlan/eth8_2e5)" 's "notpresent"' "OperState of a VLAN without link"
assert_contains "$(cat "$AIM_TMP/bus.log")" "VLAN eth8.5 (tag 5 on eth8, bridge br5) was not re-applied" "log"
assert_eq "$(links)" "$before" "links after the restart"
gdbus_call $ROOT $N.DeleteVlan eth9 6 vethX >/dev/null
assert_eq "$(links)" "$before" "links after deleting a conflicting VLAN"
ok "restart: unusable records are marked (Conflict) and logged, the start goes on, foreign links untouched"

# --- Apply and checkpoints where no VLAN can be made: parsing, the engine's failure path, the files --
apply() { local ch=$1; shift; gdbus_call $ROOT $N.Apply "$ch" "${1:-{\}}"; }
create_change() { echo "{'action': <'create'>, 'parent': <'$1'>, 'tag': <uint16 $2>, 'bridge': <'$3'>}"; }
assert_eq "$(apply "[]")" "(objectpath '/',)" "an empty Apply"
assert_contains "$(assert_bus_error org.freedesktop.DBus.Error.InvalidArgs apply "[$(create_change eth9 5 br5), $(create_change eth9 0 br6)]")" \
        "changes[1].tag 0" "InvalidArgs names the change"
if [ ! -d /sys/module/8021q ]; then
        msg=$(assert_bus_error org.abiquo.Node1.Error.Unsupported apply "[{'action': <'delete'>, 'parent': <'eth9'>, 'tag': <uint16 9>, 'bridge': <'br9'>}, $(create_change eth9 10 br10)]")
        assert_contains "$msg" "changes[1]: Failed to create VLAN link 'eth9.10'" "the failing index"
        assert_eq "$(links)" "$before" "links after a failed Apply"
fi
# A checkpoint of deletes of VLANs not managed: nothing to undo, but its file and object live and die.
out=$(apply "[{'action': <'delete'>, 'parent': <'eth9'>, 'tag': <uint16 9>, 'bridge': <'br9'>}]" "{'rollback_timeout': <uint32 600>}")
cp=$(sed -n "s|^(objectpath '\(.*\)',)$|\1|p" <<<"$out")
[[ "$cp" == "$ROOT/checkpoint/"* ]] || fail "Apply with rollback_timeout returned '$out'"
[ -e "$AIM_TMP/state/network/checkpoint-${cp##*/}" ] || fail "no checkpoint file"
check_introspection "$cp"
gdbus_call "$cp" org.abiquo.Node1.Checkpoint.Confirm >/dev/null
[ ! -e "$AIM_TMP/state/network/checkpoint-${cp##*/}" ] || fail "the checkpoint file outlived Confirm"
out=$(apply "[{'action': <'delete'>, 'parent': <'eth9'>, 'tag': <uint16 9>, 'bridge': <'br9'>}]" "{'rollback_timeout': <uint32 600>}")
cp=$(sed -n "s|^(objectpath '\(.*\)',)$|\1|p" <<<"$out")
kill -9 "$(daemon_pid)"
name_gone() { ! name_has_owner org.abiquo.Node1; }
wait_for 20 name_gone || fail "the killed daemon still owns its name"
ln -s /etc/passwd "$AIM_TMP/state/network/checkpoint-99"
mkfifo "$AIM_TMP/state/network/checkpoint-98"
aim_activate
[ -z "$(ls "$AIM_TMP/state/network" | grep '^checkpoint-[0-9]$')" ] || fail "the pending checkpoint's file is left after the restart"
assert_contains "$(cat "$AIM_TMP/bus.log")" "Rolled back checkpoint ${cp##*/}, pending when the daemon last stopped" "log"
assert_eq "$(links)" "$before" "links after the restart"
ok "Apply: empty, invalid (changes[1].tag), failing (changes[1]); checkpoint file written, removed on Confirm, rolled back after kill -9; a symlink and a FIFO among them skipped"
