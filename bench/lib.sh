#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lib.sh — what the benchmarks share. Sourced by bench/*.sh from the top of the source tree.

# --- timing side by side (images.sh, pull.sh; each script has its own fmt for the figures) ---

# usec CMD...: wall time of CMD in microseconds.
usec() {
        local s e
        s=$(date +%s%N)
        "$@" >/dev/null
        e=$(date +%s%N)
        echo $(((e - s) / 1000))
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }

# compare LABEL_A "CMD_A" LABEL_B "CMD_B" PREP: interleaved runs, PREP (untimed) before each.
compare() {
        local la=$1 ca=$2 lb=$3 cb=$4 prep=$5 i ma mb
        : > "$AIM_TMP/a"; : > "$AIM_TMP/b"
        for i in $(seq "$N"); do
                eval "$prep"; sync; usec bash -c "$ca" >> "$AIM_TMP/a"
                eval "$prep"; sync; usec bash -c "$cb" >> "$AIM_TMP/b"
        done
        ma=$(median < "$AIM_TMP/a"); mb=$(median < "$AIM_TMP/b")
        echo "| $la | $(fmt "$ma") | $lb | $(fmt "$mb") | $(ratio "$ma" "$mb") |"
}

# --- daemons on private buses (machines.sh, machines-define.sh, broker.sh) ---

# bench_need BIN...: the built programs, or how to build them.
bench_need() {
        local b
        for b in "$@"; do
                [ -x "$b" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
        done
}

# bench_args NAME ROUNDS N [BUILD_DIR [ROUNDS [N]]]: the daemon benchmarks' arguments into $build,
# $rounds and $n (ROUNDS and N unless given), and $bench (BUILD_DIR/bench/NAME) and $aimd, built.
bench_args() {
        build=${4:-build}
        rounds=${5:-$2}
        n=${6:-$3}
        bench=$build/bench/$1
        aimd=$build/daemon/aimd
        bench_need "$bench" "$aimd"
}

# bench_tmp: a scratch directory $T, removed on exit after every process in pids[] is stopped.
bench_tmp() {
        T=$(mktemp -d /tmp/aim-bench.XXXXXX)
        pids=()
        trap bench_cleanup EXIT
}
bench_cleanup() {
        local p
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$T"
}

# start_bus NAME [TYPE]: a permissive private bus at $T/NAME.sock (the benchmarks measure the
# services, not bus policy); TYPE is session unless given.
start_bus() {
        cat > "$T/$1.conf" <<EOT
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>${2:-session}</type><listen>unix:path=$T/$1.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
EOT
        dbus-daemon --config-file="$T/$1.conf" --nofork --nopidfile &
        pids+=($!)
        until [ -S "$T/$1.sock" ]; do sleep 0.05; done
}
has_name() { busctl --address="$1" call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "$2" 2>/dev/null | grep -q true; }
aimd_connected() { [ "$(busctl --address="$A" get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected 2>/dev/null)" = "b true" ]; }
wait_until() { local i; for i in $(seq 600); do "$@" && return 0; sleep 0.05; done; echo "timed out: $*" >&2; exit 1; }
