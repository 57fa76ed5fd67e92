# SPDX-License-Identifier: LGPL-2.1-or-later
# lib.sh — the integration harness shared by every test: a private system bus that uses the shipped
# policy and activates the daemon from the build tree, a real polkitd, the daemon's files, and
# assertions. Source it, call aim_setup, then talk to the bus; teardown is automatic.
#
# Environment (set by meson): AIMD, AIMCTL, AIM_SRCDIR, AIM_BUILDDIR.
set -euo pipefail

: "${AIMD:?}" "${AIMCTL:?}" "${AIM_SRCDIR:?}" "${AIM_BUILDDIR:?}"

AIM_TESTS=0
# sleep as a builtin (bash-builtins): wait_for's polls start no process, which under User-Mode Linux
# costs about a quarter of a second of the guest's one CPU, taken from what the poll waits for.
enable -f /usr/lib/bash/sleep sleep 2>/dev/null || true

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }     # aim_teardown shows the logs
# Each check says when it passed (seconds since the script started): where a slow test spends its time.
ok() { AIM_TESTS=$((AIM_TESTS + 1)); echo "ok $AIM_TESTS - $* (at ${SECONDS} s)"; }

assert_eq() { [ "$1" == "$2" ] || fail "${3:-value}: expected '$2', got '$1'"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "${3:-output}: expected to contain '$2', got '$1'"; }
assert_not_contains() { [[ "$1" != *"$2"* ]] || fail "${3:-output}: expected not to contain '$2', got '$1'"; }

# assert_bus_error NAME CMD...: CMD (a gdbus call) must fail with D-Bus error NAME; prints its message.
assert_bus_error() {
        local name=$1 out; shift
        if out=$("$@" 2>&1); then fail "expected $name from '$*', got success: $out"; fi
        [[ "$out" == *"GDBus.Error:$name:"* ]] || fail "expected $name from '$*', got: $out"
        echo "${out#*GDBus.Error:$name: }"
}

# gdbus_call OBJECT METHOD ARGS...: a method call on the daemon, as gdbus prints it.
gdbus_call() {
        local path=$1 method=$2; shift 2
        gdbus call --system --dest org.abiquo.Node1 --object-path "$path" --method "$method" "$@"
}

# prop IFACE PROPERTY [PATH]: the property's value as busctl prints it ("s \"x\"", "b true", ...).
prop() { busctl --system get-property org.abiquo.Node1 "${3:-/org/abiquo/Node1}" "$1" "$2"; }

require_root() { [ "$EUID" = 0 ] || skip "needs root (private mounts, setpriv, netlink)"; }
require_cmd() { local c; for c; do command -v "$c" >/dev/null || skip "$c is not installed"; done; }

# aim_run_in_uml MEM TIMEOUT "$@": re-runs the calling script inside User-Mode Linux (802.1Q and
# other modules the host kernel lacks; see uml-run.sh). UML gives its processes a 512 GiB address
# space, where ASan's shadow memory does not fit: sanitizer builds skip, the main pass runs it.
aim_run_in_uml() {
        local mem=$1 timeout=$2; shift 2
        [ -n "${AIM_IN_UML:-}" ] && return 0
        require_root
        grep -q __asan_init "$AIMD" && skip "an AddressSanitizer build cannot run inside User-Mode Linux (no room for its shadow memory)"
        AIM_IN_UML=1 exec bash "$AIM_SRCDIR/tests/integration/uml-run.sh" --mem="$mem" --timeout="$timeout" bash "$0" "$@"
}

# aim_enter_mount_ns "$@": re-runs the calling script in a private mount namespace, so that bind
# mounts over system directories (polkit's) vanish with the test.
aim_enter_mount_ns() {
        [ -n "${AIM_IN_MOUNT_NS:-}" ] && return 0
        require_root
        require_cmd unshare
        AIM_IN_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
}

# Helpers that polls call start one process or none: under User-Mode Linux each costs 50-700 ms
# of the guest's one CPU, taken from what the poll waits for.
name_has_owner() {
        [[ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null)" == "b true" ]]
}
pid_gone() { ! kill -0 "$1" 2>/dev/null; }
# file_has FILE TEXT: a line of FILE contains TEXT.
file_has() {
        local l
        while IFS= read -r l || [ -n "$l" ]; do [[ "$l" != *"$2"* ]] || return 0; done < "$1"
        return 1
}

# wait_for TIMEOUT_S CMD...: polls CMD until it succeeds.
# The cap is only reached when something is wrong, so it is generous: it is multiplied by
# AIM_WAIT_SCALE (default 4, and 3 times that under valgrind), which keeps a busy or slow machine
# from turning a wait into a failure.
wait_for() {
        local scale; wait_scale
        local deadline=$((SECONDS + $1 * scale)); shift
        until "$@"; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.05
        done
}
# wait_scale: sets the caller's local scale (no subshell: a fork is what the waits avoid).
wait_scale() {
        scale=${AIM_WAIT_SCALE:-4}
        [ -z "${AIM_VALGRIND:-}" ] || scale=$((scale * 3))
}
# wait_for_name TIMEOUT_S NAME: waits until NAME has an owner on the bus, without polling (one
# gdbus wait, where a poll would run a busctl every 50 ms beside the daemon starting up).
wait_for_name() {
        local scale; wait_scale
        gdbus wait --system --timeout "$(($1 * scale))" "$2" >/dev/null 2>&1
}

daemon_pid() {
        local out
        out=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                GetConnectionUnixProcessID s org.abiquo.Node1 2>/dev/null) || return
        echo "${out#u }"
}

