#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# setup-deps.sh — installs the Debian 12 packages that building, the demo and the tests need.
# Idempotent: does nothing when everything is there already. Run as root.
set -euo pipefail

packages=(
        # build
        meson ninja-build pkg-config gcc libsystemd-dev libnl-3-dev libnl-route-3-dev libvirt-dev
        libarchive-dev libssl-dev libxml2-dev libcmocka-dev libdbus-1-dev libcurl4-openssl-dev libhiredis-dev
        libseccomp-dev liblzma-dev libzstd-dev
        # real peers for the integration tests
        dbus-daemon systemd libglib2.0-bin polkitd util-linux iproute2 python3 python3-dbus libxml2-utils
        bash-builtins
        user-mode-linux kmod btrfs-progs xfsprogs e2fsprogs
        libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86
        gzip xz-utils zstd bzip2 libarchive-tools strace openssl redis-server
        linux-image-cloud-amd64 busybox-static cpio
        # proofs: fuzzing (clang + libFuzzer), static analysis, memcheck
        clang libclang-rt-14-dev clang-tidy cppcheck valgrind
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" = 0 ] || { echo "setup-deps.sh: missing packages (${missing[*]}); run as root to install them" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
