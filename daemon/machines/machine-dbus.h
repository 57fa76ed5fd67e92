/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine-dbus.h — org.abiquo.Node1.Machines and .Machine, and the host's hypervisor properties */
#pragma once

#include "manager.h"

/* Publishes the Machines interface and the machine objects and starts connecting to the hypervisor. */
int virt_dbus_start(Manager *m);
/* org.abiquo.Node1.GetCapabilities() */
int virt_dbus_get_capabilities(sd_bus_message *message, Manager *m, sd_bus_error *error);
