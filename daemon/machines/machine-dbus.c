/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine-dbus.c — org.abiquo.Node1.Machines and .Machine, and the host's hypervisor properties */
#include <errno.h>
#include <string.h>

#include "machines/addresses.h"
#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "machines/machine-dbus.h"
#include "util/strv.h"
#include "machines/virt-names.h"
#include "machines/virt.h"

#define MANAGE_MACHINES    "org.abiquo.node1.manage-machines"

/* --- org.abiquo.Node1.Machine ---------------------------------------------------------------- */

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return sd_bus_message_append(reply, "s", machine->uuid);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return sd_bus_message_append(reply, "s", machine_state_to_string(machine->state) ?: "nostate");
}

static int append_rows(sd_bus_message *reply, const DeviceRow *rows, size_t n) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_append(reply, "(sss)", rows[i].a, rows[i].b, rows[i].c);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_disks(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return append_rows(reply, machine->devices.disks, machine->devices.n_disks);
}

static int property_get_interfaces(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;

        return append_rows(reply, machine->devices.interfaces, machine->devices.n_interfaces);
}

static void reply_action(int r, const char *message, const char *result, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (r < 0) {
                (void) aim_error(&error, r, "%s", message ?: "The hypervisor call failed.");
                r = sd_bus_reply_method_error(call, &error);
        } else if (result)
                r = sd_bus_reply_method_return(call, "s", result);
        else
                r = sd_bus_reply_method_return(call, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to reply to %s(): %m", sd_bus_message_get_member(call));
}

static int machine_call(sd_bus_message *message, Machine *machine, MachineAction a, sd_bus_error *error) {
        Manager *m = virt_userdata(machine->virt);
        int r;

        r = polkit_check_async(m->polkit, message, MANAGE_MACHINES,
                               (const char *[]) { "uuid", machine->uuid, "name", machine->name, NULL }, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;       /* parked until polkit answers; we run again then */

        r = virt_machine_action(m->virt, machine, a, reply_action, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                if (r == -AIM_ENOTCONN)
                        return aim_error(error, r, "The hypervisor %s is not connected.", m->config.uri);
                return aim_error(error, r, "Failed to %s machine %s", sd_bus_message_get_member(message), machine->name);
        }
        return 1;
}

#define DEFINE_METHOD(name, action)                                                             \
        static int method_##name(sd_bus_message *message, void *userdata, sd_bus_error *error) { \
                return machine_call(message, userdata, action, error);                          \
        }
DEFINE_METHOD(start, MACHINE_START)
DEFINE_METHOD(shutdown, MACHINE_SHUTDOWN)
DEFINE_METHOD(reboot, MACHINE_REBOOT)
DEFINE_METHOD(reset, MACHINE_RESET)
DEFINE_METHOD(destroy, MACHINE_DESTROY)
DEFINE_METHOD(suspend, MACHINE_SUSPEND)
DEFINE_METHOD(resume, MACHINE_RESUME)

static void reply_addresses(int r, const char *message, const AddressList *l, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (r >= 0)
                r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssu)");
        for (size_t i = 0; r >= 0 && i < l->n; i++)
                r = sd_bus_message_append(reply, "(ssssu)", l->items[i].interface, l->items[i].mac,
                                          l->items[i].family, l->items[i].address, l->items[i].prefix);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        else {
                (void) aim_error(&error, r, "%s", message ?: "Failed to look the machine's addresses up.");
                r = sd_bus_reply_method_error(call, &error);
        }
        if (r < 0)
                log_debug_errno(r, "Failed to reply to GetAddresses(): %m");
}

