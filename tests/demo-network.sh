#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# demo-network.sh — the VLAN part of the demo, run by demo.sh inside User-Mode Linux (the host
# kernel has no 802.1Q): a private bus, the daemon, a dummy "eth0", and aimctl creating, listing and
# deleting a VLAN + bridge, with the kernel's own view beside it, then an Apply with a checkpoint.
set -euo pipefail
. "$AIM_SRCDIR/tests/integration/lib.sh"
aim_setup

show() { printf '\n$ %s\n' "$*"; "$@"; }
aimctl() { "$AIMCTL" "$@"; }

ip link add eth0 type dummy
ip link set eth0 up
show aimctl vlan create eth0 100 br100
show aimctl vlan create eth0 200 br200 --mtu=1400
show aimctl vlan list
show ip -d link show eth0.100
show ip -br link show master br100
show busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1/vlan/eth0_2e100 org.abiquo.Node1.Vlan OperState
show ip link set eth0.100 down
sleep 0.2
show busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1/vlan/eth0_2e100 org.abiquo.Node1.Vlan OperState
show aimctl vlan create eth0 100 br200 || true
show aimctl vlan delete eth0 100 br100
show aimctl vlan list

# Many changes as one, with a checkpoint that undoes them all unless confirmed in time.
show aimctl vlan apply --rollback-timeout=60 --create eth0:300:br300 --create eth0:301:br300 --delete eth0:200:br200
show aimctl checkpoint list
show aimctl vlan list
id=$("$AIMCTL" --json checkpoint list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
show aimctl checkpoint rollback "$id"
show aimctl vlan list
