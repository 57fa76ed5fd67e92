/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apply.h — the one engine for VLAN changes: validated before any netlink traffic, applied in order
 * with an undo record for each, rolled back whole on failure (Apply, CreateVlan, DeleteVlan and the
 * checkpoints all go through it) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "network/vlan.h"
#include "util/string-table.h"

#define VLAN_CHANGES_MAX 8192

typedef enum VlanAction {
        VLAN_ACTION_CREATE,
        VLAN_ACTION_DELETE,
        _VLAN_ACTION_MAX,
        _VLAN_ACTION_INVALID = -EINVAL,
} VlanAction;

DECLARE_STRING_TABLE_LOOKUP(vlan_action, VlanAction);

/* One change as a caller asks for it; for a delete only parent, tag and bridge count. */
typedef struct VlanChange {
        VlanAction action;
        VlanSpec spec;
        char name_buf[IFNAMSIZ];        /* spec.name's default */
} VlanChange;

/* How to take one change back, known before it is applied (and so written ahead in a checkpoint):
 * DELETE forgets the VLAN the change made, CREATE makes the VLAN the change deleted again, exactly as
 * its record was; _VLAN_ACTION_INVALID: nothing to take back (the change asked for what was). */
typedef struct VlanUndoRecord {
        VlanAction action;
        VlanRecord record;
} VlanUndoRecord;

/* Told of every VLAN that appears (after) or goes (before it is freed), for the bus side. */
typedef struct VlanApplyHooks {
        void (*added)(Vlan *v, void *userdata);
        void (*removed)(Vlan *v, void *userdata);
        void *userdata;
} VlanApplyHooks;

/* Checks change i as Apply's changes[i] (arg_prefix NULL: as CreateVlan's/DeleteVlan's arguments). */
int vlan_change_validate(VlanChange *c, const char *arg_prefix, char **reterr_message);
/* Checks all n changes, and that no VLAN (parent and tag, or link name) comes twice: -EINVAL with a
 * message naming changes[i]. */
int vlan_changes_validate(VlanChange *changes, size_t n, char **reterr_message);

/* Computes undo[i] for each change from the registry as it is; a delete of a VLAN managed on another
 * bridge is -AIM_ENOTFOUND, and *reterr_index names it. */
int vlan_changes_prepare(const VlanRegistry *reg, const VlanChange *changes, size_t n, VlanUndoRecord *undo,
                         size_t *reterr_index, char **reterr_message);

/* A batch in progress, resumable: the changes applied in order a step at a time and, once one fails (or
 * for a rollback), the undo records taken back last first a step at a time. vlan_changes_apply() and
 * vlan_changes_rollback() are this loop run to its end; a caller that must not block runs it in slices. */
typedef struct VlanCursor {
        VlanRegistry *reg;
        const VlanChange *changes;      /* NULL for a rollback */
        const VlanUndoRecord *undo;
        size_t n;
        VlanApplyHooks hooks;
        size_t applied;                 /* changes applied so far */
        size_t undo_left;               /* undo records still to take back, once rolling back */
        bool rolling_back;
        int error;                      /* the failed change's error, or a rollback's first failure */
        size_t error_index;
        char *error_message;
} VlanCursor;

/* The cursor keeps pointers to changes, undo and reg: they outlive it. hooks is copied (NULL: none). */
int vlan_cursor_init_apply(VlanCursor *c, VlanRegistry *reg, const VlanChange *changes, size_t n,
                           const VlanUndoRecord *undo, const VlanApplyHooks *hooks);
int vlan_cursor_init_rollback(VlanCursor *c, VlanRegistry *reg, const VlanUndoRecord *undo, size_t n,
                              const VlanApplyHooks *hooks);
void vlan_cursor_clear(VlanCursor *c);

/* Applies (or takes back) at most max changes: 0 while there is more to do; 1 when the batch ended
 * well; < 0 when it ended with change *reterr_index failed and changes before it taken back (for a
 * rollback: the first record that could not be taken back, though all were tried). */
int vlan_cursor_step(VlanCursor *c, size_t max, size_t *reterr_index, char **reterr_message);

/* Applies the changes in order. If change i fails, changes i-1..0 are taken back (kernel links and
 * records) and the error of i is returned, with *reterr_index = i. A delete of a VLAN not managed is
 * nothing to do, so that a batch may be applied again. */
int vlan_changes_apply(VlanRegistry *reg, const VlanChange *changes, size_t n, const VlanUndoRecord *undo,
                       const VlanApplyHooks *hooks, size_t *reterr_index, char **reterr_message);

/* Takes the undo records back, last first; best effort: returns the first failure but tries all. */
int vlan_changes_rollback(VlanRegistry *reg, const VlanUndoRecord *undo, size_t n, const VlanApplyHooks *hooks);
