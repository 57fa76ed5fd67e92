/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan.c — the VLAN registry: managed VLANs, validation, conflict detection, create/delete with
 * rollback, and their sync with the kernel and the records (vlan-state.c)
 *
 * A CreateVlan is planned in full against the link table before the first netlink request, so that a
 * conflict changes nothing; the plan is then carried out step by step with an undo log, and a failing
 * step rolls back what this call did. Nothing here knows D-Bus or netlink: links change through
 * the Rtnl's ops table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/errors.h"
#include "shared/log.h"
#include "util/strv.h"
#include "util/valid.h"
#include "network/vlan.h"

#define IFNAME_RULES "1..15 bytes, no '/', ':', whitespace or control characters, not '.' or '..'"

#define invalid(reterr_message, ...) message_set((reterr_message), -EINVAL, __VA_ARGS__)

int vlan_id_validate(const char *parent, unsigned tag, const char *bridge, const char *arg_prefix,
                     char **reterr_message) {
        const char *p = strempty(arg_prefix);

        if (!ifname_is_valid(parent))
                return invalid(reterr_message, "Invalid %sparent: an interface name is " IFNAME_RULES ".", p);
        if (tag < VLAN_TAG_MIN || tag > VLAN_TAG_MAX)
                return invalid(reterr_message, "Invalid %stag %u: a VLAN tag is %u..%u.", p, tag, VLAN_TAG_MIN,
                               VLAN_TAG_MAX);
        if (!ifname_is_valid(bridge))
                return invalid(reterr_message, "Invalid %sbridge: an interface name is " IFNAME_RULES ".", p);
        return 0;
}

int vlan_spec_validate(VlanSpec *spec, char buf[static IFNAMSIZ], const char *arg_prefix, char **reterr_message) {
        /* CreateVlan's name and mtu are options; in Apply's changes they are keys like the others. */
        const char *p = strempty(arg_prefix), *o = arg_prefix ?: "option ";
        int r;

        assert_return(spec, -EINVAL);

        r = vlan_id_validate(spec->parent, spec->tag, spec->bridge, arg_prefix, reterr_message);
        if (r < 0)
                return r;
        if (spec->name) {
                if (!ifname_is_valid(spec->name))
                        return invalid(reterr_message, "Invalid %sname: an interface name is " IFNAME_RULES ".", o);
        } else {
                int k = snprintf(buf, IFNAMSIZ, "%s.%u", spec->parent, spec->tag);

                if (k >= IFNAMSIZ)
                        return invalid(reterr_message, "Invalid %sparent '%s': the VLAN link name '%s.%u' would be %d "
                                       "bytes, over the kernel's %d; pass a shorter name in %sname.", p,
                                       spec->parent, spec->parent, spec->tag, k, IFNAMSIZ - 1, o);
                spec->name = buf;
        }
        if (!spec->mtu_set)
                spec->mtu = 0;
        else if ((spec->mtu < VLAN_MTU_MIN || spec->mtu > VLAN_MTU_MAX))
                return invalid(reterr_message, "Invalid %smtu %u: an MTU is %u..%u.", o, spec->mtu, VLAN_MTU_MIN,
                               VLAN_MTU_MAX);
        if (streq(spec->bridge, spec->parent))
                return invalid(reterr_message, "Invalid %sbridge '%s': it is the parent itself.", p, spec->bridge);
        if (streq(spec->bridge, spec->name))
                return invalid(reterr_message, "Invalid %sbridge '%s': it is the VLAN link's own name.", p,
                               spec->bridge);
        if (streq(spec->name, spec->parent))
                return invalid(reterr_message, "Invalid %sname '%s': it is the parent's name.", o, spec->name);
        return 0;
}

/* A refused netlink step: the message says which, the errno (and the error name it maps to) why. */
#define step_failed(reterr_message, r, ...) message_set((reterr_message), (r), __VA_ARGS__)