# aim_workers: the pids of this test's copy workers, the aimd-worker processes whose target folder
# (fd 4, see worker/protocol.h) is under $AIM_TMP: tests running side by side have their own.
# Fails when there is none; aim_no_workers is its negation, for wait_for.
aim_workers() {
        local p none=1
        for p in $(pgrep -x aimd-worker); do
                [[ "$(readlink "/proc/$p/fd/4" 2>/dev/null)" == "$AIM_TMP/"* ]] && { echo "$p"; none=0; }
        done
        return $none
}
aim_no_workers() { ! aim_workers >/dev/null; }

# aim_start_job OUT ARGS...: `aimctl ARGS` (an image import, export or pull) in the background, its
# output in OUT; returns once the job reports progress, with AIM_JOB_PID (aimctl's), AIM_JOB_ID and
# AIM_JOB_PATH set.
aim_start_job() {
        local out=$1; shift
        "$AIMCTL" "$@" > "$out" 2>&1 &
        AIM_JOB_PID=$!
        wait_for 20 file_has "$out" started || fail "aimctl $* did not start a job: $(cat "$out")"
        AIM_JOB_ID=$(sed -n 's/^Job \([0-9]*\) started.*/\1/p' "$out")
        AIM_JOB_PATH=$(sed -n 's/^Job [0-9]* started: \(.*\)$/\1/p' "$out")
        wait_for 20 aim_job_progressed "$AIM_JOB_PATH" || fail "job $AIM_JOB_ID (aimctl $*) makes no progress"
}
aim_job_progressed() {
        [ "$(busctl --system get-property org.abiquo.Node1 "$1" org.abiquo.Node1.Job BytesDone)" != "t 0" ]
}

# aim_write_config: the daemon's aim.ini; tests may rewrite $AIM_TMP/aim.ini before the first call.
aim_write_config() {
        cat > "$AIM_TMP/aim.ini" <<EOT
[monitor]
uri = ${AIM_URI:-test:///default}
[rimp]
repository = $AIM_TMP/repository
datastore = $AIM_TMP/datastore
EOT
}

# aim_daemon_cmd: how the daemon is started (activation, or by hand in tests that need its status).
aim_daemon_cmd() {
        local cmd="$AIMD --bus=unix:path=$AIM_TMP/bus.sock --config-file=$AIM_TMP/aim.ini --state-dir=$AIM_TMP/state"
        echo "${AIM_DAEMON_WRAPPER:+$AIM_DAEMON_WRAPPER }$cmd${AIM_DAEMON_ARGS:+ $AIM_DAEMON_ARGS}"
}

# aim_setup_checkers: sanitizer reports from any of our processes (the bus-activated daemon too:
# dbus-daemon passes its environment on) land in $AIM_TMP/sanitizer.*; with AIM_VALGRIND=1 the
# daemon runs under valgrind memcheck, its report in $AIM_TMP/valgrind.*. Teardown fails the test
# on any sanitizer report, any valgrind error or definite leak, or a valgrind run without a summary.
aim_setup_checkers() {
        export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1}:log_path=$AIM_TMP/sanitizer"
        export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1}:print_stacktrace=1:log_path=$AIM_TMP/sanitizer"
        if [ -n "${AIM_VALGRIND:-}" ]; then
                require_cmd valgrind
                AIM_DAEMON_WRAPPER="$(command -v valgrind) --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite"
                AIM_DAEMON_WRAPPER+=" --track-origins=yes --error-exitcode=99 --log-file=$AIM_TMP/valgrind.%p.log"
        fi
}

aim_check_checkers() {
        local f bad=0
        for f in "$AIM_TMP"/sanitizer.*; do
                [ -e "$f" ] || continue
                echo "--- sanitizer report $f:" >&2
                cat "$f" >&2
                bad=1
        done
        for f in "$AIM_TMP"/valgrind.*.log; do
                [ -e "$f" ] || continue
                if ! grep -q "ERROR SUMMARY: 0 errors from 0 contexts" "$f"; then
                        echo "--- valgrind found errors or did not finish ($f):" >&2
                        cat "$f" >&2
                        bad=1
                else
                        echo "# valgrind: $(grep -o 'ERROR SUMMARY: .*' "$f" | head -n 1); $(grep -o -E 'definitely lost: .*|All heap blocks were freed.*' "$f" | head -n 1)"
                fi
        done
        return $bad
}

