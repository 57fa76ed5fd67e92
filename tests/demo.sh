#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# demo.sh — aimd doing its job on an embedded default: a private system bus, libvirt's
# test:///default, a scratch repository and datastore. Installs what it needs (Debian 12, as root),
# builds, bus-activates the daemon with the first call and shows it working. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

export AIMD=$PWD/build/daemon/aimd AIMCTL=$PWD/build/client/aimctl AIM_SRCDIR=$PWD AIM_BUILDDIR=$PWD/build
. tests/integration/lib.sh
aim_setup

# show CMD...: print the command as typed, then run it.
show() { if [ -t 1 ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi; "$@"; }
aimctl() { "$AIMCTL" "$@"; }

echo "A private system bus at $DBUS_SYSTEM_BUS_ADDRESS; repository $AIM_TMP/repository, datastore $AIM_TMP/datastore."
show aimctl status
show busctl --system tree org.abiquo.Node1

# Machines: test:///default's domain, controlled through the daemon; a separate subscriber prints
# the lifecycle events as they are relayed.
show aimctl machine list
"$AIMCTL" monitor > "$AIM_TMP/monitor.out" 2>&1 &
monitor=$!
sleep 0.5
show aimctl machine suspend test
show aimctl machine resume test
show aimctl machine destroy test
show aimctl machine start test
sleep 0.5
kill "$monitor"; wait "$monitor" 2>/dev/null || true
printf '\n$ aimctl monitor   # running meanwhile, in another process\n'
cat "$AIM_TMP/monitor.out"

# Images: a sparse golden image in the repository, imported with its checksum verified in the same
# pass; a gzip-compressed copy unpacked on the way in; one exported back.
truncate -s 256M "$AIM_TMP/repository/golden.img"
dd if=/dev/urandom of="$AIM_TMP/repository/golden.img" bs=1M count=32 conv=notrunc status=none
gzip -1 -c "$AIM_TMP/repository/golden.img" > "$AIM_TMP/repository/golden.img.gz"
sum=$(sha256sum < "$AIM_TMP/repository/golden.img" | cut -c1-64)
show aimctl image import golden.img vm1 --checksum="sha256:$sum"
show aimctl image import golden.img.gz vm2
show aimctl image list
show busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1/image/vm1 org.abiquo.Node1.Image Format Allocated
show aimctl image export vm1 vm1-backup.img
show aimctl image delete vm2
show ls -ls "$AIM_TMP/repository"

# VLANs and bridges: the host kernel has no 802.1Q, so this part runs in User-Mode Linux, with its
# own private bus and daemon.
printf '\n# VLANs, in User-Mode Linux:\n'
tests/integration/uml-run.sh --timeout=120 bash tests/demo-network.sh
