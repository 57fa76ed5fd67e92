/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan.h — managed VLANs: validation, conflict detection, create/delete with rollback, persistence */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "network/rtnl.h"

#define VLAN_TAG_MIN 1
#define VLAN_TAG_MAX 4094
#define VLAN_MTU_MIN 68         /* ETH_MIN_MTU */
#define VLAN_MTU_MAX 65535      /* ETH_MAX_MTU */

/* What a caller asks for. */
typedef struct VlanSpec {
        const char *parent;
        uint16_t tag;
        const char *bridge;
        const char *name;       /* NULL: "<parent>.<tag>" */
        uint32_t mtu;
        bool mtu_set;           /* false: the VLAN inherits the parent's MTU, the bridge follows */
} VlanSpec;

/* A VLAN the daemon manages (and persists). */
typedef struct Vlan {
        Network *network;
        char *name, *parent, *bridge;
        uint16_t tag;
        uint32_t mtu;
        bool created_vlan;      /* the daemon made the VLAN link: it may delete it */
        bool created_bridge;    /* … and the bridge */
        char *conflict;         /* why the last re-apply failed; NULL when applied */
        bool removing;          /* vlan_delete() runs: its link events announce nothing */
        char key[IFNAMSIZ + 8]; /* "<parent>:<tag>" */
} Vlan;

/* What has to happen to reach a VlanSpec from the current links; computed before any change. */
typedef struct VlanPlan {
        int parent;
        int vlan;               /* ifindex of the VLAN link, 0: create it */
        int bridge;             /* ifindex of the bridge, 0: create it */
        bool enslave;           /* make the VLAN a port of the bridge */
        bool vlan_up, bridge_up;
        uint32_t vlan_mtu, bridge_mtu;  /* to set on links that exist; 0: leave */
        /* how the existing links were, for rollback */
        uint32_t vlan_old_mtu, bridge_old_mtu;
} VlanPlan;

/* One step to take back: delete a link this call created, or restore settings it changed. */
typedef struct VlanUndoStep {
        int ifindex;
        bool delete;
        LinkSettings restore;
} VlanUndoStep;

typedef struct VlanUndo {
        VlanUndoStep steps[4];
        unsigned n;
} VlanUndo;

/* Fills spec->name's default into buf (IFNAMSIZ bytes) when spec->name is NULL. Returns -EINVAL with
 * *ret_message naming the argument and why. */
int vlan_spec_validate(VlanSpec *spec, char buf[static IFNAMSIZ], char **ret_message);

/* Conflict detection: -ENOENT (parent missing) or -AIM_ECONFLICT, with a message naming what differs;
 * nothing is changed. */
int vlan_plan(const LinkTable *links, const VlanSpec *spec, VlanPlan *ret, char **ret_message);
/* Carries a plan out, recording in undo how to take each step back; if a step fails, undoes the steps
 * done, in reverse, and returns the error. */
int vlan_plan_apply(Network *n, const VlanSpec *spec, const VlanPlan *plan, VlanUndo *undo, char **ret_message);
/* Takes the recorded steps back, last first; returns the first failure but tries every step. */
int vlan_undo(Network *n, VlanUndo *undo);
/* Whether the plan changes anything. */
bool vlan_plan_is_noop(const VlanPlan *plan);

/* Creates (or finds, idempotently) the managed VLAN for spec; *ret_new says whether it is a new object. */
int vlan_create(Network *n, const VlanSpec *spec, Vlan **ret, bool *ret_new, char **ret_message);
/* Removes the VLAN link (if the daemon made it and it is still ours), the bridge when no other port is
 * left and the daemon made it, and the record. v stays registered: the caller announces that it is
 * gone, then frees it. */
int vlan_delete(Vlan *v, char **ret_message);
/* Validates DeleteVlan's arguments: -EINVAL with a message naming the argument. */
int vlan_delete_args_validate(const char *parent, unsigned tag, const char *bridge, char **ret_message);
/* Brings the kernel back to what v records; on failure sets v->conflict (why) and returns the error. */
int vlan_reapply(Vlan *v);
Vlan *vlan_find(Network *n, const char *parent, uint16_t tag);
Vlan *vlan_free(Vlan *v);

/* Persistence in <state_dir>/network: one small file per VLAN, replaced atomically. */
int network_state_open(Network *n, const char *state_dir);
/* Loads the records and re-applies each; a record that cannot be applied is kept with v->conflict
 * set (and logged), the others go on. Returns the number of VLANs loaded. */
int network_state_restore(Network *n);
/* Makes renames and unlinks durable; cheap when nothing changed. */
int network_state_sync(Network *n);
