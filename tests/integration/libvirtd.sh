# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirtd.sh — a real libvirtd with the QEMU driver (TCG) for tests, inside the test's private
# mount namespace: its configuration, sockets and state live under $AIM_TMP/libvirt, bind-mounted
# over the system's directories, so the host's libvirt (if any) is neither seen nor touched.
# Source after lib.sh, once aim_enter_mount_ns and aim_setup ran.

LIBVIRTD_PID=

# libvirtd_setup: writes the configuration and mounts the private directories.
libvirtd_setup() {
        [ -n "${AIM_IN_MOUNT_NS:-}" ] || fail "libvirtd_setup needs aim_enter_mount_ns"
        [ -x /usr/sbin/libvirtd ] || skip "libvirtd is not installed (libvirt-daemon)"
        [ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] \
                || skip "libvirt's QEMU driver is not installed (libvirt-daemon-driver-qemu)"
        require_cmd qemu-system-x86_64 virsh

        local d=$AIM_TMP/libvirt
        mkdir -p "$d/etc/qemu" "$d/run" "$d/lib" "$d/cache" "$d/log"
        cat > "$d/etc/libvirtd.conf" <<EOT
# Root only, over the private unix socket; no TCP, no polkit, no virtlogd.
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_group = "root"
log_outputs = "3:file:$d/log/libvirtd.log"
EOT
        cat > "$d/etc/qemu.conf" <<EOT
user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"
namespaces = [ ]
cgroup_controllers = [ ]
remember_owner = 0
EOT
        : > "$d/etc/libvirt.conf"
        mount --bind "$d/etc" /etc/libvirt
        mount --bind "$d/run" /run/libvirt 2>/dev/null || { mkdir -p /run/libvirt && mount --bind "$d/run" /run/libvirt; }
        mkdir -p /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
        mount --bind "$d/lib" /var/lib/libvirt
        mount --bind "$d/cache" /var/cache/libvirt
        mount --bind "$d/log" /var/log/libvirt

        # The QEMU driver wants its default user to exist even when told to run QEMU as root; only
        # libvirt-daemon-system creates it, so lend it one in this namespace if the host has none.
        if ! getent passwd libvirt-qemu >/dev/null; then
                cp /etc/passwd "$d/passwd"
                echo "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin" >> "$d/passwd"
                mount --bind "$d/passwd" /etc/passwd
        fi
        if ! getent group libvirt-qemu >/dev/null; then
                cp /etc/group "$d/group"
                echo "libvirt-qemu:x:64055:" >> "$d/group"
                mount --bind "$d/group" /etc/group
        fi
}

libvirtd_start() {
        /usr/sbin/libvirtd --config /etc/libvirt/libvirtd.conf >>"$AIM_TMP/libvirt/log/stdout.log" 2>&1 &
        LIBVIRTD_PID=$!
        wait_for 30 virsh -c qemu:///system version >/dev/null 2>&1 \
                || fail "libvirtd did not come up: $(tail -5 "$AIM_TMP/libvirt/log/libvirtd.log" 2>/dev/null)"
}

# libvirtd_kill: SIGKILL, the way a crash looks to its clients.
libvirtd_kill() {
        [ -n "$LIBVIRTD_PID" ] || return 0
        kill -9 "$LIBVIRTD_PID" 2>/dev/null || true
        wait "$LIBVIRTD_PID" 2>/dev/null || true
        LIBVIRTD_PID=
}

# qemu_pid NAME: the QEMU process libvirt runs for domain NAME.
qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }

# libvirtd_teardown: stops libvirtd and every QEMU it started (they outlive it by design).
libvirtd_teardown() {
        local f
        libvirtd_kill
        for f in /run/libvirt/qemu/*.pid; do
                # driver.pid is libvirtd's own, dead already.
                [ -e "$f" ] && [ "${f##*/}" != driver.pid ] && { kill -9 "$(cat "$f")" 2>/dev/null || true; }
        done
        return 0
}
