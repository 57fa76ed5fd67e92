#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# network-bench.sh — create then delete N VLAN+bridge pairs inside User-Mode Linux (real 802.1Q):
# aimd over D-Bus (root, and a non-root caller that polkitd authorizes) vs one `ip` process per step
# (as AIM did with vconfig/brctl/ifconfig) vs `ip -force -batch` (one process). All methods run
# side by side in the same UML boot, REPEAT times, and each run checks the kernel is clean after it.
#
# Usage: bench/network-bench.sh [BUILDDIR] — env: COUNTS="100 1000 4094", REPEAT=2, EXEC_MAX=100,
# NO_IPV6=1 (no IPv6 on new links: without it every link that comes up starts DAD/MLD timers, a
# background load in the single-CPU UML that grows with the number of links, for every method alike).
# CPU columns: seconds of CPU used during the run by the client (ip, vlan-bench), aimd and dbus-daemon.
# MODE=apply: instead, per N: ip -force -batch, one Network.Apply of N creates then one of N deletes
# (root, and non-root through polkitd), and N creates in one Apply with a checkpoint taken back by
# Checkpoint.Rollback (its "delete" time is the rollback).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${AIM_IN_UML:-}" ]; then
        build=$(realpath "${1:-build}")
        export AIMD=$build/daemon/aimd AIMCTL=$build/client/aimctl AIM_SRCDIR=$PWD AIM_BUILDDIR=$build
        export VLAN_BENCH=$build/bench/vlan-bench AIM_IN_UML=1
        exec bash tests/integration/uml-run.sh --mem=2G --timeout=3000 bash bench/network-bench.sh "$@"
fi
. tests/integration/lib.sh
AIM_DAEMON_ARGS=--log-level=debug      # the only debug lines: lost link notifications, rollbacks
aim_enter_mount_ns "$@"
aim_setup
aim_start_polkitd '
polkit.addRule(function(action, subject) {
        if (action.id == "org.abiquo.node1.manage-network" && subject.user == "daemon")
                return polkit.Result.YES;
});'
COUNTS=${COUNTS:-100 1000 4094}
REPEAT=${REPEAT:-2}
EXEC_MAX=${EXEC_MAX:-100}

if [ -n "${NO_IPV6:-}" ]; then
        sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
fi
ip link add d0 type dummy
ip link set d0 up
aim_activate
pid=$(daemon_pid)
baseline=$(ip -o link | wc -l)

clean() { [ "$(ip -o link | wc -l)" = "$baseline" ] || fail "links left behind after $1"; }
report() { printf '%-34s %5d %9.1f pairs/s  %s\n' "$1" "$2" "$3" "${4:-}"; }
# cpu PID: CPU seconds (user + system) used so far.
cpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
cpu_mark() { cpu_daemon=$(cpu "$pid"); cpu_bus=$(cpu "$AIM_BUS_PID"); cpu_self=$(awk '{ printf "%.2f", ($16 + $17) / 100 }' /proc/$$/stat); }
cpu_since() {
        python3 -c 'import sys; a = [float(x) for x in sys.argv[1:]]; print("cpu client %.2f aimd %.2f dbus %.2f" % (a[3] - a[0], a[4] - a[1], a[5] - a[2]))' \
                "$cpu_self" "$cpu_daemon" "$cpu_bus" "$(awk '{ printf "%.2f", ($16 + $17) / 100 }' /proc/$$/stat)" "$(cpu "$pid")" "$(cpu "$AIM_BUS_PID")"
}
elapsed() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }

steps_create() { local t; for ((t = 1; t <= $1; t++)); do
        echo "link add link d0 name d0.$t type vlan id $t"
        echo "link add br$t type bridge"
        echo "link set d0.$t master br$t up"
        echo "link set br$t up"
done; }
steps_delete() { local t; for ((t = 1; t <= $1; t++)); do echo "link del d0.$t"; echo "link del br$t"; done; }

run_batch() {
        local n=$1 t0 t1
        steps_create "$n" > /tmp/create.batch
        steps_delete "$n" > /tmp/delete.batch
        cpu_mark
        t0=$EPOCHREALTIME
        ip -force -batch /tmp/create.batch
        ip -force -batch /tmp/delete.batch
        t1=$EPOCHREALTIME
        clean "ip -batch"
        report "ip -force -batch" "$n" "$(python3 -c "print($n / ($t1 - $t0))")" "$(cpu_since)"
}

run_exec() {
        local n=$1 t0 t1 line
        steps_create "$n" > /tmp/create.batch
        steps_delete "$n" > /tmp/delete.batch
        cpu_mark
        t0=$EPOCHREALTIME
        while read -r line; do ip $line; done < /tmp/create.batch
        while read -r line; do ip $line; done < /tmp/delete.batch
        t1=$EPOCHREALTIME
        clean "exec"
        report "one ip process per step" "$n" "$(python3 -c "print($n / ($t1 - $t0))")" "$(cpu_since)"
}

# run_bench USER N ARGS...: one vlan-bench run of N pairs as USER (empty: root), ARGS saying how
# (--window=W, or --mode=apply|rollback, whose delete phase is the Apply of deletes or the rollback).
run_bench() {
        local user=$1 n=$2 out; shift 2
        cpu_mark
        out=$(${user:+as_user "$user"} "$VLAN_BENCH" --count="$n" --pid="$pid" "$@")
        clean "vlan-bench $*"
        usage=$(cpu_since)
        report "aimd ${user:-root} ${*#--}" "$n" "$(sed -n 's/.*pairs_per_s=\([0-9.]*\).*/\1/p' <<<"$out")" \
                "$(sed -n 's/.*create_s=\([0-9.]*\) delete_s=\([0-9.]*\).*rss_before_kib=\([0-9-]*\) rss_after_kib=\([0-9-]*\).*/create \1 s, delete \2 s, RSS \3 -> \4 KiB/p' <<<"$out"), $usage"
}

echo "UML $(uname -r), $(nproc) CPU; daemon pid $pid, RSS $(awk '/VmRSS/ {print $2}' /proc/$pid/status) KiB at start"
if [ "${MODE:-}" = apply ]; then
        for ((rep = 1; rep <= REPEAT; rep++)); do
                echo "--- run $rep"
                for n in $COUNTS; do
                        run_batch "$n"
                        run_bench "" "$n" --mode=apply
                        run_bench daemon "$n" --mode=apply
                        run_bench "" "$n" --mode=rollback
                done
        done
        exit 0
fi
for ((rep = 1; rep <= REPEAT; rep++)); do
        echo "--- run $rep"
        for n in $COUNTS; do
                run_batch "$n"
                run_bench "" "$n" --window=1
                run_bench "" "$n" --window=16
                [ "$n" -le 1000 ] && run_bench daemon "$n" --window=16
                [ "$n" -le "$EXEC_MAX" ] && run_exec "$n"
        done
done
echo "daemon RSS at the end: $(awk '/VmRSS/ {print $2}' /proc/$pid/status) KiB"
echo "link notification overflows (full re-dumps): $(grep -c 'Link notifications were lost' "$AIM_TMP/bus.log" || true)"
