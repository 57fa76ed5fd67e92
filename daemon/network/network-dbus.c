/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network-dbus.c — org.abiquo.Node1.Network and the org.abiquo.Node1.Vlan objects
 *
 * Only translation lives here: arguments in, polkit, vlan.c does the work, errors and signals out.
 * Every Vlan object reaches the manager through its registry's back-pointer.
 * Vlan objects are served by a fallback vtable over the managed-VLAN table, so thousands of them cost
 * no per-object registration. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "broker/broker.h"
#include "network/apply.h"
#include "network/checkpoint.h"
#include "network/network-dbus.h"
#include "util/strv.h"
#include "util/time-util.h"

#define NETWORK_ACTION    "org.abiquo.node1.manage-network"

static int vlan_object_path(const Vlan *v, char **ret) {
        return sd_bus_path_encode(VLAN_PATH_PREFIX, v->name, ret);
}

typedef struct OptionsReader {
        VlanSpec *spec;
        sd_bus_error *error;
} OptionsReader;

static int read_option(sd_bus_message *m, const char *key, void *userdata) {
        OptionsReader *o = userdata;
        int r;

        if (streq(key, "name")) {
                r = sd_bus_message_read(m, "v", "s", &o->spec->name);
                if (r < 0)
                        return aim_error(o->error, -EINVAL, "Invalid option name: must be a string (s).");
        } else if (streq(key, "mtu")) {
                r = sd_bus_message_read(m, "v", "u", &o->spec->mtu);
                if (r < 0)
                        return aim_error(o->error, -EINVAL, "Invalid option mtu: must be a uint32 (u).");
                o->spec->mtu_set = true;
        } else
                return aim_error(o->error, -EINVAL, "Unknown option '%s': CreateVlan knows name and mtu.", key);
        return 0;
}

/* Reads CreateVlan's options into spec; the strings stay owned by the message. */
static int read_options(sd_bus_message *m, VlanSpec *spec, sd_bus_error *error) {
        return bus_message_read_dict(m, read_option, &(OptionsReader) { .spec = spec, .error = error });
}

/* The state directory's fsync, once per loop iteration however many calls changed it. */
static int on_state_sync(sd_event_source *s, void *userdata) {
        Network *n = userdata;
        int r;

        r = vlan_registry_sync(n->vlans);
        if (r < 0)
                log_warning_errno(r, "Failed to sync the network state directory: %m");
        return 0;
}

static void schedule_state_sync(Network *n) {
        if (!vlan_registry_dirty(n->vlans))
                return;
        if (!n->sync_source) {
                if (sd_event_add_defer(n->manager->event, &n->sync_source, on_state_sync, n) < 0) {
                        (void) vlan_registry_sync(n->vlans);
                        return;
                }
                (void) sd_event_source_set_description(n->sync_source, "network-state-sync");
        }
        (void) sd_event_source_set_enabled(n->sync_source, SD_EVENT_ONESHOT);
}

static void on_vlan_added(Vlan *v, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;

        const Link *l = link_table_get_by_name(m->network->rtnl->links, v->name);

        if (vlan_object_path(v, &path) >= 0)
                (void) sd_bus_emit_object_added(m->bus, path);
        broker_publish_vlan(m->broker, "created", v->name, v->parent, v->tag, v->bridge,
                            l ? operstate_to_string(l->operstate) : "notpresent");
}

static void on_vlan_removed(Vlan *v, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *path = NULL;

        if (vlan_object_path(v, &path) >= 0)
                (void) sd_bus_emit_object_removed(m->bus, path);
        broker_publish_vlan(m->broker, "deleted", v->name, v->parent, v->tag, v->bridge, "notpresent");
}

static VlanApplyHooks network_hooks(Manager *m) {
        return (VlanApplyHooks) { .added = on_vlan_added, .removed = on_vlan_removed, .userdata = m };
}

/* Error.Busy while a pending checkpoint holds a link or tag change c would touch. */
static int check_busy(Network *n, const VlanChange *c, const char *arg, sd_bus_error *error) {
        const Vlan *v = vlan_find(n->vlans, c->spec.parent, c->spec.tag);
        char key[IFNAMSIZ + 8];
        Checkpoint *cp;

        snprintf(key, sizeof(key), "%s:%u", c->spec.parent, c->spec.tag);
        HASHMAP_FOREACH(cp, n->checkpoints) {
                const char *what = checkpoint_touches(cp, key) ? key :
                        checkpoint_touches(cp, c->spec.bridge) ? c->spec.bridge :
                        checkpoint_touches(cp, c->spec.name) ? c->spec.name :
                        v && checkpoint_touches(cp, v->name) ? v->name : NULL;

                if (what)
                        return aim_error(error, -AIM_EBUSY, "%s%s'%s' is held by checkpoint %s until it is confirmed "
                                         "or rolled back.", strempty(arg), arg ? ": " : "", what, cp->id_str);
        }
        return 0;
}

