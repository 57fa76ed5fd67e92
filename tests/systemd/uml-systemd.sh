#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# uml-systemd.sh — boots systemd as PID 1 inside User-Mode Linux on a throw-away overlay of the
# host's root, runs one test unit there and brings its results back.
#
# Usage: uml-systemd.sh SCRATCH PAYLOAD TIMEOUT_S
#   SCRATCH  an empty directory of ours (on the root filesystem, so that UML sees it)
#   PAYLOAD  a tree copied over the root inside UML (installed files, units, the checks)
#   The test unit in PAYLOAD writes its results to /run/aim-out, a hostfs mount of SCRATCH/out,
#   and the exit status of its checks to /run/aim-out/rc; this script exits with that status
#   (2 when UML died or timed out without one). The console is in SCRATCH/console.
#
# Why this way: the host root is bind-mounted read-only first, so nothing inside UML can write to
# the host but SCRATCH/out; writes inside land in a tmpfs upper layer and vanish with UML.
set -euo pipefail

scratch=$(realpath "$1") payload=$(realpath "$2") timeout=$3
kver=$(ls /usr/lib/uml/modules | sort -V | tail -n 1)
[ -n "$kver" ] || { echo "uml-systemd: no UML modules in /usr/lib/uml/modules" >&2; exit 2; }

root=$scratch/root
mkdir -p "$root" "$scratch/out" "$scratch/uml" "$scratch/tmp"
rm -f "$scratch/out/rc"

uml_pid=
cleanup() {
        if [ -n "$uml_pid" ] && kill -0 "$uml_pid" 2>/dev/null; then
                kill -TERM "$uml_pid" 2>/dev/null || true
                sleep 1
                kill -KILL "$uml_pid" 2>/dev/null || true
        fi
        # UML's helper threads are its own processes in its session: end those of this run only.
        [ -n "$uml_pid" ] && pkill -KILL -s "$uml_pid" 2>/dev/null || true
        mountpoint -q "$root" && umount "$root" || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT     # a timeout of the caller: still end UML and unmount

# Non-recursive: the host's /proc, /sys, /dev and other mounts stay out of UML's sight; the host
# kernel enforces read-only.
mount --bind / "$root"
mount -o remount,bind,ro "$root"

# PID 1 until systemd: the overlay, /.dockerenv gone (else systemd believes it is in a container
# and ignores systemd.unit=), then pivot into it. Paths here are as UML sees the host root.
cat > "$scratch/init" <<EOT
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
insmod /usr/lib/uml/modules/$kver/kernel/fs/overlayfs/overlay.ko
mount -t tmpfs -o mode=755 tmpfs /mnt
mkdir -p /mnt/upper /mnt/work /mnt/root
cp -a "$payload/." /mnt/upper/
mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root
rm -f /mnt/root/.dockerenv
mkdir -p /mnt/root/run/aim-out-host
echo "$scratch/out" > /mnt/root/etc/aim-out-host
mount -n --move /proc /mnt/root/proc
cd /mnt/root
mkdir -p oldroot
pivot_root . oldroot
exec chroot . /bin/sh -c 'umount -l /oldroot; exec /lib/systemd/systemd systemd.unit=test.target'
EOT
chmod 755 "$scratch/init"

# UML backs its memory with a file in TMPDIR: on tmpfs the kernel boots ~1 s faster than on disk.
# A small /dev/shm (a container's default is 64 MiB) would crash UML once its memory outgrows it.
umltmp=/dev/shm
mem_mib=1024
if ! [ -d "$umltmp" ] || ! [ -w "$umltmp" ] ||
   [ "$(df --output=avail -k "$umltmp" | tail -n 1)" -lt $(((mem_mib + 256) * 1024)) ]; then
        umltmp=$scratch/tmp
fi
start=$SECONDS
# On one CPU, ahead of the machine's other work (tests/integration/uml-launch.sh says why). No BSD
# ptys, as in uml-run.sh.
TMPDIR=$umltmp setsid bash "$(dirname "$0")/../integration/uml-launch.sh" /usr/bin/linux.uml mem=${mem_mib}M umid=aim-$$ uml_dir="$scratch/uml" \
        rootfstype=hostfs rootflags="$root" ro init="$scratch/init" \
        con0=null,fd:1 con=null systemd.unit=test.target pty.legacy_count=0 quiet \
        </dev/null >"$scratch/console" 2>&1 &
uml_pid=$!

while kill -0 "$uml_pid" 2>/dev/null; do
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
                echo "uml-systemd: no poweroff after ${timeout}s; killing UML (pid $uml_pid)" >&2
                break
        fi
        sleep 0.5
done
cleanup
uml_pid=
echo "uml-systemd: UML ran $((SECONDS - start))s" >&2
[ -s "$scratch/out/rc" ] || { echo "uml-systemd: the test unit left no exit status" >&2; exit 2; }
exit "$(cat "$scratch/out/rc")"