aim_setup() {
        require_root
        require_cmd dbus-daemon busctl gdbus setpriv
        AIM_TMP=$(mktemp -d /tmp/aim-test.XXXXXX)
        chmod 755 "$AIM_TMP"    # other users' test clients must reach the bus socket
        mkdir -p "$AIM_TMP/services" "$AIM_TMP/state" "$AIM_TMP/repository" "$AIM_TMP/datastore"
        trap aim_teardown EXIT
        aim_write_config
        aim_setup_checkers

        cat > "$AIM_TMP/bus.conf" <<EOT
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$AIM_TMP/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$AIM_TMP/services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="*"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <!-- busctl monitor / dbus-monitor, for tests that watch the traffic itself -->
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include ignore_missing="yes">/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
  <include>$AIM_SRCDIR/dbus/org.abiquo.Node1.conf</include>
  ${AIM_BUS_EXTRA_POLICY:-}
</busconfig>
EOT
        cat > "$AIM_TMP/services/org.abiquo.Node1.service" <<EOT
[D-BUS Service]
Name=org.abiquo.Node1
Exec=$(aim_daemon_cmd)
User=root
EOT
        dbus-daemon --config-file="$AIM_TMP/bus.conf" --nofork --nopidfile >"$AIM_TMP/bus.log" 2>&1 &
        AIM_BUS_PID=$!
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$AIM_TMP/bus.sock"
        wait_for 60 test -S "$AIM_TMP/bus.sock" || fail "the private bus did not come up"
        wait_for 60 busctl --system list --no-pager >/dev/null 2>&1 || fail "the private bus does not answer"
}

# aim_start_polkitd RULES_JS: a real polkitd with our actions and the given rules (needs
# aim_enter_mount_ns first: its directories are fixed, so test ones are bind-mounted over them).
aim_start_polkitd() {
        [ -n "${AIM_IN_MOUNT_NS:-}" ] || fail "aim_start_polkitd needs aim_enter_mount_ns"
        [ -x /usr/lib/polkit-1/polkitd ] || skip "polkitd is not installed"
        mkdir -p "$AIM_TMP/polkit/actions" "$AIM_TMP/polkit/rules" "$AIM_TMP/polkit/empty"
        cp "$AIM_SRCDIR"/polkit/*.policy "$AIM_TMP/polkit/actions/"
        printf '%s\n' "$1" > "$AIM_TMP/polkit/rules/50-aimd-test.rules"
        chmod -R a+rX "$AIM_TMP/polkit"
        mount --bind "$AIM_TMP/polkit/actions" /usr/share/polkit-1/actions
        mount --bind "$AIM_TMP/polkit/rules" /etc/polkit-1/rules.d
        [ -d /usr/share/polkit-1/rules.d ] && mount --bind "$AIM_TMP/polkit/empty" /usr/share/polkit-1/rules.d
        /usr/lib/polkit-1/polkitd --no-debug >"$AIM_TMP/polkitd.log" 2>&1 &
        AIM_POLKITD_PID=$!
        # Polls: generous caps cost nothing when things work; under UML on a busy machine polkitd took > 10 s.
        wait_for_name 60 org.freedesktop.PolicyKit1 || fail "polkitd did not come up: $(cat "$AIM_TMP/polkitd.log")"
}

aim_stop_polkitd() {
        [ -n "${AIM_POLKITD_PID:-}" ] || return 0
        kill "$AIM_POLKITD_PID" 2>/dev/null || true
        wait "$AIM_POLKITD_PID" 2>/dev/null || true
        AIM_POLKITD_PID=
}

# as_user USER CMD...: runs CMD as an unprivileged user (with the test bus address).
as_user() {
        local user=$1; shift
        setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups "$@"
}

# aim_activate: the first call, which bus-activates the daemon; waits until it owns its name.
aim_activate() {
        busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 Version >/dev/null \
                || fail "bus activation of the daemon failed"
        wait_for_name 60 org.abiquo.Node1 || fail "the daemon did not take its name"
}

aim_stop_daemon() {
        local pid
        pid=$(daemon_pid) || true
        [ -n "$pid" ] || return 0
        kill "$pid" 2>/dev/null || true
        wait_for 10 pid_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
}

# aim_on_teardown CMD...: runs CMD at teardown, before the daemon and the bus go (for peers a test
# started itself: a libvirtd, its QEMUs), also when the test failed.
AIM_TEARDOWN_HOOKS=()
aim_on_teardown() { AIM_TEARDOWN_HOOKS+=("$*"); }

# For the tests that load the daemon from background loops (load, faults): N random 8 MiB images
# src1.img..srcN.img in the repository, their sha256 in AIM_SUM[1..N] (one sha256sum for all), and
# in User-Mode Linux a dummy link d0 (up) to put VLANs on (the host kernel has neither 802.1Q nor
# dummy links).
aim_load_fixture() {
        local k sum file
        if [ -n "${AIM_IN_UML:-}" ]; then
                ip link add d0 type dummy
                ip link set d0 up
        fi
        for ((k = 1; k <= $1; k++)); do head -c $((8 * 1024 * 1024)) /dev/urandom > "$AIM_TMP/repository/src$k.img"; done
        declare -gA AIM_SUM
        while read -r sum file; do file=${file##*/src}; AIM_SUM[${file%.img}]=$sum; done \
                <<<"$(sha256sum "$AIM_TMP"/repository/src*.img)"
}

