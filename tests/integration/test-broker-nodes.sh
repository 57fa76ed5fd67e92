#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-broker-nodes.sh — three nodes into one stream: three daemons, each with its own bus, its own
# test:///default and its own nodeName, publishing to one redis-server; `aimctl events` (and a
# follower on XREAD BLOCK started before them) shows every node's events, each node's seq in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker-redis.sh"

aim_setup
redis_start r1
broker_config "redisHost=$AIM_TMP/r1.sock" nodeName=node-1
aim_activate

# Nodes 2 and 3: a bus each (the same configuration, another socket) and a daemon started by hand.
NODE_PIDS=()
stop_nodes() { local p; for p in "${NODE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
aim_on_teardown stop_nodes
for n in 2 3; do
        mkdir -p "$AIM_TMP/node$n/state"
        sed "s|unix:path=$AIM_TMP/bus.sock|unix:path=$AIM_TMP/node$n/bus.sock|; s|<servicedir>.*</servicedir>||" \
                "$AIM_TMP/bus.conf" > "$AIM_TMP/node$n/bus.conf"
        dbus-daemon --config-file="$AIM_TMP/node$n/bus.conf" --nofork --nopidfile >"$AIM_TMP/node$n/bus.log" 2>&1 &
        NODE_PIDS+=($!)
        wait_for 10 test -S "$AIM_TMP/node$n/bus.sock" || fail "bus $n did not come up"
        sed "s/nodeName = node-1/nodeName = node-$n/" "$AIM_TMP/aim.ini" > "$AIM_TMP/node$n/aim.ini"
        "$AIMD" --bus="unix:path=$AIM_TMP/node$n/bus.sock" --config-file="$AIM_TMP/node$n/aim.ini" \
                --state-dir="$AIM_TMP/node$n/state" >"$AIM_TMP/node$n/aimd.log" 2>&1 &
        NODE_PIDS+=($!)
done
on_node() { local n=$1; shift; if [ "$n" = 1 ]; then "$@"; else DBUS_SYSTEM_BUS_ADDRESS="unix:path=$AIM_TMP/node$n/bus.sock" "$@"; fi; }
for n in 1 2 3; do
        wait_for 20 on_node $n broker_connected || fail "node $n did not connect to Redis"
        wait_for 20 on_node $n bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
                || fail "node $n did not connect to test:///default"
done

"$AIMCTL" events --follow --json --broker="$AIM_TMP/r1.sock" > "$AIM_TMP/follow.json" 2> "$AIM_TMP/follow.err" &
follower=$!
aim_on_teardown kill $follower
# Interleaved: the stream holds the three nodes mixed, each in its own order.
for m in Destroy Start Suspend Resume; do
        for n in 1 2 3; do
                path=$(on_node $n gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
                on_node $n gdbus_call "$path" org.abiquo.Node1.Machine.$m >/dev/null || fail "$m on node $n"
        done
done
wait_for 30 bash -c "[ \$(redis-cli -s '$AIM_TMP/r1.sock' xlen aim:events) -ge 12 ]" || fail "12 entries expected"
out=$("$AIMCTL" events --broker="$AIM_TMP/r1.sock")
for n in 1 2 3; do
        mine=$(awk -v n="node-$n" '$2 == n' <<<"$out")
        assert_eq "$(awk '{print $3}' <<<"$mine" | tr '\n' ' ')" "1 2 3 4 " "node-$n's seqs"
        assert_eq "$(grep -o 'event=[a-z]*' <<<"$mine" | tr '\n' ' ')" "event=stopped event=started event=suspended event=resumed " \
                "node-$n's events"
done
assert_not_contains "$out" "gap" "aimctl events"
assert_eq "$(awk '{print $2}' <<<"$out" | head -n 3 | tr '\n' ' ')" "node-1 node-2 node-3 " "the stream's order"
ok "three daemons, one stream: aimctl events shows every node, each node's seq 1..4 in order"

wait_for 30 bash -c "[ \$(wc -l < '$AIM_TMP/follow.json') -ge 12 ]" || fail "the follower saw $(wc -l < "$AIM_TMP/follow.json") entries"
python3 - "$AIM_TMP/follow.json" <<'PY' || fail "the follower's view differs"
import json, sys
seqs = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    seqs.setdefault(e["node"], []).append(e["seq"])
assert seqs == {"node-1": [1, 2, 3, 4], "node-2": [1, 2, 3, 4], "node-3": [1, 2, 3, 4]}, seqs
PY
ok "aimctl events --follow (XREAD BLOCK), started before the events: all twelve, as JSON"
