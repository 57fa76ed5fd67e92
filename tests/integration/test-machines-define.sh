#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-define.sh — DefineMachine, Undefine, GetXML, SetAutostart, SetResources and Graphics
# on libvirt's test:///default, in private mount and network namespaces (a real bridge, a loop
# block device): every spec key reaches the XML, every error names its key, injection stays text,
# shared writable disks conflict, events and ObjectManager signals reach a subscriber.
if [ -z "${AIM_IN_NETNS:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
        unshare -m -n true 2>/dev/null || { echo "SKIP: cannot make mount and network namespaces"; exit 77; }
        AIM_IN_NETNS=1 AIM_IN_MOUNT_NS=1 exec unshare -m -n --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
require_cmd ip python3 gdbus
aim_setup
# This namespace's links in /sys/class/net, where the daemon looks for bridges.
mount -t sysfs sysfs /sys || skip "cannot mount sysfs in the network namespace"
ip link add br-test type bridge
ip link add veth-x type veth peer name veth-y
aim_start_polkitd 'polkit.addRule(function(action, subject) {
        if (action.id == "org.abiquo.node1.manage-machines")
                return subject.user == "daemon" ? polkit.Result.YES : polkit.Result.NO;
});'

# Images: a qcow2 header (format from content, whatever the name says) and raw ones.
python3 - "$AIM_TMP/datastore" <<'PY'
import os, struct, sys
d = sys.argv[1]
with open(os.path.join(d, "disk.img"), "wb") as f:
    f.write(b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 504)
    f.truncate(1 << 20)
for n in ("data.raw", "shared.raw", "kernel", "initrd", "keep.raw", "gone.raw"):
    with open(os.path.join(d, n), "wb") as f:
        f.truncate(1 << 20)
PY
mkfifo "$AIM_TMP/datastore/fifo"
ln -s /etc/passwd "$AIM_TMP/datastore/escape"
aim_activate
wait_for 30 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"

R=/org/abiquo/Node1
M=org.abiquo.Node1.Machines
define() { gdbus_call $R $M.DefineMachine "$1" "$2"; }
objpath() { sed -n "s/^(objectpath '\(.*\)',)$/\1/p"; }
getxml() { gdbus_call "$1" org.abiquo.Node1.Machine.GetXML | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())[0])'; }
# xml_is XML PATH[@ATTR]=VALUE...: each text or attribute (ElementTree's path subset) has its value.
xml_is() { python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.argv[1]); bad = []
for check in sys.argv[2:]:
    expr, _, want = check.partition("=")
    path, _, attr = expr.partition("@")
    n = root.find(path) if path else root
    got = "" if n is None else (n.get(attr) or "") if attr else (n.text or "")
    if got != want:
        bad.append(f"{expr}: expected {want!r}, got {got!r}")
sys.exit("\n".join(bad) or None)' "$@" || fail "GetXML"; }

gdbus monitor --system --dest org.abiquo.Node1 > "$AIM_TMP/monitor.txt" 2>&1 &
mon=$!
aim_on_teardown kill $mon
wait_for 10 grep -q "is owned by" "$AIM_TMP/monitor.txt" || fail "gdbus monitor did not subscribe"

# --- every key ------------------------------------------------------------------------------
spec="{'uuid': <'6d1b2c3a-0000-4000-8000-00000000abcd'>, 'vcpus': <uint32 3>, 'memory_kib': <uint64 262144>,
       'max_memory_kib': <uint64 524288>, 'autostart': <true>,
       'disks': <[{'image': <'disk.img'>, 'bus': <'sata'>, 'cache': <'writeback'>, 'boot_order': <uint32 2>},
                  {'image': <'data.raw'>, 'readonly': <true>, 'boot_order': <uint32 1>},
                  {'image': <'shared.raw'>, 'snapshot': <true>, 'bus': <'virtio'>}]>,
       'nics': <[{'bridge': <'br-test'>, 'model': <'e1000'>, 'mac': <'52:54:00:aa:bb:cc'>},
                 {'network': <'default'>},
                 {'user': <true>}]>,
       'graphics': <'vnc'>, 'listen': <'0.0.0.0'>, 'display': <int32 7>, 'vga': <'qxl'>,
       'kernel': <'kernel'>, 'initrd': <'initrd'>, 'cmdline': <'console=ttyS0 root=/dev/vda'>}"
