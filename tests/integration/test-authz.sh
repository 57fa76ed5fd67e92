#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-authz.sh — authorization of every method and hostile input to every argument, in one
# User-Mode Linux boot (802.1Q for the network methods): private bus, real polkitd, the daemon with
# images on tmpfs and machines on a libvirt test driver. authz-sweep.py reads dbus/*.xml and
# does the calls; this script sets the scene.
. "$(dirname "$0")/lib.sh"
aim_run_in_uml 768M 600 "$@"
aim_enter_mount_ns "$@"
require_cmd ip python3
python3 -c 'import dbus' 2>/dev/null || skip "python3-dbus is not installed (tests/setup-deps.sh installs it)"
aim_setup

# Machines for every lifecycle method, each in the state that method acts on.
domain() {
        echo "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>$1</name>"
        echo "<uuid>$2</uuid><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>${3:-}</domain>"
}
{
        echo "<node><memory>4194304</memory>"
        domain m-start 11111111-0000-0000-0000-000000000001 '<test:runstate>5</test:runstate>'
        domain m-resume 11111111-0000-0000-0000-000000000002 '<test:runstate>3</test:runstate>'
        i=3
        for m in shutdown reboot reset destroy suspend; do domain m-$m 11111111-0000-0000-0000-00000000000$i; i=$((i + 1)); done
        domain m-undefine 11111111-0000-0000-0000-000000000008 '<test:runstate>5</test:runstate>'
        echo "</node>"
} > "$AIM_TMP/node.xml"
AIM_URI=test://$AIM_TMP/node.xml aim_write_config
echo "maxJobs = 1" >> "$AIM_TMP/aim.ini"

# The repository: a small image, an endless one (hashing a 1 TiB hole), and symlinks leading out.
R=$AIM_TMP/repository D=$AIM_TMP/datastore
head -c 8192 /dev/urandom > "$R/a.img"
truncate -s 1T "$R/slow.img"
ln -s /etc/passwd "$R/out-file"
ln -s /etc "$R/out-dir"
ln -s nowhere "$R/dangling"
for i in a b c; do cp "$R/a.img" "$D/$i"; done

aim_start_polkitd '
polkit.addRule(function(action, subject) {
        if (action.id.indexOf("org.abiquo.node1.") != 0)
                return polkit.Result.NOT_HANDLED;
        if (subject.user == "daemon")
                return polkit.Result.YES;
        if (subject.user == "bin")
                return polkit.Result.AUTH_ADMIN;
        return polkit.Result.NO;
});'
ip link add d0 type dummy
ip link set d0 up
aim_activate

python3 "$AIM_SRCDIR/tests/integration/authz-sweep.py" run "$AIM_SRCDIR/dbus" "$D" "$R" || fail "authz-sweep.py found failures"
ok "authorization sweep and hostile-input table (figures above)"
