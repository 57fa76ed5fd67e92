# SPDX-License-Identifier: LGPL-2.1-or-later
# guest.sh — a real Linux guest for the QEMU tests: Debian's cloud kernel, booted directly, and a
# busybox initramfs built here whose init brings up eth0 with the address given on the kernel
# command line, keeps talking to the host side of the bridge (ARP, ping, a line over TCP now and
# then) and writes a marker to its disks (so a test can tell a disk that keeps writes from one that
# discards them). All of it inside a network namespace of the test's own, with a bridge the test
# made. Source after lib.sh; guest_enter_ns before aim_setup.
#
# The guest reports over TCP to a listener on the bridge's address; each line it sends lands in
# $AIM_TMP/guest-reports.txt: "up IP", then "disk vda written", then "alive IP" every second or so.

GUEST_BRIDGE=aimbr0
GUEST_HOST_ADDR=192.0.2.1       # TEST-NET-1, only ever inside the test's own network namespace
GUEST_PREFIX=24
GUEST_REPORT_PORT=7777
GUEST_MODULES="failover net_failover virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_net virtio_blk"
GUEST_LISTENER_PID=

# guest_enter_ns "$@": re-runs the calling script in a private mount and network namespace (the
# bridge, the guest's tap and every address exist only there; aim_enter_mount_ns is then a no-op).
guest_enter_ns() {
        if [ -n "${AIM_IN_NET_NS:-}" ]; then
                # sysfs shows the links of the namespace that mounted it: this one's, for the daemon
                # and libvirtd (the bridge the test makes is looked up there).
                mount -t sysfs sysfs /sys || skip "cannot mount sysfs in the network namespace"
                return 0
        fi
        require_root
        require_cmd unshare
        AIM_IN_NET_NS=1 AIM_IN_MOUNT_NS=1 exec unshare -m -n --propagation private bash "$0" "$@"
}

# guest_kernel: the newest cloud kernel's image.
guest_kernel() {
        local k
        k=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
        [ -n "$k" ] && [ -r "$k" ] || return 1
        echo "$k"
}

# guest_require: skips unless the kernel, its virtio modules and busybox are there.
guest_require() {
        local k ver m
        k=$(guest_kernel) || skip "no cloud kernel in /boot (linux-image-cloud-amd64)"
        [ -x /bin/busybox ] && file_is_static /bin/busybox || skip "no static busybox (busybox-static)"
        ver=${k#/boot/vmlinuz-}
        for m in $GUEST_MODULES; do
                [ -n "$(modinfo -k "$ver" -F filename "$m" 2>/dev/null)" ] || skip "kernel $ver has no module $m"
        done
        require_cmd cpio gzip python3 ip
}

file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

# guest_build_initramfs OUT: a gzip'd newc cpio with busybox, the virtio modules the cloud kernel
# builds as modules (in dependency order) and the init below.
guest_build_initramfs() {
        local out=$1 k ver root m f
        k=$(guest_kernel)
        ver=${k#/boot/vmlinuz-}
        root=$AIM_TMP/initramfs
        rm -rf "$root"
        mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/modules" "$root/tmp"
        cp /bin/busybox "$root/bin/busybox"
        for m in $GUEST_MODULES; do
                f=$(modinfo -k "$ver" -F filename "$m")
                cp "$f" "$root/lib/modules/$m.ko"
        done
        cat > "$root/init" <<'EOT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko; done

ip= peer= port= disks= name=
for a in $(cat /proc/cmdline); do
        case $a in
        aim.ip=*) ip=${a#aim.ip=} ;;
        aim.peer=*) peer=${a#aim.peer=} ;;
        aim.port=*) port=${a#aim.port=} ;;
        aim.disks=*) disks=${a#aim.disks=} ;;
        aim.name=*) name=${a#aim.name=} ;;
        esac
done
say() { echo "aim-guest: $*" > /dev/console; }
report() { echo "$*" | nc -w 3 "$peer" "$port" 2>/dev/null; }
wait_path() { i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }

hostname "${name:-guest}"
ip link set lo up
wait_path /sys/class/net/eth0 || say "no eth0"
ip link set eth0 up
ip addr add "$ip" dev eth0
say "eth0 $ip"
report "up ${ip%/*} $(cat /sys/class/net/eth0/address)"

# A marker in the first sector of every disk named; the report says what the guest read back.
for d in $(echo "$disks" | tr , ' '); do
        wait_path /dev/$d || { report "disk $d missing"; continue; }
        echo "aim-guest wrote $d" | dd of=/dev/$d bs=512 count=1 conv=sync,fsync 2>/dev/null
        sync
        if head -c 17 /dev/$d | grep -q "aim-guest wrote"; then report "disk $d written"; else report "disk $d failed"; fi
done

while :; do
        arping -c 1 -w 1 -I eth0 "$peer" >/dev/null 2>&1
        ping -c 1 -W 1 "$peer" >/dev/null 2>&1
        report "alive ${ip%/*}"
        sleep 1
done
EOT
        chmod 755 "$root/init"
        echo $GUEST_MODULES | tr ' ' '\n' > "$root/lib/modules/order"
        (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
}

# guest_cmdline IP/PREFIX DISKS [NAME]: the kernel command line the init reads.
guest_cmdline() {
        echo "console=ttyS0 panic=-1 quiet aim.ip=$1 aim.peer=$GUEST_HOST_ADDR aim.port=$GUEST_REPORT_PORT aim.disks=$2${3:+ aim.name=$3}"
}

# guest_network_setup: the bridge with the host's address, and the listener for the guest's reports.
guest_network_setup() {
        [ -n "${AIM_IN_NET_NS:-}" ] || fail "guest_network_setup needs guest_enter_ns"
        ip link set lo up
        ip link add "$GUEST_BRIDGE" type bridge
        ip addr add "$GUEST_HOST_ADDR/$GUEST_PREFIX" dev "$GUEST_BRIDGE"
        ip link set "$GUEST_BRIDGE" up
        : > "$AIM_TMP/guest-reports.txt"
        python3 -c '
import socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        with open(sys.argv[2], "ab") as f:
            f.write(self.rfile.readline(256).rstrip(b"\n") + b"\n")
socketserver.TCPServer.allow_reuse_address = True
socketserver.TCPServer((sys.argv[1], int(sys.argv[3])), H).serve_forever()
' "$GUEST_HOST_ADDR" "$AIM_TMP/guest-reports.txt" "$GUEST_REPORT_PORT" >"$AIM_TMP/guest-listener.log" 2>&1 &
        GUEST_LISTENER_PID=$!
        aim_on_teardown guest_network_teardown
        wait_for 60 bash -c "ss -ltn | grep -q '$GUEST_HOST_ADDR:$GUEST_REPORT_PORT'" \
                || fail "the report listener did not come up: $(cat "$AIM_TMP/guest-listener.log")"
}

guest_network_teardown() {
        [ -n "$GUEST_LISTENER_PID" ] || return 0
        kill "$GUEST_LISTENER_PID" 2>/dev/null || true
        wait "$GUEST_LISTENER_PID" 2>/dev/null || true
        GUEST_LISTENER_PID=
}

# guest_reported LINE: the guest has sent that exact line.
guest_reported() { grep -qx "$1" "$AIM_TMP/guest-reports.txt"; }

# guest_wait_report TIMEOUT_S LINE: waits for it; prints how many seconds it took. Under TCG on a
# busy machine the boot alone can take a minute: callers give generous caps.
guest_wait_report() {
        local start=$SECONDS
        wait_for "$1" guest_reported "$2" || return 1
        echo $((SECONDS - start))
}