p1=$(define full "$spec" | objpath)
assert_eq "$p1" "/org/abiquo/Node1/machine/_36d1b2c3a_2d0000_2d4000_2d8000_2d00000000abcd" "DefineMachine's path"
# The object is there when the reply is.
assert_eq "$(prop org.abiquo.Node1.Machine Name "$p1")" 's "full"' "Name"
assert_eq "$(prop org.abiquo.Node1.Machine VCPUs "$p1")" "u 3" "VCPUs"
assert_eq "$(prop org.abiquo.Node1.Machine MemoryKiB "$p1")" "t 262144" "MemoryKiB"
assert_eq "$(prop org.abiquo.Node1.Machine MaxMemoryKiB "$p1")" "t 524288" "MaxMemoryKiB"
assert_eq "$(prop org.abiquo.Node1.Machine Autostart "$p1")" "b true" "Autostart"
assert_eq "$(prop org.abiquo.Node1.Machine State "$p1")" 's "shutoff"' "State"
assert_eq "$(prop org.abiquo.Node1.Machine Graphics "$p1")" 'a(ssi) 1 "vnc" "0.0.0.0" 5907' "Graphics"
D=$AIM_TMP/datastore
assert_eq "$(prop org.abiquo.Node1.Machine Disks "$p1")" \
        "a(sss) 3 \"sda\" \"$D/disk.img\" \"qcow2\" \"vda\" \"$D/data.raw\" \"raw\" \"vdb\" \"$D/shared.raw\" \"raw\"" "Disks"
assert_contains "$(prop org.abiquo.Node1.Machine Interfaces "$p1")" '"52:54:00:aa:bb:cc" "br-test" "e1000"' "Interfaces"
xml_is "$(getxml "$p1")" "@type=test" "name=full" "uuid=6d1b2c3a-0000-4000-8000-00000000abcd" "vcpu=3" \
        "memory=524288" "currentMemory=262144" "os/type=hvm" "os/type@arch=i686" \
        "os/kernel=$D/kernel" "os/initrd=$D/initrd" "os/cmdline=console=ttyS0 root=/dev/vda" \
        "devices/emulator=/usr/bin/test-hv" \
        "devices/disk[1]/driver@type=qcow2" "devices/disk[1]/driver@cache=writeback" \
        "devices/disk[1]/target@bus=sata" "devices/disk[1]/boot@order=2" \
        "devices/disk[2]/boot@order=1" "devices/disk[2]/target@bus=virtio" \
        "devices/interface[1]@type=bridge" "devices/interface[1]/source@bridge=br-test" \
        "devices/interface[2]/source@network=default" "devices/interface[2]/model@type=virtio" \
        "devices/graphics@type=vnc" "devices/graphics@port=5907" "devices/graphics@listen=0.0.0.0" \
        "devices/video/model@type=qxl" "devices/disk[2]/readonly=" "devices/disk[3]/transient=" \
        "devices/interface[3]@type=user"
ok "DefineMachine with every key: the object shows it at once (Disks with formats from content, Interfaces, Graphics); GetXML has each value"

wait_for 10 grep -q "MachineEvent (objectpath '$p1', '6d1b2c3a-0000-4000-8000-00000000abcd', 'full', 'defined', 'added')" \
        "$AIM_TMP/monitor.txt" || fail "no defined event: $(cat "$AIM_TMP/monitor.txt")"
grep -q "InterfacesAdded (objectpath '$p1'" "$AIM_TMP/monitor.txt" || fail "no InterfacesAdded for $p1"
assert_eq "$(grep -c "'defined'" "$AIM_TMP/monitor.txt")" 1 "one defined event"
ok "MachineEvent defined/added and InterfacesAdded reach a subscriber, once"

# Defaults: a name only.
p2=$(define minimal "{}" | objpath)
xml_is "$(getxml "$p2")" vcpu=1 currentMemory=524288 memory=524288
assert_eq "$(prop org.abiquo.Node1.Machine Autostart "$p2")" "b false" "default autostart"
assert_eq "$(prop org.abiquo.Node1.Machine Graphics "$p2")" "a(ssi) 0" "no graphics by default"
p3=$(define auto "{'graphics': <'spice'>, 'disks': <[{'image': <'keep.raw'>}]>}" | objpath)
xml_is "$(getxml "$p3")" devices/graphics@autoport=yes devices/graphics@listen=127.0.0.1 devices/disk/boot@order=1 \
        devices/disk/driver@cache=none devices/disk/target@bus=virtio
