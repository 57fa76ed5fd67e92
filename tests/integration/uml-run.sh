#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# uml-run.sh — runs a command inside a User-Mode Linux kernel and exits with its status.
#
# The host kernel lacks 802.1Q (and dummy): UML boots Debian's 6.1 kernel as an ordinary process,
# with the host's / as its root over hostfs and its own modules (8021q, dummy, bridge, veth) loaded.
# Inside: a private /proc, /sys, /run, /tmp and /dev/shm (sockets must not be bound on hostfs, where
# they would replace host files), loopback up, the caller's working directory and exported environment.
# Files written under other paths are real host writes.
#
# Usage: uml-run.sh [--mem=SIZE] [--timeout=SECONDS] CMD [ARGS...]
# Also usable as a meson wrapper: meson test --wrapper tests/integration/uml-run.sh
set -euo pipefail

mem=512M
timeout=600
while [ $# -gt 0 ]; do
        case "$1" in
        --mem=*) mem=${1#*=}; shift ;;
        --timeout=*) timeout=${1#*=}; shift ;;
        --) shift; break ;;
        *) break ;;
        esac
done
[ $# -gt 0 ] || { echo "usage: uml-run.sh [--mem=SIZE] [--timeout=S] CMD [ARGS...]" >&2; exit 2; }

uml=/usr/bin/linux.uml
[ -x "$uml" ] || { echo "SKIP: user-mode-linux is not installed (tests/setup-deps.sh installs it)"; exit 77; }
version=$(ls /usr/lib/uml/modules 2>/dev/null | head -n 1)
[ -n "$version" ] || { echo "SKIP: no UML modules under /usr/lib/uml/modules"; exit 77; }

# Not under /tmp: the guest mounts its own tmpfs there.
w=$(mktemp -d /var/tmp/uml-run.XXXXXX)
# UML's memory is a file in TMPDIR, which it maps: on disk, every page the guest touches is disk
# I/O (UML warns "tempdir ... is not on tmpfs"), and two such boots on a busy machine hit their
# caps. So /dev/shm, when it has room for all of it; else beside the rest, which still works.
mem_kib=$(numfmt --from=iec "${mem^^}")
mem_kib=$((mem_kib / 1024))
memdir=$w/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ] &&
   [ "$(df --output=avail -k /dev/shm | tail -n 1)" -ge $((mem_kib + 256 * 1024)) ]; then
        memdir=$(mktemp -d /dev/shm/uml-run.XXXXXX)
fi
pid=
cleanup() {
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
        rm -rf "$w"
        [ "$memdir" = "$w/tmp" ] || rm -rf "$memdir"
}
trap cleanup EXIT
mkdir -p "$w/modroot/lib" "$w/tmp"
ln -s /usr/lib/uml/modules "$w/modroot/lib/modules"

# The command and the environment, replayed by the guest's init.
export -p | grep -Ev '^declare -x (PWD|OLDPWD|SHLVL|_|TMPDIR)=' > "$w/env"
printf '%q ' "$@" > "$w/cmd"
# The guest gets a /tmp of its own; the caller's directories that live under the host's /tmp (a
# checkout or build dir there) are bound back into it.
host_tmp_dirs=()
for d in "$PWD" "${AIM_SRCDIR:-}" "${AIM_BUILDDIR:-}"; do
        d=$(realpath -m "${d:-/}")
        [[ "$d" == /tmp/?* ]] || continue
        d=${d#/tmp/}
        host_tmp_dirs+=("/tmp/${d%%/*}")
done
bind_host_tmp=
for d in $(printf '%s\n' "${host_tmp_dirs[@]}" | sort -u); do
        bind_host_tmp+="mkdir -p $(printf '%q' "$d") && mount --bind $(printf '%q' "/run/host-tmp/${d#/tmp/}") $(printf '%q' "$d")"$'\n'
done
cat > "$w/init" <<EOT
#!/bin/bash
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 tmpfs /run
mkdir /run/host-tmp
mount --bind /tmp /run/host-tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
$bind_host_tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
modprobe -a -d $w/modroot 8021q dummy bridge veth
ip link set lo up
. $w/env
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd $(printf '%q' "$PWD")
rc=0
$(cat "$w/cmd") </dev/null >$w/log 2>&1 || rc=\$?
echo \$rc > $w/rc
sync
echo o > /proc/sysrq-trigger
sleep 10
EOT
chmod 755 "$w/init"

# UML keeps its memory in a file under TMPDIR; its own pid is a session leader (setsid), on one CPU
# and ahead of the machine's other work (uml-launch.sh says why; AIM_UML_NICE=0 turns the latter off).
# pty.legacy_count=0: Debian's kernel makes 256 BSD pty pairs at boot, 2-5 s of a 7-9 s boot
# (initcall_debug); nothing here uses them (/dev/pts is another driver).
TMPDIR=$memdir setsid bash "$(dirname "$0")/uml-launch.sh" "$uml" mem="$mem" rootfstype=hostfs rootflags=/ rw init="$w/init" \
        pty.legacy_count=0 quiet \
        con0=fd:0,fd:1 con=null </dev/null >"$w/console" 2>&1 &
pid=$!
deadline=$((SECONDS + timeout))
while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
                echo "uml-run: timed out after ${timeout}s" >&2
                kill -TERM "$pid" 2>/dev/null
                break
        fi
        sleep 0.2
done
wait "$pid" 2>/dev/null || true
pid=

[ -f "$w/log" ] && cat "$w/log"
if [ ! -f "$w/rc" ]; then
        echo "uml-run: the command did not finish; UML console:" >&2
        tail -n 40 "$w/console" >&2
        exit 1
fi
exit "$(cat "$w/rc")"
