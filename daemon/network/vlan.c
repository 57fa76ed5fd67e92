/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan.c — managed VLANs: validation, conflict detection, create/delete with rollback, persistence
 *
 * A CreateVlan is planned in full against the link table before the first netlink request, so that a
 * conflict changes nothing; the plan is then carried out step by step with an undo log, and a failing
 * step rolls back what this call did. Nothing here knows D-Bus or netlink: links change through
 * Network's ops table. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/errors.h"
#include "shared/log.h"
#include "util/strv.h"
#include "util/valid.h"
#include "network/vlan.h"

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define IFNAME_RULES "1..15 bytes, no '/', ':', whitespace or control characters, not '.' or '..'"

/* Formats *ret_message (NULL if out of memory) and returns r. */
static int fail_with(char **ret_message, int r, const char *format, ...) _printf_(3, 4);
static int fail_with(char **ret_message, int r, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_message, format, ap) < 0)
                *ret_message = NULL;
        va_end(ap);
        return r;
}

#define invalid(ret_message, ...) fail_with((ret_message), -EINVAL, __VA_ARGS__)

int vlan_spec_validate(VlanSpec *spec, char buf[static IFNAMSIZ], char **ret_message) {
        if (!ifname_is_valid(spec->parent))
                return invalid(ret_message, "Invalid parent: an interface name is " IFNAME_RULES ".");
        if (spec->tag < VLAN_TAG_MIN || spec->tag > VLAN_TAG_MAX)
                return invalid(ret_message, "Invalid tag %u: a VLAN tag is %u..%u.", spec->tag, VLAN_TAG_MIN,
                               VLAN_TAG_MAX);
        if (!ifname_is_valid(spec->bridge))
                return invalid(ret_message, "Invalid bridge: an interface name is " IFNAME_RULES ".");
        if (spec->name) {
                if (!ifname_is_valid(spec->name))
                        return invalid(ret_message, "Invalid option name: an interface name is " IFNAME_RULES ".");
        } else {
                int k = snprintf(buf, IFNAMSIZ, "%s.%u", spec->parent, spec->tag);

                if (k >= IFNAMSIZ)
                        return invalid(ret_message, "Invalid parent '%s': the VLAN link name '%s.%u' would be %d "
                                       "bytes, over the kernel's %d; pass a shorter name in option name.",
                                       spec->parent, spec->parent, spec->tag, k, IFNAMSIZ - 1);
                spec->name = buf;
        }
        if (!spec->mtu_set)
                spec->mtu = 0;
        else if ((spec->mtu < VLAN_MTU_MIN || spec->mtu > VLAN_MTU_MAX))
                return invalid(ret_message, "Invalid option mtu %u: an MTU is %u..%u.", spec->mtu, VLAN_MTU_MIN,
                               VLAN_MTU_MAX);
        if (streq(spec->bridge, spec->parent))
                return invalid(ret_message, "Invalid bridge '%s': it is the parent itself.", spec->bridge);
        if (streq(spec->bridge, spec->name))
                return invalid(ret_message, "Invalid bridge '%s': it is the VLAN link's own name.", spec->bridge);
        if (streq(spec->name, spec->parent))
                return invalid(ret_message, "Invalid option name '%s': it is the parent's name.", spec->name);
        return 0;
}

/* A refused netlink step: the message gets the errno text unless aim_error() will append it anyway. */
#define step_failed(ret_message, r, format, ...)                                                        \
        (streq(aim_error_name(r), AIM_ERROR_FAILED) ?                                                   \
         fail_with((ret_message), (r), format, __VA_ARGS__) :                                           \
         fail_with((ret_message), (r), format ": %s", __VA_ARGS__, strerror(-(r))))

static const char *link_kind_name(const Link *l) {
        return l->kind[0] ? l->kind : "plain device";
}