assert_eq "$(prop org.abiquo.Node1.Machine Graphics "$p3")" 'a(ssi) 1 "spice" "127.0.0.1" -1' "port -1 until chosen"
ok "defaults: 1 vCPU, 512 MiB, no autostart, no graphics; spice with autoport shows port -1"

# A block device under /dev (erp5's file = /dev/sdb): the test driver opens nothing, so any will do.
blk=$(find /dev -maxdepth 1 -type b -name 'loop*' | head -n 1)
[ -n "$blk" ] || blk=$(find /dev -maxdepth 1 -type b | head -n 1)
if [ -n "$blk" ]; then
        pd=$(define blockdev "{'disks': <[{'device': <'$blk'>, 'readonly': <true>, 'bus': <'scsi'>}]>}" | objpath)
        xml_is "$(getxml "$pd")" devices/disk@type=block "devices/disk/source@dev=$blk" devices/disk/target@dev=sda
        gdbus_call "$pd" org.abiquo.Node1.Machine.Undefine "{}" >/dev/null
        ok "a block device under /dev as a disk"
fi

# --- injection stays text -------------------------------------------------------------------
evil='</cmdline><devices><disk type="file"><source file="/etc/shadow"/></disk></devices><cmdline>'
p4=$(define inject "{'kernel': <'kernel'>, 'cmdline': <'$evil &amp; \"q\"'>}" | objpath)
x=$(getxml "$p4")
xml_is "$x" "os/cmdline=$evil &amp; \"q\""
assert_not_contains "$x" "/etc/shadow\"/>" "no element from a value"
assert_eq "$(prop org.abiquo.Node1.Machine Disks "$p4")" "a(sss) 0" "no disk from the cmdline"
ok "XML injection in cmdline stays text (no element, no attribute, entities not expanded)"

# --- errors, each naming its key ------------------------------------------------------------
bad() { # NAME EXPECTED_ERROR EXPECTED_TEXT SPEC
        local msg
        msg=$(assert_bus_error "$2" define "$1" "$4")
        assert_contains "$msg" "$3" "$1 $4"
}
E=org.freedesktop.DBus.Error.InvalidArgs
for n in "" ".x" "a/b" "a b" "$(printf 'x%.0s' {1..65})"; do
        bad "$n" $E "'name'" "{}"