/* An Apply, or a checkpoint's rollback, in flight: the engine's cursor run a slice per loop iteration
 * from a defer source, so that the loop keeps serving other calls. One at a time: every other network
 * mutation is Busy meanwhile. */
typedef struct NetworkBatch {
        Manager *manager;
        sd_bus_message *message;        /* the call answered at the end (NULL: an expiry); owns changes' strings */
        VlanChange *changes;            /* an Apply's */
        VlanUndoRecord *undo;           /* an Apply's */
        Checkpoint *cp;                 /* an Apply's new checkpoint (owned until published), or the one rolled back */
        const char *result;             /* a rollback's: "rolled-back" or "expired"; NULL: an Apply */
        uint32_t timeout;               /* an Apply's rollback_timeout */
        VlanCursor cursor;
        sd_event_source *source;
} NetworkBatch;

static NetworkBatch *network_batch_free(NetworkBatch *b) {
        if (!b)
                return NULL;
        sd_event_source_disable_unref(b->source);
        vlan_cursor_clear(&b->cursor);
        sd_bus_message_unref(b->message);
        free(b->changes);
        free(b->undo);
        if (!b->result)
                checkpoint_free(b->cp);
        free(b);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(NetworkBatch *, network_batch_free);

/* Error.Busy while a batch is in flight, naming it. */
static int check_batch(Network *n, sd_bus_error *error) {
        const NetworkBatch *b = n->batch;

        if (!b)
                return 0;
        if (b->result)
                return aim_error(error, -AIM_EBUSY, "Checkpoint %s is being rolled back (%zu of %zu changes left); "
                                 "try again when it is done.", b->cp->id_str, b->cursor.undo_left, b->cursor.n);
        return aim_error(error, -AIM_EBUSY, "An Apply of %zu changes from %s is in flight (%zu applied); try again "
                         "when it returns.", b->cursor.n, strempty(sd_bus_message_get_sender(b->message)),
                         b->cursor.applied);
}

/* polkit for NETWORK_ACTION with details (key, value, …, NULL), then Error.Busy while a batch is in
 * flight (after polkit, so that only an authorized caller learns of it). 1 to go on, 0 while polkit
 * is still asking (the handler returns 1 and is called again with the answer), < 0 on failure. */
static int network_authorize(Manager *m, sd_bus_message *message, const char * const *details,
                             sd_bus_error *error) {
        int r;

        r = polkit_check_async(m->polkit, message, NETWORK_ACTION, details, error);
        if (r <= 0)
                return r;
        r = check_batch(m->network, error);
        if (r < 0)
                return r;
        return 1;
}

/* The engine's failure as a D-Bus error; in Apply it names the change. */
static int changes_error(sd_bus_error *error, int r, bool indexed, size_t index, const char *why) {
        if (indexed)
                return aim_error(error, r, "changes[%zu]: %s", index, why ?: "failed");
        return aim_error(error, r, "%s", strempty(why));
}

/* Readies changes (validated, authorized, not busy) for the engine: their undo records in *ret_undo and,
 * with timeout_usec > 0, a new checkpoint holding them, written ahead, in *ret_checkpoint. */
static int network_prepare(Manager *m, const VlanChange *changes, size_t n, uint64_t timeout_usec, bool indexed,
                           VlanUndoRecord **ret_undo, Checkpoint **ret_checkpoint, sd_bus_error *error) {
        Network *net = m->network;
        _cleanup_(checkpoint_freep) Checkpoint *cp = NULL;
        _cleanup_free_ VlanUndoRecord *undo = calloc(n ?: 1, sizeof(VlanUndoRecord));
        _cleanup_free_ char *why = NULL;
        size_t index = 0;
        int r;

        if (!undo)
                return -ENOMEM;
        r = vlan_changes_prepare(net->vlans, changes, n, undo, &index, &why);
        if (r < 0)
                return changes_error(error, r, indexed, index, why);
        if (timeout_usec > 0) {
                uint64_t now;

                r = sd_event_now(m->event, CLOCK_REALTIME, &now);
                if (r >= 0)
                        r = checkpoint_new(net->next_checkpoint_id, now + timeout_usec, net->vlans, changes,
                                           undo, n, &cp);
                if (r < 0)
                        return aim_error(error, r, "Failed to make the checkpoint");
                cp->manager = m;
                if (net->vlans->state) {
                        r = checkpoint_save(cp, net->vlans->state);
                        if (r < 0)
                                return aim_error(error, r, "Failed to write the checkpoint to the state directory");
                }
                net->next_checkpoint_id++;
        }
        *ret_undo = TAKE_PTR(undo);
        *ret_checkpoint = TAKE_PTR(cp);
        return 0;
}

/* After the engine ran a batch to its end (r): a failed one's checkpoint file goes, the records sync. */
static void network_ran(Network *net, const Checkpoint *cp, int r) {
        if (r < 0 && cp && net->vlans->state)
                (void) checkpoint_remove(cp, net->vlans->state);
        schedule_state_sync(net);
}

/* Runs one change (validated, authorized, not busy) through the engine at once. */
static int network_run_one(Manager *m, const VlanChange *c, sd_bus_error *error) {
        _cleanup_(checkpoint_freep) Checkpoint *cp = NULL;
        _cleanup_free_ VlanUndoRecord *undo = NULL;
        _cleanup_free_ char *why = NULL;
        VlanApplyHooks hooks = network_hooks(m);
        size_t index = 0;
        int r;

        r = network_prepare(m, c, 1, 0, false, &undo, &cp, error);
        if (r < 0)
                return r;
        r = vlan_changes_apply(m->network->vlans, c, 1, undo, &hooks, &index, &why);
        network_ran(m->network, cp, r);
        if (r < 0)
                return changes_error(error, r, false, index, why);
        return 0;
}

/* CreateVlan's and DeleteVlan's way to the engine: polkit with c's parent, tag and bridge as its
 * details, the checkpoints' hold, then c alone and at once. 1 once c ran, 0 while polkit is still
 * asking (the handler returns 1 and is called again with the answer), < 0 on failure. */
static int run_one_authorized(Manager *m, sd_bus_message *message, const VlanChange *c, sd_bus_error *error) {
        char tag[8];
        int r;

        snprintf(tag, sizeof(tag), "%u", c->spec.tag);
        r = network_authorize(m, message,
                              (const char *[]) { "parent", c->spec.parent, "tag", tag, "bridge", c->spec.bridge, NULL },
                              error);
        if (r <= 0)
                return r;
        r = check_busy(m->network, c, NULL, error);
        if (r < 0)
                return r;
        r = network_run_one(m, c, error);
        if (r < 0)
                return r;
        return 1;
}

static int method_create_vlan(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *why = NULL, *path = NULL;
        VlanChange c = { .action = VLAN_ACTION_CREATE };
        bool had_conflict;
        Vlan *v;
        int r;

        r = sd_bus_message_read(message, "sqs", &c.spec.parent, &c.spec.tag, &c.spec.bridge);
        if (r < 0)
                return r;
        r = read_options(message, &c.spec, error);
        if (r < 0)
                return r;
        r = vlan_change_validate(&c, NULL, &why);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));

        v = vlan_registry_get(m->network->vlans, c.spec.name);
        had_conflict = v && v->conflict;
        r = run_one_authorized(m, message, &c, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        v = vlan_registry_get(m->network->vlans, c.spec.name);
        assert(v);
        r = vlan_object_path(v, &path);
        if (r < 0)
                return r;
        if (had_conflict)
                (void) sd_bus_emit_properties_changed(m->bus, path, VLAN_INTERFACE, "Conflict", NULL);
        return sd_bus_reply_method_return(message, "o", path);
}

