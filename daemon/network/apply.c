/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apply.c — the one engine for VLAN changes: validated before any netlink traffic, applied in order
 * with an undo record for each, rolled back whole on failure
 *
 * The undo records are computed from the registry before the first change, so that a checkpoint can
 * write them ahead; each is idempotent against the registry (forget a VLAN only if it is managed,
 * make one again only if it is not), so rolling back after a crash at any point is the same call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/errors.h"
#include "shared/log.h"
#include "network/apply.h"
#include "util/string-table.h"

static const char *const vlan_action_table[_VLAN_ACTION_MAX] = {
        [VLAN_ACTION_CREATE] = "create",
        [VLAN_ACTION_DELETE] = "delete",
};

DEFINE_STRING_TABLE_LOOKUP(vlan_action, VlanAction);

int vlan_change_validate(VlanChange *c, const char *arg_prefix, char **reterr_message) {
        assert_return(c, -EINVAL);

        if (c->action == VLAN_ACTION_CREATE)
                return vlan_spec_validate(&c->spec, c->name_buf, arg_prefix, reterr_message);
        assert_return(c->action == VLAN_ACTION_DELETE, -EINVAL);
        return vlan_id_validate(c->spec.parent, c->spec.tag, c->spec.bridge, arg_prefix, reterr_message);
}

/* "<parent>:<tag>" and, for creates, the link name: each may come once in a batch. */
typedef struct ChangeKeys {
        char key[IFNAMSIZ + 8];
        size_t index;
} ChangeKeys;