int vlan_plan(const LinkTable *links, const VlanSpec *spec, VlanPlan *ret, char **ret_message) {
        const Link *parent, *vlan, *bridge;
        VlanPlan p = {};

        parent = link_table_get_by_name(links, spec->parent);
        if (!parent)
                return fail_with(ret_message, -AIM_ENOTFOUND, "Parent link '%s' does not exist.", spec->parent);
        p.parent = parent->ifindex;
        /* The kernel would refuse it too (EINVAL), but only after we changed something. */
        if (spec->mtu > parent->mtu)
                return invalid(ret_message, "Invalid option mtu %u: above the MTU of parent '%s' (%u).", spec->mtu,
                               spec->parent, parent->mtu);

        bridge = link_table_get_by_name(links, spec->bridge);
        if (bridge && !streq(bridge->kind, "bridge"))
                return fail_with(ret_message, -AIM_ECONFLICT, "Link '%s' exists and is a %s, not a bridge.",
                                 spec->bridge, link_kind_name(bridge));

        vlan = link_table_get_by_name(links, spec->name);
        if (vlan) {
                const Link *m;

                if (!streq(vlan->kind, "vlan"))
                        return fail_with(ret_message, -AIM_ECONFLICT, "Link '%s' exists and is a %s, not a VLAN.",
                                         spec->name, link_kind_name(vlan));
                if (vlan->parent != parent->ifindex) {
                        const Link *other = link_table_get(links, vlan->parent);

                        return fail_with(ret_message, -AIM_ECONFLICT, "VLAN '%s' exists on parent '%s', not on '%s'.",
                                         spec->name, other ? other->name : "?", spec->parent);
                }
                if (vlan->vlan_id != spec->tag)
                        return fail_with(ret_message, -AIM_ECONFLICT, "VLAN '%s' exists with tag %u, not %u.",
                                         spec->name, vlan->vlan_id, spec->tag);
                m = vlan->master > 0 ? link_table_get(links, vlan->master) : NULL;
                if (vlan->master > 0 && (!bridge || vlan->master != bridge->ifindex))
                        return fail_with(ret_message, -AIM_ECONFLICT, "VLAN '%s' is a port of '%s', not of bridge '%s'.",
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
                        return fail_with(ret_message, -AIM_ECONFLICT, "Parent '%s' has tag %u already, as link '%s'.",
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
        return p->vlan > 0 && p->bridge > 0 && !p->enslave && !p->vlan_up && !p->bridge_up &&
                p->vlan_mtu == 0 && p->bridge_mtu == 0;
}

int vlan_plan_apply(Network *n, const VlanSpec *spec, const VlanPlan *plan, VlanUndo *undo, char **ret_message) {
        const NetworkOps *ops = n->ops;
        int vlan = plan->vlan, bridge = plan->bridge, r;

        *undo = (VlanUndo) {};

        if (vlan == 0) {
                r = ops->create_vlan(n, spec->name, plan->parent, spec->tag, spec->mtu, &vlan);
                if (r < 0)
                        return step_failed(ret_message, r, "Failed to create VLAN link '%s'", spec->name);
                undo->steps[undo->n++] = (VlanUndoStep) { .ifindex = vlan, .delete = true };
        }

        if (bridge == 0) {
                r = ops->create_bridge(n, spec->bridge, spec->mtu, true, &bridge);
                if (r < 0) {
                        r = step_failed(ret_message, r, "Failed to create bridge '%s'", spec->bridge);
                        goto rollback;
                }
                undo->steps[undo->n++] = (VlanUndoStep) { .ifindex = bridge, .delete = true };
        } else if (plan->bridge_up || plan->bridge_mtu) {
                LinkSettings s = LINK_SETTINGS_LEAVE;

                s.up = plan->bridge_up ? 1 : -1;
                s.mtu = plan->bridge_mtu;
                r = ops->set_link(n, bridge, &s);
                if (r < 0) {
                        r = step_failed(ret_message, r, "Failed to set up bridge '%s'", spec->bridge);
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

                r = ops->set_link(n, vlan, &s);
                if (r < 0) {
                        r = step_failed(ret_message, r, "Failed to add '%s' to bridge '%s'", spec->name, spec->bridge);
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
        (void) vlan_undo(n, undo);
        return r;
}

int vlan_undo(Network *n, VlanUndo *undo) {
        int ret = 0, r;

        /* Best effort and in reverse: each step is independent of the failed one. */
        while (undo->n > 0) {
                const VlanUndoStep *s = &undo->steps[--undo->n];

                r = s->delete ? n->ops->delete_link(n, s->ifindex) : n->ops->set_link(n, s->ifindex, &s->restore);
                if (r < 0) {
                        log_debug_errno(r, "Rollback of link %d failed: %m", s->ifindex);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

Vlan *vlan_find(Network *n, const char *parent, uint16_t tag) {
        char key[IFNAMSIZ + 8];

        snprintf(key, sizeof(key), "%s:%u", parent, tag);
        return hashmap_get(n->vlans_by_key, key);
}

Vlan *vlan_free(Vlan *v) {
        if (!v)
                return NULL;
        if (v->network) {
                if (hashmap_get(v->network->vlans, v->name) == v)
                        hashmap_remove(v->network->vlans, v->name);
                if (hashmap_get(v->network->vlans_by_key, v->key) == v)
                        hashmap_remove(v->network->vlans_by_key, v->key);
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

static int vlan_register(Network *n, Vlan *v) {
        int r;

        r = hashmap_put(n->vlans, v->name, v);
        if (r < 0)
                return r;
        r = hashmap_put(n->vlans_by_key, v->key, v);
        if (r < 0) {
                hashmap_remove(n->vlans, v->name);
                return r;
        }
        v->network = n;
        return 0;
}

/* The record of a VLAN, in <state>/network/vlan-<name>: replaced by rename, so a reader (or the next
 * start after a crash) sees the old record or the new one, never a part. */
static int vlan_record_write(Vlan *v) {
        Network *n = v->network;
        char path[IFNAMSIZ + 8], tmp[IFNAMSIZ + 16], buf[256];
        _cleanup_close_ int fd = -EBADF;
        int k;

        if (n->state_fd < 0)
                return 0;
        snprintf(path, sizeof(path), "vlan-%s", v->name);
        snprintf(tmp, sizeof(tmp), ".#vlan-%s", v->name);
        k = snprintf(buf, sizeof(buf), "name=%s\nparent=%s\ntag=%u\nbridge=%s\nmtu=%u\ncreated-vlan=%d\n"
                     "created-bridge=%d\n", v->name, v->parent, v->tag, v->bridge, v->mtu, v->created_vlan,
                     v->created_bridge);
        fd = openat(n->state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, buf, k) != k || (n->state_fsync && fdatasync(fd) < 0)) {
                int r = negative_errno();

                (void) unlinkat(n->state_fd, tmp, 0);
                return r;
        }
        if (renameat(n->state_fd, tmp, n->state_fd, path) < 0) {
                int r = negative_errno();

                (void) unlinkat(n->state_fd, tmp, 0);
                return r;
        }
        n->state_dirty = true;
        return 0;
}

static int vlan_record_remove(Vlan *v) {
        Network *n = v->network;
        char path[IFNAMSIZ + 8];

        if (n->state_fd < 0)
                return 0;
        snprintf(path, sizeof(path), "vlan-%s", v->name);
        if (unlinkat(n->state_fd, path, 0) < 0 && errno != ENOENT)
                return negative_errno();
        n->state_dirty = true;
        return 0;
}

int network_state_sync(Network *n) {
        if (n->state_fd < 0 || !n->state_dirty)
                return 0;
        n->state_dirty = false;
        if (n->state_fsync && fsync(n->state_fd) < 0)
                return negative_errno();
        return 0;
}

/* An existing managed VLAN may be asked for again only exactly as it is. */
static int vlan_check_managed(Network *n, const VlanSpec *spec, Vlan **ret, char **ret_message) {
        Vlan *v = hashmap_get(n->vlans, spec->name), *k = vlan_find(n, spec->parent, spec->tag);

        if (k && k != v)
                return fail_with(ret_message, -AIM_ECONFLICT, "Tag %u on '%s' is managed already as link '%s'.",
                                 spec->tag, spec->parent, k->name);
        if (v && (!streq(v->parent, spec->parent) || v->tag != spec->tag))
                return fail_with(ret_message, -AIM_ECONFLICT, "Link '%s' is managed already as tag %u on '%s'.",
                                 v->name, v->tag, v->parent);
        if (v && !streq(v->bridge, spec->bridge))
                return fail_with(ret_message, -AIM_ECONFLICT, "VLAN '%s' is managed already on bridge '%s', not '%s'.",
                                 v->name, v->bridge, spec->bridge);
        *ret = v;
        return 0;
}

/* Brings the kernel to spec; *ret_created_vlan/bridge say what this call made. */
static int vlan_apply(Network *n, const VlanSpec *spec, VlanUndo *undo, bool *ret_created_vlan,
                      bool *ret_created_bridge, char **ret_message) {
        VlanPlan plan = {};
        int r;

        /* Others' changes may still be queued: plan against the kernel as it is now. */
        r = network_process_events(n);
        if (r < 0)
                return fail_with(ret_message, r, "Failed to read the kernel's link changes");
        r = vlan_plan(n->links, spec, &plan, ret_message);
        if (r < 0)
                return r;
        r = vlan_plan_apply(n, spec, &plan, undo, ret_message);
        if (r < 0)
                return r;
        *ret_created_vlan = plan.vlan == 0;
        *ret_created_bridge = plan.bridge == 0;
        return 0;
}

int vlan_create(Network *n, const VlanSpec *spec, Vlan **ret, bool *ret_new, char **ret_message) {
        _cleanup_(vlan_freep) Vlan *new = NULL;
        bool created_vlan = false, created_bridge = false;
        VlanUndo undo = {};
        Vlan *v = NULL;
        int r;

        r = vlan_check_managed(n, spec, &v, ret_message);
        if (r < 0)
                return r;
        if (!v) {
                /* Recorded before the kernel is touched, as making what is missing: a crash half-way
                 * leaves a record the next start re-applies, never links that nobody records. */
                r = network_process_events(n);
                if (r >= 0)
                        r = vlan_new(spec, &new);
                if (r < 0)
                        return fail_with(ret_message, r, "Failed to record VLAN '%s'", spec->name);
                new->network = n;
                new->created_vlan = !link_table_get_by_name(n->links, spec->name);
                new->created_bridge = !link_table_get_by_name(n->links, spec->bridge);
                r = vlan_record_write(new);
                if (r < 0)
                        return fail_with(ret_message, r, "Failed to record VLAN '%s' in the state directory", spec->name);
        }
        r = vlan_apply(n, spec, &undo, &created_vlan, &created_bridge, ret_message);
        if (r < 0) {
                if (new)
                        (void) vlan_record_remove(new);
                return r;
        }

        if (!v) {
                r = vlan_register(n, new);
                if (r < 0) {
                        (void) vlan_undo(n, &undo);
                        (void) vlan_record_remove(new);
                        return fail_with(ret_message, r, "Failed to record VLAN '%s'", spec->name);
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
                (void) vlan_undo(n, &undo);
                if (new)
                        (void) vlan_record_remove(new);
                return fail_with(ret_message, r, "Failed to record VLAN '%s' in the state directory", spec->name);
        }
        *ret_new = !!new;
        *ret = v;
        TAKE_PTR(new);
        return 0;
}

/* Whether link l is the VLAN v describes (and not something another party put there since). */
static bool vlan_link_matches(Network *n, const Vlan *v, const Link *l) {
        const Link *parent = link_table_get_by_name(n->links, v->parent);

        return l && streq(l->kind, "vlan") && parent && l->parent == parent->ifindex && l->vlan_id == v->tag;
}

/* The bridge stays with the VLANs still on it: hand our ownership to one of them. */
static void vlan_pass_bridge_on(Vlan *v) {
        Vlan *other;

        HASHMAP_FOREACH(other, v->network->vlans)
                if (other != v && streq(other->bridge, v->bridge)) {
                        other->created_bridge = true;
                        (void) vlan_record_write(other);
                        return;
                }
}

static int vlan_delete_links(Vlan *v, char **ret_message);

int vlan_delete(Vlan *v, char **ret_message) {
        Network *n = v->network;
        int r;

        r = network_process_events(n);
        if (r < 0)
                return fail_with(ret_message, r, "Failed to read the kernel's link changes");
        v->removing = true;
        r = vlan_delete_links(v, ret_message);
        v->removing = false;
        if (r < 0)
                return r;

        r = vlan_record_remove(v);
        if (r < 0)
                return fail_with(ret_message, r, "Failed to remove the record of VLAN '%s'", v->name);
        return 0;
}

static int vlan_delete_links(Vlan *v, char **ret_message) {
        Network *n = v->network;
        Link *l, *b;
        int r;

        l = link_table_get_by_name(n->links, v->name);
        b = link_table_get_by_name(n->links, v->bridge);
        if (v->created_vlan && vlan_link_matches(n, v, l)) {
                r = n->ops->delete_link(n, l->ifindex);
                if (r < 0 && r != -ENODEV)
                        return step_failed(ret_message, r, "Failed to delete VLAN link '%s'", v->name);
        } else if (vlan_link_matches(n, v, l) && b && l->master == b->ifindex) {
                /* Not ours to delete: give it back as we found it, outside the bridge. */
                LinkSettings s = LINK_SETTINGS_LEAVE;

                s.master = 0;
                r = n->ops->set_link(n, l->ifindex, &s);
                if (r < 0 && r != -ENODEV)
                        return step_failed(ret_message, r, "Failed to take '%s' out of bridge '%s'", v->name, v->bridge);
        }

        b = link_table_get_by_name(n->links, v->bridge);
        if (b && streq(b->kind, "bridge") && v->created_bridge) {
                if (b->n_ports == 0) {
                        r = n->ops->delete_link(n, b->ifindex);
                        if (r < 0 && r != -ENODEV)
                                return step_failed(ret_message, r, "Failed to delete bridge '%s'", v->bridge);
                } else
                        vlan_pass_bridge_on(v);
        }
        return 0;
}

int vlan_delete_args_validate(const char *parent, unsigned tag, const char *bridge, char **ret_message) {
        if (!ifname_is_valid(parent))
                return invalid(ret_message, "Invalid parent: an interface name is " IFNAME_RULES ".");
        if (tag < VLAN_TAG_MIN || tag > VLAN_TAG_MAX)
                return invalid(ret_message, "Invalid tag %u: a VLAN tag is %u..%u.", tag, VLAN_TAG_MIN, VLAN_TAG_MAX);
        if (!ifname_is_valid(bridge))
                return invalid(ret_message, "Invalid bridge: an interface name is " IFNAME_RULES ".");
        return 0;
}

int network_state_open(Network *n, const char *state_dir) {
        _cleanup_close_ int dfd = -EBADF;

        /* Under systemd StateDirectory= makes it; started by hand, we do. */
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        dfd = open(state_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (mkdirat(dfd, "network", 0755) < 0 && errno != EEXIST)
                return negative_errno();
        safe_close(n->state_fd);
        n->state_fd = openat(dfd, "network", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        return n->state_fd < 0 ? negative_errno() : 0;
}

/* Parses one record; unknown keys are ignored so that later versions may add some. */
static int vlan_record_parse(FILE *f, char **ret_name, char **ret_parent, char **ret_bridge, unsigned *ret_tag,
                             unsigned *ret_mtu, int *ret_cv, int *ret_cb) {
        char line[128];

        while (fgets(line, sizeof(line), f)) {
                char *eq = strchr(line, '='), *nl = strchr(line, '\n');
                char **target = NULL;

                if (!eq)
                        return -EBADMSG;
                *eq++ = 0;
                if (nl)
                        *nl = 0;
                if (streq(line, "name"))
                        target = ret_name;
                else if (streq(line, "parent"))
                        target = ret_parent;
                else if (streq(line, "bridge"))
                        target = ret_bridge;
                else if (streq(line, "tag"))
                        *ret_tag = strtoul(eq, NULL, 10);
                else if (streq(line, "mtu"))
                        *ret_mtu = strtoul(eq, NULL, 10);
                else if (streq(line, "created-vlan"))
                        *ret_cv = streq(eq, "1");
                else if (streq(line, "created-bridge"))
                        *ret_cb = streq(eq, "1");
                if (target && free_and_strdup(target, eq) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int vlan_restore_one(Network *n, int fd, Vlan **ret) {
        _cleanup_free_ char *name = NULL, *parent = NULL, *bridge = NULL, *message = NULL;
        _cleanup_(vlan_freep) Vlan *v = NULL;
        char buf[IFNAMSIZ];
        unsigned tag = 0, mtu = 0;
        int cv = 0, cb = 0, r;
        VlanSpec spec;
        FILE *f;

        f = fdopen(fd, "re");
        if (!f) {
                safe_close(fd);
                return negative_errno();
        }
        r = vlan_record_parse(f, &name, &parent, &bridge, &tag, &mtu, &cv, &cb);
        fclose(f);
        if (r < 0)
                return r;
        spec = (VlanSpec) { .parent = parent, .tag = tag, .bridge = bridge, .name = name, .mtu = mtu,
                            .mtu_set = mtu != 0 };
        if (!name || !parent || !bridge || tag > VLAN_TAG_MAX || vlan_spec_validate(&spec, buf, &message) < 0)
                return -EBADMSG;

        r = vlan_new(&spec, &v);
        if (r < 0)
                return r;
        v->created_vlan = cv;
        v->created_bridge = cb;
        r = vlan_register(n, v);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int network_state_restore(Network *n) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int count = 0, fd, r;
        Vlan *v;

        if (n->state_fd < 0)
                return 0;
        fd = openat(n->state_fd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }

        while ((de = readdir(d))) {
                if (strncmp(de->d_name, ".#vlan-", 7) == 0) {
                        (void) unlinkat(n->state_fd, de->d_name, 0);    /* a write a crash cut short */
                        continue;
                }
                if (strncmp(de->d_name, "vlan-", 5) != 0)
                        continue;
                fd = openat(n->state_fd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return negative_errno();
                r = vlan_restore_one(n, fd, &v);
                if (r == -EBADMSG || r == -EEXIST) {
                        log_debug("Ignoring malformed or duplicate VLAN record %s.", de->d_name);
                        continue;
                }
                if (r < 0)
                        return r;
                count++;
        }

        /* Re-apply after loading all: VLANs sharing a bridge see each other's ownership. */
        HASHMAP_FOREACH(v, n->vlans)
                (void) vlan_reapply(v);
        return count;
}

int vlan_reapply(Vlan *v) {
        _cleanup_free_ char *message = NULL;
        VlanSpec spec = { .parent = v->parent, .tag = v->tag, .bridge = v->bridge, .name = v->name,
                          .mtu = v->mtu, .mtu_set = v->mtu != 0 };
        bool created_vlan = false, created_bridge = false;
        VlanUndo undo = {};
        int r;

        r = vlan_apply(v->network, &spec, &undo, &created_vlan, &created_bridge, &message);
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

void network_free_vlans(Network *n) {
        Vlan *v;

        HASHMAP_FOREACH(v, n->vlans)
                vlan_free(v);
}