/* Deletes v once polkit agrees; shared by DeleteVlan and Vlan.Delete. */
static int vlan_delete_authorized(Manager *m, sd_bus_message *message, Vlan *v, sd_bus_error *error) {
        VlanChange c = {
                .action = VLAN_ACTION_DELETE,
                .spec = { .parent = v->parent, .tag = v->tag, .bridge = v->bridge },
        };
        int r;

        r = run_one_authorized(m, message, &c, error);
        if (r <= 0)
                return r < 0 ? r : 1;
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
        r = vlan_id_validate(parent, tag, bridge, NULL, &why);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));
        v = vlan_find(m->network->vlans, parent, tag);
        if (!v)
                return aim_error(error, -AIM_ENOTFOUND, "No VLAN with tag %u on '%s' is managed here.", tag, parent);
        if (!streq(v->bridge, bridge))
                return aim_error(error, -AIM_ENOTFOUND, "VLAN '%s' is on bridge '%s', not on '%s'.", v->name,
                                 v->bridge, bridge);
        return vlan_delete_authorized(m, message, v, error);
}

/* The keys of one of Apply's changes: the first four are required, name and mtu belong to a create. */
static const struct {
        const char *key, *signature, *type;
        size_t offset;          /* in VlanSpec; SIZE_MAX: the action, read as a string */
        bool required;
} change_keys[] = {
        { "action", "s", "string", SIZE_MAX,                   true },
        { "parent", "s", "string", offsetof(VlanSpec, parent), true },
        { "tag",    "q", "uint16", offsetof(VlanSpec, tag),    true },
        { "bridge", "s", "string", offsetof(VlanSpec, bridge), true },
        { "name",   "s", "string", offsetof(VlanSpec, name),   false },
        { "mtu",    "u", "uint32", offsetof(VlanSpec, mtu),    false },
};

typedef struct ChangeReader {
        size_t i;
        VlanChange *change;
        const char *action;
        bool seen[ELEMENTSOF(change_keys)];
        sd_bus_error *error;
} ChangeReader;