done
bad x1 $E "'nosuch' is not a known option" "{'nosuch': <1>}"
bad x1 $E "'vcpus' must be of type 'u'" "{'vcpus': <'2'>}"
bad x1 $E "vcpus: must be 1..64" "{'vcpus': <uint32 65>}"
bad x1 $E "memory_kib: must be 16384" "{'memory_kib': <uint64 1024>}"
bad x1 $E "memory_kib: must be 16384" "{'memory_kib': <uint64 999999999999>}"
bad x1 $E "max_memory_kib: must be at least" "{'memory_kib': <uint64 65536>, 'max_memory_kib': <uint64 32768>}"
bad x1 $E "uuid: must be a UUID" "{'uuid': <'not-a-uuid'>}"
bad x1 $E "disks[0]: exactly one of" "{'disks': <[{'bus': <'ide'>}]>}"
bad x1 $E "disks[1]: exactly one of" "{'disks': <[{'image': <'disk.img'>}, {'image': <'a'>, 'device': <'/dev/sda'>}]>}"
bad x1 $E "disks[1].bus: must be" "{'disks': <[{'image': <'data.raw'>, 'readonly': <true>}, {'image': <'data.raw'>, 'readonly': <true>, 'bus': <'usb'>}]>}"
bad x1 $E "disks[0].cache: must be" "{'disks': <[{'image': <'data.raw'>, 'cache': <'fast'>}]>}"
bad x1 $E "disks[0].image: not a valid image name" "{'disks': <[{'image': <'../etc/passwd'>}]>}"
bad x1 $E "disks[0].device: must be an absolute path under /dev" "{'disks': <[{'device': <'/etc/passwd'>}]>}"
bad x1 $E "disks[0].device: must be an absolute path under /dev" "{'disks': <[{'device': <'/dev/../etc/passwd'>}]>}"
bad x1 $E "disks[0].device: /dev/null is not a block device" "{'disks': <[{'device': <'/dev/null'>}]>}"
bad x1 $E "disks[1].boot_order: 1 is given twice" "{'disks': <[{'image': <'data.raw'>, 'readonly': <true>, 'boot_order': <uint32 1>}, {'image': <'keep.raw'>, 'readonly': <true>, 'boot_order': <uint32 1>}]>}"
bad x1 $E "disks[0].readonly" "{'disks': <[{'image': <'data.raw'>, 'readonly': <'yes'>}]>}"
bad x1 $E "disks[0].snapshot: a readonly disk" "{'disks': <[{'image': <'data.raw'>, 'readonly': <true>, 'snapshot': <true>}]>}"
bad x1 $E "disks[1]: the same disk as disks[0]" "{'disks': <[{'image': <'gone.raw'>}, {'image': <'gone.raw'>}]>}"
bad x1 $E "disks[0].nosuch' is not a known option" "{'disks': <[{'nosuch': <1>}]>}"
bad x1 $E "nics[0]: exactly one of" "{'nics': <[{'bridge': <'br-test'>, 'user': <true>}]>}"
bad x1 $E "nics[0]: exactly one of" "{'nics': <[{'model': <'virtio'>}]>}"
bad x1 $E "nics[0].bridge: not a valid interface name" "{'nics': <[{'bridge': <'a/b'>}]>}"
bad x1 $E "nics[0].network: not a valid network name" "{'nics': <[{'network': <'a/b'>}]>}"
bad x1 $E "nics[1].model: must be" "{'nics': <[{'user': <true>}, {'user': <true>, 'model': <'pcnet'>}]>}"
bad x1 $E "nics[0].mac: must be a unicast" "{'nics': <[{'user': <true>, 'mac': <'01:00:5e:00:00:01'>}]>}"
bad x1 $E "nics[0].mac: must be a unicast" "{'nics': <[{'user': <true>, 'mac': <'52:54:00:aa:bb'>}]>}"
bad x1 $E "nics[0].forwards: only user-mode" "{'nics': <[{'bridge': <'br-test'>, 'forwards': <['tcp:1:2']>}]>}"
bad x1 $E "nics[0].forwards[1]: must be tcp:HOSTPORT:GUESTPORT" "{'nics': <[{'user': <true>, 'forwards': <['tcp:1:2', 'sctp:1:2']>}]>}"
bad x1 $E "nics[0].forwards[0]: must be tcp:HOSTPORT:GUESTPORT" "{'nics': <[{'user': <true>, 'forwards': <['tcp:0:22']>}]>}"
bad x1 $E "nics[0].forwards[0]: must be tcp:HOSTPORT:GUESTPORT" "{'nics': <[{'user': <true>, 'forwards': <['tcp:70000:22']>}]>}"
bad x1 $E "graphics: must be none, vnc or spice" "{'graphics': <'rdp'>}"
bad x1 $E "listen: must be an IPv4 or IPv6 address" "{'graphics': <'vnc'>, 'listen': <'localhost'>}"
bad x1 $E "listen: needs graphics" "{'listen': <'127.0.0.1'>}"
bad x1 $E "display: must be 0..99" "{'graphics': <'vnc'>, 'display': <int32 100>}"
bad x1 $E "vga: must be" "{'vga': <'hercules'>}"
bad x1 $E "cmdline: needs a kernel" "{'cmdline': <'x'>}"
bad x1 $E "initrd: needs a kernel" "{'initrd': <'initrd'>}"
bad x1 $E "cmdline: at most 4096 bytes, no control characters" "{'kernel': <'kernel'>, 'cmdline': <'a\nb'>}"
bad x1 $E "kernel: not a valid image name" "{'kernel': <'/boot/vmlinuz'>}"
ok "InvalidArgs for every key: unknown keys, wrong types, bad values, each named by index (disks[1].bus, nics[0].forwards[1])"

