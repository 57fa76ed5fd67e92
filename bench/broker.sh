#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# broker.sh — the broker against the floor, on a redis-server of its own (Unix socket, no persistence):
# events/s from the hook to XADD acknowledged against a bare hiredis pipelining loop; the backlog's
# memory per event; Destroy → entry at an XREAD BLOCK consumer against Destroy → MachineEvent at a
# D-Bus subscriber (aimd on a private bus, test:///default). Usage: bench/broker.sh [BUILD_DIR] [ROUNDS] [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_args broker-bench 3 100000 "$@"
events=$n

bench_tmp

redis-server --port 0 --unixsocket "$T/redis.sock" --dir "$T" --save '' --appendonly no --logfile "$T/redis.log" &
pids+=($!)
until redis-cli -s "$T/redis.sock" ping >/dev/null 2>&1; do sleep 0.05; done

echo "# throughput, $events machine events per run, $rounds runs each, alternating"
for i in $(seq "$rounds"); do
        "$bench" floor "$T/redis.sock" "$events"
        "$bench" broker "$T/redis.sock" "$events" 2>/dev/null
done
"$bench" memory 100000 2>/dev/null

start_bus bus system
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus.sock
mkdir -p "$T/state"
printf '[monitor]\nuri = test:///default\nredisHost = %s\nnodeName = bench\n[rimp]\nrepository = %s\ndatastore = %s\n' \
        "$T/redis.sock" "$T" "$T" > "$T/aim.ini"
"$aimd" --bus="unix:path=$T/bus.sock" --config-file="$T/aim.ini" --state-dir="$T/state" --log-level=warning &
pids+=($!)
until [ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Connected 2>/dev/null)" = "b true" ]; do sleep 0.05; done
until [ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected 2>/dev/null)" = "b true" ]; do sleep 0.05; done
path=$(busctl --system call org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Machines GetMachine s test | awk '{print $2}' | tr -d '"')
echo "# latency, Destroy/Start on test:///default"
"$bench" latency "$T/redis.sock" "$path" 1000