static int read_change_key(sd_bus_message *m, const char *key, void *userdata) {
        ChangeReader *c = userdata;
        void *field;
        size_t k;
        int r;

        for (k = 0; k < ELEMENTSOF(change_keys) && !streq(change_keys[k].key, key); k++)
                ;
        if (k == ELEMENTSOF(change_keys))
                return aim_error(c->error, -EINVAL, "Unknown key changes[%zu].%s: a change has action, parent, "
                                 "tag, bridge, name and mtu.", c->i, key);
        if (c->seen[k])
                return aim_error(c->error, -EINVAL, "Invalid changes[%zu].%s: given twice.", c->i, key);
        c->seen[k] = true;
        field = change_keys[k].offset == SIZE_MAX ? (void *) &c->action :
                (uint8_t *) &c->change->spec + change_keys[k].offset;
        r = sd_bus_message_read(m, "v", change_keys[k].signature, field);
        if (r < 0)
                return aim_error(c->error, -EINVAL, "Invalid changes[%zu].%s: must be a %s (%s).", c->i, key,
                                 change_keys[k].type, change_keys[k].signature);
        if (streq(key, "mtu"))
                c->change->spec.mtu_set = true;
        return 0;
}

/* Reads changes[i] (an a{sv}) into c; the strings stay owned by the message. */
static int read_change(sd_bus_message *m, size_t i, VlanChange *c, sd_bus_error *error) {
        ChangeReader reader = { .i = i, .change = c, .error = error };
        size_t k;
        int r;

        r = bus_message_read_dict(m, read_change_key, &reader);
        if (r < 0)
                return r;

        for (k = 0; k < ELEMENTSOF(change_keys); k++)
                if (change_keys[k].required && !reader.seen[k])
                        return aim_error(error, -EINVAL, "Invalid changes[%zu]: %s is missing.", i, change_keys[k].key);
        c->action = vlan_action_from_string(reader.action);
        if (c->action < 0)
                return aim_error(error, -EINVAL, "Invalid changes[%zu].action '%s': create or delete.", i, reader.action);
        for (k = 0; k < ELEMENTSOF(change_keys); k++)
                if (c->action == VLAN_ACTION_DELETE && !change_keys[k].required && reader.seen[k])
                        return aim_error(error, -EINVAL, "Invalid changes[%zu].%s: only a create takes it.", i,
                                         change_keys[k].key);
        return 0;
}

typedef struct ChangesReader {
        VlanChange *changes;
        size_t n, allocated;
        sd_bus_error *error;
} ChangesReader;

static int read_changes_element(sd_bus_message *m, size_t i, void *userdata) {
        ChangesReader *c = userdata;

        if (i == VLAN_CHANGES_MAX)
                return aim_error(c->error, -EINVAL, "Invalid changes: more than %u in one call.", VLAN_CHANGES_MAX);
        if (i == c->allocated) {
                size_t k = MAX(c->allocated * 2, (size_t) 16);
                VlanChange *p = reallocarray(c->changes, k, sizeof(VlanChange));

                if (!p)
                        return -ENOMEM;
                c->changes = p;
                c->allocated = k;
        }
        c->changes[i] = (VlanChange) {};
        c->n = i + 1;
        return read_change(m, i, &c->changes[i], c->error);
}

static int read_changes(sd_bus_message *m, VlanChange **ret, size_t *ret_n, sd_bus_error *error) {
        ChangesReader reader = { .error = error };
        int r;

        r = bus_message_read_array(m, "a{sv}", read_changes_element, &reader);
        if (r < 0) {
                free(reader.changes);
                return r;
        }
        *ret = reader.changes;
        *ret_n = reader.n;
        return 0;
}

#define ROLLBACK_TIMEOUT_MAX (24U * 60 * 60)

typedef struct ApplyOptionsReader {
        uint32_t timeout;
        sd_bus_error *error;
} ApplyOptionsReader;

static int read_apply_option(sd_bus_message *m, const char *key, void *userdata) {
        ApplyOptionsReader *o = userdata;
        int r;

        if (!streq(key, "rollback_timeout"))
                return aim_error(o->error, -EINVAL, "Unknown option '%s': Apply knows rollback_timeout.", key);
        r = sd_bus_message_read(m, "v", "u", &o->timeout);
        if (r < 0)
                return aim_error(o->error, -EINVAL, "Invalid option rollback_timeout: must be a uint32 (u).");
        if (o->timeout > ROLLBACK_TIMEOUT_MAX)
                return aim_error(o->error, -EINVAL, "Invalid option rollback_timeout %u: at most %u seconds.",
                                 o->timeout, ROLLBACK_TIMEOUT_MAX);
        return 0;
}

static int read_apply_options(sd_bus_message *m, uint32_t *ret_timeout, sd_bus_error *error) {
        ApplyOptionsReader reader = { .error = error };
        int r;

        r = bus_message_read_dict(m, read_apply_option, &reader);
        if (r < 0)
                return r;
        *ret_timeout = reader.timeout;
        return 0;
}