# The loops run until $AIM_TMP/stop exists: aim_loops_start CMD... starts each CMD (split into
# words) in the background; aim_loops_stop creates the file and waits for them all (one that
# failed fails the caller; with "quiet", as a teardown hook, how they ended does not matter).
AIM_LOOPS=()
aim_loops_start() {
        local c
        rm -f "$AIM_TMP/stop"
        AIM_LOOPS=()
        for c; do $c & AIM_LOOPS+=($!); done
}
aim_loops_stop() {
        local p
        touch "$AIM_TMP/stop"
        for p in "${AIM_LOOPS[@]}"; do
                if [ "${1:-}" = quiet ]; then wait "$p" 2>/dev/null || true; else wait "$p"; fi
        done
        AIM_LOOPS=()
}

aim_teardown() {
        local rc=$? h
        set +e
        for h in "${AIM_TEARDOWN_HOOKS[@]}"; do $h; done
        aim_stop_daemon
        aim_stop_polkitd
        [ -n "${AIM_BUS_PID:-}" ] && { kill "$AIM_BUS_PID" 2>/dev/null; wait "$AIM_BUS_PID" 2>/dev/null; }
        aim_check_checkers || rc=1
        if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$AIM_TMP/bus.log" ]; then
                echo "--- bus and daemon log:" >&2
                tail -n 60 "$AIM_TMP/bus.log" >&2
        fi
        [ -n "${AIM_KEEP_TMP:-}" ] || rm -rf "$AIM_TMP"
        [ $rc -eq 0 ] && [ "$AIM_TESTS" -gt 0 ] && echo "$AIM_TESTS passed, 0 failed"
        exit $rc
}

# check_introspection PATH: every org.abiquo.* interface the daemon publishes at PATH must equal
# its dbus/*.xml file.
check_introspection() {
        busctl --system introspect --xml-interface org.abiquo.Node1 "$1" > "$AIM_TMP/live.xml" \
                || fail "introspection of $1 failed"
        python3 "$AIM_SRCDIR/tests/integration/compare-introspection.py" "$AIM_TMP/live.xml" "$AIM_SRCDIR/dbus" \
                || fail "live introspection of $1 differs from dbus/*.xml"
}

# aim_make_ca DIR: a test CA (DIR/ca.pem) and a server certificate it signed for 127.0.0.1
# (DIR/server.pem, DIR/server.key), made with openssl.
aim_make_ca() {
        local d=$1
        require_cmd openssl
        mkdir -p "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=aimd-test-ca \
                -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || fail "openssl could not make the CA"
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
                -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || fail "openssl could not make a request"
        printf 'subjectAltName=IP:127.0.0.1\n' > "$d/san.ext"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
                -extfile "$d/san.ext" -out "$d/server.pem" 2>/dev/null || fail "openssl could not sign the certificate"
}

# aim_start_http NAME ROOT [CERT KEY]: http-server.py serving ROOT on a free loopback port (HTTPS
# with CERT and KEY); sets AIM_HTTP_PORT. Its request log is $AIM_TMP/NAME.log. Stopped at teardown.
aim_start_http() {
        local name=$1 root=$2 pid
        shift 2
        require_cmd python3
        rm -f "$AIM_TMP/$name.port"
        python3 "$AIM_SRCDIR/tests/integration/http-server.py" --root "$root" --port-file "$AIM_TMP/$name.port" \
                --log "$AIM_TMP/$name.log" ${1:+--cert "$1" --key "$2"} >"$AIM_TMP/$name.out" 2>&1 &
        pid=$!
        aim_on_teardown kill "$pid"
        wait_for 20 test -s "$AIM_TMP/$name.port" || fail "the test HTTP server did not start: $(cat "$AIM_TMP/$name.out")"
        AIM_HTTP_PORT=$(cat "$AIM_TMP/$name.port")
}
