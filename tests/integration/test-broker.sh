#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-broker.sh — the event stream to a real redis-server: every MachineEvent and JobRemoved in the
# stream with its fields and seq 1, 2, 3…; the daemon restarted continues the numbering; Redis down
# when the daemon starts: D-Bus is served and the backlog goes out once Redis appears; what waits at a
# clean stop goes out after the next start, in order, with its seq.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker-redis.sh"

require_cmd virsh python3
aim_setup
redis_start r1
broker_config "redisHost=$AIM_TMP/r1.sock" nodeName=node-a redisStream=aim:events
echo 'disk image' > "$AIM_TMP/repository/a.img"
aim_activate
wait_for 20 broker_connected || fail "the broker did not connect: $(bprop LastError)"
assert_eq "$(bprop Address)" "s \"$AIM_TMP/r1.sock\"" "Address"
check_introspection /org/abiquo/Node1
ok "the broker connects to Redis over a Unix socket; org.abiquo.Node1.Broker equals its XML"

wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"
uuid=$(virsh -c test:///default domuuid test)
uuid=${uuid%%$'\n'*}
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
base=$(stream_fields r1 aim:events seq | wc -l)     # whatever the resync at start published
for m in Destroy Start Suspend Resume; do
        gdbus_call "$path" org.abiquo.Node1.Machine.$m >/dev/null || fail "$m failed"
done
wait_for 20 bash -c "[ \$(python3 '$AIM_SRCDIR/tests/integration/broker-stream.py' '$AIM_TMP/r1.sock' aim:events seq | wc -l) -ge $((base + 4)) ]" \
        || fail "4 machine events expected in the stream: $(stream_fields r1 aim:events kind event)"
assert_eq "$(stream_fields r1 aim:events node kind event detail uuid name | tail -n 4)" \
"node-a machine stopped destroyed $uuid test
node-a machine started booted $uuid test
node-a machine suspended paused $uuid test
node-a machine resumed unpaused $uuid test" "machine entries"
ok "Destroy, Start, Suspend, Resume: four machine entries with node, kind, event, detail, uuid, name"

"$AIMCTL" image import a.img a >/dev/null || fail "import failed"
if "$AIMCTL" image import missing.img b >/dev/null 2>&1; then fail "importing a missing file worked"; fi
wait_for 20 bash -c "python3 '$AIM_SRCDIR/tests/integration/broker-stream.py' '$AIM_TMP/r1.sock' aim:events kind | grep -q job" \
        || fail "no job entry"
jobs=$(stream_fields r1 aim:events kind type result source target | grep '^job')
assert_contains "$jobs" "job import done a.img a" "the finished import"
ok "JobRemoved: a job entry with id, type, result, message, source, target"

seqs() { stream_fields r1 aim:events seq; }
assert_eq "$(seqs | tr '\n' ' ')" "$(seq 1 "$(seqs | wc -l)" | tr '\n' ' ')" "seq"
times=$(stream_fields r1 aim:events time)
assert_eq "$(sort -n <<<"$times")" "$times" "time in order"
now=$(date +%s%6N)
[ $(( now - $(tail -n 1 <<<"$times") )) -lt 600000000 ] || fail "time is not µs since the epoch: $(tail -n 1 <<<"$times")"
assert_eq "$(bprop Published)" "t $(seqs | wc -l)" "Published"
assert_eq "$(bprop Backlog)" "u 0" "Backlog"
assert_eq "$(bprop Dropped)" "t 0" "Dropped"
ok "seq runs 1, 2, 3… with no gap, time in µs since the epoch; Published counts the entries"

last=$(seqs | tail -n 1)
aim_stop_daemon
aim_activate
wait_for 20 broker_connected || fail "the broker did not reconnect after a restart"
gdbus_call "$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")" \
        org.abiquo.Node1.Machine.Destroy >/dev/null || fail "Destroy after the restart"
wait_for 20 bash -c "[ \"\$(python3 '$AIM_SRCDIR/tests/integration/broker-stream.py' '$AIM_TMP/r1.sock' aim:events event | tail -n 1)\" = stopped ]" \
        || fail "no entry after the restart"
assert_eq "$(seqs | tr '\n' ' ')" "$(seq 1 "$(seqs | wc -l)" | tr '\n' ' ')" "seq across the restart"
[ "$(seqs | wc -l)" -gt "$last" ] || fail "nothing published after the restart"
ok "the daemon restarted: seq continues where it was ($last → $(seqs | tail -n 1)), no gap"

