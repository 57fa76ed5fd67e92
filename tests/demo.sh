#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# demo.sh — aimd doing its job on an embedded default: a private system bus, libvirt's
# test:///default, a scratch repository and datastore. Installs what it needs (Debian 12, as root),
# builds, bus-activates the daemon with the first call and shows it working. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

# phase WHAT CMD...: one line for a step of the demo's own ("==> WHAT ... done, 12 s"); what CMD
# prints goes to a log, shown when it fails. apt's errors and warnings are shown either way.
phase_log=$(mktemp /tmp/aim-demo.XXXXXX)
trap 'rm -f "$phase_log"' EXIT
phase() {
        local what=$1 start=$SECONDS; shift
        printf '==> %s ... ' "$what"
        if ! "$@" >"$phase_log" 2>&1; then
                echo "failed:"
                tail -n 40 "$phase_log"
                exit 1
        fi
        echo "done, $((SECONDS - start)) s"
        grep -E '^(E|W): ' "$phase_log" || true
}
build() { [ -d build ] || meson setup build; ninja -C build; }

phase "Installing the Debian packages it needs (tests/setup-deps.sh)" bash tests/setup-deps.sh
phase "Building aimd and aimctl (meson, ninja)" build

export AIMD=$PWD/build/daemon/aimd AIMD_WORKER=$PWD/build/daemon/aimd-worker AIMCTL=$PWD/build/client/aimctl
export AIM_SRCDIR=$PWD AIM_BUILDDIR=$PWD/build
. tests/integration/lib.sh
aim_setup

# show CMD...: print the command as typed, then run it.
show() { if [ -t 1 ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi; "$@"; }
aimctl() { "$AIMCTL" "$@"; }
connected() { [ "$(prop org.abiquo.Node1 HypervisorConnected)" = "b true" ]; }
start_aimd() {
        aim_activate
        wait_for 60 connected || { echo "HypervisorConnected is still false after 60 s"; "$AIMCTL" status; return 1; }
}
aim_on_teardown rm -f "$phase_log"

# Events beyond this host: a local redis-server the node publishes every event to (AIM's redisHost).
. tests/integration/broker-redis.sh
phase "Starting a local redis-server for the node's event stream" redis_start redis
broker_config "redisHost=$AIM_TMP/redis.sock" nodeName=demo-node

echo "==> A private system bus at $DBUS_SYSTEM_BUS_ADDRESS; repository $AIM_TMP/repository, datastore $AIM_TMP/datastore."
# The first call starts aimd (bus activation); it connects to test:///default in the background.
phase "Starting aimd and waiting for its hypervisor connection" start_aimd
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

# Pulls: the same gzip'd image from a local HTTP server, both of erp5's checksums checked in the one
# pass that downloads, unpacks and writes it.
mkdir -p "$AIM_TMP/www"
cp "$AIM_TMP/repository/golden.img.gz" "$AIM_TMP/www/"
gzsum=$(sha256sum < "$AIM_TMP/www/golden.img.gz" | cut -c1-64)
phase "Starting a local HTTP server with golden.img.gz" aim_start_http www "$AIM_TMP/www"
AIM_HTTP_PORT=$(cat "$AIM_TMP/www.port")
show aimctl image pull "http://127.0.0.1:$AIM_HTTP_PORT/golden.img.gz" vm3 \
        --download-checksum="sha256:$gzsum" --checksum="sha256:$sum"

# Deploying a machine: defined from a simple spec (a datastore disk, VNC), started, shown, removed.
show aimctl machine define web01 --vcpus 2 --memory 256M --disk image=vm3 --vnc --start
show aimctl machine show web01
show aimctl machine undefine web01 --force

# The node's events as an orchestrator reads them, from the Redis stream (every node's, in order).
show aimctl broker
show aimctl events --broker="$AIM_TMP/redis.sock" --since=-8

# VLANs and bridges: the host kernel has no 802.1Q, so this part runs in User-Mode Linux, with its
# own private bus and daemon.
printf '\n==> VLANs and bridges, in User-Mode Linux (booting it takes a while):\n'
tests/integration/uml-run.sh --timeout=300 bash tests/demo-network.sh
