/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network-dbus.c — org.abiquo.Node1.Network and the org.abiquo.Node1.Vlan objects
 *
 * Only translation lives here: arguments in, polkit, vlan.c does the work, errors and signals out.
 * Vlan objects are served by a fallback vtable over the managed-VLAN table, so thousands of them cost
 * no per-object registration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/broker.h"
#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "network/network-dbus.h"
#include "network/rtnl.h"
#include "util/strv.h"
#include "network/vlan.h"

#define NETWORK_ACTION    "org.abiquo.node1.manage-network"

static int vlan_object_path(const Vlan *v, char **ret) {
        return sd_bus_path_encode(VLAN_PATH_PREFIX, v->name, ret);
}

/* Reads CreateVlan's options into spec; the strings stay owned by the message. */
static int read_options(sd_bus_message *m, VlanSpec *spec, sd_bus_error *error) {
        const char *key;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "name")) {
                        r = sd_bus_message_read(m, "v", "s", &spec->name);
                        if (r < 0)
                                return aim_error(error, -EINVAL, "Invalid option name: must be a string (s).");
                } else if (streq(key, "mtu")) {
                        r = sd_bus_message_read(m, "v", "u", &spec->mtu);
                        if (r < 0)
                                return aim_error(error, -EINVAL, "Invalid option mtu: must be a uint32 (u).");
                        spec->mtu_set = true;
                } else
                        return aim_error(error, -EINVAL, "Unknown option '%s': CreateVlan knows name and mtu.", key);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* The state directory's fsync, once per loop iteration however many calls changed it. */
static int on_state_sync(sd_event_source *s, void *userdata) {
        Network *n = userdata;
        int r;

        r = network_state_sync(n);
        if (r < 0)
                log_warning_errno(r, "Failed to sync the network state directory: %m");
        return 0;
}

static void schedule_state_sync(Manager *m) {
        Network *n = m->network;

        if (!n->state_dirty)
                return;
        if (!n->sync_source) {
                if (sd_event_add_defer(m->event, &n->sync_source, on_state_sync, n) < 0) {
                        (void) network_state_sync(n);
                        return;
                }
                (void) sd_event_source_set_description(n->sync_source, "network-state-sync");
        }
        (void) sd_event_source_set_enabled(n->sync_source, SD_EVENT_ONESHOT);
}

static int method_create_vlan(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *why = NULL, *path = NULL;
        VlanSpec spec = {};
        char name[IFNAMSIZ], tag[8];
        bool is_new, had_conflict;
        const Link *l;
        Vlan *v;
        int r;

        r = sd_bus_message_read(message, "sqs", &spec.parent, &spec.tag, &spec.bridge);
        if (r < 0)
                return r;
        r = read_options(message, &spec, error);
        if (r < 0)
                return r;
        r = vlan_spec_validate(&spec, name, &why);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));

        snprintf(tag, sizeof(tag), "%u", spec.tag);
        r = polkit_check_async(m->polkit, message, NETWORK_ACTION,
                               (const char *[]) { "parent", spec.parent, "tag", tag, "bridge", spec.bridge, NULL },
                               error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        v = hashmap_get(m->network->vlans, spec.name);
        had_conflict = v && v->conflict;
        r = vlan_create(m->network, &spec, &v, &is_new, &why);
        schedule_state_sync(m);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));
        r = vlan_object_path(v, &path);
        if (r < 0)
                return r;
        if (is_new) {
                (void) sd_bus_emit_object_added(m->bus, path);
                broker_publish_vlan(m->broker, "created", v->name, v->parent, v->tag, v->bridge,
                                    (l = link_table_get_by_name(m->network->links, v->name)) ?
                                    operstate_to_string(l->operstate) : "notpresent");
        } else if (had_conflict)
                (void) sd_bus_emit_properties_changed(m->bus, path, VLAN_INTERFACE, "Conflict", NULL);
        return sd_bus_reply_method_return(message, "o", path);
}

