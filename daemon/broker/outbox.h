/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* outbox.h — the broker's events in order until Redis has acknowledged them, bounded */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "util/string-table.h"

typedef enum EventKind {
        EVENT_MACHINE,
        EVENT_JOB,
        EVENT_VLAN,
        _EVENT_KIND_MAX,
        _EVENT_KIND_INVALID = -EINVAL,
} EventKind;

DECLARE_STRING_TABLE_LOOKUP(event_kind, EventKind);
/* The field names of a kind, in the order its values are kept; NULL-terminated. */
const char * const *event_kind_fields(EventKind k);

/* One event: its values packed after the header, one NUL-terminated string per field of its kind
 * (the names are the kind's), so that an event costs its text plus 32 bytes. */
typedef struct OutboxEntry {
        struct OutboxEntry *next;
        uint64_t seq;
        uint64_t time_usec;
        uint8_t kind;
        char values[];
} OutboxEntry;

/* A singly-linked FIFO: head..last_sent were sent and wait for their replies (which come in order),
 * the rest wait to be sent. */
typedef struct Outbox {
        OutboxEntry *head, *tail;
        OutboxEntry *last_sent;         /* NULL: nothing in flight */
        size_t n, n_in_flight;
        size_t limit;                   /* redisBacklog */
        uint64_t dropped;
} Outbox;

void outbox_init(Outbox *o, size_t limit);
void outbox_done(Outbox *o);

/* Builds an entry from values (one per field of kind; NULL counts as ""). */
int outbox_entry_new(EventKind kind, uint64_t seq, uint64_t time_usec, const char * const *values,
                     OutboxEntry **ret);
/* Returns the i-th value of e. */
const char *outbox_entry_value(const OutboxEntry *e, size_t i);

/* Appends e (taking it). Past the limit the oldest entry not in flight is dropped (an entry in flight
 * may already be stored, so it is not lost): returns 1 then, 0 otherwise. */
int outbox_push(Outbox *o, OutboxEntry *e);
/* The first entry that waits to be sent, or NULL. */
OutboxEntry *outbox_next_unsent(const Outbox *o);
/* Marks the first unsent entry as in flight. */
void outbox_mark_sent(Outbox *o);
/* Redis stored the oldest entry in flight (replies come in order): it leaves. -ESRCH: none in flight. */
int outbox_ack(Outbox *o);
/* The connection was lost: whatever was in flight goes out again, first, in order. */
void outbox_rewind(Outbox *o);

/* What a clean stop leaves for the next start: <state>/OUTBOX_FILE holds the entries still waiting
 * (in flight ones too: Redis may not have stored them), oldest first. */
#define OUTBOX_FILE "broker-backlog"

/* Writes every entry of o to name in dir_fd atomically (a temporary file renamed over it); an empty
 * outbox removes the file. */
int outbox_save(const Outbox *o, int dir_fd, const char *name);
/* Appends the entries of name in dir_fd to o (past the limit the oldest are dropped and counted) and
 * removes the file. 0: no file. A file that is not one outbox_save() wrote, or is cut short, adds
 * nothing; *reterr_message says why. */
int outbox_load(Outbox *o, int dir_fd, const char *name, char **reterr_message);
