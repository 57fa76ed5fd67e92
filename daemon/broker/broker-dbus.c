/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker-dbus.c — org.abiquo.Node1.Broker: where events go beyond this host, and how it goes
 *
 * Published also when no Redis is configured (Address is empty then), so that a client can tell
 * "not configured" from "not connected". */
#include "broker/broker-dbus.h"
#include "broker/broker.h"
#include "shared/bus-util.h"
#include "shared/log.h"

static int property_get_address(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", broker_address(m->broker));
}

static int property_get_connected(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", broker_connected(m->broker));
}

static int property_get_backlog(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "u", broker_backlog(m->broker));
}

static int property_get_published(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "t", broker_published(m->broker));
}

static int property_get_dropped(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "t", broker_dropped(m->broker));
}

static int property_get_last_error(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", broker_last_error(m->broker));
}

static const sd_bus_vtable broker_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Connected", "b", property_get_connected, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Backlog", "u", property_get_backlog, 0, 0),
        SD_BUS_PROPERTY("Published", "t", property_get_published, 0, 0),
        SD_BUS_PROPERTY("Dropped", "t", property_get_dropped, 0, 0),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, 0),
        SD_BUS_VTABLE_END
};

static void on_connected(Broker *b, void *userdata) {
        Manager *m = userdata;
        int r;

        r = sd_bus_emit_properties_changed(m->bus, NODE_OBJECT_PATH, BROKER_INTERFACE, "Connected", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for Connected: %m");
}

int broker_start(Manager *m) {
        int r;

        r = bus_add_node_interface(m->bus, BROKER_INTERFACE, broker_vtable, m);
        if (r < 0)
                return r;
        if (!m->config.redis_host)
                return 0;
        r = broker_new(m->event, &m->config, &m->broker);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event stream to Redis: %m");
        broker_set_on_connected(m->broker, on_connected, m);
        return 0;
}
