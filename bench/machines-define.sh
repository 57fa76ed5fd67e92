#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# machines-define.sh — DefineMachine against libvirt-dbus' DomainDefineXML of the same domain, on
# libvirt's test driver (in-process in both daemons), each daemon on its own private bus:
# define → reply and → defined event at a separate subscriber, then with 1000 definitions
# ListMachines / GetManagedObjects times and anonymous memory per machine.
# Usage: bench/machines-define.sh [BUILD_DIR] [ROUNDS] [DEFINES_PER_ROUND]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args machines-bench 4 250 "$@"
per=$n
if ! [ -x /usr/sbin/libvirt-dbus ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvirt-dbus >/dev/null
fi

bench_tmp

anon_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
# malloc_trim through neither daemon: both are measured as they stand after the same work.
settle() { sleep 1; }

start_bus aimd
start_bus lvd
A=unix:path=$T/aimd.sock
L=unix:path=$T/lvd.sock
printf '[monitor]\nuri = test:///default\n[rimp]\nrepository = %s\ndatastore = %s\n' "$T" "$T" > "$T/aim.ini"
"$aimd" --bus="$A" --config-file="$T/aim.ini" --state-dir="$T/state" --log-level=warning &
AIMD_PID=$!
pids+=($AIMD_PID)
wait_until aimd_connected
DBUS_SESSION_BUS_ADDRESS=$L /usr/sbin/libvirt-dbus --session &
LVD_PID=$!
pids+=($LVD_PID)
wait_until has_name "$L" org.libvirt
busctl --address="$L" call org.libvirt /org/libvirt/Test org.libvirt.Connect ListDomains u 0 >/dev/null
settle
a0=$(anon_kib $AIMD_PID); l0=$(anon_kib $LVD_PID)

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds of $per definitions each"
for r in $(seq "$rounds"); do
        # Distinct names per round: each round defines new domains.
        echo "round $r aimd DefineMachine:           $(BENCH_NAME_PREFIX=r$r "$bench" aimd "$A" definebench "$per")"
        echo "round $r libvirt-dbus DomainDefineXML: $(BENCH_NAME_PREFIX=r$r "$bench" libvirt-dbus "$L" definebench "$per")"
done
n=$((rounds * per))
settle
a1=$(anon_kib $AIMD_PID); l1=$(anon_kib $LVD_PID)
for r in 1 2 3; do
        echo "round $r aimd ListMachines ($((n + 1))):        $("$bench" aimd "$A" list 200)"
        echo "round $r aimd GetManagedObjects ($((n + 1))):   $("$bench" aimd "$A" objects 50)"
        echo "round $r libvirt-dbus ListDomains ($((n + 1))): $("$bench" libvirt-dbus "$L" list 200)"
done
a2=$(anon_kib $AIMD_PID); l2=$(anon_kib $LVD_PID)
echo "aimd anon_kib: idle=$a0 after_${n}_defines=$a1 after_lists=$a2 per_machine_kib=$(awk -v a="$a0" -v b="$a1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')"
echo "libvirt-dbus anon_kib: idle=$l0 after_${n}_defines=$l1 after_lists=$l2 per_domain_kib=$(awk -v a="$l0" -v b="$l1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n }')"
