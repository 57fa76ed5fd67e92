/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* checkpoint.h — a pending Apply: its undo records, written ahead to the state directory, and which
 * links it holds until it is confirmed, rolled back or expires */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "network/apply.h"

/* The undo records of 8192 changes fit, with room: a file past this is not ours. */
#define CHECKPOINT_FILE_SIZE_MAX (2U * 1024 * 1024)

typedef struct Checkpoint {
        uint32_t id;
        char id_str[12];
        uint64_t expires;               /* CLOCK_REALTIME, µs */
        uint32_t n_changes;
        VlanUndoRecord *undo;           /* one per change, in order */
        char **touched_names;           /* what the changes touch: VLAN link and bridge names, "<parent>:<tag>" */
        Hashmap *touched;               /* … indexed */
        sd_event_source *timer;         /* the expiry (network-dbus.c arms it) */
        Manager *manager;               /* the owner, for the bus side; checkpoint.c never reads it */
} Checkpoint;

/* A checkpoint over changes (validated) with their undo records (vlan_changes_prepare()); reg names
 * the VLANs the deletes touch. */
int checkpoint_new(uint32_t id, uint64_t expires, const VlanRegistry *reg, const VlanChange *changes,
                   const VlanUndoRecord *undo, size_t n, Checkpoint **ret);
Checkpoint *checkpoint_free(Checkpoint *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Checkpoint *, checkpoint_free);

/* Whether a change to the link (or "<parent>:<tag>") name must wait for this checkpoint. */
bool checkpoint_touches(const Checkpoint *c, const char *name);

/* The file "checkpoint-<id>" in the state directory, made durable before it returns. */
int checkpoint_save(const Checkpoint *c, VlanState *state);
int checkpoint_remove(const Checkpoint *c, VlanState *state);
int checkpoint_parse(const char *text, size_t size, Checkpoint **ret);

/* Hands every checkpoint file to handler (which takes the Checkpoint); malformed files and entries
 * that are not regular files are skipped with a warning. Returns the highest id seen (0: none). */
typedef int (*CheckpointHandler)(Checkpoint *c, void *userdata);
int checkpoint_load_all(VlanState *state, CheckpointHandler handler, void *userdata);
