/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c — the manager object: org.abiquo.Node1 host properties and the ObjectManager */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "broker/broker-dbus.h"
#include "broker/broker.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "images/image-dbus.h"
#include "shared/log.h"
#include "network/network-dbus.h"
#include "manager.h"
#include "machines/machine-dbus.h"
#include "machines/virt.h"

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        r = config_init(&m->config);
        if (r < 0)
                return r;
        m->polkit = polkit_registry_new();
        if (!m->polkit)
                return -ENOMEM;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        network_free(m->network);
        virt_free(m->virt);
        images_free(m->images);
        broker_free(m->broker);
        polkit_registry_free(m->polkit);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        config_done(&m->config);
        free(m);
        return NULL;
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", AIMD_VERSION);
}

static int property_get_hostname(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char name[HOST_NAME_MAX + 1] = {};

        if (gethostname(name, sizeof(name) - 1) < 0)
                return aim_error(error, negative_errno(), "Failed to read the host name");
        return sd_bus_message_append(reply, "s", name);
}

static int method_get_capabilities(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return virt_dbus_get_capabilities(message, userdata, error);
}

#define CONFIG_OFFSET(f) (offsetof(Manager, config) + offsetof(Config, f))

static const sd_bus_vtable node_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Hostname", "s", property_get_hostname, 0, 0),
        SD_BUS_PROPERTY("HypervisorURI", "s", NULL, CONFIG_OFFSET(uri), SD_BUS_VTABLE_PROPERTY_CONST),
        /* HypervisorType, HypervisorConnected, CPUs, CPUModel, MemoryKiB: machine-dbus.c. */
        SD_BUS_PROPERTY("Repository", "s", NULL, CONFIG_OFFSET(repository), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Datastore", "s", NULL, CONFIG_OFFSET(datastore), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("GetCapabilities", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", capabilities),
                                method_get_capabilities, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int bus_open(const char *spec, sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        if (streq(spec, "system"))
                return sd_bus_open_system_with_description(ret, "aimd");
        if (streq(spec, "session"))
                return sd_bus_open_user_with_description(ret, "aimd");

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_description(bus, "aimd");
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, spec);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int manager_start(Manager *m, const char *bus) {
        int r;

        r = bus_open(bus, &m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the %s bus: %m", bus);
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        /* Without the bus we are of no use: leave the loop with a failure and let systemd restart us. */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit-on-disconnect: %m");

        r = bus_add_node_interface(m->bus, NODE_INTERFACE, node_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(m->bus, NULL, NODE_OBJECT_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to publish the object manager: %m");

        /* The broker first: the subsystems' resync at start publishes what happened while we were down. */
        r = broker_start(m);
        if (r < 0)
                return r;
        r = network_start(m);
        if (r < 0)
                return r;
        r = virt_dbus_start(m);
        if (r < 0)
                return r;
        r = images_start(m);
        if (r < 0)
                return r;

        /* The name last: a caller activated by it must find every object in place. */
        r = sd_bus_request_name(m->bus, NODE_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire the name %s: %m", NODE_BUS_NAME);
        return 0;
}