static const char *link_kind_name(const Link *l) {
        return l->kind[0] ? l->kind : "plain device";
}

int vlan_plan(const LinkTable *links, const VlanSpec *spec, VlanPlan *ret, char **reterr_message) {
        const Link *parent, *vlan, *bridge;
        VlanPlan p = {};

        assert_return(links && spec && spec->name && ret, -EINVAL);

        parent = link_table_get_by_name(links, spec->parent);
        if (!parent)
                return message_set(reterr_message, -AIM_ENOTFOUND, "Parent link '%s' does not exist.", spec->parent);
        p.parent = parent->ifindex;
        /* The kernel would refuse it too (EINVAL), but only after we changed something. */
        if (spec->mtu > parent->mtu)
                return invalid(reterr_message, "Invalid option mtu %u: above the MTU of parent '%s' (%u).", spec->mtu,
                               spec->parent, parent->mtu);

        bridge = link_table_get_by_name(links, spec->bridge);
        if (bridge && !streq(bridge->kind, "bridge"))
                return message_set(reterr_message, -AIM_ECONFLICT, "Link '%s' exists and is a %s, not a bridge.",
                                 spec->bridge, link_kind_name(bridge));

        vlan = link_table_get_by_name(links, spec->name);
        if (vlan) {
                const Link *m;

                if (!streq(vlan->kind, "vlan"))
                        return message_set(reterr_message, -AIM_ECONFLICT, "Link '%s' exists and is a %s, not a VLAN.",
                                         spec->name, link_kind_name(vlan));
                if (vlan->parent != parent->ifindex) {
                        const Link *other = link_table_get(links, vlan->parent);

                        return message_set(reterr_message, -AIM_ECONFLICT, "VLAN '%s' exists on parent '%s', not on '%s'.",
                                         spec->name, other ? other->name : "?", spec->parent);
                }
                if (vlan->vlan_id != spec->tag)
                        return message_set(reterr_message, -AIM_ECONFLICT, "VLAN '%s' exists with tag %u, not %u.",
                                         spec->name, vlan->vlan_id, spec->tag);
                m = vlan->master > 0 ? link_table_get(links, vlan->master) : NULL;
                if (vlan->master > 0 && (!bridge || vlan->master != bridge->ifindex))
                        return message_set(reterr_message, -AIM_ECONFLICT, "VLAN '%s' is a port of '%s', not of bridge '%s'.",
                                         spec->name, m ? m->name : "another link", spec->bridge);
                p.vlan = vlan->ifindex;
                p.enslave = vlan->master == 0;
                p.vlan_up = !link_is_up(vlan);
                p.vlan_old_mtu = vlan->mtu;
                if (spec->mtu != 0 && vlan->mtu != spec->mtu)
                        p.vlan_mtu = spec->mtu;
        } else {
                const Link *same = link_table_get_vlan(links, parent->ifindex, spec->tag);

                if (same)
                        return message_set(reterr_message, -AIM_ECONFLICT, "Parent '%s' has tag %u already, as link '%s'.",
                                         spec->parent, spec->tag, same->name);
                p.enslave = p.vlan_up = true;
        }

        if (bridge) {
                p.bridge = bridge->ifindex;
                p.bridge_up = !link_is_up(bridge);
                p.bridge_old_mtu = bridge->mtu;
                if (spec->mtu != 0 && bridge->mtu != spec->mtu)
                        p.bridge_mtu = spec->mtu;
        }
        *ret = p;
        return 0;
}

bool vlan_plan_is_noop(const VlanPlan *p) {
        assert_return(p, false);
        return p->vlan > 0 && p->bridge > 0 && !p->enslave && !p->vlan_up && !p->bridge_up &&
                p->vlan_mtu == 0 && p->bridge_mtu == 0;
}

