#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-scale.sh — a test:///<file>.xml node with 1001 domains: NotConnected until the first
# listing is done, then every object is there, ListMachines and GetManagedObjects answer with all.
. "$(dirname "$0")/lib.sh"

N=1001
aim_setup
python3 - "$AIM_TMP/node.xml" "$N" <<'PY'
import sys, uuid
with open(sys.argv[1], "w") as f:
    f.write("<node>\n")
    for i in range(int(sys.argv[2])):
        state = "running" if i % 2 == 0 else "shutoff"
        f.write(f"<domain type='test'><name>vm{i:04d}</name><uuid>{uuid.UUID(int=i + 1)}</uuid>"
                f"<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                f"<devices><disk type='file' device='disk'><source file='/images/vm{i:04d}.img'/>"
                f"<target dev='vda'/></disk></devices></domain>\n")
    f.write("</node>\n")
PY
AIM_URI="test://$AIM_TMP/node.xml"
aim_write_config
aim_activate
# Right after the name is taken the first listing may still be running: until it is done every
# answer is NotConnected (never an empty or partial list, never NotFound) and HypervisorConnected
# is false; then all of them.
# error_name CMD...: the D-Bus error name CMD (a gdbus call) failed with, "ok" on success.
error_name() { local out; out=$("$@" 2>&1) && { echo ok; return; }; sed -n 's/.*GDBus.Error:\([^:]*\):.*/\1/p' <<<"$out"; }
not_connected=0
for _ in $(seq 1 2000); do
        # Read before the calls: true means the sync is done, so they must answer.
        connected=$(prop org.abiquo.Node1 HypervisorConnected)
        list=$(error_name gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.ListMachines)
        get=$(error_name gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine vm0000)
        if [ "$list" = ok ]; then
                out=$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Machines ListMachines)
                assert_eq "${out:0:13}" "a(ssso) $N " "ListMachines once it answers"
                break
        fi
        assert_eq "$list" org.abiquo.Node1.Error.NotConnected "ListMachines before the first sync"
        assert_eq "$connected" "b false" "HypervisorConnected while ListMachines is NotConnected"
        # The sync may end between the two calls; before it, GetMachine is NotConnected, never NotFound.
        [ "$get" = org.abiquo.Node1.Error.NotConnected ] || [ "$get" = ok ] || fail "GetMachine before the first sync: $get"
        not_connected=$((not_connected + 1))
done
assert_eq "$(error_name gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine vm0000)" ok "GetMachine after the sync"
ok "right after the name appears: NotConnected ($not_connected answers) until all $N machines are known, never [] or NotFound"
wait_for 30 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to $AIM_URI"

out=$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Machines ListMachines)
assert_eq "${out:0:13}" "a(ssso) $N " "ListMachines count"
for i in 1 500 1000; do
        u=$(python3 -c "import uuid; print(uuid.UUID(int=$i))")
        assert_contains "$out" "\"$u\" \"vm$(printf %04d $((i - 1)))\"" "ListMachines"
done
ok "ListMachines lists all $N domains"

objects=$(busctl --system --json=short call org.abiquo.Node1 /org/abiquo/Node1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
assert_eq "$(python3 -c '
import json, sys
d = json.load(sys.stdin)["data"][0]
m = [o for o, ifs in d.items() if "org.abiquo.Node1.Machine" in ifs]
names = sorted(d[o]["org.abiquo.Node1.Machine"]["Name"]["data"] for o in m)
disk = d[m[0]]["org.abiquo.Node1.Machine"]["Disks"]["data"][0]
print(len(m), names[0], names[-1], disk[0])' <<<"$objects")" "$N vm0000 vm$(printf %04d $((N - 1))) vda" "GetManagedObjects"
nodes=$(busctl --system tree --list org.abiquo.Node1 | grep -c '^/org/abiquo/Node1/machine/')
assert_eq "$nodes" "$N" "machine nodes in the tree"
ok "GetManagedObjects answers with all $N machine objects and their properties; the tree has them all"

last=vm$(printf %04d $((N - 1)))
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine $last | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "shutoff"' "State of $last"
ok "the last of $N machines is found by name and controlled"
