#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-broker-faults.sh — the outbox under faults, against a real redis-server: Redis killed (-9) in
# the middle of a burst of 3 000 events and restarted from its AOF (every seq there afterwards, in
# order, duplicates only for what was in flight); Redis paused (CLIENT PAUSE) while D-Bus calls are
# answered; a backlog overflow, where Dropped counts exactly what is missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker-redis.sh"

: "${BROKER_BURST:?}"
# Sized by count: Redis is killed once a fifth of the burst is in the stream, and the rest must
# outlast the kill and the restart. broker-burst made 524 events/s on a quiet machine under ASan and
# 56-109 beside a CPU hog (r24-r31), so the 2 400 after the kill take 5-43 s; the kill and restart 1-2.
BURST=${BROKER_TEST_BURST:-3000}
stream() { stream_fields r1 aim:events "$@"; }

aim_setup
redis_start r1 --appendonly yes
broker_config "redisHost=$AIM_TMP/r1.sock" nodeName=node-f
aim_activate
wait_for 20 broker_connected || fail "the broker did not connect: $(bprop LastError)"
wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")

# ---- Redis killed in the middle of a burst, restarted from its AOF ----
"$BROKER_BURST" "$path" "$BURST" > "$AIM_TMP/burst.out" 2>&1 &
burst=$!
wait_for 120 bash -c "[ \$(redis-cli -s '$AIM_TMP/r1.sock' xlen aim:events) -ge $((BURST / 5)) ]" \
        || fail "the burst did not reach the stream"
redis_stop r1 KILL
wait_for 20 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Connected)" = "b false" ]' \
        || fail "the broker did not notice that Redis died"
# Events keep coming while Redis is away: the kill is really in the middle.
wait_for 60 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" != "u 0" ]' \
        || fail "no event waited while Redis was down"
redis_start r1 --appendonly yes
wait "$burst" || fail "the burst failed: $(cat "$AIM_TMP/burst.out")"
echo "# burst: $(cat "$AIM_TMP/burst.out")"
wait_for 60 broker_connected || fail "the broker did not reconnect: $(bprop LastError)"
wait_for 120 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" = "u 0" ]' \
        || fail "the backlog did not drain: $(bprop Backlog)"
stream seq > "$AIM_TMP/seqs"
# On failure, redis-server's log too: a run once had 237 seqs missing after a second "connection
# lost" right after the reconnect (not seen again in 9 runs).
python3 - "$AIM_TMP/seqs" "$BURST" <<'PY' || fail "the stream after the kill is not every seq in order; redis: $(tail -n 30 "$AIM_TMP/r1/redis.log")"
import sys
seqs = [int(l) for l in open(sys.argv[1])]
burst = int(sys.argv[2])
first, seen, dups, descents = seqs[0], set(), 0, 0
for i, s in enumerate(seqs):
    if s in seen:
        dups += 1
    seen.add(s)
    if i and s < seqs[i - 1]:
        descents += 1
want = set(range(1, max(seqs) + 1))
missing = sorted(want - seen)
print("# entries=%d distinct=%d duplicates=%d resend points=%d missing=%d" % (len(seqs), len(seen), dups, descents, len(missing)))
assert not missing, "missing seqs: %s" % missing[:20]
assert max(seqs) >= burst, "only %d events" % max(seqs)
assert descents <= 1, "%d points where seq goes back: more than the one reconnect" % descents
assert dups <= 1024, "%d duplicates: more than can be in flight" % dups
# After the resend point the order is strict again.
PY
assert_eq "$(bprop Dropped)" "t 0" "Dropped"
grep -q "Redis at $AIM_TMP/r1.sock: connection lost" "$AIM_TMP/bus.log" || fail "no log line for the lost connection"
ok "Redis killed during a burst of $BURST events and restarted from its AOF: every seq there, in order, duplicates only for what was in flight"

# ---- CLIENT PAUSE: D-Bus calls are answered while Redis does not answer ----
published=$(bprop Published | awk '{print $2}')
# Long enough to outlast the checks on a loaded machine; lifted by CLIENT UNPAUSE once they are done.
# WRITE, not ALL: XADD waits all the same, and in ALL mode the UNPAUSE itself waited out the pause.
rcli r1 client pause 60000 WRITE >/dev/null
gdbus_call "$path" org.abiquo.Node1.Machine.Destroy >/dev/null || fail "Destroy during the pause"
gdbus_call "$path" org.abiquo.Node1.Machine.Start >/dev/null || fail "Start during the pause"
prop org.abiquo.Node1 Version >/dev/null || fail "a property read during the pause"
# The calls were answered while the pause held: their events are not acknowledged yet.
assert_eq "$(bprop Published)" "t $published" "Published while Redis is paused"
assert_eq "$(bprop Backlog)" "u 2" "Backlog during the pause"
assert_eq "$(bprop Connected)" "b true" "Connected during the pause"
rcli r1 client unpause >/dev/null
wait_for 60 bash -c "[ \"\$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Published)\" = 't $((published + 2))' ]" \
        || fail "the paused events did not go out after the pause"
assert_eq "$(stream event | tail -n 2 | tr '\n' ' ')" "stopped started " "the paused events, in order"
ok "CLIENT PAUSE: Destroy, Start and a property read answered while Redis was paused; the events went out after it"

# ---- a backlog overflow ----
aim_stop_daemon
broker_config redisBacklog=100
aim_activate
wait_for 20 broker_connected || fail "the broker did not connect: $(bprop LastError)"
wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"
path=$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")
wait_for 20 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" = "u 0" ]' \
        || fail "the backlog did not drain"
before=$(stream seq | sort -n | tail -n 1)
redis_stop r1
wait_for 20 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Connected)" = "b false" ]' \
        || fail "the broker did not notice that Redis stopped"
"$BROKER_BURST" "$path" 300 >/dev/null || fail "the burst failed"
assert_eq "$(bprop Backlog)" "u 100" "Backlog at its limit"
dropped=$(bprop Dropped | awk '{print $2}')
assert_eq "$dropped" 200 "Dropped"
redis_start r1 --appendonly yes
wait_for 60 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" = "u 0" ]' \
        || fail "the backlog did not drain: $(bprop LastError)"
after=$(stream seq | awk -v b="$before" '$1 > b')
assert_eq "$(wc -l <<<"$after")" 100 "entries after the overflow"
assert_eq "$(tr '\n' ' ' <<<"$after")" "$(seq $((before + 201)) $((before + 300)) | tr '\n' ' ')" "the newest 100, in order"
assert_eq "$(grep -c "the most redisBacklog keeps: dropping the oldest" "$AIM_TMP/bus.log")" 1 "warnings for one outage"
ok "backlog overflow: Dropped = $dropped = the seqs missing, the newest 100 arrive in order, one warning"