static int method_get_addresses(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        Manager *m = virt_userdata(machine->virt);
        AddressSource source;
        const char *s;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        source = address_source_from_string(s);
        if (source < 0)
                return aim_error(error, -EINVAL, "Argument 'source' must be lease, agent, arp, dns or any, not '%s'.", s);
        r = polkit_check_async(m->polkit, message, MANAGE_MACHINES,
                               (const char *[]) { "uuid", machine->uuid, "name", machine->name, NULL }, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = machine_addresses_lookup(m->virt, machine->uuid, source, reply_addresses, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                if (r == -AIM_ENOTCONN)
                        return aim_error(error, r, "The hypervisor %s is not connected.", m->config.uri);
                return aim_error(error, r, "Failed to look the addresses of machine %s up", machine->name);
        }
        return 1;
}

#define MACHINE_METHOD(name, handler) \
        SD_BUS_METHOD_WITH_ARGS(name, SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, handler, SD_BUS_VTABLE_UNPRIVILEGED)

static const sd_bus_vtable machine_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("UUID", "s", property_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Machine, name), 0),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VCPUs", "u", NULL, offsetof(Machine, vcpus), 0),
        SD_BUS_PROPERTY("MemoryKiB", "t", NULL, offsetof(Machine, memory_kib), 0),
        SD_BUS_PROPERTY("MaxMemoryKiB", "t", NULL, offsetof(Machine, max_memory_kib), 0),
        SD_BUS_PROPERTY("Persistent", "b", bus_property_get_bool, offsetof(Machine, persistent), 0),
        SD_BUS_PROPERTY("Autostart", "b", bus_property_get_bool, offsetof(Machine, autostart), 0),
        SD_BUS_PROPERTY("Disks", "a(sss)", property_get_disks, 0, 0),
        SD_BUS_PROPERTY("Interfaces", "a(sss)", property_get_interfaces, 0, 0),
        MACHINE_METHOD("Start", method_start),
        MACHINE_METHOD("Shutdown", method_shutdown),
        MACHINE_METHOD("Reboot", method_reboot),
        MACHINE_METHOD("Reset", method_reset),
        MACHINE_METHOD("Destroy", method_destroy),
        MACHINE_METHOD("Suspend", method_suspend),
        MACHINE_METHOD("Resume", method_resume),
        SD_BUS_METHOD_WITH_ARGS("GetAddresses", SD_BUS_ARGS("s", source), SD_BUS_RESULT("a(ssssu)", addresses),
                                method_get_addresses, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int machine_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **ret_found, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *uuid = NULL;
        Machine *machine;
        int r;

        r = sd_bus_path_decode(path, MACHINE_PATH_PREFIX, &uuid);
        if (r <= 0)
                return r;
        machine = hashmap_get(virt_machines(m->virt), uuid);
        if (!machine)
                return 0;
        *ret_found = machine;
        return 1;
}

static int machine_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;
        Hashmap *machines = virt_machines(m->virt);
        Machine *machine;
        char **nodes;
        size_t n = 0;

        nodes = calloc(hashmap_size(machines) + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        HASHMAP_FOREACH(machine, machines) {
                nodes[n] = strdup(machine->path);
                if (!nodes[n]) {
                        strv_free(nodes);
                        return -ENOMEM;
                }
                n++;
        }
        *ret_nodes = nodes;
        return 0;
}

/* --- org.abiquo.Node1.Machines --------------------------------------------------------------- */

