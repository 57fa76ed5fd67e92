#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-network.sh — VLANs and bridges on a real kernel: the whole scenario in one User-Mode Linux
# boot (the host kernel has no 802.1Q): private bus, real polkitd, the daemon and a dummy parent,
# driven over D-Bus and aimctl, every outcome checked against the kernel's own view (ip -d -j link).
. "$(dirname "$0")/lib.sh"
# In ASan builds this skips; the sanitizers check the same code paths in test-vlan, test-netlink
# and test-network-netns.
aim_run_in_uml 512M 2400 "$@"
aim_enter_mount_ns "$@"
require_cmd ip python3 gdbus jq
aim_setup

N=org.abiquo.Node1.Network
ROOT=/org/abiquo/Node1
INVALID=org.freedesktop.DBus.Error.InvalidArgs
CONFLICT=org.abiquo.Node1.Error.Conflict
NOTFOUND=org.abiquo.Node1.Error.NotFound

# The kernel's view, one line per link: ifindex name kind parent tag master mtu up.
# jq, not python3: this runs for nearly every check, and python3 takes a second to start under UML.
kernel_links() {
        ip -d -j link | jq -r 'sort_by(.ifname)[] | [.ifindex, .ifname, .linkinfo.info_kind // "-", .link // "-",
                .linkinfo.info_data.id // "-", .master // "-", .mtu,
                if any(.flags[]; . == "UP") then "True" else "False" end] | map(tostring) | join(" ")'
}
# link NAME: that link without its ifindex ("kind parent tag master mtu up"), or "absent".
link() { kernel_links | awk -v n="$1" '$2 == n { $1 = ""; $2 = ""; sub(/^ +/, ""); print; f = 1 } END { if (!f) print "absent" }'; }
create() { gdbus_call $ROOT $N.CreateVlan "$1" "$2" "$3" "${4:-{\}}"; }
delete() { gdbus_call $ROOT $N.DeleteVlan "$1" "$2" "$3"; }
# The object path of a VLAN: its name with every character but [A-Za-z0-9] as _XX (hex).
vpath() {
        local s=$1 out="" c i
        for ((i = 0; i < ${#s}; i++)); do
                c=${s:i:1}
                if [[ "$c" == [A-Za-z0-9] ]]; then out+=$c; else printf -v c '_%02x' "'$c"; out+=$c; fi
        done
        echo "$ROOT/vlan/$out"
}
vprop() { prop org.abiquo.Node1.Vlan "$2" "$(vpath "$1")"; }
ucall() { local u=$1 m=$2; shift 2; as_user "$u" gdbus call --system --dest org.abiquo.Node1 --object-path $ROOT --method "$N.$m" "$@"; }
record() { echo "$AIM_TMP/state/network/vlan-$1"; }
# changes ACTION:PARENT:TAG:BRIDGE ...: Apply's aa{sv} as gdbus takes it.
changes() {
        local c out="" a p t b
        for c; do
                IFS=: read -r a p t b <<<"$c"
                out+="${out:+, }{'action': <'$a'>, 'parent': <'$p'>, 'tag': <uint16 $t>, 'bridge': <'$b'>}"
        done
        echo "[$out]"
}
apply() { local ch=$1; shift; gdbus_call $ROOT $N.Apply "$ch" "${1:-{\}}"; }
# The kernel without ifindexes (a link made again has a new one).
kernel_state() { kernel_links | cut -d' ' -f2-; }
records() { ls "$AIM_TMP/state/network" | sort | tr '\n' ' '; }
cpath() { echo "$ROOT/checkpoint/$1"; }

# Every Apply that reaches polkitd leaves a line in polkit-checks (one authorization per call).
touch "$AIM_TMP/polkit-checks"
chmod 666 "$AIM_TMP/polkit-checks"
aim_start_polkitd '
polkit.addRule(function(action, subject) {
        if (action.id == "org.abiquo.node1.manage-network" && action.lookup("changes")) {
                try {
                        polkit.spawn(["/bin/sh", "-c", "echo " + action.lookup("changes") + " >> '"$AIM_TMP"'/polkit-checks"]);
                } catch (e) {
                }
                if (subject.user == "daemon" && action.lookup("parents") == "d0")
                        return polkit.Result.YES;
        }
        if (action.id == "org.abiquo.node1.manage-network" && subject.user == "daemon" &&
            action.lookup("bridge") != "brnope" && action.lookup("parent") == "d0")
                return polkit.Result.YES;
        if (action.id.indexOf("org.abiquo.node1.") == 0)
                return polkit.Result.NO;
});'

ip link add d0 type dummy
ip link add d1 type dummy
ip link set d0 up
ip link set d1 up
aim_activate
gdbus monitor --system --dest org.abiquo.Node1 > "$AIM_TMP/monitor.log" 2>&1 &
monitor=$!
trap 'rc=$?; kill $monitor 2>/dev/null; (exit $rc); aim_teardown' EXIT
wait_for 10 grep -qs "is owned by" "$AIM_TMP/monitor.log" || fail "the signal monitor did not start"
seen() { grep -F "$1" "$AIM_TMP/monitor.log" | grep -qF "$2"; }

# --- create, and again --------------------------------------------------------------------------
out=$(create d0 100 br100)
assert_eq "$out" "(objectpath '$ROOT/vlan/d0_2e100',)" "CreateVlan"
assert_eq "$(link d0.100)" "vlan d0 100 br100 1500 True" "kernel: d0.100"
assert_eq "$(link br100)" "bridge - - - 1500 True" "kernel: br100"
assert_eq "$(vprop d0.100 Interface)" 's "d0.100"' "Interface"
assert_eq "$(vprop d0.100 Parent)" 's "d0"' "Parent"
assert_eq "$(vprop d0.100 Tag)" 'q 100' "Tag"
assert_eq "$(vprop d0.100 Bridge)" 's "br100"' "Bridge"
assert_eq "$(vprop d0.100 MTU)" 'u 1500' "MTU"
assert_eq "$(vprop d0.100 OperState)" 's "up"' "OperState"
assert_eq "$(vprop d0.100 Conflict)" 's ""' "Conflict"
assert_contains "$(cat "$(record d0.100)")" "parent=d0" "record"
wait_for 10 seen "InterfacesAdded" "$ROOT/vlan/d0_2e100" || fail "no InterfacesAdded for d0.100"
ok "CreateVlan makes an 802.1Q link and a bridge, enslaved and up; object, record and InterfacesAdded"

before=$(kernel_links)
assert_eq "$(create d0 100 br100)" "(objectpath '$ROOT/vlan/d0_2e100',)" "CreateVlan again"
assert_eq "$(kernel_links)" "$before" "kernel after the second CreateVlan"
ok "CreateVlan again: the same path, nothing changed in the kernel"

check_introspection $ROOT
check_introspection "$ROOT/vlan/d0_2e100"
out=$(gdbus_call $ROOT $N.ListVlans)
assert_eq "$out" "([('d0', uint16 100, 'br100', objectpath '$ROOT/vlan/d0_2e100')],)" "ListVlans"
ok "introspection equals dbus/*.xml; ListVlans"

# --- conflicts: each kind, nothing changed ------------------------------------------------------
ip link add d0.200 type dummy
ip link add link d1 name d0.201 type vlan id 201
ip link add link d0 name d0.202 type vlan id 2020
ip link add brX type bridge
ip link add link d0 name d0.203 type vlan id 203
ip link set d0.203 master brX
ip link add link d0 name v205 type vlan id 205
before=$(kernel_links)
assert_contains "$(assert_bus_error $CONFLICT create d0 200 br200)" "is a dummy, not a VLAN" "kind"
assert_contains "$(assert_bus_error $CONFLICT create d0 201 br201)" "on parent 'd1', not on 'd0'" "parent"
assert_contains "$(assert_bus_error $CONFLICT create d0 202 br202)" "tag 2020, not 202" "tag"
assert_contains "$(assert_bus_error $CONFLICT create d0 203 br203)" "port of 'brX', not of bridge 'br203'" "bridge"
assert_contains "$(assert_bus_error $CONFLICT create d0 204 d1)" "'d1' exists and is a dummy, not a bridge" "bridge kind"
assert_contains "$(assert_bus_error $CONFLICT create d0 205 br205)" "has tag 205 already, as link 'v205'" "tag in use"
assert_contains "$(assert_bus_error $CONFLICT create d0 100 br999)" "managed already on bridge 'br100'" "managed"
assert_contains "$(assert_bus_error $CONFLICT create d0 100 br100 "{'name': <'v100'>}")" "managed already as link 'd0.100'" "name"
assert_eq "$(kernel_links)" "$before" "kernel after the conflicts"
ok "conflicts (kind, parent, tag, port of another bridge, bridge kind, tag in use, managed) change nothing"

# --- rollback: the bridge step fails after the VLAN link was made --------------------------------
# br300 is free as a name in our table but taken in the kernel as an alternative name of d1.
ip link property add dev d1 altname br300
before=$(kernel_links)
msg=$(assert_bus_error org.abiquo.Node1.Error.Exists create d0 300 br300)
assert_contains "$msg" "Failed to create bridge 'br300'" "rollback message"
assert_eq "$(kernel_links)" "$before" "kernel after the rollback"
assert_eq "$(link d0.300)" "absent" "d0.300 after the rollback"
[ ! -e "$(record d0.300)" ] || fail "a record was written for a failed CreateVlan"
assert_not_contains "$(gdbus_call $ROOT $N.ListVlans)" "d0_2e300" "ListVlans after the rollback"
ok "a failing bridge step rolls the VLAN link back: kernel, records and objects as before"

# --- MTU, and changes made with ip by someone else ------------------------------------------------
create d0 400 br400 "{'mtu': <uint32 1400>}" >/dev/null
assert_eq "$(link d0.400)" "vlan d0 400 br400 1400 True" "kernel: d0.400"
assert_eq "$(link br400)" "bridge - - - 1400 True" "kernel: br400"
assert_eq "$(vprop d0.400 MTU)" 'u 1400' "MTU"
ok "option mtu is set on the VLAN link and the bridge"

ip link set d0.400 mtu 1300
wait_for 10 seen "$ROOT/vlan/d0_2e400" "'MTU': <uint32 1300>" || fail "no PropertiesChanged for MTU 1300"
assert_eq "$(vprop d0.400 MTU)" 'u 1300' "MTU after ip link set mtu"
ip link set d0.400 down
wait_for 10 seen "$ROOT/vlan/d0_2e400" "'OperState': <'down'>" || fail "no PropertiesChanged for OperState down"
assert_eq "$(vprop d0.400 OperState)" 's "down"' "OperState after ip link set down"
ip link set d0.400 up
wait_for 10 seen "$ROOT/vlan/d0_2e400" "'OperState': <'up'>" || fail "no PropertiesChanged for OperState up"
ok "ip link set mtu/down/up by someone else: MTU and OperState PropertiesChanged seen by a subscriber"

# --- delete -----------------------------------------------------------------------------------------
delete d0 100 br100 >/dev/null
assert_eq "$(link d0.100)" "absent" "d0.100 after DeleteVlan"
assert_eq "$(link br100)" "absent" "br100 after DeleteVlan"
[ ! -e "$(record d0.100)" ] || fail "the record of d0.100 is still there"
wait_for 10 seen "InterfacesRemoved" "$ROOT/vlan/d0_2e100" || fail "no InterfacesRemoved for d0.100"
ok "DeleteVlan removes the VLAN link and its bridge, the record and the object"

create d0 500 br500 >/dev/null
ip link add vethA type veth peer name vethB
ip link set vethA master br500
delete d0 500 br500 >/dev/null
assert_eq "$(link d0.500)" "absent" "d0.500 after DeleteVlan"
assert_eq "$(link br500)" "bridge - - - 1500 True" "br500 with another port"
assert_eq "$(link vethA | awk '{print $4}')" "br500" "vethA's master"
ok "DeleteVlan keeps a bridge that still has other ports"

ip link add brpre type bridge
ip link add link d0 name d0.502 type vlan id 502
create d0 501 brpre >/dev/null
create d0 502 br502 >/dev/null
assert_eq "$(link d0.502)" "vlan d0 502 br502 1500 True" "adopted d0.502"
delete d0 501 brpre >/dev/null
delete d0 502 br502 >/dev/null
assert_eq "$(link brpre)" "bridge - - - 1500 True" "brpre, which the daemon did not create (but set up)"
assert_eq "$(link d0.502)" "vlan d0 502 - 1500 True" "d0.502, which the daemon did not create"
assert_eq "$(link br502)" "absent" "br502, which the daemon created"
ok "links the daemon did not create are never deleted (an adopted VLAN just leaves the bridge)"

create d0 503 br503 >/dev/null
gdbus_call "$(vpath d0.503)" org.abiquo.Node1.Vlan.Delete >/dev/null
assert_eq "$(link d0.503)" "absent" "d0.503 after Vlan.Delete"
assert_bus_error $NOTFOUND delete d0 503 br503 >/dev/null
assert_contains "$(assert_bus_error $NOTFOUND delete d0 400 br999)" "is on bridge 'br400'" "wrong bridge"
ok "Vlan.Delete(); DeleteVlan of an unknown VLAN or the wrong bridge is NotFound"

# --- invalid input: InvalidArgs naming the argument, and the kernel unchanged -----------------------
before=$(kernel_links)
bad() { local word=$1; shift; assert_contains "$(assert_bus_error $INVALID "$@")" "$word" "InvalidArgs for $*"; }
bad parent create "''" 10 br10
bad parent create "'a/b'" 10 br10
bad parent create "'a:b'" 10 br10
bad parent create "'a b'" 10 br10
bad parent create "'a\tb'" 10 br10
bad parent create "'a\u0001b'" 10 br10
bad parent create "'.'" 10 br10
bad parent create "'..'" 10 br10
bad parent create "'0123456789abcdef'" 10 br10
bad "would be 17 bytes" create "'abcdefghijkl'" 4094 br10
bad tag create d0 0 br10
bad tag create d0 4095 br10
bad tag create d0 65535 br10
bad bridge create d0 10 "''"
bad bridge create d0 10 "'b/r'"
bad bridge create d0 10 "'0123456789abcdef'"
bad bridge create d0 10 d0
bad bridge create d0 10 d0.10
bad "option name" create d0 10 br10 "{'name': <'x y'>}"
bad "option name" create d0 10 br10 "{'name': <uint32 5>}"
bad "option name" create d0 10 br10 "{'name': <'d0'>}"
bad "option mtu" create d0 10 br10 "{'mtu': <'big'>}"
bad "option mtu" create d0 10 br10 "{'mtu': <uint32 0>}"
bad "option mtu" create d0 10 br10 "{'mtu': <uint32 67>}"
bad "option mtu" create d0 10 br10 "{'mtu': <uint32 65536>}"
bad "option mtu" create d0 10 br10 "{'mtu': <uint32 9000>}"
bad "Unknown option 'colour'" create d0 10 br10 "{'colour': <'blue'>}"
bad parent delete "'a/b'" 10 br10
bad tag delete d0 0 br10
bad bridge delete d0 10 "''"
assert_eq "$(kernel_links)" "$before" "kernel after invalid calls"
ok "invalid input of every kind: InvalidArgs naming the argument, kernel unchanged"

assert_contains "$(assert_bus_error $NOTFOUND create nosuch 10 br10)" "'nosuch' does not exist" "parent missing"
assert_eq "$(kernel_links)" "$before" "kernel after NotFound"
ok "CreateVlan on a parent that does not exist: NotFound"

# --- polkit: unauthorized callers -------------------------------------------------------------------
assert_bus_error org.freedesktop.DBus.Error.AccessDenied ucall nobody CreateVlan d0 800 br800 '{}' >/dev/null
assert_bus_error org.freedesktop.DBus.Error.AccessDenied ucall daemon CreateVlan d0 801 brnope '{}' >/dev/null
assert_bus_error org.freedesktop.DBus.Error.AccessDenied ucall nobody DeleteVlan d0 400 br400 >/dev/null
assert_eq "$(kernel_links)" "$before" "kernel after denied calls"
ucall daemon CreateVlan d0 802 br802 '{}' >/dev/null
assert_eq "$(link d0.802)" "vlan d0 802 br802 1500 True" "d0.802 created by an authorized non-root caller"
assert_bus_error org.freedesktop.DBus.Error.AccessDenied ucall daemon CreateVlan d1 803 br803 '{}' >/dev/null
ucall daemon DeleteVlan d0 802 br802 >/dev/null
assert_eq "$(link d0.802)" "absent" "d0.802 deleted by an authorized non-root caller"
ok "polkit: denied callers get AccessDenied and change nothing; rules see parent/tag/bridge"

# --- aimctl --------------------------------------------------------------------------------------------
assert_eq "$("$AIMCTL" vlan create d0 900 br900 --mtu=1400)" "$ROOT/vlan/d0_2e900" "aimctl vlan create"
assert_eq "$(link d0.900)" "vlan d0 900 br900 1400 True" "kernel: d0.900"
out=$("$AIMCTL" vlan list)
assert_contains "$out" "INTERFACE" "aimctl vlan list"
assert_contains "$(grep d0.900 <<<"$out")" "br900" "aimctl vlan list"
json=$("$AIMCTL" --json vlan list)
assert_eq "$(python3 -c 'import json,sys; print([ (v["interface"], v["tag"], v["bridge"]) for v in json.load(sys.stdin) if v["tag"] == 900])' <<<"$json")" \
        "[('d0.900', 900, 'br900')]" "aimctl --json vlan list"
rc=0; out=$("$AIMCTL" vlan create d0 5000 br 2>&1) || rc=$?
assert_eq "$rc" 1 "aimctl exit status on a bad tag"
assert_contains "$out" "Invalid tag 5000" "aimctl error"
"$AIMCTL" vlan delete d0 900 br900
assert_eq "$(link d0.900)" "absent" "d0.900 after aimctl vlan delete"
ok "aimctl vlan create/list (table and --json)/delete"

# --- Apply: one call, all or nothing ------------------------------------------------------------------
ip link add d0.1036 type dummy
before=$(kernel_state) before_records=$(records) before_list=$(gdbus_call $ROOT $N.ListVlans)
batch=()
for i in $(seq 0 49); do batch+=("create:d0:$((1000 + i)):br$((1000 + i))"); done
msg=$(assert_bus_error $CONFLICT apply "$(changes "${batch[@]}")")
assert_contains "$msg" "changes[36]" "the failing index"
assert_contains "$msg" "is a dummy, not a VLAN" "the failing change's conflict"
assert_eq "$(kernel_state)" "$before" "kernel after the failed batch"
assert_eq "$(records)" "$before_records" "records after the failed batch"
assert_eq "$(gdbus_call $ROOT $N.ListVlans)" "$before_list" "ListVlans after the failed batch"
ip link del d0.1036
ok "Apply of 50 creates whose 37th conflicts: error names changes[36]; kernel, records and objects as before"

create d0 1210 br1210 >/dev/null
mixed=$(changes create:d0:1200:br1200 create:d0:1201:br1200 delete:d0:1210:br1210)
assert_eq "$(apply "$mixed")" "(objectpath '/',)" "Apply without rollback_timeout"
assert_eq "$(link d0.1200)" "vlan d0 1200 br1200 1500 True" "d0.1200"
assert_eq "$(link d0.1201)" "vlan d0 1201 br1200 1500 True" "d0.1201"
assert_eq "$(link d0.1210)" "absent" "d0.1210 after the delete"
assert_eq "$(link br1210)" "absent" "br1210 after the delete"
[ -e "$(record d0.1201)" ] && [ ! -e "$(record d0.1210)" ] || fail "records after the mixed batch"
wait_for 10 seen "InterfacesAdded" "$ROOT/vlan/d0_2e1201" || fail "no InterfacesAdded for d0.1201"
wait_for 10 seen "InterfacesRemoved" "$ROOT/vlan/d0_2e1210" || fail "no InterfacesRemoved for d0.1210"
before=$(kernel_links) before_records=$(records)
assert_eq "$(apply "$mixed")" "(objectpath '/',)" "the same batch again"
assert_eq "$(kernel_links)" "$before" "kernel after the same batch again"
assert_eq "$(records)" "$before_records" "records after the same batch again"
ok "a mixed batch of creates and deletes applied, and applied again: the same result, nothing changed"

bad() { local word=$1; shift; assert_contains "$(assert_bus_error $INVALID "$@")" "$word" "InvalidArgs for $*"; }
before=$(kernel_state)
bad "changes[1].tag 5000" apply "$(changes create:d0:1220:br1220 create:d0:5000:br1221)"
bad "changes[0].tag: must be a uint16" apply "[{'action': <'create'>, 'parent': <'d0'>, 'tag': <'x'>, 'bridge': <'b'>}]"
bad "changes[0]: bridge is missing" apply "[{'action': <'create'>, 'parent': <'d0'>, 'tag': <uint16 5>}]"
bad "Unknown key changes[0].colour" apply "[{'colour': <'blue'>}]"
bad "changes[1].action 'explode'" apply "$(changes create:d0:1220:br1220 explode:d0:1221:br1221)"
bad "is in changes[0] already" apply "$(changes create:d0:1220:br1220 delete:d0:1220:br1220)"
bad "rollback_timeout" apply "$(changes create:d0:1220:br1220)" "{'rollback_timeout': <'soon'>}"
assert_eq "$(kernel_state)" "$before" "kernel after invalid Apply calls"
ok "Apply: invalid changes and options are InvalidArgs naming changes[i].key, nothing changed"

# --- checkpoints: expiry, rollback by call, Busy, confirm --------------------------------------------
before=$(kernel_state) before_records=$(records)
out=$(apply "$(changes create:d0:1300:br1300 delete:d0:1200:br1200)" "{'rollback_timeout': <uint32 5>}")
cp=$(sed -n "s|^(objectpath '\(.*\)',)$|\1|p" <<<"$out")
[[ "$cp" == "$ROOT/checkpoint/"* ]] || fail "Apply with rollback_timeout returned '$out'"
# What it changed while pending is checked on the next one (a loaded machine may take longer than
# the 5 s to get here): this one only has to expire.
wait_for 300 seen "CheckpointRemoved" "'$cp', 'expired'" || fail "no CheckpointRemoved ... expired for $cp"
assert_eq "$(kernel_state)" "$before" "kernel after the expiry"
assert_eq "$(records)" "$before_records" "records after the expiry"
assert_not_contains "$("$AIMCTL" checkpoint list)" "$cp" "aimctl checkpoint list after the expiry"
ok "a checkpoint nobody confirms expires: links and records as before, CheckpointRemoved says expired"

before=$(kernel_state) before_records=$(records)
cp=$("$AIMCTL" vlan apply --rollback-timeout=600 --create d0:1400:br1400 --delete d0:1201:br1200)
id=${cp##*/}
assert_eq "$(link d0.1400)" "vlan d0 1400 br1400 1500 True" "d0.1400 while pending"
assert_eq "$(link d0.1201)" "absent" "d0.1201 while pending"
assert_eq "$(prop org.abiquo.Node1.Checkpoint Changes "$cp")" "u 2" "Checkpoint.Changes"
check_introspection "$cp"
assert_contains "$("$AIMCTL" checkpoint list)" "$cp" "aimctl checkpoint list"
msg=$(assert_bus_error org.abiquo.Node1.Error.Busy create d0 1401 br1400)
assert_contains "$msg" "checkpoint $id" "Busy names the checkpoint"
assert_bus_error org.abiquo.Node1.Error.Busy apply "$(changes delete:d0:1400:br1400)" >/dev/null
assert_eq "$(link d0.1401)" "absent" "d0.1401 after Busy"
"$AIMCTL" checkpoint rollback "$id"
wait_for 10 seen "CheckpointRemoved" "'$cp', 'rolled-back'" || fail "no CheckpointRemoved ... rolled-back"
assert_eq "$(kernel_state)" "$before" "kernel after the rollback"
assert_eq "$(records)" "$before_records" "records after the rollback"
create d0 1401 br1400 >/dev/null
delete d0 1401 br1400 >/dev/null
ok "aimctl vlan apply --rollback-timeout, checkpoint list/rollback; Busy for the links it holds until then"

cat > "$AIM_TMP/changes.json" <<'JSON'
[ {"action": "create", "parent": "d0", "tag": 1500, "bridge": "br1500", "mtu": 1400},
  {"action": "create", "parent": "d0", "tag": 1501, "bridge": "br1501", "name": "v1501"} ]
JSON
cp=$("$AIMCTL" vlan apply --rollback-timeout=600 "$AIM_TMP/changes.json")
"$AIMCTL" checkpoint confirm "${cp##*/}"
wait_for 10 seen "CheckpointRemoved" "'$cp', 'confirmed'" || fail "no CheckpointRemoved ... confirmed"
assert_eq "$(link d0.1500)" "vlan d0 1500 br1500 1400 True" "d0.1500 after confirm"
assert_eq "$(link v1501)" "vlan d0 1501 br1501 1500 True" "v1501 after confirm"
[ -z "$(ls "$AIM_TMP/state/network" | grep checkpoint)" ] || fail "a checkpoint file is left after confirm"
assert_eq "$("$AIMCTL" vlan apply - <<<'[]')" "/" "aimctl vlan apply of an empty list"
ok "aimctl vlan apply FILE (JSON) with a checkpoint, confirmed: kept, no checkpoint left"

# --- non-root through polkitd: one authorization per Apply, whatever its size --------------------------
: > "$AIM_TMP/polkit-checks"
batch=()
for i in $(seq 0 49); do batch+=("create:d0:$((1700 + i)):br$((1700 + i))"); done
assert_eq "$(ucall daemon Apply "$(changes "${batch[@]}")" '{}')" "(objectpath '/',)" "Apply as daemon"
assert_eq "$(link d0.1749)" "vlan d0 1749 br1749 1500 True" "d0.1749 made by a non-root Apply"
assert_eq "$(cat "$AIM_TMP/polkit-checks")" "50" "polkit checks for one Apply of 50 changes"
assert_bus_error org.freedesktop.DBus.Error.AccessDenied ucall nobody Apply "$(changes delete:d0:1700:br1700)" '{}' >/dev/null
assert_eq "$(link d0.1700)" "vlan d0 1700 br1700 1500 True" "d0.1700 after a denied Apply"
batch=()
for i in $(seq 0 49); do batch+=("delete:d0:$((1700 + i)):br$((1700 + i))"); done
ucall daemon Apply "$(changes "${batch[@]}")" '{}' >/dev/null
assert_eq "$(link br1725)" "absent" "br1725 after the non-root delete batch"
ok "non-root through the real polkitd: one authorization per Apply of 50 changes; denied callers change nothing"

# --- a big Apply runs in slices: other clients are served meanwhile, mutations are Busy ----------------
# 500 creates (tags 3000-3499: the conflicts' d0.202 holds tag 2020) take tens of seconds in UML.
# The probes start at its first VLAN's InterfacesAdded: a Busy, or ListVlans answering with part
# of the batch, proves they were served in its middle.
big=()
for i in $(seq 0 499); do big+=("create:d0:$((3000 + i)):br$((3000 + i))"); done
gdbus_call $ROOT $N.Apply --timeout 3600 "$(changes "${big[@]}")" '{}' > "$AIM_TMP/big-apply.out" 2>&1 &
applier=$!
wait_for 120 seen "InterfacesAdded" "$ROOT/vlan/d0_2e3000" || fail "the Apply of 500 made no VLAN"
busy=$(create d0 3999 br3999 2>&1) || true
list=$(gdbus_call $ROOT $N.ListVlans) || fail "ListVlans during the Apply: $list"
assert_contains "$(prop org.abiquo.Node1 Version)" 's "' "Version during the Apply"
made=$(grep -o "d0_2e3[0-4][0-9][0-9]'" <<<"$list" | wc -l) || true
if [[ "$busy" == *"GDBus.Error:org.abiquo.Node1.Error.Busy:"* ]]; then
        assert_contains "$busy" "An Apply of 500 changes" "Busy names the Apply"
        in_flight="CreateVlan was Busy"
        if [ "$made" -lt 500 ]; then in_flight+=", then ListVlans answered with $made of the 500"; fi
elif [ "$made" -lt 500 ] || [[ "$busy" != "(objectpath "* ]]; then
        wait "$applier" || true
        fail "CreateVlan during the Apply (ListVlans saw $made of 500): $busy; the Apply: $(cat "$AIM_TMP/big-apply.out")"
else
        # The machine outran the probes: nothing is proven about the middle of the batch, say so.
        delete d0 3999 br3999 >/dev/null
        in_flight="the Apply ended before the probes (a fast machine): in-flight service NOT checked"
fi
wait "$applier" || fail "the Apply of 500: $(cat "$AIM_TMP/big-apply.out")"
assert_eq "$(cat "$AIM_TMP/big-apply.out")" "(objectpath '/',)" "the Apply of 500's reply"
count_big() { kernel_links | awk '$3 == "vlan" && $2 ~ /^d0\.3[0-4][0-9][0-9]$/' | wc -l; }
assert_eq "$(count_big)" 500 "VLANs of the batch in the kernel"
assert_eq "$(link d0.3499)" "vlan d0 3499 br3499 1500 True" "d0.3499"
assert_eq "$(link d0.3999)" "absent" "d0.3999 after Busy"
assert_eq "$(gdbus_call $ROOT $N.ListVlans | grep -o "d0_2e3[0-4][0-9][0-9]'" | wc -l)" 500 "ListVlans after"
big=()
for i in $(seq 0 499); do big+=("delete:d0:$((3000 + i)):br$((3000 + i))"); done
assert_eq "$(gdbus_call $ROOT $N.Apply --timeout 3600 "$(changes "${big[@]}")" '{}')" "(objectpath '/',)" \
        "the Apply of 500 deletes"
assert_eq "$(count_big)" 0 "VLANs of the batch after the deletes"
assert_eq "$(link br3250)" "absent" "br3250 after the deletes"
echo "# in flight: $in_flight"
ok "an Apply of 500 creates runs in slices, other clients served, mutations Busy; all made, then deleted"

# --- restart: re-applied after being deleted behind its back; a conflict is marked, the start goes on --
create d0 700 br700 >/dev/null
create d0 701 br701 "{'mtu': <uint32 1400>}" >/dev/null
create d0 702 br702 >/dev/null
aim_stop_daemon
for l in d0.700 br700 d0.701 br701 d0.702 br702 d0.1500 br1500; do ip link del "$l"; done
ip link add d0.702 type dummy
aim_activate
assert_eq "$(link d0.700)" "vlan d0 700 br700 1500 True" "d0.700 after restart"
assert_eq "$(link br700)" "bridge - - - 1500 True" "br700 after restart"
assert_eq "$(link d0.701)" "vlan d0 701 br701 1400 True" "d0.701 after restart"
assert_eq "$(link d0.702)" "dummy - - - 1500 False" "the conflicting dummy d0.702"
assert_eq "$(link d0.400)" "vlan d0 400 br400 1400 True" "d0.400: its recorded MTU re-applied"
assert_eq "$(link d0.1500)" "vlan d0 1500 br1500 1400 True" "d0.1500, confirmed in a checkpoint, re-applied"
assert_contains "$(vprop d0.702 Conflict)" "is a dummy, not a VLAN" "Conflict of d0.702"
assert_eq "$(vprop d0.702 OperState)" 's "down"' "OperState of d0.702 (the dummy's)"
assert_eq "$(vprop d0.700 Conflict)" 's ""' "Conflict of d0.700"
assert_contains "$(cat "$AIM_TMP/bus.log")" "VLAN d0.702 (tag 702 on d0, bridge br702) was not re-applied" "log"
delete d0 702 br702 >/dev/null
assert_eq "$(link d0.702)" "dummy - - - 1500 False" "the dummy after DeleteVlan of the conflicting VLAN"
ok "restart: VLANs deleted behind the daemon's back are re-applied; a conflict is logged and marked"

# --- kill -9 with a checkpoint pending: the next start rolls it back ------------------------------------
before=$(kernel_state) before_records=$(records)
out=$(apply "$(changes create:d0:1600:br1600 delete:d0:1500:br1500 create:d0:1601:br1601)" "{'rollback_timeout': <uint32 600>}")
assert_contains "$out" "$ROOT/checkpoint/" "Apply with a checkpoint"
assert_eq "$(link d0.1600)" "vlan d0 1600 br1600 1500 True" "d0.1600 while pending"
assert_eq "$(link d0.1500)" "absent" "d0.1500 while pending"
[ -n "$(ls "$AIM_TMP/state/network" | grep checkpoint-)" ] || fail "no checkpoint file while pending"
pid=$(daemon_pid)
kill -9 "$pid"
name_gone() { ! name_has_owner org.abiquo.Node1; }
wait_for 20 name_gone || fail "the killed daemon still owns its name"
aim_activate
assert_eq "$(kernel_state)" "$before" "kernel after the restart"
assert_eq "$(records)" "$before_records" "records after the restart"
assert_eq "$(link d0.1500)" "vlan d0 1500 br1500 1400 True" "d0.1500 made again"
assert_not_contains "$(gdbus_call $ROOT $N.ListVlans)" "d0_2e1600" "ListVlans after the restart"
assert_contains "$(gdbus_call $ROOT $N.ListVlans)" "d0_2e1500" "ListVlans after the restart"
assert_contains "$(cat "$AIM_TMP/bus.log")" "pending when the daemon last stopped" "log"
ok "kill -9 with a checkpoint pending: the next start rolls it back, records and kernel agree"