static int changes_check_unique(const VlanChange *changes, size_t n, char **reterr_message) {
        _cleanup_(hashmap_freep) Hashmap *keys = hashmap_new(), *names = hashmap_new();
        _cleanup_free_ ChangeKeys *k = calloc(n ?: 1, sizeof(ChangeKeys));
        int r;

        if (!keys || !names || !k)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const VlanChange *c = &changes[i];
                ChangeKeys *other;

                k[i].index = i;
                snprintf(k[i].key, sizeof(k[i].key), "%s:%u", c->spec.parent, c->spec.tag);
                other = hashmap_get(keys, k[i].key);
                if (other)
                        return message_set(reterr_message, -EINVAL,
                                             "Invalid changes[%zu]: tag %u on '%s' is in changes[%zu] already; a "
                                             "batch changes each VLAN once.", i, c->spec.tag, c->spec.parent,
                                             other->index);
                r = hashmap_put(keys, k[i].key, &k[i]);
                if (r < 0)
                        return r;
                if (c->action != VLAN_ACTION_CREATE)
                        continue;
                other = hashmap_get(names, c->spec.name);
                if (other)
                        return message_set(reterr_message, -EINVAL,
                                             "Invalid changes[%zu].name: link '%s' is in changes[%zu] already.", i,
                                             c->spec.name, other->index);
                r = hashmap_put(names, c->spec.name, &k[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int vlan_changes_validate(VlanChange *changes, size_t n, char **reterr_message) {
        int r;

        assert_return(changes || n == 0, -EINVAL);

        if (n > VLAN_CHANGES_MAX)
                return message_set(reterr_message, -EINVAL, "Invalid changes: %zu changes, at most %u in one call.",
                                     n, VLAN_CHANGES_MAX);
        for (size_t i = 0; i < n; i++) {
                char prefix[32];

                snprintf(prefix, sizeof(prefix), "changes[%zu].", i);
                r = vlan_change_validate(&changes[i], prefix, reterr_message);
                if (r < 0)
                        return r;
        }
        return changes_check_unique(changes, n, reterr_message);
}

static void undo_record_of(const Vlan *v, VlanUndoRecord *ret, VlanAction action) {
        *ret = (VlanUndoRecord) { .action = action };
        snprintf(ret->record.name, sizeof(ret->record.name), "%s", v->name);
        snprintf(ret->record.parent, sizeof(ret->record.parent), "%s", v->parent);
        snprintf(ret->record.bridge, sizeof(ret->record.bridge), "%s", v->bridge);
        ret->record.tag = v->tag;
        ret->record.mtu = v->mtu;
        ret->record.created_vlan = v->created_vlan;
        ret->record.created_bridge = v->created_bridge;
}

int vlan_changes_prepare(const VlanRegistry *reg, const VlanChange *changes, size_t n, VlanUndoRecord *undo,
                         size_t *reterr_index, char **reterr_message) {
        assert_return(reg, -EINVAL);
        assert_return((changes && undo) || n == 0, -EINVAL);

        for (size_t i = 0; i < n; i++) {
                const VlanChange *c = &changes[i];
                const Vlan *v = vlan_find(reg, c->spec.parent, c->spec.tag);

                undo[i] = (VlanUndoRecord) { .action = _VLAN_ACTION_INVALID };
                if (c->action == VLAN_ACTION_CREATE) {
                        if (v)
                                continue;       /* managed already: asking again changes nothing to take back */
                        undo[i].action = VLAN_ACTION_DELETE;
                        snprintf(undo[i].record.name, sizeof(undo[i].record.name), "%s", c->spec.name);
                        snprintf(undo[i].record.parent, sizeof(undo[i].record.parent), "%s", c->spec.parent);
                        snprintf(undo[i].record.bridge, sizeof(undo[i].record.bridge), "%s", c->spec.bridge);
                        undo[i].record.tag = c->spec.tag;
                        continue;
                }
                if (!v)
                        continue;       /* gone already */
                if (!streq(v->bridge, c->spec.bridge)) {
                        if (reterr_index)
                                *reterr_index = i;
                        return message_set(reterr_message, -AIM_ENOTFOUND, "VLAN '%s' is on bridge '%s', not on '%s'.",
                                             v->name, v->bridge, c->spec.bridge);
                }
                undo_record_of(v, &undo[i], VLAN_ACTION_CREATE);
        }
        return 0;
}

static void hook_added(const VlanApplyHooks *hooks, Vlan *v) {
        if (hooks && hooks->added)
                hooks->added(v, hooks->userdata);
}

static void hook_removed(const VlanApplyHooks *hooks, Vlan *v) {
        if (hooks && hooks->removed)
                hooks->removed(v, hooks->userdata);
}

/* Deletes the managed VLAN v and frees it. */
static int forget(Vlan *v, const VlanApplyHooks *hooks, char **reterr_message) {
        int r;

        r = vlan_delete(v, reterr_message);
        if (r < 0)
                return r;
        hook_removed(hooks, v);
        vlan_free(v);
        return 0;
}

static int apply_one(VlanRegistry *reg, const VlanChange *c, const VlanApplyHooks *hooks, char **reterr_message) {
        bool is_new;
        Vlan *v;
        int r;

        if (c->action == VLAN_ACTION_CREATE) {
                r = vlan_create(reg, &c->spec, &v, &is_new, reterr_message);
                if (r >= 0 && is_new)
                        hook_added(hooks, v);
                return r;
        }
        v = vlan_find(reg, c->spec.parent, c->spec.tag);
        if (!v)
                return 0;
        if (!streq(v->bridge, c->spec.bridge))
                return message_set(reterr_message, -AIM_ENOTFOUND, "VLAN '%s' is on bridge '%s', not on '%s'.",
                                     v->name, v->bridge, c->spec.bridge);
        return forget(v, hooks, reterr_message);
}

static int undo_one(VlanRegistry *reg, const VlanUndoRecord *u, const VlanApplyHooks *hooks) {
        const VlanRecord *rec = &u->record;
        Vlan *v = vlan_find(reg, rec->parent, rec->tag);
        int r;

        if (u->action == VLAN_ACTION_DELETE)
                return v ? forget(v, hooks, NULL) : 0;
        if (u->action != VLAN_ACTION_CREATE || v)
                return 0;
        r = vlan_recreate(reg, rec, &v);
        if (r < 0)
                return r;
        hook_added(hooks, v);
        return 0;
}

static void cursor_init(VlanCursor *c, VlanRegistry *reg, const VlanChange *changes, size_t n,
                        const VlanUndoRecord *undo, const VlanApplyHooks *hooks) {
        *c = (VlanCursor) { .reg = reg, .changes = changes, .undo = undo, .n = n };
        if (hooks)
                c->hooks = *hooks;
}

int vlan_cursor_init_apply(VlanCursor *c, VlanRegistry *reg, const VlanChange *changes, size_t n,
                           const VlanUndoRecord *undo, const VlanApplyHooks *hooks) {
        assert_return(c, -EINVAL);
        assert_return(reg, -EINVAL);
        assert_return((changes && undo) || n == 0, -EINVAL);

        cursor_init(c, reg, changes, n, undo, hooks);
        return 0;
}

int vlan_cursor_init_rollback(VlanCursor *c, VlanRegistry *reg, const VlanUndoRecord *undo, size_t n,
                              const VlanApplyHooks *hooks) {
        assert_return(c, -EINVAL);
        assert_return(reg, -EINVAL);
        assert_return(undo || n == 0, -EINVAL);

        cursor_init(c, reg, NULL, n, undo, hooks);
        c->rolling_back = true;
        c->undo_left = n;
        return 0;
}

void vlan_cursor_clear(VlanCursor *c) {
        if (!c)
                return;
        free(c->error_message);
        c->error_message = NULL;
}

static bool cursor_finished(const VlanCursor *c) {
        return c->rolling_back ? c->undo_left == 0 : c->applied == c->n;
}

int vlan_cursor_step(VlanCursor *c, size_t max, size_t *reterr_index, char **reterr_message) {
        int r;

        assert_return(c, -EINVAL);
        assert_return(c->reg, -EINVAL);

        for (size_t k = 0; k < max && !cursor_finished(c); k++) {
                if (c->rolling_back) {
                        const VlanUndoRecord *u = &c->undo[--c->undo_left];

                        r = undo_one(c->reg, u, &c->hooks);
                        if (r < 0) {
                                log_debug_errno(r, "Rollback of VLAN %s failed: %m", u->record.name);
                                if (c->error == 0) {
                                        c->error = r;
                                        c->error_index = c->undo_left;
                                }
                        }
                        continue;
                }
                r = apply_one(c->reg, &c->changes[c->applied], &c->hooks, &c->error_message);
                if (r < 0) {
                        c->error = r;
                        c->error_index = c->applied;
                        c->rolling_back = true;
                        c->undo_left = c->applied;
                } else
                        c->applied++;
        }
        if (!cursor_finished(c))
                return 0;
        if (c->error < 0) {
                if (reterr_index)
                        *reterr_index = c->error_index;
                if (reterr_message && c->error_message) {
                        free(*reterr_message);
                        *reterr_message = TAKE_PTR(c->error_message);
                }
                return c->error;
        }
        return 1;
}

int vlan_changes_apply(VlanRegistry *reg, const VlanChange *changes, size_t n, const VlanUndoRecord *undo,
                       const VlanApplyHooks *hooks, size_t *reterr_index, char **reterr_message) {
        _cleanup_(vlan_cursor_clear) VlanCursor c = {};
        int r;

        r = vlan_cursor_init_apply(&c, reg, changes, n, undo, hooks);
        if (r < 0)
                return r;
        r = vlan_cursor_step(&c, SIZE_MAX, reterr_index, reterr_message);
        return MIN(r, 0);
}

int vlan_changes_rollback(VlanRegistry *reg, const VlanUndoRecord *undo, size_t n, const VlanApplyHooks *hooks) {
        _cleanup_(vlan_cursor_clear) VlanCursor c = {};
        int r;

        r = vlan_cursor_init_rollback(&c, reg, undo, n, hooks);
        if (r < 0)
                return r;
        r = vlan_cursor_step(&c, SIZE_MAX, NULL, NULL);
        return MIN(r, 0);
}
