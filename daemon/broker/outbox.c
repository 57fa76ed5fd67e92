/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* outbox.c — the broker's events in order until Redis has acknowledged them, bounded */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/outbox.h"
#include "util/macro.h"
#include "util/string-table.h"

static const char * const event_kind_table[_EVENT_KIND_MAX] = {
        [EVENT_MACHINE] = "machine",
        [EVENT_JOB] = "job",
        [EVENT_VLAN] = "vlan",
};

DEFINE_STRING_TABLE_LOOKUP(event_kind, EventKind);

/* API-v2.md, "Events beyond one host". */
static const char * const machine_fields[] = { "event", "detail", "uuid", "name", NULL };
static const char * const job_fields[] = { "id", "type", "result", "message", "source", "target", NULL };
static const char * const vlan_fields[] = { "event", "interface", "parent", "tag", "bridge", "operstate", NULL };

const char * const *event_kind_fields(EventKind k) {
        static const char * const * const fields[_EVENT_KIND_MAX] = {
                [EVENT_MACHINE] = machine_fields,
                [EVENT_JOB] = job_fields,
                [EVENT_VLAN] = vlan_fields,
        };

        return k >= 0 && k < _EVENT_KIND_MAX ? fields[k] : NULL;
}

void outbox_init(Outbox *o, size_t limit) {
        *o = (Outbox) { .limit = MAX(limit, (size_t) 1) };
}

void outbox_done(Outbox *o) {
        while (o->head) {
                OutboxEntry *e = o->head;

                o->head = e->next;
                free(e);
        }
        *o = (Outbox) {};
}

int outbox_entry_new(EventKind kind, uint64_t seq, uint64_t time_usec, const char * const *values,
                     OutboxEntry **ret) {
        const char * const *fields = event_kind_fields(kind);
        size_t size = 0, n;
        OutboxEntry *e;
        char *p;

        assert_return(fields, -EINVAL);
        assert_return(values, -EINVAL);
        assert_return(ret, -EINVAL);

        for (n = 0; fields[n]; n++)
                size += strlen(strempty(values[n])) + 1;
        e = malloc(sizeof(OutboxEntry) + size);
        if (!e)
                return -ENOMEM;
        *e = (OutboxEntry) { .seq = seq, .time_usec = time_usec, .kind = kind };
        p = e->values;
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, strempty(values[i])) + 1;
        *ret = e;
        return 0;
}

const char *outbox_entry_value(const OutboxEntry *e, size_t i) {
        const char *p = e->values;

        while (i-- > 0)
                p += strlen(p) + 1;
        return p;
}

OutboxEntry *outbox_next_unsent(const Outbox *o) {
        return o->last_sent ? o->last_sent->next : o->head;
}

/* Unlinks and frees the first entry not in flight. */
static void drop_first_unsent(Outbox *o) {
        OutboxEntry *victim = outbox_next_unsent(o);

        if (o->last_sent)
                o->last_sent->next = victim->next;
        else
                o->head = victim->next;
        if (o->tail == victim)
                o->tail = o->last_sent;
        free(victim);
        o->n--;
        o->dropped++;
}

int outbox_push(Outbox *o, OutboxEntry *e) {
        assert_return(o, -EINVAL);
        assert_return(e, -EINVAL);

        e->next = NULL;
        if (o->tail)
                o->tail->next = e;
        else
                o->head = e;
        o->tail = e;
        o->n++;
        if (o->n <= o->limit)
                return 0;
        drop_first_unsent(o);
        return 1;
}

void outbox_mark_sent(Outbox *o) {
        OutboxEntry *e = outbox_next_unsent(o);

        if (!e)
                return;
        o->last_sent = e;
        o->n_in_flight++;
}

int outbox_ack(Outbox *o) {
        OutboxEntry *e = o->head;

        if (!e || o->n_in_flight == 0)
                return -ESRCH;
        o->head = e->next;
        if (o->tail == e)
                o->tail = NULL;
        if (o->last_sent == e)
                o->last_sent = NULL;
        o->n--;
        o->n_in_flight--;
        free(e);
        return 0;
}

void outbox_rewind(Outbox *o) {
        o->last_sent = NULL;
        o->n_in_flight = 0;
}