NF=org.abiquo.Node1.Error.NotFound
bad x1 $NF "disks[0].image: No image 'nosuch' in the datastore" "{'disks': <[{'image': <'nosuch'>}]>}"
bad x1 $NF "disks[0].image: No image 'fifo'" "{'disks': <[{'image': <'fifo'>}]>}"
bad x1 $NF "disks[0].device: No device /dev/nosuch" "{'disks': <[{'device': <'/dev/nosuch'>}]>}"
bad x1 $NF "nics[0].bridge: No Linux bridge named br-none" "{'nics': <[{'bridge': <'br-none'>}]>}"
bad x1 $NF "nics[0].bridge: No Linux bridge named veth-x" "{'nics': <[{'bridge': <'veth-x'>}]>}"
bad x1 $NF "kernel: No image 'vmlinuz'" "{'kernel': <'vmlinuz'>}"
bad x1 $NF "initrd: No image 'nosuch'" "{'kernel': <'kernel'>, 'initrd': <'nosuch'>}"
msg=$(assert_bus_error $E define x1 "{'disks': <[{'image': <'escape'>}]>}")
assert_contains "$msg" "disks[0].image" "a symlink out of the datastore"
# Forwards need libvirt's passt backend; a libvirt that has it takes them, one built without it
# (Debian 12's 9.0.0) or older gives Unsupported, naming the key.
spec="{'nics': <[{'user': <true>, 'forwards': <['tcp:2222:22', 'udp:5353:53']>}]>}"
if out=$(define fwd "$spec" 2>&1); then
        xml_is "$(getxml "$(objpath <<<"$out")")" devices/interface/backend@type=passt "devices/interface/portForward[2]@proto=udp" \
                "devices/interface/portForward[1]/range@start=2222" "devices/interface/portForward[1]/range@to=22"
        ok "forwards: the passt backend with one portForward each"
else
        assert_contains "$out" "org.abiquo.Node1.Error.Unsupported" "forwards without passt"
        assert_contains "$out" "forwards" "forwards without passt"
        assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call $R $M.GetMachine fwd >/dev/null
        ok "forwards where libvirt cannot forward: Unsupported naming the key, nothing defined"
fi

ok "NotFound for a missing image (or a FIFO), device, bridge (or a link that is no bridge), kernel, initrd; a symlink out of the datastore is refused"

assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Exists define full "{}")" "full exists already" "name taken"
assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Exists define other "{'uuid': <'6d1b2c3a-0000-4000-8000-00000000abcd'>}")" \
        "UUID 6d1b2c3a-0000-4000-8000-00000000abcd exists already" "uuid taken"
assert_bus_error org.abiquo.Node1.Error.Exists define test "{}" >/dev/null
ok "a name or UUID that is taken: Exists"

# keep.raw is used writable by 'auto': another writable user conflicts; readonly or snapshot do not.
assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Conflict define x2 "{'disks': <[{'image': <'keep.raw'>}]>}")" \
        "disks[0]: $D/keep.raw is used writable by machine auto" "Conflict"
define ro "{'disks': <[{'image': <'keep.raw'>, 'readonly': <true>}]>}" >/dev/null
define snap "{'disks': <[{'image': <'keep.raw'>, 'snapshot': <true>}]>}" >/dev/null
# shared.raw is a snapshot disk of 'full': a writable user is fine.
define w "{'disks': <[{'image': <'shared.raw'>}]>}" >/dev/null
ok "a disk another machine writes: Conflict naming it; readonly and snapshot users may share it"

before=$(busctl --system call org.abiquo.Node1 $R $M ListMachines)
msg=$(assert_bus_error org.freedesktop.DBus.Error.AccessDenied as_user nobody gdbus call --system --dest org.abiquo.Node1 \
        --object-path $R --method $M.DefineMachine denied "{}")
assert_eq "$(busctl --system call org.abiquo.Node1 $R $M ListMachines)" "$before" "nothing defined when refused"
as_user daemon gdbus call --system --dest org.abiquo.Node1 --object-path $R --method $M.DefineMachine allowed "{}" >/dev/null \
        || fail "daemon may define"
assert_bus_error org.freedesktop.DBus.Error.AccessDenied as_user nobody gdbus call --system --dest org.abiquo.Node1 \
        --object-path "$p2" --method org.abiquo.Node1.Machine.GetXML >/dev/null
assert_bus_error org.freedesktop.DBus.Error.AccessDenied as_user nobody gdbus call --system --dest org.abiquo.Node1 \
        --object-path "$p2" --method org.abiquo.Node1.Machine.Undefine "{}" >/dev/null
ok "polkit: DefineMachine, GetXML and Undefine refused to an unauthorized caller, nothing changes; allowed for an authorized one"

