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
