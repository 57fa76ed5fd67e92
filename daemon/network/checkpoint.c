/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* checkpoint.c — a pending Apply: its undo records, written ahead to the state directory, and which
 * links it holds until it is confirmed, rolled back or expires
 *
 * The file is written (and the directory synced) before the first change: a daemon killed at any
 * point after that finds it at the next start and rolls back, and each undo record is idempotent, so
 * changes that never happened cost nothing to undo. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"
#include "network/checkpoint.h"
#include "util/strv.h"
#include "util/valid.h"

#define CHECKPOINT_PREFIX "checkpoint-"

Checkpoint *checkpoint_free(Checkpoint *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->timer);
        hashmap_free(c->touched);
        strv_free(c->touched_names);
        free(c->undo);
        free(c);
        return NULL;
}

static int checkpoint_alloc(uint32_t id, uint64_t expires, size_t n, Checkpoint **ret) {
        _cleanup_(checkpoint_freep) Checkpoint *c = calloc(1, sizeof(Checkpoint));

        if (!c)
                return -ENOMEM;
        c->id = id;
        snprintf(c->id_str, sizeof(c->id_str), "%" PRIu32, id);
        c->expires = expires;
        c->n_changes = (uint32_t) n;
        c->undo = calloc(n ?: 1, sizeof(VlanUndoRecord));
        c->touched = hashmap_new();
        if (!c->undo || !c->touched)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int checkpoint_new(uint32_t id, uint64_t expires, const VlanRegistry *reg, const VlanChange *changes,
                   const VlanUndoRecord *undo, size_t n, Checkpoint **ret) {
        _cleanup_(checkpoint_freep) Checkpoint *c = NULL;
        int r;

        assert_return(reg, -EINVAL);
        assert_return((changes && undo) || n == 0, -EINVAL);
        assert_return(ret, -EINVAL);

        r = checkpoint_alloc(id, expires, n, &c);
        if (r < 0)
                return r;
        memcpy(c->undo, undo, n * sizeof(VlanUndoRecord));
        /* strv_extend() reallocates: index only once the names stay put. */
        for (size_t i = 0; i < n; i++) {
                const VlanChange *ch = &changes[i];
                const Vlan *v = vlan_find(reg, ch->spec.parent, ch->spec.tag);
                char key[IFNAMSIZ + 8];

                snprintf(key, sizeof(key), "%s:%u", ch->spec.parent, ch->spec.tag);
                r = strv_extend(&c->touched_names, key);
                if (r >= 0)
                        r = strv_extend(&c->touched_names, ch->spec.bridge);
                if (r >= 0 && (ch->spec.name || v))
                        r = strv_extend(&c->touched_names, ch->spec.name ?: v->name);
                if (r < 0)
                        return r;
        }
        for (char **s = c->touched_names; s && *s; s++)
                if (!hashmap_get(c->touched, *s)) {
                        r = hashmap_put(c->touched, *s, c);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(c);
        return 0;
}

bool checkpoint_touches(const Checkpoint *c, const char *name) {
        assert_return(c, false);

        return name && hashmap_get(c->touched, name);
}

static void file_name(const Checkpoint *c, char buf[static sizeof(CHECKPOINT_PREFIX) + 12]) {
        snprintf(buf, sizeof(CHECKPOINT_PREFIX) + 12, CHECKPOINT_PREFIX "%s", c->id_str);
}

int checkpoint_save(const Checkpoint *c, VlanState *state) {
        _cleanup_free_ char *text = NULL;
        char name[sizeof(CHECKPOINT_PREFIX) + 12];
        size_t size = 0;
        FILE *f;
        int r;

        assert_return(c, -EINVAL);
        assert_return(state, -EINVAL);

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "id=%" PRIu32 "\nexpires=%" PRIu64 "\nchanges=%" PRIu32 "\n", c->id, c->expires, c->n_changes);
        for (size_t i = 0; i < c->n_changes; i++) {
                const VlanUndoRecord *u = &c->undo[i];

                if (u->action < 0)
                        continue;
                fprintf(f, "undo=%s %s %s %u %s %" PRIu32 " %d %d\n", vlan_action_to_string(u->action),
                        u->record.name, u->record.parent, u->record.tag, u->record.bridge, u->record.mtu,
                        u->record.created_vlan, u->record.created_bridge);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        file_name(c, name);
        r = vlan_state_write_file(state, name, text, size);
        if (r < 0)
                return r;
        return vlan_state_sync(state);
}

int checkpoint_remove(const Checkpoint *c, VlanState *state) {
        char name[sizeof(CHECKPOINT_PREFIX) + 12];

        assert_return(c, -EINVAL);
        assert_return(state, -EINVAL);

        file_name(c, name);
        return vlan_state_remove_file(state, name);
}

static int parse_ifname_field(const char *s, char buf[static IFNAMSIZ]) {
        if (!ifname_is_valid(s))
                return -EBADMSG;
        strcpy(buf, s);
        return 0;
}

/* "create|delete NAME PARENT TAG BRIDGE MTU CV CB" */
static int parse_undo(char *value, VlanUndoRecord *ret) {
        char *f[8], *save = NULL;
        unsigned tag, mtu, cv, cb;
        size_t n = 0;

        for (char *t = strtok_r(value, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (n == ELEMENTSOF(f))
                        return -EBADMSG;
                f[n++] = t;
        }
        if (n != ELEMENTSOF(f))
                return -EBADMSG;
        *ret = (VlanUndoRecord) { .action = vlan_action_from_string(f[0]) };
        if (ret->action < 0 || parse_ifname_field(f[1], ret->record.name) < 0 ||
            parse_ifname_field(f[2], ret->record.parent) < 0 || safe_atou_bounded(f[3], VLAN_TAG_MAX, &tag) < 0 ||
            parse_ifname_field(f[4], ret->record.bridge) < 0 || safe_atou_bounded(f[5], VLAN_MTU_MAX, &mtu) < 0 ||
            safe_atou_bounded(f[6], 1, &cv) < 0 || safe_atou_bounded(f[7], 1, &cb) < 0)
                return -EBADMSG;
        ret->record.tag = (uint16_t) tag;
        ret->record.mtu = mtu;
        ret->record.created_vlan = cv;
        ret->record.created_bridge = cb;
        return 0;
}

int checkpoint_parse(const char *text, size_t size, Checkpoint **ret) {
        _cleanup_(checkpoint_freep) Checkpoint *c = NULL;
        _cleanup_free_ char *copy = NULL;
        unsigned id = 0, n = 0, k = 0;
        uint64_t expires = 0;
        char *p, *nl, *line;
        int r;

        assert_return(text || size == 0, -EINVAL);
        assert_return(ret, -EINVAL);

        if (size > CHECKPOINT_FILE_SIZE_MAX || (size > 0 && memchr(text, 0, size)))
                return -EBADMSG;
        copy = strndup(text ?: "", size);
        if (!copy)
                return -ENOMEM;
        /* The header: id, expires, changes, in this order. */
        for (p = copy, k = 0; k < 3; k++, p = nl + 1) {
                nl = strchr(p, '\n');
                if (!nl)
                        return -EBADMSG;
                *nl = 0;
                line = p;
                if (k == 0 && strncmp(line, "id=", 3) == 0)
                        r = safe_atou_bounded(line + 3, UINT32_MAX, &id);
                else if (k == 1 && strncmp(line, "expires=", 8) == 0) {
                        char *end;

                        errno = 0;
                        expires = strtoull(line + 8, &end, 10);
                        r = errno != 0 || end == line + 8 || *end || line[8] < '0' || line[8] > '9' ? -EBADMSG : 0;
                } else if (k == 2 && strncmp(line, "changes=", 8) == 0)
                        r = safe_atou_bounded(line + 8, VLAN_CHANGES_MAX, &n);
                else
                        r = -EBADMSG;
                if (r < 0 || (k == 0 && id == 0))
                        return -EBADMSG;
        }
        r = checkpoint_alloc(id, expires, n, &c);
        if (r < 0)
                return r;
        for (k = 0; *p; p = nl + 1) {
                nl = strchr(p, '\n');
                if (!nl || k >= n || strncmp(p, "undo=", 5) != 0)
                        return -EBADMSG;
                *nl = 0;
                r = parse_undo(p + 5, &c->undo[k++]);
                if (r < 0)
                        return r;
        }
        /* The records with nothing to undo were not written: the rest does nothing. */
        for (; k < n; k++)
                c->undo[k].action = _VLAN_ACTION_INVALID;
        *ret = TAKE_PTR(c);
        return 0;
}

typedef struct LoadContext {
        CheckpointHandler handler;
        void *userdata;
        uint32_t highest;
} LoadContext;

static int on_checkpoint_file(const char *name, const char *text, size_t size, void *userdata) {
        LoadContext *ctx = userdata;
        Checkpoint *c = NULL;
        int r;

        r = checkpoint_parse(text, size, &c);
        if (r == -EBADMSG) {
                log_warning("Skipping malformed checkpoint file %s.", name);
                return 0;
        }
        if (r < 0)
                return r;
        ctx->highest = MAX(ctx->highest, c->id);
        return ctx->handler(c, ctx->userdata);
}

int checkpoint_load_all(VlanState *state, CheckpointHandler handler, void *userdata) {
        LoadContext ctx = { .handler = handler, .userdata = userdata };
        int r;

        assert_return(state, -EINVAL);
        assert_return(handler, -EINVAL);

        r = vlan_state_foreach(state, CHECKPOINT_PREFIX, CHECKPOINT_FILE_SIZE_MAX, on_checkpoint_file, &ctx);
        return r < 0 ? r : (int) MIN(ctx.highest, (uint32_t) INT32_MAX);
}