# --- start, Graphics, SetAutostart, SetResources ----------------------------------------------
p5=$(define started "{'start': <true>, 'graphics': <'vnc'>, 'display': <int32 3>}" | objpath)
assert_eq "$(prop org.abiquo.Node1.Machine State "$p5")" 's "running"' "start: true"
wait_for 10 grep -q "MachineEvent (objectpath '$p5', '[^']*', 'started', 'started', 'booted')" "$AIM_TMP/monitor.txt" \
        || fail "no started event"
assert_eq "$(sed -n "s/.*'started', '\([a-z]*\)', '[a-z]*')$/\1/p" "$AIM_TMP/monitor.txt" | tr '\n' ' ')" "defined started " "defined, then started"
ok "start: the machine runs when DefineMachine returns; events defined then started"

gdbus_call "$p2" org.abiquo.Node1.Machine.SetAutostart true >/dev/null
assert_eq "$(prop org.abiquo.Node1.Machine Autostart "$p2")" "b true" "SetAutostart"
wait_for 10 grep -q "PropertiesChanged ('org.abiquo.Node1.Machine', {'Autostart': <true>}" "$AIM_TMP/monitor.txt" \
        || fail "no PropertiesChanged for Autostart"
gdbus_call "$p2" org.abiquo.Node1.Machine.SetResources "{'vcpus': <uint32 4>, 'memory_kib': <uint64 1048576>}" >/dev/null
xml_is "$(getxml "$p2")" vcpu=4 currentMemory=1048576
assert_eq "$(prop org.abiquo.Node1.Machine VCPUs "$p2")" "u 4" "VCPUs after SetResources"
assert_eq "$(prop org.abiquo.Node1.Machine MemoryKiB "$p2")" "t 1048576" "MemoryKiB after SetResources"
assert_contains "$(assert_bus_error $E gdbus_call "$p2" org.abiquo.Node1.Machine.SetResources "{}")" "'vcpus' or 'memory_kib'" "empty"
assert_contains "$(assert_bus_error $E gdbus_call "$p2" org.abiquo.Node1.Machine.SetResources "{'vcpus': <uint32 1000>}")" "'vcpus'" "vcpus"
assert_contains "$(assert_bus_error $E gdbus_call "$p2" org.abiquo.Node1.Machine.SetResources "{'cpus': <uint32 1>}")" "'cpus' is not a known option" "unknown"
ok "SetAutostart (property and its change signal), SetResources into the definition (GetXML, properties), its errors"

# --- Undefine -------------------------------------------------------------------------------
assert_contains "$(assert_bus_error org.abiquo.Node1.Error.Busy gdbus_call "$p5" org.abiquo.Node1.Machine.Undefine "{}")" \
        "is running" "Busy"
assert_eq "$(prop org.abiquo.Node1.Machine State "$p5")" 's "running"' "still running"
gdbus_call "$p5" org.abiquo.Node1.Machine.Undefine "{'force': <true>}" >/dev/null
wait_for 10 grep -q "MachineEvent (objectpath '$p5', '[^']*', 'started', 'undefined', 'removed')" "$AIM_TMP/monitor.txt" \
        || fail "no undefined event"
wait_for 10 grep -q "InterfacesRemoved (objectpath '$p5'" "$AIM_TMP/monitor.txt" || fail "no InterfacesRemoved"
assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call $R $M.GetMachine started >/dev/null
ok "Undefine of a running machine: Busy; with force: destroyed and undefined (events, InterfacesRemoved, gone)"

# remove_images: keep.raw is also used by ro and snap; gone.raw only by 'only'.
p6=$(define only "{'disks': <[{'image': <'gone.raw'>}, {'image': <'keep.raw'>, 'readonly': <true>}]>}" | objpath)
pa=$(gdbus_call $R $M.GetMachine auto | objpath)
gdbus_call "$p6" org.abiquo.Node1.Machine.Undefine "{'remove_images': <true>}" >/dev/null
[ ! -e "$D/gone.raw" ] || fail "gone.raw was only used by 'only' and should be deleted"
[ -e "$D/keep.raw" ] || fail "keep.raw is used by other machines and must stay"
gdbus_call "$pa" org.abiquo.Node1.Machine.Undefine "{}" >/dev/null
[ -e "$D/keep.raw" ] || fail "Undefine without remove_images keeps images"
assert_contains "$(assert_bus_error $E gdbus_call "$p2" org.abiquo.Node1.Machine.Undefine "{'force': <'yes'>}")" "'force' must be of type 'b'" "force type"
ok "Undefine remove_images deletes the image only this machine used and keeps one another machine uses"