/* polkit's details for Apply: the count, and the parents (each once, in order of appearance). */
static int apply_details(const VlanChange *changes, size_t n, char count[static 12], char **ret_parents) {
        _cleanup_(hashmap_freep) Hashmap *seen = hashmap_new();
        _cleanup_free_ char *parents = NULL;
        size_t size = 0;
        FILE *f;

        if (!seen)
                return -ENOMEM;
        f = open_memstream(&parents, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (hashmap_get(seen, changes[i].spec.parent))
                        continue;
                if (hashmap_put(seen, changes[i].spec.parent, (void *) changes[i].spec.parent) < 0)
                        break;
                fprintf(f, "%s%s", size > 0 ? "," : "", changes[i].spec.parent);
                fflush(f);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        snprintf(count, 12, "%zu", n);
        *ret_parents = TAKE_PTR(parents);
        return 0;
}

/* /org/abiquo/Node1/checkpoint/<id>, the id in decimal as API-v2.md has it (a path element may
 * start with a digit; sd_bus_path_encode() would escape it). */
static int checkpoint_object_path(const Checkpoint *cp, char **ret) {
        return asprintf(ret, CHECKPOINT_PATH_PREFIX "/%s", cp->id_str) < 0 ? -ENOMEM : 0;
}

static int on_checkpoint_expired(sd_event_source *s, uint64_t usec, void *userdata);

static int checkpoint_publish(Manager *m, Checkpoint *cp, uint32_t timeout, char **ret_path) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = checkpoint_object_path(cp, &path);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &cp->timer, CLOCK_MONOTONIC, (uint64_t) timeout * 1000000ULL, 0,
                                       on_checkpoint_expired, cp);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(cp->timer, "checkpoint-expiry");
        r = hashmap_put(m->network->checkpoints, cp->id_str, cp);
        if (r < 0)
                return r;
        (void) sd_bus_emit_object_added(m->bus, path);
        *ret_path = TAKE_PTR(path);
        return 0;
}

#define BATCH_SLICE_CHANGES 64
#define BATCH_SLICE_USEC    (10U * 1000U)

static int network_batch_new(Manager *m, sd_bus_message *message, NetworkBatch **ret) {
        _cleanup_(network_batch_freep) NetworkBatch *b = calloc(1, sizeof(NetworkBatch));

        if (!b)
                return -ENOMEM;
        b->manager = m;
        b->message = sd_bus_message_ref(message);
        *ret = TAKE_PTR(b);
        return 0;
}

static void checkpoint_forget(Checkpoint *cp, const char *result);

/* The Apply's end: the checkpoint published (or the whole call undone), the caller answered. */
static void apply_ended(NetworkBatch *b, int r, size_t index, const char *why) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        Manager *m = b->manager;

        network_ran(m->network, b->cp, r);
        if (r < 0) {
                (void) changes_error(&error, r, true, index, why);
                (void) sd_bus_reply_method_error(b->message, &error);
                return;
        }
        if (!b->cp) {
                (void) sd_bus_reply_method_return(b->message, "o", "/");
                return;
        }
        r = checkpoint_publish(m, b->cp, b->timeout, &path);
        if (r < 0) {
                /* Not held, it would never be undone: undo it now. */
                VlanApplyHooks hooks = network_hooks(m);

                (void) vlan_changes_rollback(m->network->vlans, b->cp->undo, b->cp->n_changes, &hooks);
                network_ran(m->network, b->cp, r);
                (void) aim_error(&error, r, "Failed to publish the checkpoint");
                (void) sd_bus_reply_method_error(b->message, &error);
                return;
        }
        b->cp = NULL;   /* the checkpoints' table holds it */
        (void) sd_bus_reply_method_return(b->message, "o", path);
}

/* A rollback's end: the checkpoint forgotten, the caller (if a call asked) answered. */
static void rollback_ended(NetworkBatch *b, int r) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (r < 0)
                log_warning_errno(r, "Rolling back checkpoint %s left something behind: %m", b->cp->id_str);
        checkpoint_forget(TAKE_PTR(b->cp), b->result);
        if (!b->message)
                return;
        if (r < 0) {
                (void) aim_error(&error, r, "The rollback left something behind; see the VLANs' Conflict");
                (void) sd_bus_reply_method_error(b->message, &error);
        } else
                (void) sd_bus_reply_method_return(b->message, NULL);
}

/* One slice of the batch in flight: up to BATCH_SLICE_CHANGES changes or BATCH_SLICE_USEC, whichever
 * comes first; at the end of the batch it is answered and freed, else it runs again next iteration. */
