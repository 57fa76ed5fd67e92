#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-machines-guest.sh — a real Linux guest under a real libvirtd (QEMU, TCG), on a bridge the test
# made in its own network namespace: Debian's cloud kernel booted directly with a busybox initramfs
# (guest.sh) that sets its address and keeps sending traffic. The daemon finds that address in the
# host's neighbour table (GetAddresses arp, and any); the VNC port speaks RFB; a snapshot disk is
# byte-identical after the guest wrote to it, while a plain disk kept the guest's write.
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

cat > "$AIM_TMP/guest.xml" <<EOT
<domain type='qemu'>
  <name>guest1</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$(guest_kernel)</kernel>
    <initrd>$AIM_TMP/initrd.gz</initrd>
    <cmdline>$(guest_cmdline "$IP/$GUEST_PREFIX" vda,vdb guest1)</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$AIM_TMP/keep.img'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$AIM_TMP/snap.img'/><target dev='vdb' bus='virtio'/><transient/>
    </disk>
    <interface type='bridge'>
      <source bridge='$GUEST_BRIDGE'/><mac address='$MAC'/><model type='virtio'/>
    </interface>
    <graphics type='vnc' listen='127.0.0.1' port='-1' autoport='yes'/>
  </devices>
</domain>
EOT
virsh -q -c qemu:///system define "$AIM_TMP/guest.xml" >/dev/null
wait_for 30 bash -c "gdbus call --system --dest org.abiquo.Node1 --object-path /org/abiquo/Node1 --method org.abiquo.Node1.Machines.GetMachine guest1 >/dev/null 2>&1" \
        || fail "the daemon did not publish guest1"
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine guest1 | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")

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

port=$(virsh -q -c qemu:///system vncdisplay guest1 | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p')
[ -n "$port" ] || fail "no VNC display for guest1"
banner=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
print(s.recv(12).decode("ascii", "replace"))' $((5900 + port)))
[[ "$banner" =~ ^RFB\ 003\.00[0-9] ]] || fail "the VNC port answered '$banner', not RFB"
ok "the VNC port accepts a connection and speaks RFB ($banner)"

gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null
wait_for 60 bash -c "[ \"\$(busctl --system get-property org.abiquo.Node1 '$path' org.abiquo.Node1.Machine State)\" = 's \"shutoff\"' ]" \
        || fail "the guest did not stop"
cmp -s "$AIM_TMP/snap.img" "$AIM_TMP/snap.orig" || fail "the snapshot disk's image changed although the guest's writes were to be discarded"
[ "$(head -c 15 "$AIM_TMP/keep.img")" = "aim-guest wrote" ] || fail "the plain disk does not hold the guest's write"
ok "the snapshot disk's image is byte-identical after the guest wrote to it; the plain disk kept the write"
