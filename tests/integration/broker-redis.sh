# SPDX-License-Identifier: LGPL-2.1-or-later
# broker-redis.sh — real redis-servers for the broker's tests (sourced after lib.sh): each on a Unix
# socket in $AIM_TMP (or a free loopback port), stopped at teardown.

require_cmd redis-server redis-cli

# redis_start NAME [REDIS-SERVER OPTIONS…]: starts (or restarts, same data dir) server NAME on
# $AIM_TMP/NAME.sock; with REDIS_PORT=N also on 127.0.0.1:N.
redis_start() {
        local name=$1; shift
        mkdir -p "$AIM_TMP/$name"
        redis-server --port "${REDIS_PORT:-0}" --bind 127.0.0.1 --unixsocket "$AIM_TMP/$name.sock" --unixsocketperm 777 \
                --dir "$AIM_TMP/$name" --save '' --daemonize no --logfile "$AIM_TMP/$name/redis.log" "$@" &
        echo $! > "$AIM_TMP/$name/pid"
        # Not a job of the shell: bash would print "Killed" when redis_stop ... KILL ends it.
        disown $!
        wait_for 20 rcli "$name" ping >/dev/null 2>&1 || fail "redis-server $name did not come up: $(tail -5 "$AIM_TMP/$name/redis.log")"
        # Loading an AOF answers -LOADING until done.
        wait_for 20 redis_pong "$name" || fail "redis-server $name is still loading"
}

# redis_stop NAME [SIGNAL]: stops server NAME (SIGKILL: as a crash) and waits until it is gone.
redis_stop() {
        local pid
        pid=$(cat "$AIM_TMP/$1/pid" 2>/dev/null) || return 0
        kill -"${2:-TERM}" "$pid" 2>/dev/null || true
        wait_for 20 pid_gone "$pid" || fail "redis-server $1 did not stop"
        rm -f "$AIM_TMP/$1/pid"
}

redis_stop_all() {
        local d
        for d in "$AIM_TMP"/*/pid; do
                [ -e "$d" ] || continue
                redis_stop "$(basename "$(dirname "$d")")" KILL
        done
}
aim_on_teardown redis_stop_all

rcli() { local name=$1; shift; redis-cli -s "$AIM_TMP/$name.sock" "$@"; }
redis_pong() { [ "$(rcli "$1" ping 2>&1)" = PONG ]; }

# free_port: a loopback port nobody listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# broker_config KEY=VALUE…: appends a [monitor] section with the broker's keys to aim.ini.
broker_config() {
        local kv
        echo "[monitor]" >> "$AIM_TMP/aim.ini"
        for kv; do echo "${kv%%=*} = ${kv#*=}" >> "$AIM_TMP/aim.ini"; done
}

bprop() { prop org.abiquo.Node1.Broker "$1"; }
broker_connected() { [ "$(bprop Connected)" = "b true" ]; }

# stream_fields NAME KEY FIELD…: one line per entry of stream KEY, the named fields' values.
stream_fields() {
        local name=$1; shift
        python3 "$AIM_SRCDIR/tests/integration/broker-stream.py" "$AIM_TMP/$name.sock" "$@"
}