out=$("$AIMCTL" events --broker="$AIM_TMP/r1.sock")
assert_eq "$(wc -l <<<"$out")" "$(seqs | wc -l)" "aimctl events: one line per entry"
assert_contains "$(head -n 1 <<<"$out")" " node-a 1 " "aimctl events"
assert_contains "$out" "machine event=stopped detail=destroyed uuid=$uuid name=test" "aimctl events"
assert_contains "$out" "job id=" "aimctl events"
[[ "$(head -n 1 <<<"$out")" =~ ^20[0-9-]+T[0-9:]+\.[0-9]{6}Z\  ]] || fail "aimctl events: no ISO time: $(head -n 1 <<<"$out")"
assert_eq "$("$AIMCTL" events)" "$out" "aimctl events at the daemon's own Address"
json=$("$AIMCTL" events --json --since=-2 --broker="$AIM_TMP/r1.sock")
assert_eq "$(wc -l <<<"$json")" 2 "--since=-2"
python3 -c 'import json, sys; [json.loads(l) for l in sys.stdin]' <<<"$json" || fail "--json is not JSON lines: $json"
assert_contains "$(tail -n 1 <<<"$json")" "\"node\":\"node-a\",\"seq\":$(seqs | tail -n 1)," "--json"
assert_eq "$("$AIMCTL" events --node=elsewhere --broker="$AIM_TMP/r1.sock")" "" "--node filters"
# A hole in the stream (as a crash or MAXLEN trimming leaves): aimctl says so.
rcli r1 xdel aim:events "$(stream_fields r1 aim:events id | sed -n 3p)" >/dev/null
out=$("$AIMCTL" events --broker="$AIM_TMP/r1.sock")
assert_contains "$out" "-- node-a: gap: 1 event(s) missing, seq 3..3" "aimctl events on a gap"
busctl_out=$("$AIMCTL" broker)
assert_contains "$busctl_out" "Connected: true" "aimctl broker"
assert_contains "$busctl_out" "$AIM_TMP/r1.sock" "aimctl broker"
ok "aimctl events: one line per entry (time, node, seq, kind, fields), --json, --since=-N, --node, gaps; aimctl broker"

# Redis down when the daemon starts.
aim_stop_daemon
redis_stop r1
before=$(date +%s)
aim_activate
wait_for 10 bash -c '[ -n "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker LastError | grep -v "^s \"\"$")" ]' \
        || fail "no LastError while Redis is down"
assert_contains "$(bprop LastError)" "cannot connect" "LastError"
assert_eq "$(bprop Connected)" "b false" "Connected"
wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null || fail "Destroy while Redis is down"
gdbus_call "$path" org.abiquo.Node1.Machine.Start >/dev/null || fail "Start while Redis is down"
backlog=$(bprop Backlog | awk '{print $2}')
[ "$backlog" -ge 2 ] || fail "Backlog $backlog while Redis is down"
grep -q "Redis at $AIM_TMP/r1.sock: cannot connect" "$AIM_TMP/bus.log" || fail "no log line for the refused connection"
ok "Redis down at start: the daemon serves D-Bus, $backlog event(s) wait, LastError and the log say why"
redis_start r1
wait_for 30 broker_connected || fail "the broker did not connect once Redis appeared: $(bprop LastError)"
wait_for 20 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" = "u 0" ]' \
        || fail "the backlog was not published"
assert_eq "$(stream_fields r1 aim:events event | tail -n 2 | tr '\n' ' ')" "stopped started " "the backlog in order"
assert_eq "$(bprop LastError)" 's ""' "LastError once connected"
ok "once Redis appears the backlog goes out in order (Redis without persistence here: the stream starts anew)"

# A clean stop while Redis is down: the backlog waits in the state directory for the next start.
last=$(stream_fields r1 aim:events seq | tail -n 1)
redis_stop r1
wait_for 20 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Connected)" = "b false" ]' \
        || fail "the broker did not notice Redis going"
gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null || fail "Destroy while Redis is down"
gdbus_call "$path" org.abiquo.Node1.Machine.Start >/dev/null || fail "Start while Redis is down"
wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog | cut -d" " -f2)" -ge 2 ]' \
        || fail "Backlog $(bprop Backlog) while Redis is down"
aim_stop_daemon
grep -q "not yet stored by Redis are kept in broker-backlog" "$AIM_TMP/bus.log" || fail "no log line for the kept backlog"
aim_activate
wait_for 10 grep -q "the last stop left for Redis wait again" "$AIM_TMP/bus.log" || fail "the backlog was not loaded"
redis_start r1
wait_for 30 broker_connected || fail "the broker did not connect once Redis appeared: $(bprop LastError)"
wait_for 20 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" = "u 0" ]' \
        || fail "the backlog was not published"
got=$(stream_fields r1 aim:events seq)
assert_eq "$(head -n 1 <<<"$got")" "$((last + 1))" "the first seq after the clean stop"
assert_eq "$(tr '\n' ' ' <<<"$got")" "$(seq "$((last + 1))" "$(tail -n 1 <<<"$got")" | tr '\n' ' ')" "seq across the clean stop"
assert_eq "$(stream_fields r1 aim:events event | head -n 2 | tr '\n' ' ')" "stopped started " "the kept events first, in order"
ok "a clean stop while Redis is down: the backlog is kept, sent after the next start, every seq in order, no gap"

# A damaged backlog file is skipped: the daemon starts and publishes what comes next.
aim_stop_daemon
printf 'aimd-backlog 1\n\001\002' > "$AIM_TMP/state/broker-backlog"
aim_activate
wait_for 20 broker_connected || fail "the broker did not connect after a damaged backlog file"
grep -q "broker-backlog: not a backlog file, or cut short after 0 entries; its events are skipped" "$AIM_TMP/bus.log" \
        || fail "no log line for the damaged backlog file"
ok "a damaged backlog file is logged and skipped; the daemon starts"
