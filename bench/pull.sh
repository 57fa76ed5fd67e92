#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# pull.sh — Images.Pull over loopback against what users would otherwise run (curl, then a
# checksum; curl into gzip), and what durable publishing costs an import (against cp && sync).
# Side by side in one run, interleaved, median of N. The server is tests/integration/http-server.py
# (sendfile). Usage (root): bench/pull.sh [BUILDDIR] — prints Markdown rows for bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
export AIMD=$build/daemon/aimd AIMD_WORKER=$build/daemon/aimd-worker AIMCTL=$build/client/aimctl AIM_SRCDIR=$PWD AIM_BUILDDIR=$build
N=${N:-3}
. tests/integration/lib.sh
. bench/lib.sh
aim_setup
aim_activate
W=$AIM_TMP/www
DS=$AIM_TMP/datastore
mkdir -p "$W"

# The brief's image: 1 GiB apparent, 512 MiB of data (16 MiB runs of random data, 16 MiB holes).
truncate -s 1G "$W/disk.img"
for i in $(seq 0 31); do
        dd if=/dev/urandom of="$W/disk.img" bs=16M count=1 seek=$((i * 2)) conv=notrunc status=none
done
# A compressible one for gzip: 512 MiB of system libraries, then 512 MiB of zeros.
{ find /usr/lib /usr/bin -type f -size +100k -print0 | xargs -0 cat 2>/dev/null || true; } | head -c 512M > "$W/lib.img" || true
truncate -s 1G "$W/lib.img"
gzip -1 -c < "$W/lib.img" > "$W/lib.img.gz"
sha=$(openssl dgst -sha256 -r "$W/disk.img" | cut -c1-64)
lsha=$(openssl dgst -sha256 -r "$W/lib.img" | cut -c1-64)
aim_start_http www "$W"
H="http://127.0.0.1:$AIM_HTTP_PORT"
cat "$W"/* > /dev/null

fmt() { awk -v u="$1" 'BEGIN { printf "%.2f s", u / 1000000 }'; }

echo "| aimd | time | reference | time | ratio |"
echo "|---|---|---|---|---|"
clean="rm -f $DS/p $AIM_TMP/f"
compare "pull --checksum sha256, 1 GiB (512 MiB data)" "$AIMCTL image pull $H/disk.img p --checksum sha256:$sha --no-sync" \
        "curl -o f && sha256sum f" "curl -s -o $AIM_TMP/f $H/disk.img && sha256sum $AIM_TMP/f" "$clean"
compare "pull --checksum sha256" "$AIMCTL image pull $H/disk.img p --checksum sha256:$sha --no-sync" \
        "curl -s -o /dev/null (floor)" "curl -s -o /dev/null $H/disk.img" "$clean"
compare "pull --checksum sha256" "$AIMCTL image pull $H/disk.img p --checksum sha256:$sha --no-sync" \
        "openssl dgst -sha256 (floor)" "openssl dgst -sha256 $W/disk.img" "$clean"
compare "pull lib.img.gz --checksum sha256" "$AIMCTL image pull $H/lib.img.gz p --checksum sha256:$lsha --no-sync" \
        "curl | gzip -dc > f" "curl -s $H/lib.img.gz | gzip -dc > $AIM_TMP/f" "$clean"

# Durability: an import with sync against cp && sync, without against cp (both of the 1 GiB image).
ln -f "$W/disk.img" "$AIM_TMP/repository/disk.img" 2>/dev/null || cp --sparse=always "$W/disk.img" "$AIM_TMP/repository/disk.img"
compare "import (sync)" "$AIMCTL image import disk.img p" \
        "cp && sync" "cp --sparse=auto $AIM_TMP/repository/disk.img $AIM_TMP/f && sync" "$clean"
compare "import --no-sync" "$AIMCTL image import disk.img p --no-sync" \
        "cp" "cp --sparse=auto $AIM_TMP/repository/disk.img $AIM_TMP/f" "$clean"
echo
echo "($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the end; N=$N)"
