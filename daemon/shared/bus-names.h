/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-names.h — the bus name, object paths and interface names of org.abiquo.Node1, for the daemon
 * and aimctl alike */
#pragma once

#define NODE_BUS_NAME           "org.abiquo.Node1"
#define NODE_OBJECT_PATH        "/org/abiquo/Node1"
#define NODE_INTERFACE          "org.abiquo.Node1"

#define NETWORK_INTERFACE       "org.abiquo.Node1.Network"
#define VLAN_INTERFACE          "org.abiquo.Node1.Vlan"
#define VLAN_PATH_PREFIX        NODE_OBJECT_PATH "/vlan"
#define CHECKPOINT_INTERFACE    "org.abiquo.Node1.Checkpoint"
#define CHECKPOINT_PATH_PREFIX  NODE_OBJECT_PATH "/checkpoint"

#define IMAGES_INTERFACE        "org.abiquo.Node1.Images"
#define IMAGE_INTERFACE         "org.abiquo.Node1.Image"
#define IMAGE_PATH_PREFIX       NODE_OBJECT_PATH "/image"
#define JOB_INTERFACE           "org.abiquo.Node1.Job"
#define JOB_PATH_PREFIX         NODE_OBJECT_PATH "/job"

#define MACHINES_INTERFACE      "org.abiquo.Node1.Machines"
#define MACHINE_INTERFACE       "org.abiquo.Node1.Machine"
#define MACHINE_PATH_PREFIX     NODE_OBJECT_PATH "/machine"

#define BROKER_INTERFACE        "org.abiquo.Node1.Broker"