int vlan_plan_apply(Rtnl *rtnl, const VlanSpec *spec, const VlanPlan *plan, VlanUndo *undo, char **reterr_message) {
        int vlan = plan->vlan, bridge = plan->bridge, r;
        const RtnlOps *ops;

        assert_return(rtnl && spec && plan && undo, -EINVAL);
        ops = rtnl->ops;

        *undo = (VlanUndo) {};

        if (vlan == 0) {
                r = ops->create_vlan(rtnl, spec->name, plan->parent, spec->tag, spec->mtu, &vlan);
                if (r < 0)
                        return step_failed(reterr_message, r, "Failed to create VLAN link '%s'", spec->name);
                undo->steps[undo->n++] = (VlanUndoStep) { .ifindex = vlan, .delete = true };
        }

        if (bridge == 0) {
                r = ops->create_bridge(rtnl, spec->bridge, spec->mtu, true, &bridge);
                if (r < 0) {
                        r = step_failed(reterr_message, r, "Failed to create bridge '%s'", spec->bridge);
                        goto rollback;
                }
                undo->steps[undo->n++] = (VlanUndoStep) { .ifindex = bridge, .delete = true };
        } else if (plan->bridge_up || plan->bridge_mtu) {
                LinkSettings s = LINK_SETTINGS_LEAVE;

                s.up = plan->bridge_up ? 1 : -1;
                s.mtu = plan->bridge_mtu;
                r = ops->set_link(rtnl, bridge, &s);
                if (r < 0) {
                        r = step_failed(reterr_message, r, "Failed to set up bridge '%s'", spec->bridge);
                        goto rollback;
                }
                undo->steps[undo->n++] = (VlanUndoStep) {
                        .ifindex = bridge,
                        .restore = { .master = -1, .mtu = plan->bridge_mtu ? plan->bridge_old_mtu : 0,
                                     .up = plan->bridge_up ? 0 : -1 },
                };
        }

        if (plan->enslave || plan->vlan_up || plan->vlan_mtu) {
                LinkSettings s = { .master = plan->enslave ? bridge : -1, .mtu = plan->vlan_mtu,
                                   .up = plan->vlan_up ? 1 : -1 };

                r = ops->set_link(rtnl, vlan, &s);
                if (r < 0) {
                        r = step_failed(reterr_message, r, "Failed to add '%s' to bridge '%s'", spec->name, spec->bridge);
                        goto rollback;
                }
                if (plan->vlan > 0)
                        undo->steps[undo->n++] = (VlanUndoStep) {
                                .ifindex = vlan,
                                .restore = { .master = plan->enslave ? 0 : -1,
                                             .mtu = plan->vlan_mtu ? plan->vlan_old_mtu : 0,
                                             .up = plan->vlan_up ? 0 : -1 },
                        };
        }
        return 0;

rollback:
        (void) vlan_undo(rtnl, undo);
        return r;
}

