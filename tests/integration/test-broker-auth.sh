#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-broker-auth.sh — the broker over TCP to a real redis-server with ACL users: a host name
# resolved off the loop, AUTH user password; a wrong password, a user without XADD permission, an
# unknown host, a refused connection: the daemon keeps serving, LastError and the log say why, and
# once the cause is gone (the ACL fixed) the waiting events go out; aimctl events as an ACL user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker-redis.sh"

aim_setup
REDIS_PORT=$(free_port) redis_start r1
port=$(rcli r1 config get port | tail -n 1)
rcli r1 acl setuser aimd on '>s3cret' '~aim:*' '+xadd' '+ping' >/dev/null
rcli r1 acl setuser reader on '>s3cret' '~aim:*' '+@read' '+ping' >/dev/null
echo s3cret > "$AIM_TMP/password"
echo wrong > "$AIM_TMP/wrong"

# restart_with KEY=VALUE…: the daemon again, with these broker keys.
restart_with() {
        aim_stop_daemon
        aim_write_config
        broker_config nodeName=node-x "$@"
        aim_activate
}
# machine METHOD: a call on the test domain (running again after every restart: test:///default is per process).
machine() {
        wait_for 10 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
                || fail "the daemon did not connect to test:///default"
        gdbus_call "$(gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine test | sed -n "s/^(objectpath '\(.*\)',)$/\1/p")" \
                "org.abiquo.Node1.Machine.$1" >/dev/null || fail "$1 failed"
}
last_error_contains() { [[ "$(bprop LastError)" == *"$1"* ]]; }

restart_with redisHost=localhost "redisPort=$port" redisUser=aimd "redisPasswordFile=$AIM_TMP/password"
wait_for 20 broker_connected || fail "the broker did not connect: $(bprop LastError)"
assert_eq "$(bprop Address)" "s \"localhost:$port\"" "Address"
machine Destroy
wait_for 20 bash -c "[ \"\$(redis-cli -s '$AIM_TMP/r1.sock' xlen aim:events)\" = 1 ]" || fail "no entry"
ok "a host name (resolved off the loop), TCP, AUTH as an ACL user: the entry is in the stream"

out=$("$AIMCTL" events --broker="127.0.0.1:$port" --user=reader --password-file="$AIM_TMP/password") \
        || fail "aimctl events as reader failed"
assert_contains "$out" " node-x 1 machine event=stopped" "aimctl events as an ACL user"
if out=$("$AIMCTL" events --broker="127.0.0.1:$port" --user=reader --password-file="$AIM_TMP/wrong" 2>&1); then
        fail "aimctl events with a wrong password worked: $out"
fi
assert_contains "$out" "Redis refused AUTH as reader: WRONGPASS" "aimctl events, wrong password"
if out=$("$AIMCTL" events --broker="127.0.0.1:$port" --user=aimd --password-file="$AIM_TMP/password" 2>&1); then
        fail "aimctl events as a user without read permission worked: $out"
fi
assert_contains "$out" "NOPERM" "aimctl events, user without XRANGE"
if out=$("$AIMCTL" events --broker="127.0.0.1:$port" --user=reader 2>&1); then fail "--user without --password-file worked"; fi
assert_contains "$out" "--user needs --password-file" "aimctl events --user alone"
if out=$("$AIMCTL" events --broker="127.0.0.1:$port" --password-file="$AIM_TMP/none" 2>&1); then fail "a missing password file worked"; fi
assert_contains "$out" "cannot read the password file $AIM_TMP/none" "aimctl events, missing password file"
ok "aimctl events --user --password-file: reads as an ACL user; a wrong password, no permission, no file: a clear error"

restart_with redisHost=127.0.0.1 "redisPort=$port" redisUser=aimd "redisPasswordFile=$AIM_TMP/wrong"
wait_for 20 last_error_contains "refused" || fail "no LastError for a wrong password: $(bprop LastError)"
assert_contains "$(bprop LastError)" "authentication as aimd refused: WRONGPASS" "LastError"
assert_eq "$(bprop Connected)" "b false" "Connected"
machine Destroy
assert_eq "$(bprop Backlog)" "u 1" "Backlog"
grep -q "Redis at 127.0.0.1:$port: authentication as aimd refused: WRONGPASS" "$AIM_TMP/bus.log" || fail "no log line for WRONGPASS"
ok "a wrong password: the daemon serves D-Bus, the event waits, LastError and the log say WRONGPASS"

# The event the wrong password kept waiting was kept across this clean restart: it waits again, first.
restart_with redisHost=127.0.0.1 "redisPort=$port" redisUser=reader "redisPasswordFile=$AIM_TMP/password"
machine Destroy
wait_for 20 last_error_contains "NOPERM" || fail "no LastError for NOPERM: $(bprop LastError)"
assert_contains "$(bprop LastError)" "aim:events\\' refused: NOPERM" "LastError"
grep -q "XADD to 'aim:events' refused: NOPERM" "$AIM_TMP/bus.log" || fail "no log line for NOPERM"
assert_eq "$(bprop Backlog)" "u 2" "Backlog"
len=$(rcli r1 xlen aim:events)
# The permission granted: the events that waited (the one kept across the restart first) go out (within the 8 s backoff).
rcli r1 acl setuser reader '+xadd' >/dev/null
wait_for 60 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1.Broker Backlog)" = "u 0" ]' \
        || fail "the waiting event did not go out once XADD was allowed: $(bprop LastError)"
assert_eq "$(rcli r1 xlen aim:events)" "$((len + 2))" "the stream once XADD is allowed"
assert_eq "$(bprop LastError)" 's ""' "LastError once published"
ok "an ACL user without XADD: NOPERM in LastError and the log, the event waits and goes out once allowed"

restart_with redisHost=no-such-host.invalid
wait_for 60 last_error_contains "resolv" || fail "no LastError for an unknown host: $(bprop LastError)"
assert_contains "$(bprop LastError)" "no-such-host.invalid" "LastError"
prop org.abiquo.Node1 Version >/dev/null || fail "the daemon does not answer"
grep -q "Redis at no-such-host.invalid:6379: .*resolv" "$AIM_TMP/bus.log" || fail "no log line for the unknown host"
ok "an unknown host: '$(bprop LastError | cut -c4- | tr -d '"')'; the daemon serves D-Bus"

restart_with redisHost=127.0.0.1 "redisPort=$(free_port)"
wait_for 20 last_error_contains "Connection refused" || fail "no LastError for a refused connection: $(bprop LastError)"
grep -q "cannot connect: Connection refused" "$AIM_TMP/bus.log" || fail "no log line for the refused connection"
machine Destroy
assert_eq "$(bprop Backlog)" "u 1" "Backlog"
ok "a refused connection: LastError and the log say so, the event waits"
