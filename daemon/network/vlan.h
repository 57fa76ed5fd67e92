/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan.h — the VLAN registry: managed VLANs, validation, conflict detection, create/delete with
 * rollback, and their sync with the kernel and the records */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "network/rtnl.h"
#include "network/vlan-state.h"

#define VLAN_TAG_MIN 1
#define VLAN_TAG_MAX 4094
#define VLAN_MTU_MIN 68         /* ETH_MIN_MTU */
#define VLAN_MTU_MAX 65535      /* ETH_MAX_MTU */

typedef struct Manager Manager;

/* What a caller asks for. */
typedef struct VlanSpec {
        const char *parent;
        uint16_t tag;
        const char *bridge;
        const char *name;       /* NULL: "<parent>.<tag>" */
        uint32_t mtu;
        bool mtu_set;           /* false: the VLAN inherits the parent's MTU, the bridge follows */
} VlanSpec;

typedef struct VlanRegistry {
        Rtnl *rtnl;             /* not owned */
        VlanState *state;       /* owned; NULL: nothing persisted */
        Hashmap *by_name;       /* managed Vlan objects by interface name */
        Hashmap *by_key;        /* … and by "<parent>:<tag>" */
        Manager *manager;       /* the owner, for the bus side (network-dbus.c); vlan.c never reads it */
} VlanRegistry;

/* A VLAN the daemon manages (and persists). */
typedef struct Vlan {
        VlanRegistry *registry;
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

int vlan_registry_new(Rtnl *rtnl, VlanRegistry **ret);
VlanRegistry *vlan_registry_free(VlanRegistry *reg);
DEFINE_TRIVIAL_CLEANUP_FUNC(VlanRegistry *, vlan_registry_free);
/* Persists the VLANs in <state_dir>/network from now on. */
int vlan_registry_open_state(VlanRegistry *reg, const char *state_dir);
/* Loads the records and re-applies each; a record that cannot be applied is kept with v->conflict
 * set, the others go on. Returns the number of VLANs loaded. */
int vlan_registry_restore(VlanRegistry *reg);
/* Makes the records' renames and unlinks durable; cheap when nothing changed. */
int vlan_registry_sync(VlanRegistry *reg);
/* Whether the records changed since the last sync. */
bool vlan_registry_dirty(const VlanRegistry *reg);
Vlan *vlan_registry_get(const VlanRegistry *reg, const char *name);

/* Checks what identifies a VLAN (DeleteVlan's arguments): -EINVAL with a message naming the argument,
 * as CreateVlan's arguments and options when arg_prefix is NULL, else as keys after arg_prefix
 * ("changes[7]." gives "changes[7].tag"). */
int vlan_id_validate(const char *parent, unsigned tag, const char *bridge, const char *arg_prefix,
                     char **reterr_message);
/* Checks all of spec and fills spec->name's default into buf (IFNAMSIZ bytes) when spec->name is NULL;
 * failures as vlan_id_validate(). */
int vlan_spec_validate(VlanSpec *spec, char buf[static IFNAMSIZ], const char *arg_prefix, char **reterr_message);

/* Conflict detection: -ENOENT (parent missing) or -AIM_ECONFLICT, with a message naming what differs;
 * nothing is changed. */
int vlan_plan(const LinkTable *links, const VlanSpec *spec, VlanPlan *ret, char **reterr_message);
/* Carries a plan out, recording in undo how to take each step back; if a step fails, undoes the steps
 * done, in reverse, and returns the error. */
int vlan_plan_apply(Rtnl *rtnl, const VlanSpec *spec, const VlanPlan *plan, VlanUndo *undo, char **reterr_message);
/* Takes the recorded steps back, last first; returns the first failure but tries every step. */
int vlan_undo(Rtnl *rtnl, VlanUndo *undo);
/* Whether the plan changes anything. */
bool vlan_plan_is_noop(const VlanPlan *plan);

/* Creates (or finds, idempotently) the managed VLAN for spec (validated); *ret_new says whether it is
 * a new object. */
int vlan_create(VlanRegistry *reg, const VlanSpec *spec, Vlan **ret, bool *ret_new, char **reterr_message);
/* Removes the VLAN link (if the daemon made it and it is still ours), the bridge when no other port is
 * left and the daemon made it, and the record. v stays registered: the caller announces that it is
 * gone, then frees it. */
int vlan_delete(Vlan *v, char **reterr_message);
/* Manages again the VLAN rec describes (a deleted one, being rolled back): registers and records it,
 * then re-applies it; a failure to re-apply is v->conflict, not an error. */
int vlan_recreate(VlanRegistry *reg, const VlanRecord *rec, Vlan **ret);
/* Brings the kernel back to what v records; on failure sets v->conflict (why) and returns the error. */
int vlan_reapply(Vlan *v);
Vlan *vlan_find(const VlanRegistry *reg, const char *parent, uint16_t tag);
Vlan *vlan_free(Vlan *v);
