#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# machines.sh — aimd's machines against libvirt-dbus, side by side on libvirt's test driver, each
# daemon on its own private bus. Usage: bench/machines.sh [BUILD_DIR] [ROUNDS] [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args machines-bench 3 10000 "$@"
events=$n
ndom=1000
if ! [ -x /usr/sbin/libvirt-dbus ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvirt-dbus
fi

bench_tmp

# VmRSS counts the shared libraries' pages too (libvirt, glib, gnutls, libxml2: ~17 MiB in either
# daemon); RssAnon is the memory the process itself owns.
rss_kib() { awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r " anon_kib=" a }' "/proc/$1/status"; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }

start_aimd() {
        printf '[monitor]\nuri = %s\n[rimp]\nrepository = %s\ndatastore = %s\n' "$1" "$T" "$T" > "$T/aim.ini"
        "$aimd" --bus="$A" --config-file="$T/aim.ini" --state-dir="$T/state" --log-level=warning &
        AIMD_PID=$!
        pids+=($AIMD_PID)
        wait_until aimd_connected
}

start_bus aimd
start_bus lvd
A=unix:path=$T/aimd.sock
L=unix:path=$T/lvd.sock

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $rounds rounds of $events events each"
start_aimd test:///default
sleep 0.5
echo "aimd idle (test:///default connected): rss_kib=$(rss_kib $AIMD_PID) threads=$(threads $AIMD_PID)"

DBUS_SESSION_BUS_ADDRESS=$L /usr/sbin/libvirt-dbus --session &
LVD_PID=$!
pids+=($LVD_PID)
wait_until has_name "$L" org.libvirt
sleep 0.5
echo "libvirt-dbus idle (no connection yet): rss_kib=$(rss_kib $LVD_PID) threads=$(threads $LVD_PID)"
busctl --address="$L" call org.libvirt /org/libvirt/Test org.libvirt.Connect ListDomains u 0 >/dev/null
sleep 0.5
echo "libvirt-dbus with test:///default open: rss_kib=$(rss_kib $LVD_PID) threads=$(threads $LVD_PID)"

for r in $(seq "$rounds"); do
        echo "round $r aimd:         $("$bench" aimd "$A" events "$events")"
        echo "round $r libvirt-dbus: $("$bench" libvirt-dbus "$L" events "$events")"
done
echo "aimd after the event rounds: rss_kib=$(rss_kib $AIMD_PID)"
echo "libvirt-dbus after the event rounds: rss_kib=$(rss_kib $LVD_PID)"

# 1000 more domains for each: libvirt-dbus defines them in its own test:///default connection;
# aimd gets the same domains (plus "test") from a test:///<file> node.
"$bench" libvirt-dbus "$L" define "$ndom" >/dev/null
python3 - "$T/node.xml" "$ndom" <<'PY'
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("<node>\n<domain type='test'><name>test</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n")
    for i in range(n):
        f.write(f"<domain type='test'><name>vm{i:04d}</name><uuid>00000000-0000-0000-0000-{i + 1:012x}</uuid>"
                "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                f"<devices><disk type='file' device='disk'><source file='/images/vm{i:04d}.img'/>"
                "<target dev='vda'/></disk></devices></domain>\n")
    f.write("</node>\n")
PY
kill "$AIMD_PID"; wait "$AIMD_PID" 2>/dev/null || true
start_aimd "test://$T/node.xml"
sleep 0.5
for r in $(seq "$rounds"); do
        echo "round $r aimd ListMachines:         $("$bench" aimd "$A" list 300)"
        echo "round $r aimd GetManagedObjects:    $("$bench" aimd "$A" objects 100)"
        echo "round $r libvirt-dbus ListDomains:  $("$bench" libvirt-dbus "$L" list 300)"
done
echo "aimd with $((ndom + 1)) machine objects: rss_kib=$(rss_kib $AIMD_PID) threads=$(threads $AIMD_PID)"
echo "libvirt-dbus with $((ndom + 1)) domains: rss_kib=$(rss_kib $LVD_PID) threads=$(threads $LVD_PID)"