int vlan_undo(Rtnl *rtnl, VlanUndo *undo) {
        int ret = 0, r;

        assert_return(rtnl && undo, -EINVAL);

        /* Best effort and in reverse: each step is independent of the failed one. */
        while (undo->n > 0) {
                const VlanUndoStep *s = &undo->steps[--undo->n];

                r = s->delete ? rtnl->ops->delete_link(rtnl, s->ifindex) :
                        rtnl->ops->set_link(rtnl, s->ifindex, &s->restore);
                if (r < 0) {
                        log_debug_errno(r, "Rollback of link %d failed: %m", s->ifindex);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

int vlan_registry_new(Rtnl *rtnl, VlanRegistry **ret) {
        _cleanup_(vlan_registry_freep) VlanRegistry *reg = NULL;

        assert_return(rtnl, -EINVAL);
        assert_return(ret, -EINVAL);

        reg = calloc(1, sizeof(VlanRegistry));
        if (!reg)
                return -ENOMEM;
        reg->rtnl = rtnl;
        reg->by_name = hashmap_new();
        reg->by_key = hashmap_new();
        if (!reg->by_name || !reg->by_key)
                return -ENOMEM;
        *ret = TAKE_PTR(reg);
        return 0;
}

VlanRegistry *vlan_registry_free(VlanRegistry *reg) {
        Vlan *v;

        if (!reg)
                return NULL;
        if (reg->by_name)
                HASHMAP_FOREACH(v, reg->by_name)
                        vlan_free(v);
        hashmap_free(reg->by_name);
        hashmap_free(reg->by_key);
        vlan_state_free(reg->state);
        free(reg);
        return NULL;
}

int vlan_registry_open_state(VlanRegistry *reg, const char *state_dir) {
        VlanState *s;
        int r;

        assert_return(reg, -EINVAL);
        assert_return(state_dir, -EINVAL);

        r = vlan_state_open(state_dir, &s);
        if (r < 0)
                return r;
        vlan_state_free(reg->state);
        reg->state = s;
        return 0;
}

int vlan_registry_sync(VlanRegistry *reg) {
        assert_return(reg, -EINVAL);

        return reg->state ? vlan_state_sync(reg->state) : 0;
}

bool vlan_registry_dirty(const VlanRegistry *reg) {
        return reg && reg->state && reg->state->dirty;
}

Vlan *vlan_registry_get(const VlanRegistry *reg, const char *name) {
        assert_return(reg, NULL);
        assert_return(name, NULL);

        return hashmap_get(reg->by_name, name);
}

Vlan *vlan_find(const VlanRegistry *reg, const char *parent, uint16_t tag) {
        char key[IFNAMSIZ + 8];

        assert_return(reg, NULL);
        assert_return(parent, NULL);

        snprintf(key, sizeof(key), "%s:%u", parent, tag);
        return hashmap_get(reg->by_key, key);
}

Vlan *vlan_free(Vlan *v) {
        if (!v)
                return NULL;
        if (v->registry) {
                if (hashmap_get(v->registry->by_name, v->name) == v)
                        hashmap_remove(v->registry->by_name, v->name);
                if (hashmap_get(v->registry->by_key, v->key) == v)
                        hashmap_remove(v->registry->by_key, v->key);
        }
        free(v->name);
        free(v->parent);
        free(v->bridge);
        free(v->conflict);
        free(v);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Vlan *, vlan_free);

static int vlan_new(const VlanSpec *spec, Vlan **ret) {
        _cleanup_(vlan_freep) Vlan *v = calloc(1, sizeof(Vlan));

        if (!v)
                return -ENOMEM;
        v->name = strdup(spec->name);
        v->parent = strdup(spec->parent);
        v->bridge = strdup(spec->bridge);
        if (!v->name || !v->parent || !v->bridge)
                return -ENOMEM;
        v->tag = spec->tag;
        v->mtu = spec->mtu;
        snprintf(v->key, sizeof(v->key), "%s:%u", v->parent, v->tag);
        *ret = TAKE_PTR(v);
        return 0;
}

static int vlan_register(VlanRegistry *reg, Vlan *v) {
        int r;

        r = hashmap_put(reg->by_name, v->name, v);
        if (r < 0)
                return r;
        r = hashmap_put(reg->by_key, v->key, v);
        if (r < 0) {
                hashmap_remove(reg->by_name, v->name);
                return r;
        }
        v->registry = reg;
        return 0;
}

static int vlan_record_write(Vlan *v) {
        VlanRecord rec = { .tag = v->tag, .mtu = v->mtu, .created_vlan = v->created_vlan,
                           .created_bridge = v->created_bridge };

        if (!v->registry->state)
                return 0;
        /* Validated names: each fits. */
        snprintf(rec.name, sizeof(rec.name), "%s", v->name);
        snprintf(rec.parent, sizeof(rec.parent), "%s", v->parent);
        snprintf(rec.bridge, sizeof(rec.bridge), "%s", v->bridge);
        return vlan_state_write(v->registry->state, &rec);
}

static int vlan_record_remove(Vlan *v) {
        return v->registry->state ? vlan_state_remove(v->registry->state, v->name) : 0;
}

/* An existing managed VLAN may be asked for again only exactly as it is. */
static int vlan_check_managed(VlanRegistry *reg, const VlanSpec *spec, Vlan **ret, char **reterr_message) {
        Vlan *v = hashmap_get(reg->by_name, spec->name), *k = vlan_find(reg, spec->parent, spec->tag);

        if (k && k != v)
                return message_set(reterr_message, -AIM_ECONFLICT, "Tag %u on '%s' is managed already as link '%s'.",
                                     spec->tag, spec->parent, k->name);
        if (v && (!streq(v->parent, spec->parent) || v->tag != spec->tag))
                return message_set(reterr_message, -AIM_ECONFLICT, "Link '%s' is managed already as tag %u on '%s'.",
                                     v->name, v->tag, v->parent);
        if (v && !streq(v->bridge, spec->bridge))
                return message_set(reterr_message, -AIM_ECONFLICT,
                                     "VLAN '%s' is managed already on bridge '%s', not '%s'.", v->name, v->bridge,
                                     spec->bridge);
        *ret = v;
        return 0;
}

/* Brings the kernel to spec; *ret_created_vlan/bridge say what this call made. */
static int vlan_apply(Rtnl *rtnl, const VlanSpec *spec, VlanUndo *undo, bool *ret_created_vlan,
                      bool *ret_created_bridge, char **reterr_message) {
        VlanPlan plan = {};
        int r;

        /* Others' changes may still be queued: plan against the kernel as it is now. */
        r = rtnl_process_events(rtnl);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to read the kernel's link changes");
        r = vlan_plan(rtnl->links, spec, &plan, reterr_message);
        if (r < 0)
                return r;
        r = vlan_plan_apply(rtnl, spec, &plan, undo, reterr_message);
        if (r < 0)
                return r;
        *ret_created_vlan = plan.vlan == 0;
        *ret_created_bridge = plan.bridge == 0;
        return 0;
}

int vlan_create(VlanRegistry *reg, const VlanSpec *spec, Vlan **ret, bool *ret_new, char **reterr_message) {
        _cleanup_(vlan_freep) Vlan *new = NULL;
        bool created_vlan = false, created_bridge = false;
        Rtnl *rtnl;
        VlanUndo undo = {};
        Vlan *v = NULL;
        int r;

        assert_return(reg, -EINVAL);
        assert_return(spec && spec->name, -EINVAL);
        assert_return(ret && ret_new, -EINVAL);
        rtnl = reg->rtnl;

        r = vlan_check_managed(reg, spec, &v, reterr_message);
        if (r < 0)
                return r;
        if (!v) {
                /* Recorded before the kernel is touched, as making what is missing: a crash half-way
                 * leaves a record the next start re-applies, never links that nobody records. */
                r = rtnl_process_events(rtnl);
                if (r >= 0)
                        r = vlan_new(spec, &new);
                if (r < 0)
                        return message_set(reterr_message, r, "Failed to record VLAN '%s'", spec->name);
                new->registry = reg;
                new->created_vlan = !link_table_get_by_name(rtnl->links, spec->name);
                new->created_bridge = !link_table_get_by_name(rtnl->links, spec->bridge);
                r = vlan_record_write(new);
                if (r < 0)
                        return message_set(reterr_message, r, "Failed to record VLAN '%s' in the state directory",
                                             spec->name);
        }
        r = vlan_apply(rtnl, spec, &undo, &created_vlan, &created_bridge, reterr_message);
        if (r < 0) {
                if (new)
                        (void) vlan_record_remove(new);
                return r;
        }

        if (!v) {
                r = vlan_register(reg, new);
                if (r < 0) {
                        (void) vlan_undo(rtnl, &undo);
                        (void) vlan_record_remove(new);
                        return message_set(reterr_message, r, "Failed to record VLAN '%s'", spec->name);
                }
                v = new;
        } else if (!created_vlan && !created_bridge && v->mtu == spec->mtu && !v->conflict) {
                *ret = v;               /* as asked already: nothing to record */
                *ret_new = false;
                return 0;
        }

        /* A new VLAN records what this call made (the kernel may have changed since the guess). */
        v->created_vlan = (!new && v->created_vlan) || created_vlan;
        v->created_bridge = (!new && v->created_bridge) || created_bridge;
        v->mtu = spec->mtu;
        v->conflict = mfree(v->conflict);
        r = vlan_record_write(v);
        if (r < 0) {
                /* Unrecorded, it would be lost at the next start: take it back. */
                (void) vlan_undo(rtnl, &undo);
                if (new)
                        (void) vlan_record_remove(new);
                return message_set(reterr_message, r, "Failed to record VLAN '%s' in the state directory",
                                     spec->name);
        }
        *ret_new = !!new;
        *ret = v;
        TAKE_PTR(new);
        return 0;
}

/* Whether link l is the VLAN v describes (and not something another party put there since). */
static bool vlan_link_matches(const Rtnl *rtnl, const Vlan *v, const Link *l) {
        const Link *parent = link_table_get_by_name(rtnl->links, v->parent);

        return l && streq(l->kind, "vlan") && parent && l->parent == parent->ifindex && l->vlan_id == v->tag;
}

/* The bridge stays with the VLANs still on it: hand our ownership to one of them. */
static void vlan_pass_bridge_on(Vlan *v) {
        Vlan *other;

        HASHMAP_FOREACH(other, v->registry->by_name)
                if (other != v && streq(other->bridge, v->bridge)) {
                        other->created_bridge = true;
                        (void) vlan_record_write(other);
                        return;
                }
}

static int vlan_delete_links(Vlan *v, char **reterr_message) {
        Rtnl *rtnl = v->registry->rtnl;
        Link *l, *b;
        int r;

        l = link_table_get_by_name(rtnl->links, v->name);
        b = link_table_get_by_name(rtnl->links, v->bridge);
        if (v->created_vlan && vlan_link_matches(rtnl, v, l)) {
                r = rtnl->ops->delete_link(rtnl, l->ifindex);
                if (r < 0 && r != -ENODEV)
                        return step_failed(reterr_message, r, "Failed to delete VLAN link '%s'", v->name);
        } else if (vlan_link_matches(rtnl, v, l) && b && l->master == b->ifindex) {
                /* Not ours to delete: give it back as we found it, outside the bridge. */
                LinkSettings s = LINK_SETTINGS_LEAVE;

                s.master = 0;
                r = rtnl->ops->set_link(rtnl, l->ifindex, &s);
                if (r < 0 && r != -ENODEV)
                        return step_failed(reterr_message, r, "Failed to take '%s' out of bridge '%s'", v->name,
                                           v->bridge);
        }

        b = link_table_get_by_name(rtnl->links, v->bridge);
        if (b && streq(b->kind, "bridge") && v->created_bridge) {
                if (b->n_ports == 0) {
                        r = rtnl->ops->delete_link(rtnl, b->ifindex);
                        if (r < 0 && r != -ENODEV)
                                return step_failed(reterr_message, r, "Failed to delete bridge '%s'", v->bridge);
                } else
                        vlan_pass_bridge_on(v);
        }
        return 0;
}

int vlan_delete(Vlan *v, char **reterr_message) {
        int r;

        assert_return(v && v->registry, -EINVAL);

        r = rtnl_process_events(v->registry->rtnl);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to read the kernel's link changes");
        v->removing = true;
        r = vlan_delete_links(v, reterr_message);
        v->removing = false;
        if (r < 0)
                return r;

        r = vlan_record_remove(v);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to remove the record of VLAN '%s'", v->name);
        return 0;
}

/* Registers the VLAN rec describes, without touching the kernel or the records. */
static int vlan_add_record(VlanRegistry *reg, const VlanRecord *rec, Vlan **ret) {
        _cleanup_(vlan_freep) Vlan *v = NULL;
        VlanSpec spec = { .parent = rec->parent, .tag = rec->tag, .bridge = rec->bridge, .name = rec->name,
                          .mtu = rec->mtu, .mtu_set = rec->mtu != 0 };
        char buf[IFNAMSIZ];
        int r;

        r = vlan_spec_validate(&spec, buf, NULL, NULL);
        if (r < 0)
                return r;
        r = vlan_new(&spec, &v);
        if (r < 0)
                return r;
        v->created_vlan = rec->created_vlan;
        v->created_bridge = rec->created_bridge;
        r = vlan_register(reg, v);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int vlan_recreate(VlanRegistry *reg, const VlanRecord *rec, Vlan **ret) {
        Vlan *v;
        int r;

        assert_return(reg && rec && ret, -EINVAL);

        r = vlan_add_record(reg, rec, &v);
        if (r < 0)
                return r;
        r = vlan_record_write(v);
        if (r < 0) {
                vlan_free(v);
                return r;
        }
        (void) vlan_reapply(v);         /* a failure is v->conflict, for all to see */
        *ret = v;
        return 0;
}

static int on_record(const VlanRecord *rec, void *userdata) {
        VlanRegistry *reg = userdata;
        Vlan *v;
        int r;

        r = vlan_add_record(reg, rec, &v);
        if (r == -EINVAL) {
                log_warning("Skipping the invalid VLAN record of %s.", rec->name);
                return 0;
        }
        if (r == -EEXIST) {
                log_warning("Skipping the VLAN record of %s: tag %u on %s is recorded twice.", rec->name,
                            rec->tag, rec->parent);
                return 0;
        }
        return r < 0 ? r : 1;
}

int vlan_registry_restore(VlanRegistry *reg) {
        Vlan *v;
        int count;

        assert_return(reg, -EINVAL);

        if (!reg->state)
                return 0;
        count = vlan_state_load(reg->state, on_record, reg);
        if (count < 0)
                return count;
        /* Re-apply after loading all: VLANs sharing a bridge see each other's ownership. */
        HASHMAP_FOREACH(v, reg->by_name)
                (void) vlan_reapply(v);
        return count;
}

int vlan_reapply(Vlan *v) {
        _cleanup_free_ char *message = NULL;
        VlanSpec spec;
        bool created_vlan = false, created_bridge = false;
        VlanUndo undo = {};
        int r;

        assert_return(v && v->registry, -EINVAL);

        spec = (VlanSpec) { .parent = v->parent, .tag = v->tag, .bridge = v->bridge, .name = v->name,
                            .mtu = v->mtu, .mtu_set = v->mtu != 0 };
        r = vlan_apply(v->registry->rtnl, &spec, &undo, &created_vlan, &created_bridge, &message);
        if (r < 0) {
                free(v->conflict);
                if (r == -AIM_ECONFLICT || r == -AIM_ENOTFOUND)
                        v->conflict = TAKE_PTR(message);
                else if (asprintf(&v->conflict, "%s: %s", strempty(message), strerror(-r)) < 0)
                        v->conflict = NULL;
                if (!v->conflict)
                        v->conflict = strdup("re-apply failed");
                return r;
        }
        v->conflict = mfree(v->conflict);
        if ((created_vlan && !v->created_vlan) || (created_bridge && !v->created_bridge)) {
                v->created_vlan = v->created_vlan || created_vlan;
                v->created_bridge = v->created_bridge || created_bridge;
                (void) vlan_record_write(v);
        }
        return 0;
}
