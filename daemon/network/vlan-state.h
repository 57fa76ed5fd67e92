/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan-state.h — the VLAN records in <state_dir>/network: one small file per VLAN, replaced atomically */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"

/* What is persisted of a managed VLAN. */
typedef struct VlanRecord {
        char name[IFNAMSIZ], parent[IFNAMSIZ], bridge[IFNAMSIZ];
        uint16_t tag;
        uint32_t mtu;           /* 0: inherit */
        bool created_vlan;      /* the daemon made the VLAN link */
        bool created_bridge;    /* … and the bridge */
} VlanRecord;

/* A record file is a few short lines; anything longer is not ours. */
#define VLAN_RECORD_SIZE_MAX 1024

typedef struct VlanState {
        int dir_fd;             /* <state_dir>/network */
        bool dirty;             /* the directory needs an fsync */
        bool fsync;             /* make records durable (fdatasync, directory fsync) */
} VlanState;

/* Opens (making it if needed) <state_dir>/network. */
int vlan_state_open(const char *state_dir, VlanState **ret);
VlanState *vlan_state_free(VlanState *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(VlanState *, vlan_state_free);

/* Replaces the file name in the directory with data by rename, so that a reader (or the next start
 * after a crash) sees the old content or the new, never a part. */
int vlan_state_write_file(VlanState *s, const char *name, const void *data, size_t size);
/* Reads the regular file name (at most max bytes) into a NUL-terminated buffer; anything that is not
 * a regular file (a symlink, a FIFO, a device) is refused with -EBADF without blocking. */
int vlan_state_read_file(VlanState *s, const char *name, size_t max, char **ret, size_t *ret_size);
int vlan_state_remove_file(VlanState *s, const char *name);

int vlan_state_write(VlanState *s, const VlanRecord *rec);
int vlan_state_remove(VlanState *s, const char *name);

/* Parses a record's text (unknown keys are ignored, so that later versions may add some): -EBADMSG
 * for anything malformed, out of range or too long. */
int vlan_record_parse(const char *text, size_t size, VlanRecord *ret);

/* Calls handler with the content of every regular file of at most max bytes whose name starts with
 * prefix; entries that are not regular files (never followed, never waited for) or are too big are
 * skipped with a warning, temporary files a crash left (of records and checkpoints) removed. */
typedef int (*VlanStateFileHandler)(const char *name, const char *text, size_t size, void *userdata);
int vlan_state_foreach(VlanState *s, const char *prefix, size_t max, VlanStateFileHandler handler, void *userdata);

/* Calls handler for every valid record; malformed records and entries that are not regular files are
 * skipped with a warning; temporary files a crash left (of records and checkpoints) are removed. handler returns > 0 for a record
 * it took, 0 for one it ignored. Returns the number taken, or the first error of handler. */
typedef int (*VlanRecordHandler)(const VlanRecord *rec, void *userdata);
int vlan_state_load(VlanState *s, VlanRecordHandler handler, void *userdata);

/* Makes renames and unlinks durable; cheap when nothing changed. */
int vlan_state_sync(VlanState *s);