static int on_batch_slice(sd_event_source *s, void *userdata) {
        _cleanup_(network_batch_freep) NetworkBatch *b = userdata;
        _cleanup_free_ char *why = NULL;
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        size_t index = 0;
        int r = 0;

        for (size_t k = 0; k < BATCH_SLICE_CHANGES && r == 0 && now_usec(CLOCK_MONOTONIC) - start < BATCH_SLICE_USEC; k++)
                r = vlan_cursor_step(&b->cursor, 1, &index, &why);
        if (r == 0) {
                r = sd_event_source_set_enabled(b->source, SD_EVENT_ONESHOT);
                if (r >= 0) {
                        TAKE_PTR(b);
                        return 0;
                }
                /* Cannot yield: finish it here rather than leave it half done. */
                r = vlan_cursor_step(&b->cursor, SIZE_MAX, &index, &why);
        }
        b->manager->network->batch = NULL;
        if (b->result)
                rollback_ended(b, r);
        else
                apply_ended(b, r, index, why);
        return 0;
}

/* Takes b (its cursor ready) in flight: its first slice now, the rest from the loop. */
static void network_batch_start(NetworkBatch *b) {
        Manager *m = b->manager;
        int r;

        m->network->batch = b;
        r = sd_event_add_defer(m->event, &b->source, on_batch_slice, b);
        if (r >= 0) {
                (void) sd_event_source_set_description(b->source, "network-batch");
                (void) sd_event_source_set_priority(b->source, SD_EVENT_PRIORITY_IDLE);
                (void) sd_event_source_set_enabled(b->source, SD_EVENT_ONESHOT);
        }
        /* Without a source the slice runs the batch to its end at once (its set_enabled fails). */
        (void) on_batch_slice(b->source, b);
}

static int method_apply(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ VlanChange *changes = NULL;
        _cleanup_free_ char *why = NULL, *parents = NULL;
        _cleanup_(network_batch_freep) NetworkBatch *b = NULL;
        VlanApplyHooks hooks = network_hooks(m);
        uint32_t timeout = 0;
        char count[12];
        size_t n = 0;
        int r;

        r = read_changes(message, &changes, &n, error);
        if (r < 0)
                return r;
        r = read_apply_options(message, &timeout, error);
        if (r < 0)
                return r;
        r = vlan_changes_validate(changes, n, &why);
        if (r < 0)
                return aim_error(error, r, "%s", strempty(why));

        r = apply_details(changes, n, count, &parents);
        if (r < 0)
                return r;
        r = network_authorize(m, message, (const char *[]) { "changes", count, "parents", parents, NULL }, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        for (size_t i = 0; i < n; i++) {
                char arg[32];

                snprintf(arg, sizeof(arg), "changes[%zu]", i);
                r = check_busy(m->network, &changes[i], arg, error);
                if (r < 0)
                        return r;
        }

        r = network_batch_new(m, message, &b);
        if (r < 0)
                return r;
        r = network_prepare(m, changes, n, (uint64_t) timeout * 1000000ULL, true, &b->undo, &b->cp, error);
        if (r < 0)
                return r;
        b->changes = TAKE_PTR(changes);
        b->timeout = timeout;
        r = vlan_cursor_init_apply(&b->cursor, m->network->vlans, b->changes, n, b->undo, &hooks);
        if (r < 0) {
                network_ran(m->network, b->cp, r);
                return r;
        }
        network_batch_start(TAKE_PTR(b));
        return 1;
}

/* Forgets cp (confirmed, or rolled back): its file, the bus object and signal, the memory. */
static void checkpoint_forget(Checkpoint *cp, const char *result) {
        Manager *m = cp->manager;
        Network *n = m->network;
        _cleanup_free_ char *path = NULL;

        if (n->vlans->state)
                (void) checkpoint_remove(cp, n->vlans->state);
        schedule_state_sync(n);
        hashmap_remove(n->checkpoints, cp->id_str);
        if (checkpoint_object_path(cp, &path) >= 0) {
                (void) sd_bus_emit_signal(m->bus, NODE_OBJECT_PATH, NETWORK_INTERFACE, "CheckpointRemoved", "uos",
                                          cp->id, path, result);
                (void) sd_bus_emit_object_removed(m->bus, path);
        }
        checkpoint_free(cp);
}

/* Ends cp: confirmed, forgotten at once; else its rollback goes in flight (held, its file kept, until
 * the last change is undone), and message, if a call asked, is answered at its end. */
static int checkpoint_end(Checkpoint *cp, const char *result, sd_bus_message *message) {
        _cleanup_(network_batch_freep) NetworkBatch *b = NULL;
        Manager *m = cp->manager;
        VlanApplyHooks hooks = network_hooks(m);
        int r;

        if (streq(result, "confirmed")) {
                checkpoint_forget(cp, result);
                return message ? sd_bus_reply_method_return(message, NULL) : 0;
        }
        r = network_batch_new(m, message, &b);
        if (r < 0)
                return r;
        r = vlan_cursor_init_rollback(&b->cursor, m->network->vlans, cp->undo, cp->n_changes, &hooks);
        if (r < 0)
                return r;
        b->cp = cp;
        b->result = result;
        (void) sd_event_source_set_enabled(cp->timer, SD_EVENT_OFF);
        network_batch_start(TAKE_PTR(b));
        return 1;
}

#define EXPIRY_RETRY_USEC (100U * 1000U)

static int on_checkpoint_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        Checkpoint *cp = userdata;
        int r = -AIM_EBUSY;

        if (!cp->manager->network->batch) {
                log_info("Checkpoint %s expired unconfirmed, rolling it back.", cp->id_str);
                r = checkpoint_end(cp, "expired", NULL);
                if (r >= 0)
                        return 0;
        }
        /* Another batch in flight (or no memory for this one): the rollback starts once it can. */
        log_debug_errno(r, "Checkpoint %s expired, its rollback waits: %m", cp->id_str);
        if (sd_event_source_set_time_relative(s, EXPIRY_RETRY_USEC) < 0 ||
            sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0)
                log_error("Checkpoint %s expired but cannot be rolled back until the daemon restarts.", cp->id_str);
        return 0;
}

