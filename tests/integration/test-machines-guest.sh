#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-guest.sh — issue 11 on a real libvirtd with QEMU (TCG): a machine made with
# DefineMachine from images imported with Images.Import (Debian's cloud kernel, a busybox initramfs
# from guest.sh, a plain and a snapshot disk) and a NIC on a bridge the test made in its own network
# namespace, booted directly. The guest sets its address and keeps sending traffic; the daemon finds
# that address in the host's neighbour table (GetAddresses arp, and any); the VNC port from Graphics
# speaks RFB; the snapshot disk's image is byte-identical after the guest wrote to it, while the
# plain disk kept the write; SetResources on the stopped machine is in GetXML; Undefine leaves
# nothing in virsh list --all. Then aimctl deploy of a bridged recipe section on the same libvirtd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/libvirtd.sh"
. "$(dirname "$0")/guest.sh"

guest_enter_ns "$@"
guest_require
AIM_URI=qemu:///system
aim_setup
aim_on_teardown libvirtd_teardown
libvirtd_setup
libvirtd_start
guest_network_setup

IP=192.0.2.10 MAC=52:54:00:a1:0e:01
guest_build_initramfs "$AIM_TMP/initrd.gz"
truncate -s 8M "$AIM_TMP/keep.img"
head -c 8M /dev/urandom > "$AIM_TMP/snap.img"
cp "$AIM_TMP/snap.img" "$AIM_TMP/snap.orig"

aim_activate
wait_for 60 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to libvirtd"

# Everything the machine uses comes through the daemon: kernel, initramfs and disks are imported
# from the repository into the datastore with Images.Import.
cp "$(guest_kernel)" "$AIM_TMP/repository/vmlinuz"
mv "$AIM_TMP/initrd.gz" "$AIM_TMP/repository/initrd.gz"
mv "$AIM_TMP/keep.img" "$AIM_TMP/snap.img" "$AIM_TMP/repository/"
for i in vmlinuz initrd.gz keep.img snap.img; do
        "$AIMCTL" image import "$i" "$i" --decompress=none >/dev/null || fail "Images.Import of $i failed"
done
D=$AIM_TMP/datastore
cmp -s "$D/snap.img" "$AIM_TMP/snap.orig" || fail "the imported snapshot image differs from its source"

spec="{'memory_kib': <uint64 196608>,
       'disks': <[{'image': <'keep.img'>}, {'image': <'snap.img'>, 'snapshot': <true>}]>,
       'nics': <[{'bridge': <'$GUEST_BRIDGE'>, 'mac': <'$MAC'>}]>,
       'graphics': <'vnc'>, 'listen': <'127.0.0.1'>,
       'kernel': <'vmlinuz'>, 'initrd': <'initrd.gz'>, 'cmdline': <'$(guest_cmdline "$IP/$GUEST_PREFIX" vda,vdb guest1)'>}"
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.DefineMachine guest1 "$spec" | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
[ -n "$path" ] || fail "DefineMachine gave no object"
assert_eq "$(virsh -q -c qemu:///system domstate guest1)" "shut off" "virsh domstate"
assert_eq "$(prop org.abiquo.Node1.Machine Graphics "$path")" 'a(ssi) 1 "vnc" "127.0.0.1" -1' "Graphics before start"
ok "DefineMachine: imported kernel, initramfs and two disks, a NIC on the test's bridge, VNC; the port unknown until start"

msg=$(assert_bus_error org.abiquo.Node1.Error.Conflict gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses any)
assert_contains "$msg" "not running" "GetAddresses on a stopped machine"
ok "GetAddresses before the guest runs: Error.Conflict"

gdbus_call "$path" org.abiquo.Node1.Machine.Start >/dev/null
secs=$(guest_wait_report 300 "up $IP $MAC") || fail "the guest did not report its address within 300 s"
echo "# the guest was up $secs s after Start (TCG, a loaded machine)"
guest_wait_report 120 "alive $IP" >/dev/null || fail "the guest does not send traffic"
guest_reported "disk vda written" || fail "the guest could not write its plain disk: $(cat "$AIM_TMP/guest-reports.txt")"
guest_reported "disk vdb written" || fail "the guest could not write its snapshot disk: $(cat "$AIM_TMP/guest-reports.txt")"
ok "the guest booted (kernel $(basename "$(guest_kernel)")), set $IP on its virtio NIC, wrote both disks and pings the bridge"

# The neighbour entry appears once the guest has spoken to the host; poll, the guest repeats itself.
has_arp() { gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses arp | grep -q "'$IP'"; }
wait_for 120 has_arp || fail "GetAddresses arp never gave $IP: $(gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses arp 2>&1); neighbours: $(ip neigh)"
out=$(gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses arp)
assert_contains "$out" "'$MAC', 'ipv4', '$IP', uint32 0)" "GetAddresses arp"
assert_contains "$out" "('vnet" "GetAddresses arp interface"
out=$(gdbus_call "$path" org.abiquo.Node1.Machine.GetAddresses any)
assert_contains "$out" "'$MAC', 'ipv4', '$IP'" "GetAddresses any"
assert_contains "$("$AIMCTL" --json machine addresses guest1)" "\"address\":\"$IP\"" "aimctl machine addresses"
ok "GetAddresses arp and any: $IP with the guest's MAC, from the host's neighbour table; aimctl shows it"

