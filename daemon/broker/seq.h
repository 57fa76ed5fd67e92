/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seq.h — the node's event sequence numbers, persisted ahead in blocks so that a crash never reuses one */
#pragma once

#include <stdint.h>

/* <state>/broker-seq holds a number no seq at or below which will be handed out again. Numbers are
 * reserved SEQ_BLOCK at a time (one atomic, durable rewrite per block, not per event); a clean close
 * writes the last one handed out, so a restart continues without a gap, and a crash leaves a gap of at
 * most a block, never a reuse. */
#define SEQ_BLOCK 4096
#define SEQ_FILE "broker-seq"

typedef struct SeqStore {
        int dir_fd;             /* -EBADF: not persisted (the numbers start at 1 each time) */
        uint64_t next;          /* the next seq to hand out */
        uint64_t reserved;      /* the highest seq the file allows */
        int error;              /* the last reservation's failure (negative errno), 0 once one succeeds */
} SeqStore;

/* Opens state_dir and reads the file (missing: the first seq is 1). On failure *reterr_message says why. */
int seq_store_open(SeqStore *s, const char *state_dir, char **reterr_message);
/* The next seq; reserves the next block first when it is used up. A reservation that cannot be
 * written is left in s->error for the caller to report: the numbers stay unique within this run. */
uint64_t seq_store_take(SeqStore *s);
/* Records the last seq handed out and closes. */
int seq_store_close(SeqStore *s);
