/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network-dbus.h — org.abiquo.Node1.Network and the org.abiquo.Node1.Vlan objects */
#pragma once

#include "manager.h"
#include "network/rtnl.h"
#include "network/vlan.h"

/* The network subsystem as the manager holds it. */
typedef struct Network {
        Manager *manager;
        Rtnl *rtnl;
        VlanRegistry *vlans;
        Hashmap *checkpoints;           /* pending Checkpoint objects by id */
        uint32_t next_checkpoint_id;
        sd_event_source *sync_source;   /* the deferred fsync of the state directory */
        struct NetworkBatch *batch;     /* the Apply or rollback in flight, if any */
} Network;

/* Opens netlink, re-applies the persisted VLANs and publishes the interfaces. */
int network_start(Manager *m);
Network *network_free(Network *n);
