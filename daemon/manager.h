/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.h — the manager: bus, event loop, configuration and the subsystems hanging off them */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "shared/bus-names.h"
#include "shared/config.h"
#include "shared/polkit.h"

typedef struct Network Network;


typedef struct Virt Virt;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        Config config;
        PolkitRegistry *polkit;
        Network *network;
        Virt *virt;             /* the hypervisor connection and machines (virt.c) */
        struct Images *images;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connects to the bus ("system", "session" or an address), publishes the objects, starts the
 * subsystems and takes the well-known name. */
int manager_start(Manager *m, const char *bus);
