/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network-dbus.h — org.abiquo.Node1.Network and the org.abiquo.Node1.Vlan objects */
#pragma once

#include "manager.h"

/* Opens netlink, re-applies the persisted VLANs and publishes the interfaces. */
int network_start(Manager *m);