static int method_list_machines(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        Machine *machine;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        HASHMAP_FOREACH(machine, virt_machines(m->virt)) {
                r = sd_bus_message_append(reply, "(ssso)", machine->uuid, machine->name,
                                          machine_state_to_string(machine->state) ?: "nostate", machine->path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *id;
        Machine *machine;
        int r;

        r = sd_bus_message_read(message, "s", &id);
        if (r < 0)
                return r;
        /* libvirt refuses such names itself, and a UUID has neither. */
        if (id[0] == 0 || strchr(id, '/'))
                return aim_error(error, -EINVAL, "Argument 'machine' must be a machine's UUID or name (not empty, no '/'), not '%s'.", id);
        machine = virt_machine_find(m->virt, id);
        if (!machine)
                return aim_error(error, -AIM_ENOTFOUND, "No machine with UUID or name '%s'.", id);
        return sd_bus_reply_method_return(message, "o", machine->path);
}

static const sd_bus_vtable machines_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("ListMachines", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssso)", machines),
                                method_list_machines, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetMachine", SD_BUS_ARGS("s", machine), SD_BUS_RESULT("o", path),
                                method_get_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("MachineEvent",
                                SD_BUS_ARGS("o", machine, "s", uuid, "s", name, "s", event, "s", detail), 0),
        SD_BUS_VTABLE_END
};

/* --- what virt.c tells us -------------------------------------------------------------------- */

static void on_connected(Virt *v, bool connected, void *userdata) {
        Manager *m = userdata;
        const VirtHost *h = virt_host(v);
        int r;

        free(m->host.type);
        free(m->host.cpu_model);
        m->host = (HostInfo) { .connected = connected };
        if (connected) {
                m->host.type = h->type ? strdup(h->type) : NULL;
                m->host.cpu_model = h->cpu_model ? strdup(h->cpu_model) : NULL;
                m->host.cpus = h->cpus;
                m->host.memory_kib = h->memory_kib;
        }
        r = sd_bus_emit_properties_changed(m->bus, NODE_OBJECT_PATH, NODE_INTERFACE, "HypervisorConnected", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for HypervisorConnected: %m");
}

static void on_machine_new(Virt *v, Machine *machine, void *userdata) {
        Manager *m = userdata;
        int r;

        r = sd_bus_path_encode(MACHINE_PATH_PREFIX, machine->uuid, &machine->path);
        if (r < 0)
                return (void) log_oom();
        r = sd_bus_emit_interfaces_added(m->bus, machine->path, MACHINE_INTERFACE, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesAdded for %s: %m", machine->path);
}

static void on_machine_event(Virt *v, Machine *machine, const char *event, const char *detail, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;
        int r;

        /* A domain we never published (undefined before we saw it) still has its path. */
        if (!machine->path && sd_bus_path_encode(MACHINE_PATH_PREFIX, machine->uuid, &path) < 0)
                return (void) log_oom();
        r = sd_bus_emit_signal(m->bus, NODE_OBJECT_PATH, MACHINES_INTERFACE, "MachineEvent", "ossss",
                               machine->path ?: path, machine->uuid, machine->name, event, detail);
        if (r < 0)
                log_debug_errno(r, "Failed to emit MachineEvent: %m");
}

static void on_machine_state(Virt *v, Machine *machine, void *userdata) {
        Manager *m = userdata;
        int r;

        r = sd_bus_emit_properties_changed(m->bus, machine->path, MACHINE_INTERFACE, "State", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", machine->path);
}

static void on_machine_gone(Virt *v, Machine *machine, void *userdata) {
        Manager *m = userdata;
        int r;

        if (!machine->path)
                return;
        r = sd_bus_emit_interfaces_removed(m->bus, machine->path, MACHINE_INTERFACE, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesRemoved for %s: %m", machine->path);
}

static const VirtOps virt_ops = {
        .connected = on_connected,
        .machine_new = on_machine_new,
        .machine_event = on_machine_event,
        .machine_state = on_machine_state,
        .machine_gone = on_machine_gone,
};

int virt_dbus_get_capabilities(sd_bus_message *message, Manager *m, sd_bus_error *error) {
        int r;

        r = virt_get_capabilities(m->virt, reply_action, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                if (r == -AIM_ENOTCONN)
                        return aim_error(error, r, "The hypervisor %s is not connected.", m->config.uri);
                return aim_error(error, r, "Failed to read the hypervisor's capabilities");
        }
        return 1;
}

int virt_dbus_start(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, NODE_OBJECT_PATH, MACHINES_INTERFACE, machines_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to publish %s: %m", MACHINES_INTERFACE);
        r = bus_add_object_kind(m->bus, MACHINE_PATH_PREFIX, MACHINE_INTERFACE, machine_vtable, machine_object_find,
                                machine_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to publish %s: %m", MACHINE_INTERFACE);

        /* Connecting happens in the background: the daemon serves everything else meanwhile. */
        r = virt_new(m->event, m->config.uri, &virt_ops, m, &m->virt);
        if (r < 0)
                return log_error_errno(r, "Failed to set up libvirt: %m");
        return 0;
}