/* Deletes v once polkit agrees; shared by DeleteVlan and Vlan.Delete. */
static int vlan_delete_authorized(Manager *m, sd_bus_message *message, Vlan *v, sd_bus_error *error) {
        _cleanup_free_ char *why = NULL, *path = NULL;
        char tag[8];
        int r;

        snprintf(tag, sizeof(tag), "%u", v->tag);
        r = polkit_check_async(m->polkit, message, NETWORK_ACTION,
                               (const char *[]) { "parent", v->parent, "tag", tag, "bridge", v->bridge, NULL },
                               error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        r = vlan_object_path(v, &path);
        if (r < 0)
                return r;
        r = vlan_delete(v, &why);
        schedule_state_sync(m);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));
        (void) sd_bus_emit_object_removed(m->bus, path);
        broker_publish_vlan(m->broker, "deleted", v->name, v->parent, v->tag, v->bridge, "notpresent");
        vlan_free(v);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_delete_vlan(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *why = NULL;
        const char *parent, *bridge;
        uint16_t tag;
        Vlan *v;
        int r;

        r = sd_bus_message_read(message, "sqs", &parent, &tag, &bridge);
        if (r < 0)
                return r;
        r = vlan_delete_args_validate(parent, tag, bridge, &why);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));
        v = vlan_find(m->network, parent, tag);
        if (!v)
                return aim_error(error, -AIM_ENOTFOUND, "No VLAN with tag %u on '%s' is managed here.", tag, parent);
        if (!streq(v->bridge, bridge))
                return aim_error(error, -AIM_ENOTFOUND, "VLAN '%s' is on bridge '%s', not on '%s'.", v->name,
                                 v->bridge, bridge);
        return vlan_delete_authorized(m, message, v, error);
}

static int vlan_compare(const void *a, const void *b) {
        const Vlan *x = *(Vlan * const *) a, *y = *(Vlan * const *) b;
        int c = strcmp(x->parent, y->parent);

        return c != 0 ? c : (int) x->tag - (int) y->tag;
}

static int method_list_vlans(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Vlan **all = NULL;
        size_t n = 0;
        Vlan *v;
        int r;

        all = calloc(hashmap_size(m->network->vlans) + 1, sizeof(Vlan *));
        if (!all)
                return -ENOMEM;
        HASHMAP_FOREACH(v, m->network->vlans)
                all[n++] = v;
        qsort(all, n, sizeof(Vlan *), vlan_compare);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sqso)");
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = NULL;

                r = vlan_object_path(all[i], &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(sqso)", all[i]->parent, all[i]->tag, all[i]->bridge, path);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_vlan_delete(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;

        return vlan_delete_authorized(v->network->on_change_userdata, message, v, error);
}

static int property_get_mtu(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;
        const Link *l = link_table_get_by_name(v->network->links, v->name);

        return sd_bus_message_append(reply, "u", l ? l->mtu : 0);
}

static int property_get_operstate(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;
        const Link *l = link_table_get_by_name(v->network->links, v->name);

        /* A VLAN whose link is gone (deleted behind our back, or not re-applied) is "notpresent". */
        return sd_bus_message_append(reply, "s", l ? operstate_to_string(l->operstate) : "notpresent");
}

static int property_get_conflict(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;

        return sd_bus_message_append(reply, "s", strempty(v->conflict));
}

static const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CreateVlan",
                                SD_BUS_ARGS("s", parent, "q", tag, "s", bridge, "a{sv}", options),
                                SD_BUS_RESULT("o", vlan),
                                method_create_vlan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DeleteVlan",
                                SD_BUS_ARGS("s", parent, "q", tag, "s", bridge),
                                SD_BUS_NO_RESULT,
                                method_delete_vlan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListVlans", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sqso)", vlans),
                                method_list_vlans, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static const sd_bus_vtable vlan_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Interface", "s", NULL, offsetof(Vlan, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Parent", "s", NULL, offsetof(Vlan, parent), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Tag", "q", NULL, offsetof(Vlan, tag), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Bridge", "s", NULL, offsetof(Vlan, bridge), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MTU", "u", property_get_mtu, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OperState", "s", property_get_operstate, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Conflict", "s", property_get_conflict, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("Delete", NULL, NULL, method_vlan_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int vlan_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                            sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        Vlan *v;
        int r;

        r = sd_bus_path_decode(path, VLAN_PATH_PREFIX, &name);
        if (r <= 0)
                return r;
        v = hashmap_get(m->network->vlans, name);
        if (!v)
                return 0;
        *found = v;
        return 1;
}