static int checkpoint_end_authorized(sd_bus_message *message, Checkpoint *cp, const char *result,
                                     sd_bus_error *error) {
        Manager *m = cp->manager;
        int r;

        r = network_authorize(m, message, (const char *[]) { "checkpoint", cp->id_str, NULL }, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        return checkpoint_end(cp, result, message);
}

/* Checkpoint.Confirm() */
static int method_confirm(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return checkpoint_end_authorized(message, userdata, "confirmed", error);
}

/* Checkpoint.Rollback() */
static int method_rollback(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return checkpoint_end_authorized(message, userdata, "rolled-back", error);
}

static int vlan_compare(const void *a, const void *b) {
        const Vlan *x = *(Vlan * const *) a, *y = *(Vlan * const *) b;
        int c = strcmp(x->parent, y->parent);

        return c != 0 ? c : (int) x->tag - (int) y->tag;
}

typedef struct VlanList {
        Vlan **all;
        size_t n;
} VlanList;

static int append_vlans(sd_bus_message *reply, void *userdata) {
        const VlanList *l = userdata;
        int r;

        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *path = NULL;

                r = vlan_object_path(l->all[i], &path);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "(sqso)", l->all[i]->parent, l->all[i]->tag,
                                                  l->all[i]->bridge, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int method_list_vlans(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ Vlan **all = NULL;
        size_t n = 0;
        Vlan *v;

        all = calloc(hashmap_size(m->network->vlans->by_name) + 1, sizeof(Vlan *));
        if (!all)
                return -ENOMEM;
        HASHMAP_FOREACH(v, m->network->vlans->by_name)
                all[n++] = v;
        qsort(all, n, sizeof(Vlan *), vlan_compare);
        return bus_reply_array(message, "(sqso)", append_vlans, &(VlanList) { .all = all, .n = n });
}

/* Vlan.Delete() */
static int method_delete(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;

        return vlan_delete_authorized(v->registry->manager, message, v, error);
}

static int property_get_mtu(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;
        const Link *l = link_table_get_by_name(v->registry->rtnl->links, v->name);

        return sd_bus_message_append(reply, "u", l ? l->mtu : 0);
}

static int property_get_operstate(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Vlan *v = userdata;
        const Link *l = link_table_get_by_name(v->registry->rtnl->links, v->name);

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
        SD_BUS_METHOD_WITH_ARGS("Apply",
                                SD_BUS_ARGS("aa{sv}", changes, "a{sv}", options),
                                SD_BUS_RESULT("o", checkpoint),
                                method_apply, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("CheckpointRemoved", SD_BUS_ARGS("u", id, "o", checkpoint, "s", result), 0),
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
        SD_BUS_METHOD("Delete", NULL, NULL, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int vlan_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                            sd_bus_error *error) {
        Manager *m = userdata;

        return bus_hashmap_object_find(m->network->vlans->by_name, VLAN_PATH_PREFIX, true, path, found);
}

static int vlan_path_of(const void *v, char **ret) {
        return vlan_object_path(v, ret);
}

static int vlan_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_hashmap_node_enumerate(m->network->vlans->by_name, vlan_path_of, nodes);
}

static const sd_bus_vtable checkpoint_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Checkpoint, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Expires", "t", NULL, offsetof(Checkpoint, expires), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Changes", "u", NULL, offsetof(Checkpoint, n_changes), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("Confirm", NULL, NULL, method_confirm, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Rollback", NULL, NULL, method_rollback, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int checkpoint_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                                  void **found, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_hashmap_object_find(m->network->checkpoints, CHECKPOINT_PATH_PREFIX, false, path, found);
}

static int checkpoint_path_of(const void *cp, char **ret) {
        return checkpoint_object_path(cp, ret);
}

static int checkpoint_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                                      sd_bus_error *error) {
        Manager *m = userdata;

        return bus_hashmap_node_enumerate(m->network->checkpoints, checkpoint_path_of, nodes);
}

/* The kernel changed a link (we did, or someone with "ip"): tell the subscribers of its VLAN object. */
static void on_link_change(Rtnl *rtnl, const Link *old, const Link *new, unsigned change, void *userdata) {
        Manager *m = userdata;
        const char *names[2] = { new ? new->name : NULL, old && (!new || change & LINK_CHANGE_NAME) ? old->name : NULL };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *path = NULL;
                bool all = change & (LINK_CHANGE_NEW | LINK_CHANGE_REMOVED | LINK_CHANGE_NAME);
                Vlan *v;

                if (!names[i])
                        continue;
                v = vlan_registry_get(m->network->vlans, names[i]);
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

Network *network_free(Network *n) {
        if (!n)
                return NULL;
        sd_event_source_disable_unref(n->sync_source);
        /* A batch stopped half way: a checkpoint's file (an Apply's with rollback_timeout, or the one
         * being rolled back) makes the next start roll it back; a plain Apply's changes so far stay,
         * each recorded, and its caller sees the daemon go. */
        network_batch_free(n->batch);
        if (n->checkpoints) {
                Checkpoint *cp;

                /* Pending ones stay on disk: the next start rolls them back. */
                HASHMAP_FOREACH(cp, n->checkpoints)
                        checkpoint_free(cp);
                hashmap_free(n->checkpoints);
        }
        vlan_registry_free(n->vlans);
        rtnl_free(n->rtnl);
        free(n);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Network *, network_free);

static int network_new(Manager *m, Network **ret) {
        _cleanup_(network_freep) Network *n = calloc(1, sizeof(Network));
        int r;

        if (!n)
                return -ENOMEM;
        n->manager = m;
        n->next_checkpoint_id = 1;
        n->checkpoints = hashmap_new();
        if (!n->checkpoints)
                return -ENOMEM;
        r = rtnl_new(&n->rtnl);
        if (r < 0)
                return r;
        r = vlan_registry_new(n->rtnl, &n->vlans);
        if (r < 0)
                return r;
        n->vlans->manager = m;
        *ret = TAKE_PTR(n);
        return 0;
}

/* A checkpoint still pending when the daemon stopped (or died): nobody can confirm it now. */
static int on_stale_checkpoint(Checkpoint *cp, void *userdata) {
        Network *n = userdata;
        int r;

        r = vlan_changes_rollback(n->vlans, cp->undo, cp->n_changes, NULL);
        if (r < 0)
                log_warning_errno(r, "Rolling back checkpoint %s, pending at the last stop, left something behind: %m",
                                  cp->id_str);
        else
                log_notice("Rolled back checkpoint %s, pending when the daemon last stopped.", cp->id_str);
        (void) checkpoint_remove(cp, n->vlans->state);
        checkpoint_free(cp);
        return 0;
}

static void network_restore(Network *n, const char *state_dir) {
        Vlan *v;
        int r;

        r = vlan_registry_open_state(n->vlans, state_dir);
        if (r < 0) {
                log_warning_errno(r, "Cannot use %s/network, VLANs will not be persisted: %m", state_dir);
                return;
        }
        r = vlan_registry_restore(n->vlans);
        if (r < 0)
                log_error_errno(r, "Failed to restore the VLANs from %s/network: %m", state_dir);
        else if (r > 0)
                log_info("Restored %d VLAN(s) from %s/network.", r, state_dir);
        r = checkpoint_load_all(n->vlans->state, on_stale_checkpoint, n);
        if (r < 0)
                log_error_errno(r, "Failed to roll back the pending checkpoints: %m");
        else
                n->next_checkpoint_id = (uint32_t) r + 1;
        HASHMAP_FOREACH(v, n->vlans->by_name)
                if (v->conflict)
                        log_warning("VLAN %s (tag %u on %s, bridge %s) was not re-applied: %s", v->name, v->tag,
                                    v->parent, v->bridge, v->conflict);
        (void) vlan_registry_sync(n->vlans);
}

int network_start(Manager *m) {
        _cleanup_free_ char *why = NULL;
        int r;

        r = network_new(m, &m->network);
        if (r < 0)
                return log_oom();
        r = rtnl_open(m->network->rtnl, m->event, &why);
        if (r < 0)
                return why ? log_error_errno(r, "Failed to open netlink: %s: %m", why) :
                             log_error_errno(r, "Failed to open netlink: %m");
        network_restore(m->network, m->config.state_dir);
        rtnl_set_change_handler(m->network->rtnl, on_link_change, m);

        r = bus_add_node_interface(m->bus, NETWORK_INTERFACE, network_vtable, m);
        if (r >= 0)
                r = bus_add_object_kind(m->bus, VLAN_PATH_PREFIX, VLAN_INTERFACE, vlan_vtable, vlan_object_find,
                                        vlan_node_enumerator, m);
        if (r >= 0)
                r = bus_add_object_kind(m->bus, CHECKPOINT_PATH_PREFIX, CHECKPOINT_INTERFACE, checkpoint_vtable,
                                        checkpoint_object_find, checkpoint_node_enumerator, m);
        return r;
}
