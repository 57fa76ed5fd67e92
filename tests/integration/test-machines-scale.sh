#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-scale.sh — a test:///<file>.xml node with 1000 domains: every object is there,
# ListMachines and GetManagedObjects answer with all of them.
. "$(dirname "$0")/lib.sh"

N=1000
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
print(len(m), names[0], names[-1], disk[0])' <<<"$objects")" "$N vm0000 vm0999 vda" "GetManagedObjects"
nodes=$(busctl --system tree --list org.abiquo.Node1 | grep -c '^/org/abiquo/Node1/machine/')
assert_eq "$nodes" "$N" "machine nodes in the tree"
ok "GetManagedObjects answers with all $N machine objects and their properties; the tree has them all"

path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine vm0999 | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null
assert_eq "$(prop org.abiquo.Node1.Machine State "$path")" 's "shutoff"' "State of vm0999"
ok "the last of $N machines is found by name and controlled"