static int vlan_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        Vlan *v;

        l = calloc(hashmap_size(m->network->vlans) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH(v, m->network->vlans) {
                int r = vlan_object_path(v, &l[n]);

                if (r < 0)
                        return r;
                n++;
        }
        *nodes = TAKE_PTR(l);
        return 0;
}

/* The kernel changed a link (we did, or someone with "ip"): tell the subscribers of its VLAN object. */
static void on_link_change(Network *n, const Link *old, const Link *new, unsigned change, void *userdata) {
        Manager *m = userdata;
        const char *names[2] = { new ? new->name : NULL, old && (!new || change & LINK_CHANGE_NAME) ? old->name : NULL };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *path = NULL;
                bool all = change & (LINK_CHANGE_NEW | LINK_CHANGE_REMOVED | LINK_CHANGE_NAME);
                Vlan *v;

                if (!names[i])
                        continue;
                v = hashmap_get(n->vlans, names[i]);
                if (!v || v->removing || vlan_object_path(v, &path) < 0)
                        continue;
                if (all || (change & LINK_CHANGE_MTU && change & LINK_CHANGE_OPERSTATE))
                        (void) sd_bus_emit_properties_changed(m->bus, path, VLAN_INTERFACE, "MTU", "OperState", NULL);
                else if (change & LINK_CHANGE_MTU)
                        (void) sd_bus_emit_properties_changed(m->bus, path, VLAN_INTERFACE, "MTU", NULL);
                else if (change & LINK_CHANGE_OPERSTATE)
                        (void) sd_bus_emit_properties_changed(m->bus, path, VLAN_INTERFACE, "OperState", NULL);
                if (change & LINK_CHANGE_OPERSTATE && new && i == 0)
                        broker_publish_vlan(m->broker, "operstate", v->name, v->parent, v->tag, v->bridge,
                                            operstate_to_string(new->operstate));
        }
}

int network_start(Manager *m) {
        Vlan *v;
        int r;

        r = network_new(&m->network);
        if (r < 0)
                return log_oom();
        r = network_open_netlink(m->network, m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to open netlink: %m");

        r = network_state_open(m->network, m->config.state_dir);
        if (r < 0)
                log_warning_errno(r, "Cannot use %s/network, VLANs will not be persisted: %m", m->config.state_dir);
        else {
                r = network_state_restore(m->network);
                if (r < 0)
                        log_error_errno(r, "Failed to restore the VLANs from %s/network: %m", m->config.state_dir);
                else if (r > 0)
                        log_info("Restored %d VLAN(s) from %s/network.", r, m->config.state_dir);
                HASHMAP_FOREACH(v, m->network->vlans)
                        if (v->conflict)
                                log_warning("VLAN %s (tag %u on %s, bridge %s) was not re-applied: %s", v->name,
                                            v->tag, v->parent, v->bridge, v->conflict);
                (void) network_state_sync(m->network);
        }

        m->network->on_change = on_link_change;
        m->network->on_change_userdata = m;

        r = sd_bus_add_object_vtable(m->bus, NULL, NODE_OBJECT_PATH, NETWORK_INTERFACE, network_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to publish %s: %m", NETWORK_INTERFACE);
        r = bus_add_object_kind(m->bus, VLAN_PATH_PREFIX, VLAN_INTERFACE, vlan_vtable, vlan_object_find,
                                vlan_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to publish %s: %m", VLAN_INTERFACE);
        return 0;
}
