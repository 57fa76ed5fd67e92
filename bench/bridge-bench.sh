#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bridge-bench.sh — on the host kernel, in a network namespace: N bridges made, brought up, given a
# veth port and deleted, by network.c (bridge-bench, the daemon's netlink path without D-Bus) vs one
# `ip` process per step vs `ip -force -batch`. Side by side, REPEAT times.
# Usage: bench/bridge-bench.sh [BUILDDIR] — env: COUNTS="100 1000", REPEAT=3
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
if [ -z "${AIM_IN_NETNS:-}" ]; then
        AIM_IN_NETNS=1 exec unshare -n bash bench/bridge-bench.sh "$build"
fi
COUNTS=${COUNTS:-100 1000}
REPEAT=${REPEAT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rate() { python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2]))))" "$@"; }
veths() { local i; for ((i = 0; i < $1; i++)); do echo "link add vb$i type veth peer name vp$i"; done > "$tmp/veth"; ip -force -batch "$tmp/veth"; }
steps() {
        local i
        for ((i = 0; i < $1; i++)); do echo "link add br$i type bridge"; echo "link set br$i up"; echo "link set vb$i master br$i up"; done > "$tmp/create"
        for ((i = 0; i < $1; i++)); do echo "link del br$i"; done > "$tmp/delete"
}

ip link set lo up
for ((rep = 1; rep <= REPEAT; rep++)); do
        for n in $COUNTS; do
                veths "$n"
                steps "$n"
                t0=$EPOCHREALTIME; ip -force -batch "$tmp/create"; ip -force -batch "$tmp/delete"; t1=$EPOCHREALTIME
                printf '%-28s %5d %9s pairs/s\n' "ip -force -batch" "$n" "$(rate "$n" "$t0" "$t1")"
                out=$("$build/bench/bridge-bench" "$n")
                printf '%-28s %5d %9s pairs/s\n' "network.c (netlink, no D-Bus)" "$n" "$(sed -n 's/.*pairs_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
                if [ "$n" -le 100 ]; then
                        t0=$EPOCHREALTIME
                        while read -r l; do ip $l; done < "$tmp/create"
                        while read -r l; do ip $l; done < "$tmp/delete"
                        t1=$EPOCHREALTIME
                        printf '%-28s %5d %9s pairs/s\n' "one ip process per step" "$n" "$(rate "$n" "$t0" "$t1")"
                fi
                for ((i = 0; i < n; i++)); do echo "link del vb$i"; done > "$tmp/clean"
                ip -force -batch "$tmp/clean"
        done
done
