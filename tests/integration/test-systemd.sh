#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-systemd.sh — aimd installed for real and run by a real systemd (PID 1 in User-Mode Linux):
# systemctl start, bus activation through SystemdService=, status text, journal priorities, the
# sandbox as applied, systemd-analyze security, Restart= after a crash and after the bus died.
# The checks themselves are tests/systemd/checks.sh (add subsystem checks there).
. "$(dirname "$0")/lib.sh"
require_root
require_cmd linux.uml insmod modprobe meson ninja mountpoint
kver=$(ls /usr/lib/uml/modules 2>/dev/null | sort -V | tail -n 1)
[ -n "$kver" ] || skip "user-mode-linux ships no modules"

# What is installed must be configured as a distribution would (/usr, /etc, /var). The build under
# test is, when tests/run.sh made it; else a build of our own, kept between runs so that a rerun only
# relinks what changed. Scratch space beside it: UML sees the host's root filesystem only, so it must
# not be on another mount (such as a tmpfs /tmp).
top=$AIM_BUILDDIR/test-systemd
mkdir -p "$top"
[ "$(stat -c %m "$top")" = / ] || fail "$top is not on the root filesystem, which is all UML can see"
distro_layout() {
        meson introspect --buildoptions "$1" | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
sys.exit(0 if (o["prefix"], o["sysconfdir"], o["localstatedir"]) == ("/usr", "/etc", "/var") else 1)'
}
if distro_layout "$AIM_BUILDDIR"; then
        build=$AIM_BUILDDIR
else
        build=$top/build
        if [ ! -f "$build/build.ninja" ]; then
                meson setup "$build" "$AIM_SRCDIR" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
                        -Dtests=false >"$top/setup.log" 2>&1 || { cat "$top/setup.log"; fail "meson setup of $build failed"; }
        fi
        ninja -C "$build" >"$top/ninja.log" 2>&1 || { cat "$top/ninja.log"; fail "building $build failed"; }
fi
echo "# installing the build in $build"

AIM_TMP=$(mktemp -d "$top/run.XXXXXX")
# --one-file-system: should the read-only bind of / under it still be mounted, rm stays out of it.
trap '[ -n "${AIM_KEEP_TMP:-}" ] || rm -rf --one-file-system "$AIM_TMP"' EXIT
trap 'exit 143' TERM INT
payload=$AIM_TMP/payload
DESTDIR=$payload meson install -C "$build" --no-rebuild --quiet >/dev/null
# The host's /bin, /sbin and /lib are symlinks into /usr: a directory of the same name in the
# overlay's upper layer would hide them, so what meson put there moves under usr/.
for d in bin sbin lib lib64; do
        if [ -d "$payload/$d" ] && [ ! -L "$payload/$d" ] && [ -L "/$d" ]; then
                mkdir -p "$payload/usr/$d"
                cp -a "$payload/$d/." "$payload/usr/$d/"
                rm -rf "${payload:?}/$d"
        fi
done
[ -x "$payload/usr/sbin/aimd" ] && [ -f "$payload/usr/lib/systemd/system/aimd.service" ] ||
        fail "meson install did not ship /usr/sbin/aimd and aimd.service"

units=$payload/etc/systemd/system
mkdir -p "$units" "$payload/etc/aim" "$payload/usr/libexec/aim-test" "$payload/usr/lib/modules" \
        "$payload/var/lib/virt" "$payload/opt/vm_repository"
cp "$AIM_SRCDIR/tests/systemd/test.target" "$AIM_SRCDIR/tests/systemd/aim-test.service" "$units/"
grep -v '^#' "$AIM_SRCDIR/tests/systemd/masked-units" | while read -r u; do
        [ -n "$u" ] && ln -sf /dev/null "$units/$u"
done
# Every generator masked too (the boot's unit comes from the kernel's command line, which PID 1
# reads itself): in UML they took 3.5 s of each boot and of each daemon-reload, and what they make
# from the host's files (its fstab, init scripts, packages' generators) has nothing to do with aimd.
mkdir -p "$payload/etc/systemd/system-generators"
for g in /usr/lib/systemd/system-generators/*; do
        ln -sf /dev/null "$payload/etc/systemd/system-generators/${g##*/}"
done
install -m 755 "$AIM_SRCDIR/tests/systemd/checks.sh" "$payload/usr/libexec/aim-test/checks.sh"
# The harness's helpers come along; AIM_SRCDIR/dbus inside is the installed interface XML.
mkdir -p "$payload/usr/libexec/aim-test/tests/integration"
cp "$AIM_SRCDIR/tests/integration/lib.sh" "$AIM_SRCDIR/tests/integration/compare-introspection.py" \
        "$payload/usr/libexec/aim-test/tests/integration/"
ln -s /usr/share/dbus-1/interfaces "$payload/usr/libexec/aim-test/dbus"
cp "$AIM_SRCDIR/tests/systemd/aim.ini" "$payload/etc/aim/aim.ini"
ln -s "/usr/lib/uml/modules/$kver" "$payload/usr/lib/modules/$kver"

rc=0
bash "$AIM_SRCDIR/tests/systemd/uml-systemd.sh" "$AIM_TMP" "$payload" "${AIM_UML_TIMEOUT:-600}" || rc=$?
[ -f "$AIM_TMP/out/results.tap" ] && cat "$AIM_TMP/out/results.tap"
[ -f "$AIM_TMP/out/boot-time.txt" ] && sed 's/^/# /' "$AIM_TMP/out/boot-time.txt"
if [ $rc -ne 0 ]; then
        echo "--- console (tail):" >&2
        grep -v '^ *\[<' "$AIM_TMP/console" | tail -n 40 >&2
        [ -f "$AIM_TMP/out/journal.txt" ] && { echo "--- journal (tail):" >&2; tail -n 80 "$AIM_TMP/out/journal.txt" >&2; }
        fail "the checks under systemd failed (rc $rc)"
fi
exit 0
