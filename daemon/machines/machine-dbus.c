/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machine-dbus.c — org.abiquo.Node1.Machines and .Machine, and the host's hypervisor properties */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "broker/broker.h"
#include "images/image.h"
#include "machines/addresses.h"
#include "machines/define-dbus.h"
#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "machines/machine-dbus.h"
#include "util/strv.h"
#include "util/valid.h"
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

static int property_get_graphics(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ssi)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < machine->devices.n_graphics; i++) {
                const GraphicsRow *g = &machine->devices.graphics[i];

                r = sd_bus_message_append(reply, "(ssi)", g->type, g->listen, (int32_t) g->port);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
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

/* polkit for a call on one machine: 1 go on, 0 parked until polkit answers (we run again then),
 * < 0 refused. */
static int machine_authorize(sd_bus_message *message, Machine *machine, sd_bus_error *error) {
        Manager *m = machine->manager;

        return polkit_check_async(m->polkit, message, MANAGE_MACHINES,
                                  (const char *[]) { "uuid", machine->uuid, "name", machine->name, NULL }, error);
}

static int machine_call_error(Manager *m, sd_bus_message *message, Machine *machine, int r, sd_bus_error *error) {
        if (r == -AIM_ENOTCONN)
                return aim_error(error, r, "The hypervisor %s is not connected.", m->config.uri);
        return aim_error(error, r, "Failed to %s machine %s", sd_bus_message_get_member(message), machine->name);
}

/* Ends a handler whose worker call was submitted (r >= 0: the reply comes later) or was not (the
 * reference to message it was handed is dropped). */
static int machine_submitted(sd_bus_message *message, Machine *machine, int r, sd_bus_error *error) {
        if (r >= 0)
                return 1;
        sd_bus_message_unref(message);
        return machine_call_error(machine->manager, message, machine, r, error);
}

static int machine_call(sd_bus_message *message, Machine *machine, MachineAction a, sd_bus_error *error) {
        Manager *m = machine->manager;
        int r;

        r = machine_authorize(message, machine, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = virt_machine_action(m->virt, machine, a, reply_action, sd_bus_message_ref(message));
        return machine_submitted(message, machine, r, error);
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
        AddressSource source;
        const char *s;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        source = address_source_from_string(s);
        if (source < 0)
                return aim_error(error, -EINVAL, "Argument 'source' must be lease, agent, arp, dns or any, not '%s'.", s);
        r = machine_authorize(message, machine, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = machine_addresses_lookup(machine->virt, machine->uuid, source, reply_addresses, sd_bus_message_ref(message));
        return machine_submitted(message, machine, r, error);
}

/* Undefine(a{sv} options): force, remove_images. */
typedef struct UndefineCall {
        Manager *manager;
        sd_bus_message *message;
        char **images;          /* datastore images to delete once the definition is gone */
} UndefineCall;

static void undefine_call_free(UndefineCall *c) {
        sd_bus_message_unref(c->message);
        strv_free(c->images);
        free(c);
}

static void reply_undefine(int r, const char *message, const char *result, void *userdata) {
        UndefineCall *c = userdata;
        _cleanup_close_ int dirfd = -EBADF;

        if (r >= 0 && c->images) {
                dirfd = open(c->manager->config.datastore, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                for (char **i = c->images; dirfd >= 0 && *i; i++) {
                        int k = image_delete(dirfd, *i);
                        if (k < 0 && k != -ENOENT)
                                log_warning_errno(k, "Failed to remove image %s of an undefined machine: %m", *i);
                }
        }
        reply_action(r, message, NULL, sd_bus_message_ref(c->message));
        undefine_call_free(c);
}

/* The datastore images among machine's disks that no other machine uses. */
static int images_only_used_by(Manager *m, Machine *machine, char ***ret) {
        _cleanup_strv_free_ char **images = NULL;
        size_t prefix = strlen(m->config.datastore);

        for (size_t i = 0; i < machine->devices.n_disks; i++) {
                const char *source = machine->devices.disks[i].b, *name;
                bool shared = false;
                Machine *other;

                if (strncmp(source, m->config.datastore, prefix) != 0 || source[prefix] != '/')
                        continue;
                name = source + prefix + 1;
                if (!image_name_is_valid(name))
                        continue;
                HASHMAP_FOREACH(other, virt_machines(m->virt))
                        for (size_t k = 0; other != machine && k < other->devices.n_disks; k++)
                                shared = shared || streq(other->devices.disks[k].b, source);
                if (!shared && strv_extend(&images, name) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(images);
        return 0;
}

typedef struct UndefineOptions {
        bool force, remove_images;
} UndefineOptions;

static int method_undefine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const BusField fields[] = {
                { "force", "b", offsetof(UndefineOptions, force) },
                { "remove_images", "b", offsetof(UndefineOptions, remove_images) },
                {}
        };
        Machine *machine = userdata;
        Manager *m = machine->manager;
        UndefineOptions o = {};
        UndefineCall *c;
        int r;

        r = bus_read_dict(message, "", fields, &o, error);
        if (r < 0)
                return r;
        r = machine_authorize(message, machine, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        c = calloc(1, sizeof(UndefineCall));
        if (!c)
                return -ENOMEM;
        *c = (UndefineCall) { .manager = m, .message = sd_bus_message_ref(message) };
        if (o.remove_images && images_only_used_by(m, machine, &c->images) < 0) {
                undefine_call_free(c);
                return -ENOMEM;
        }
        r = virt_machine_undefine(m->virt, machine, o.force, reply_undefine, c);
        if (r < 0) {
                undefine_call_free(c);
                return machine_call_error(m, message, machine, r, error);
        }
        return 1;
}

static int method_get_xml(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        int r;

        r = machine_authorize(message, machine, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = virt_machine_get_xml(machine->virt, machine, reply_action, sd_bus_message_ref(message));
        return machine_submitted(message, machine, r, error);
}

static int method_set_autostart(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *machine = userdata;
        int enabled, r;

        r = sd_bus_message_read(message, "b", &enabled);
        if (r < 0)
                return r;
        r = machine_authorize(message, machine, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = virt_machine_set_autostart(machine->virt, machine, enabled, reply_action, sd_bus_message_ref(message));
        return machine_submitted(message, machine, r, error);
}

typedef struct Resources {
        uint32_t vcpus;
        uint64_t memory_kib;
} Resources;

static int method_set_resources(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const BusField fields[] = {
                { "vcpus", "u", offsetof(Resources, vcpus) },
                { "memory_kib", "t", offsetof(Resources, memory_kib) },
                {}
        };
        Machine *machine = userdata;
        const VirtHost *host = virt_host(machine->virt);
        Resources o = {};
        int r;

        r = bus_read_dict(message, "", fields, &o, error);
        if (r < 0)
                return r;
        uint32_t vcpus = o.vcpus;
        uint64_t memory_kib = o.memory_kib;
        if (vcpus == 0 && memory_kib == 0)
                return aim_error(error, -EINVAL, "Argument 'spec' must give 'vcpus' or 'memory_kib' (not 0).");
        if ((uint64_t) vcpus > (uint64_t) host->cpus * 4)
                return aim_error(error, -EINVAL, "Key 'vcpus' must be 1..%" PRIu64 " (the host's CPUs × 4).",
                                 (uint64_t) host->cpus * 4);
        if (memory_kib > 0 && (memory_kib < 16384 || memory_kib > host->memory_kib))
                return aim_error(error, -EINVAL, "Key 'memory_kib' must be 16384..%" PRIu64 " (the host's memory).",
                                 host->memory_kib);
        r = machine_authorize(message, machine, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = virt_machine_set_resources(machine->virt, machine, vcpus, memory_kib, reply_action,
                                       sd_bus_message_ref(message));
        return machine_submitted(message, machine, r, error);
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
        SD_BUS_PROPERTY("Autostart", "b", bus_property_get_bool, offsetof(Machine, autostart),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Disks", "a(sss)", property_get_disks, 0, 0),
        SD_BUS_PROPERTY("Interfaces", "a(sss)", property_get_interfaces, 0, 0),
        MACHINE_METHOD("Start", method_start),
        MACHINE_METHOD("Shutdown", method_shutdown),
        MACHINE_METHOD("Reboot", method_reboot),
        MACHINE_METHOD("Reset", method_reset),
        MACHINE_METHOD("Destroy", method_destroy),
        MACHINE_METHOD("Suspend", method_suspend),
        MACHINE_METHOD("Resume", method_resume),
        SD_BUS_PROPERTY("Graphics", "a(ssi)", property_get_graphics, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Undefine", SD_BUS_ARGS("a{sv}", options), SD_BUS_NO_RESULT,
                                method_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetXML", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", xml),
                                method_get_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetAutostart", SD_BUS_ARGS("b", enabled), SD_BUS_NO_RESULT,
                                method_set_autostart, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetResources", SD_BUS_ARGS("a{sv}", spec), SD_BUS_NO_RESULT,
                                method_set_resources, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetAddresses", SD_BUS_ARGS("s", source), SD_BUS_RESULT("a(ssssu)", addresses),
                                method_get_addresses, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int machine_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **ret_found, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_hashmap_object_find(virt_machines(m->virt), MACHINE_PATH_PREFIX, true, path, ret_found);
}

static int machine_path_of(const void *machine, char **ret) {
        *ret = strdup(((const Machine *) machine)->path);
        return *ret ? 0 : -ENOMEM;
}

static int machine_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;

        return bus_hashmap_node_enumerate(virt_machines(m->virt), machine_path_of, ret_nodes);
}

/* --- org.abiquo.Node1.Machines --------------------------------------------------------------- */

static int append_machines(sd_bus_message *reply, void *userdata) {
        Manager *m = userdata;
        Machine *machine;
        int r;

        HASHMAP_FOREACH(machine, virt_machines(m->virt)) {
                r = sd_bus_message_append(reply, "(ssso)", machine->uuid, machine->name,
                                          machine_state_to_string(machine->state) ?: "nostate", machine->path);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_list_machines(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (!virt_is_synced(m->virt))
                return aim_error(error, -AIM_ENOTCONN, "The hypervisor %s is not connected yet.", m->config.uri);
        return bus_reply_array(message, "(ssso)", append_machines, m);
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
        if (!virt_is_synced(m->virt))
                return aim_error(error, -AIM_ENOTCONN, "The hypervisor %s is not connected yet.", m->config.uri);
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
        SD_BUS_METHOD_WITH_ARGS("DefineMachine", SD_BUS_ARGS("s", name, "a{sv}", spec), SD_BUS_RESULT("o", machine),
                                method_define_machine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("MachineEvent",
                                SD_BUS_ARGS("o", machine, "s", uuid, "s", name, "s", event, "s", detail), 0),
        SD_BUS_VTABLE_END
};

/* --- what virt.c tells us -------------------------------------------------------------------- */

static void on_connected(Virt *v, bool connected, Manager *m) {
        int r;

        if (connected)
                log_info("Connected to %s (%s), %u machines.", m->config.uri, virt_host(v)->type,
                         (unsigned) hashmap_size(virt_machines(v)));
        else
                log_warning("Lost the connection to %s; reconnecting.", m->config.uri);
        r = sd_bus_emit_properties_changed(m->bus, NODE_OBJECT_PATH, NODE_INTERFACE, "HypervisorConnected", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for HypervisorConnected: %m");
}

static void on_machine_new(Virt *v, Machine *machine, Manager *m) {
        int r;

        r = sd_bus_path_encode(MACHINE_PATH_PREFIX, machine->uuid, &machine->path);
        if (r < 0)
                return (void) log_oom();
        r = sd_bus_emit_interfaces_added(m->bus, machine->path, MACHINE_INTERFACE, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesAdded for %s: %m", machine->path);
}

static void on_machine_event(Virt *v, Machine *machine, const char *event, const char *detail, Manager *m) {
        _cleanup_free_ char *path = NULL;
        int r;

        /* A domain we never published (undefined before we saw it) still has its path. */
        if (!machine->path && sd_bus_path_encode(MACHINE_PATH_PREFIX, machine->uuid, &path) < 0)
                return (void) log_oom();
        r = sd_bus_emit_signal(m->bus, NODE_OBJECT_PATH, MACHINES_INTERFACE, "MachineEvent", "ossss",
                               machine->path ?: path, machine->uuid, machine->name, event, detail);
        if (r < 0)
                log_debug_errno(r, "Failed to emit MachineEvent: %m");
        broker_publish_machine(m->broker, event, detail, machine->uuid, machine->name);
}

static void on_machine_gone(Virt *v, Machine *machine, Manager *m) {
        int r;

        if (!machine->path)
                return;
        r = sd_bus_emit_interfaces_removed(m->bus, machine->path, MACHINE_INTERFACE, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit InterfacesRemoved for %s: %m", machine->path);
}

static void on_machine_changed(Virt *v, Machine *machine, const char *property, Manager *m) {
        int r;

        if (!machine->path)
                return;
        r = sd_bus_emit_properties_changed(m->bus, machine->path, MACHINE_INTERFACE, property, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", machine->path);
}

/* The hypervisor's part of org.abiquo.Node1, read straight from virt.c's VirtHost. */
#define HOST_OFFSET(f) offsetof(VirtHost, f)
static const sd_bus_vtable host_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("HypervisorType", "s", NULL, HOST_OFFSET(type), 0),
        SD_BUS_PROPERTY("HypervisorConnected", "b", bus_property_get_bool, HOST_OFFSET(connected),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CPUs", "u", NULL, HOST_OFFSET(cpus), 0),
        SD_BUS_PROPERTY("CPUModel", "s", NULL, HOST_OFFSET(cpu_model), 0),
        SD_BUS_PROPERTY("MemoryKiB", "t", NULL, HOST_OFFSET(memory_kib), 0),
        SD_BUS_VTABLE_END
};

static const VirtOps virt_ops = {
        .connected = on_connected,
        .machine_new = on_machine_new,
        .machine_event = on_machine_event,
        .machine_gone = on_machine_gone,
        .machine_changed = on_machine_changed,
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

        r = bus_add_node_interface(m->bus, MACHINES_INTERFACE, machines_vtable, m);
        if (r >= 0)
                r = bus_add_object_kind(m->bus, MACHINE_PATH_PREFIX, MACHINE_INTERFACE, machine_vtable,
                                        machine_object_find, machine_node_enumerator, m);
        if (r < 0)
                return r;

        /* Connecting happens in the background: the daemon serves everything else meanwhile. */
        r = virt_new(m->event, m->config.uri, &virt_ops, m, &m->virt);
        if (r < 0)
                return log_error_errno(r, "Failed to set up libvirt: %m");
        r = sd_bus_add_object_vtable(m->bus, NULL, NODE_OBJECT_PATH, NODE_INTERFACE, host_vtable,
                                     (void *) virt_host(m->virt));
        if (r < 0)
                return log_error_errno(r, "Failed to publish the hypervisor's properties: %m");
        return 0;
}
