#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-network.sh — VLANs and bridges on a real kernel: the whole scenario in one User-Mode Linux
# boot (the host kernel has no 802.1Q): private bus, real polkitd, the daemon and a dummy parent,
# driven over D-Bus and aimctl, every outcome checked against the kernel's own view (ip -d -j link).
# This script sets the scene; network-scenario.py makes the calls and the checks, in one process
# (a process start costs the guest a tenth of a second or more).
. "$(dirname "$0")/lib.sh"
# In ASan builds this skips; the sanitizers check the same code paths in test-vlan, test-netlink
# and test-network-netns.
aim_run_in_uml 512M 2400 "$@"
aim_enter_mount_ns "$@"
require_cmd ip python3 gdbus
python3 -c 'import dbus' 2>/dev/null || skip "python3-dbus is not installed (tests/setup-deps.sh installs it)"
aim_setup

# Every Apply that reaches polkitd leaves a line in polkit-checks (one authorization per call).
touch "$AIM_TMP/polkit-checks"
chmod 666 "$AIM_TMP/polkit-checks"
aim_start_polkitd '
polkit.addRule(function(action, subject) {
        if (action.id == "org.abiquo.node1.manage-network" && action.lookup("changes")) {
                try {
                        polkit.spawn(["/bin/sh", "-c", "echo " + action.lookup("changes") + " >> '"$AIM_TMP"'/polkit-checks"]);
                } catch (e) {
                }
                if (subject.user == "daemon" && action.lookup("parents") == "d0")
                        return polkit.Result.YES;
        }
        if (action.id == "org.abiquo.node1.manage-network" && subject.user == "daemon" &&
            action.lookup("bridge") != "brnope" && action.lookup("parent") == "d0")
                return polkit.Result.YES;
        if (action.id.indexOf("org.abiquo.node1.") == 0)
                return polkit.Result.NO;
});'

ip -batch - <<'EOT'
link add d0 type dummy
link add d1 type dummy
link set d0 up
link set d1 up
EOT
aim_activate
export AIM_TMP
python3 "$AIM_SRCDIR/tests/integration/network-scenario.py" "$SECONDS" | tee "$AIM_TMP/scenario.out"
AIM_TESTS=$(grep -c '^ok ' "$AIM_TMP/scenario.out")