graphics_port() { prop org.abiquo.Node1.Machine Graphics "$path" | sed -n 's/^a(ssi) 1 "vnc" "127.0.0.1" \([0-9]*\)$/\1/p'; }
has_port() { [ -n "$(graphics_port)" ]; }
wait_for 30 has_port || fail "Graphics has no port after the start: $(prop org.abiquo.Node1.Machine Graphics "$path")"
port=$(graphics_port)
banner=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
print(s.recv(12).decode("ascii", "replace"))' "$port")
[[ "$banner" =~ ^RFB\ 003\.00[0-9] ]] || fail "the VNC port answered '$banner', not RFB"
ok "the VNC port from Graphics ($port) accepts a connection and speaks RFB ($banner)"

gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null
wait_for 60 bash -c "[ \"\$(busctl --system get-property org.abiquo.Node1 '$path' org.abiquo.Node1.Machine State)\" = 's \"shutoff\"' ]" \
        || fail "the guest did not stop"
cmp -s "$D/snap.img" "$AIM_TMP/snap.orig" || fail "the snapshot disk's image changed although the guest's writes were to be discarded"
[ "$(head -c 15 "$D/keep.img")" = "aim-guest wrote" ] || fail "the plain disk does not hold the guest's write"
ok "the snapshot disk's image is byte-identical after the guest wrote to it; the plain disk kept the write"

gdbus_call "$path" org.abiquo.Node1.Machine.SetResources "{'vcpus': <uint32 2>, 'memory_kib': <uint64 262144>}" >/dev/null
xml=$(gdbus_call "$path" org.abiquo.Node1.Machine.GetXML)
[[ "$xml" =~ \<vcpu[^\>]*\>2\</vcpu\> ]] || fail "GetXML after SetResources has no <vcpu>2</vcpu>: $xml"
[[ "$xml" =~ \<currentMemory\ unit=.KiB.\>262144\</currentMemory\> ]] || fail "GetXML after SetResources has not 262144 KiB: $xml"
assert_eq "$(prop org.abiquo.Node1.Machine VCPUs "$path")" "u 2" "VCPUs"
ok "SetResources on the stopped machine (2 vCPUs, 256 MiB) is in GetXML and the properties"

gdbus_call "$path" org.abiquo.Node1.Machine.Undefine "{}" >/dev/null
no_domains() { [ -z "$(virsh -q -c qemu:///system list --all)" ]; }
wait_for 30 no_domains || fail "virsh list --all still shows: $(virsh -q -c qemu:///system list --all)"
wait_for 10 bash -c "! busctl --system tree --list org.abiquo.Node1 | grep -q '^$path\$'" || fail "$path still exists"
ok "Undefine: nothing left in virsh list --all, the object gone"

# aimctl deploy on the real hypervisor: a recipe section on the test's bridge with a fixed VNC
# display (no kernel key in the recipe: the BIOS finds nothing to boot, VNC answers all the same).
cat > "$AIM_TMP/deploy.cfg" <<EOT
[kvm-bridged]
file = $D/keep.img
kvm_vnc = 127.0.0.1:3
kvm_graphic = std
kvm_net =
  bridge,br=$GUEST_BRIDGE
  nic,model=e1000,macaddr=52:54:00:a1:0e:02
EOT
out=$("$AIMCTL" deploy "$AIM_TMP/deploy.cfg" 2>&1) || fail "aimctl deploy on libvirtd failed: $out"
assert_contains "$out" "VNC: 127.0.0.1:5903 (display 3)" "deploy's VNC line"
banner=$(python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 5903), timeout=30)
print(s.recv(12).decode("ascii", "replace"))')
[[ "$banner" =~ ^RFB\ 003\.00[0-9] ]] || fail "display 3 answered '$banner', not RFB"
dpath=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine kvm-bridged | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
virsh -q -c qemu:///system domiflist kvm-bridged | grep -Eq "bridge +$GUEST_BRIDGE +e1000 +52:54:00:a1:0e:02" \
        || fail "the deployed NIC: $(virsh -q -c qemu:///system domiflist kvm-bridged)"
gdbus_call "$dpath" org.abiquo.Node1.Machine.Undefine "{'force': <true>}" >/dev/null
wait_for 30 no_domains || fail "virsh list --all still shows: $(virsh -q -c qemu:///system list --all)"
ok "aimctl deploy on libvirtd: a bridged e1000 NIC, VNC on display 3 speaking RFB; Undefine force removes it running"
