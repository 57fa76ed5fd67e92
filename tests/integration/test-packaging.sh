#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-packaging.sh — what `meson install` ships: the files, a unit systemd accepts, bus activation
# and policy files that say what they should, XML that parses and covers the whole contract.
. "$(dirname "$0")/lib.sh"
require_cmd systemd-analyze xmllint

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
DESTDIR=$root meson install -C "$AIM_BUILDDIR" --no-rebuild --quiet >/dev/null
intro() { meson introspect "$AIM_BUILDDIR" --buildoptions | python3 -c "
import json, sys
print({o['name']: o['value'] for o in json.load(sys.stdin)}[sys.argv[1]])" "$1"; }
prefix=$(intro prefix)
sbin=$prefix/$(intro sbindir)
find_one() { local f; f=$(find "$root" -path "*$1" | head -n 1); [ -n "$f" ] || fail "not installed: $1"; echo "$f"; }

unit=$(find_one /system/aimd.service)
service=$(find_one /system-services/org.abiquo.Node1.service)
conf=$(find_one /system.d/org.abiquo.Node1.conf)
policy=$(find_one /actions/org.abiquo.node1.policy)
[ -x "$root$sbin/aimd" ] || fail "aimd is not installed in $sbin"
find_one /bin/aimctl >/dev/null
# The copy helper, where the daemon was built to look for it (images/job.c's AIMD_WORKER_PATH).
[ -x "$root$prefix/$(intro libexecdir)/aimd-worker" ] || fail "aimd-worker is not installed in libexecdir"
grep -qF "$prefix/$(intro libexecdir)/aimd-worker" "$root$sbin/aimd" || fail "aimd does not look for the installed aimd-worker"
ok "meson install ships the daemon, its aimd-worker, aimctl, unit, activation, bus policy and polkit actions"

# The unit: bus-activated, its name declared, state directory, hardened; systemd accepts it.
for line in Type=dbus BusName=org.abiquo.Node1 "ExecStart=$sbin/aimd" StateDirectory=aim \
        ProtectSystem=strict NoNewPrivileges=yes "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6" \
        'ExecReload=kill -HUP $MAINPID' Restart=on-failure; do
        grep -qxF "$line" "$unit" || fail "aimd.service lacks '$line'"
done
sed "s|^ExecStart=.*|ExecStart=$root$sbin/aimd|" "$unit" > "$root/aimd.service"
out=$(systemd-analyze verify "$root/aimd.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify complained: $out"
ok "systemd-analyze verify accepts aimd.service"

exposure=$(systemd-analyze security --offline=yes "$root/aimd.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for aimd.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security gave no exposure level"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 2.5 else 1)" "$exposure" \
        || fail "exposure $exposure is above 2.5"
ok "systemd-analyze security: exposure $exposure (at most 2.5)"

# Bus activation goes through systemd, and the Exec= fallback is the installed daemon.
assert_eq "$(sed -n 's/^Name=//p' "$service")" org.abiquo.Node1 "activation Name="
assert_eq "$(sed -n 's/^SystemdService=//p' "$service")" aimd.service "SystemdService="
assert_eq "$(sed -n 's/^Exec=//p' "$service")" "$sbin/aimd" "Exec="
ok "the activation file names the bus name, the unit and the installed daemon"

# Every XML file parses; the bus policy lets root own the name and everyone call it.
for f in "$conf" "$policy" "$AIM_SRCDIR"/dbus/*.xml; do
        xmllint --noout "$f" || fail "$f is not well-formed"
done
assert_contains "$(xmllint --xpath 'string(//policy[@user="root"]/allow/@own)' "$conf")" org.abiquo.Node1 "owner"
assert_contains "$(xmllint --xpath 'string(//policy[@context="default"]/allow/@send_destination)' "$conf")" \
        org.abiquo.Node1 "callers"
ok "bus policy, polkit actions and interface XML are well-formed and say what they should"

# The introspection files cover every interface of the contract (API.md, in shared/ beside the
# checkout as CI has it), each in its own file.
api=${AIM_API_MD:-$AIM_SRCDIR/../shared/API.md}
if [ -f "$api" ]; then
        for i in $(grep -o 'org\.abiquo\.Node1\(\.[A-Z][A-Za-z]*\)\?' "$api" | grep -v '\.Error$' | sort -u); do
                f=$(find_one "/interfaces/$i.xml")
                assert_eq "$(xmllint --xpath 'string(/node/interface/@name)' "$f")" "$i" "interface in $f"
        done
        ok "every interface named in API.md is installed as introspection XML"
else
        echo "# $api is not beside this checkout: the API.md coverage check did not run"
fi
echo "$AIM_TESTS passed, 0 failed"