# --- aimctl --------------------------------------------------------------------------------
out=$("$AIMCTL" machine define cli --vcpus 2 --memory 256M --disk image=disk.img,bus=ide,boot=1,readonly \
        --disk image=keep.raw,snapshot --nic bridge=br-test,model=rtl8139,mac=52:54:00:00:00:01 --nic network=default \
        --nic user --vnc=127.0.0.1:12 --vga virtio --kernel kernel --initrd initrd --cmdline 'console=ttyS0,115200 quiet' \
        --autostart --uuid 6d1b2c3a-0000-4000-8000-0000000000c1)
assert_eq "$out" "Machine cli defined: /org/abiquo/Node1/machine/_36d1b2c3a_2d0000_2d4000_2d8000_2d0000000000c1." "aimctl machine define"
x=$("$AIMCTL" machine xml cli)
xml_is "$x" vcpu=2 currentMemory=262144 devices/disk/target@bus=ide devices/disk/target@dev=hda \
        "devices/disk[2]/transient=" devices/interface/model@type=rtl8139 devices/interface/mac@address=52:54:00:00:00:01 \
        "devices/interface[2]/source@network=default" "devices/interface[3]@type=user" devices/graphics@port=5912 \
        devices/video/model@type=virtio "os/cmdline=console=ttyS0,115200 quiet" "os/kernel=$D/kernel"
show=$("$AIMCTL" --json machine show cli)
assert_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Name"], d["VCPUs"], d["Autostart"], d["Graphics"], d["Disks"].split(", ")[0])' <<<"$show")" \
        "cli 2 True vnc 127.0.0.1 5912 hda $D/disk.img qcow2" "aimctl --json machine show"
assert_contains "$("$AIMCTL" machine show cli)" "Interfaces: 52:54:00:00:00:01 br-test rtl8139" "aimctl machine show"
"$AIMCTL" machine set cli --vcpus 3 --memory 1G --autostart=no
xml_is "$("$AIMCTL" --json machine xml cli | python3 -c 'import json,sys; print(json.load(sys.stdin)["xml"])')" vcpu=3 currentMemory=1048576
assert_eq "$(prop org.abiquo.Node1.Machine Autostart "$(gdbus_call $R $M.GetMachine cli | objpath)")" "b false" "machine set --autostart=no"
rc=0; out=$("$AIMCTL" machine define bad --disk image=disk.img,bus=usb 2>&1) || rc=$?
assert_eq "$rc" 1 "aimctl exit status for a bad spec"
assert_contains "$out" "disks[0].bus: must be" "aimctl says which key"
rc=0; out=$("$AIMCTL" machine define bad --disk image=a,color=red 2>&1) || rc=$?
assert_contains "$out" "--disk=image=a,color=red: unknown key" "aimctl usage error"
rc=0; out=$("$AIMCTL" machine define bad --memory lots 2>&1) || rc=$?
assert_contains "$out" "--memory=lots: must be a size" "aimctl usage error"
pc=$("$AIMCTL" --json machine define cli2 --start --nic user,forward=tcp:2222:22 2>&1) || true
assert_contains "$pc" "forwards" "aimctl forward= reaches the daemon"
"$AIMCTL" --json machine define cli2 --start --vnc | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["result"] == "defined and started", d'
rc=0; out=$("$AIMCTL" machine undefine cli2 2>&1) || rc=$?
assert_contains "$out" "is running" "aimctl undefine of a running machine"
"$AIMCTL" machine undefine cli2 --force >/dev/null
"$AIMCTL" machine undefine cli --remove-images >/dev/null
[ -e "$D/disk.img" ] || fail "disk.img is used by 'full' and must stay"
assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call $R $M.GetMachine cli >/dev/null
ok "aimctl machine define (every option), show, xml, set, undefine (--force, --remove-images), --json, and its errors"

check_introspection "$p2"
check_introspection $R
ok "introspection equals dbus/*.xml"
kill -0 "$(daemon_pid)" || fail "the daemon died"
