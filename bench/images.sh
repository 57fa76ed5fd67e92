#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# images.sh — aimd's image copies against the tools users would otherwise use, side by side in one
# run (interleaved, median of N), on loop-mounted ext4, btrfs and xfs in a private mount namespace.
# Usage (root): bench/images.sh [BUILDDIR] — prints Markdown rows for bench/RESULTS.md.
# ONLY="copy reflink checksum compressed" (the default: all) runs some of the sections.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
export AIMD=$build/daemon/aimd AIMD_WORKER=$build/daemon/aimd-worker AIMCTL=$build/client/aimctl AIM_SRCDIR=$PWD AIM_BUILDDIR=$build
N=${N:-5}
ONLY=${ONLY:-copy reflink checksum compressed}
want() { [[ " $ONLY " == *" $1 "* ]]; }
. tests/integration/lib.sh
. bench/lib.sh
aim_enter_mount_ns "$@"
aim_setup
FS=$AIM_TMP/fs
cleanup() {
        local rc=$?
        set +e          # every step below must run, whatever failed
        aim_stop_daemon
        umount -l "$AIM_TMP/repository" "$AIM_TMP/datastore" 2>/dev/null
        for m in ext4 btrfs xfs; do umount -l "$FS/$m" 2>/dev/null; done
        (exit $rc)
        aim_teardown
}
trap cleanup EXIT

mkdir -p "$FS"/{ext4,btrfs,xfs}
truncate -s 24G "$FS/ext4.img" "$FS/btrfs.img" "$FS/xfs.img"
mkfs.ext4 -q -F "$FS/ext4.img"
mkfs.btrfs -q "$FS/btrfs.img"
mkfs.xfs -q -m reflink=1 "$FS/xfs.img"
for m in ext4 btrfs xfs; do mount -o loop "$FS/$m.img" "$FS/$m"; mkdir -p "$FS/$m/repo" "$FS/$m/ds"; done
use() {
        umount -l "$AIM_TMP/repository" "$AIM_TMP/datastore" 2>/dev/null || true
        mount --bind "$FS/$1/repo" "$AIM_TMP/repository"
        mount --bind "$FS/$1/ds" "$AIM_TMP/datastore"
}
use ext4
aim_activate

# The brief's image: 2 GiB apparent, 1 GiB of data (16 MiB runs of random data, 16 MiB holes).
make_image() {
        local i
        truncate -s 2G "$1"
        for i in $(seq 0 63); do
                dd if=/dev/urandom of="$1" bs=16M count=1 seek=$((i * 2)) conv=notrunc status=none
        done
}

fmt() { awk -v u="$1" 'BEGIN { if (u < 10000) printf "%.2f ms", u / 1000; else printf "%.3f s", u / 1000000 }'; }

echo "| aimd | time | reference | time | ratio |"
echo "|---|---|---|---|---|"
for m in ext4 btrfs xfs; do
        want copy || { want checksum && [ "$m" = ext4 ]; } || continue      # checksum reads ext4's image
        use "$m"
        make_image "$FS/$m/repo/a.img"
        want copy || continue
        cat "$FS/$m/repo/a.img" > /dev/null
        compare "import on $m" "$AIMCTL image import a.img a" \
                "cp --reflink=auto --sparse=auto" "cp --reflink=auto --sparse=auto $FS/$m/repo/a.img $FS/$m/ds/a" \
                "rm -f $FS/$m/ds/a"
done

# Reflink: the job from the call to JobRemoved, for 1 GiB and 8 GiB of data.
if want reflink; then
use btrfs
dd if=/dev/urandom of="$FS/btrfs/repo/1g.img" bs=16M count=64 status=none
dd if=/dev/urandom of="$FS/btrfs/repo/8g.img" bs=16M count=512 status=none
compare "reflink import, 1 GiB of data" "$AIMCTL image import 1g.img r1" \
        "reflink import, 8 GiB of data" "$AIMCTL image import 8g.img r8" \
        "rm -f $FS/btrfs/ds/r1 $FS/btrfs/ds/r8"
compare "reflink import, 1 GiB of data" "$AIMCTL image import 1g.img r1" \
        "cp --reflink=always, 1 GiB" "cp --reflink=always $FS/btrfs/repo/1g.img $FS/btrfs/ds/c1" \
        "rm -f $FS/btrfs/ds/r1 $FS/btrfs/ds/c1"
rm -f "$FS/btrfs/repo/8g.img"
fi

# Checksums on ext4: the import hashes in the same pass.
if want checksum; then
use ext4
A=$FS/ext4/repo/a.img
sha=$(sha256sum < "$A" | cut -c1-64)
compare "import --checksum sha256" "$AIMCTL image import a.img s --checksum sha256:$sha" \
        "cp, then sha256sum" "cp --sparse=auto $A $FS/ext4/ds/c && sha256sum $FS/ext4/ds/c" \
        "rm -f $FS/ext4/ds/s $FS/ext4/ds/c"
compare "import --checksum sha256" "$AIMCTL image import a.img s --checksum sha256:$sha" \
        "openssl dgst -sha256 (source only: the floor)" "openssl dgst -sha256 $A" \
        "rm -f $FS/ext4/ds/s"
compare "import --checksum md5" "$AIMCTL image import a.img s --checksum md5:$(md5sum < "$A" | cut -c1-32)" \
        "openssl dgst -md5 (the floor)" "openssl dgst -md5 $A" \
        "rm -f $FS/ext4/ds/s"
fi

# Compressed: a 1 GiB disk with 512 MiB of compressible data (system libraries) and 512 MiB of zeros.
want compressed || exit 0
D=$FS/ext4/repo/disk.raw
{ find /usr/lib /usr/bin -type f -size +100k -print0 | xargs -0 cat 2>/dev/null || true; } | head -c 512M > "$D" || true
truncate -s 1G "$D"
gzip -1 -c < "$D" > "$D.gz"
xz -T2 -1 -c < "$D" > "$D.xz"
zstd -q -3 -c < "$D" > "$D.zst"
for z in gz xz zst; do
        tool=$(case $z in gz) echo gzip;; xz) echo xz;; zst) echo zstd;; esac)
        compare "import disk.raw.$z" "$AIMCTL image import disk.raw.$z z" \
                "bsdcat > file" "bsdcat $D.$z > $FS/ext4/ds/b" \
                "rm -f $FS/ext4/ds/z $FS/ext4/ds/b"
        compare "import disk.raw.$z" "$AIMCTL image import disk.raw.$z z" \
                "$tool -dc > file" "$tool -dc < $D.$z > $FS/ext4/ds/b" \
                "rm -f $FS/ext4/ds/z $FS/ext4/ds/b"
done
