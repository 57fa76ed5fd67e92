/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* outbox.c — the broker's events in order until Redis has acknowledged them, bounded */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The file: OUTBOX_MAGIC, then per entry seq, time_usec (both little-endian u64), kind (u8), the
 * size of the values (little-endian u32) and the values as in memory. */
#define OUTBOX_MAGIC "aimd-backlog 1\n"
#define OUTBOX_VALUES_MAX (1024 * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

static size_t entry_values_size(const OutboxEntry *e) {
        const char * const *fields = event_kind_fields(e->kind);
        const char *p = e->values;

        for (size_t i = 0; fields[i]; i++)
                p += strlen(p) + 1;
        return (size_t) (p - e->values);
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

int outbox_save(const Outbox *o, int dir_fd, const char *name) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        int fd, r;

        assert_return(o, -EINVAL);
        assert_return(dir_fd >= 0, -EBADF);
        assert_return(name, -EINVAL);

        if (!o->head)
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
        if (asprintf(&tmp, "%s.tmp", name) < 0)
                return -ENOMEM;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "w");
        if (!f) {
                r = negative_errno();
                safe_close(fd);
                goto fail;
        }
        fputs(OUTBOX_MAGIC, f);
        for (const OutboxEntry *e = o->head; e; e = e->next) {
                uint8_t h[21];
                size_t size = entry_values_size(e);

                put_le(h, e->seq, 8);
                put_le(h + 8, e->time_usec, 8);
                h[16] = e->kind;
                put_le(h + 17, size, 4);
                if (fwrite(h, sizeof(h), 1, f) != 1 || fwrite(e->values, size, 1, f) != 1)
                        break;
        }
        if (fflush(f) != 0 || ferror(f) || fdatasync(fileno(f)) < 0) {
                r = errno > 0 ? negative_errno() : -EIO;
                goto fail;
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = negative_errno();
                goto fail;
        }
        return fsync(dir_fd) < 0 ? negative_errno() : 0;
fail:
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

/* Reads one entry of f into *ret: 1, or 0 at the end of the file, -EBADMSG when it is not one. */
static int read_entry(FILE *f, OutboxEntry **ret) {
        _cleanup_free_ OutboxEntry *e = NULL;
        const char * const *fields;
        uint8_t h[21];
        size_t size, n, nuls = 0;

        n = fread(h, 1, sizeof(h), f);
        if (n == 0 && feof(f))
                return 0;
        if (n != sizeof(h))
                return ferror(f) ? -EIO : -EBADMSG;
        size = (size_t) get_le(h + 17, 4);
        fields = event_kind_fields(h[16]);
        if (!fields || size == 0 || size > OUTBOX_VALUES_MAX)
                return -EBADMSG;
        e = malloc(sizeof(OutboxEntry) + size);
        if (!e)
                return -ENOMEM;
        *e = (OutboxEntry) { .seq = get_le(h, 8), .time_usec = get_le(h + 8, 8), .kind = h[16] };
        if (fread(e->values, 1, size, f) != size)
                return ferror(f) ? -EIO : -EBADMSG;
        for (size_t i = 0; i < size; i++)
                nuls += e->values[i] == 0;
        for (n = 0; fields[n]; n++)
                ;
        if (nuls != n || e->values[size - 1] != 0)
                return -EBADMSG;
        *ret = TAKE_PTR(e);
        return 1;
}

int outbox_load(Outbox *o, int dir_fd, const char *name, char **reterr_message) {
        _cleanup_(fclosep) FILE *f = NULL;
        char magic[sizeof(OUTBOX_MAGIC) - 1];
        Outbox loaded;
        uint64_t last_seq = 0;
        size_t n = 0;
        int fd, r;

        assert_return(o, -EINVAL);
        assert_return(dir_fd >= 0, -EBADF);
        assert_return(name, -EINVAL);

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                r = negative_errno();
                return asprintf(reterr_message, "cannot open it: %s", strerror(-r)) < 0 ? -ENOMEM : r;
        }
        f = fdopen(fd, "r");
        if (!f) {
                r = negative_errno();
                safe_close(fd);
                return asprintf(reterr_message, "cannot read it: %s", strerror(-r)) < 0 ? -ENOMEM : r;
        }
        /* Whole or nothing: a damaged file never mixes its entries with what happens next. */
        outbox_init(&loaded, SIZE_MAX);
        if (fread(magic, 1, sizeof(magic), f) != sizeof(magic) || memcmp(magic, OUTBOX_MAGIC, sizeof(magic)) != 0)
                r = -EBADMSG;
        else
                for (;;) {
                        OutboxEntry *e;

                        r = read_entry(f, &e);
                        if (r <= 0)
                                break;
                        if (e->seq <= last_seq) {
                                free(e);
                                r = -EBADMSG;
                                break;
                        }
                        last_seq = e->seq;
                        (void) outbox_push(&loaded, e);
                        n++;
                }
        (void) unlinkat(dir_fd, name, 0);
        if (r < 0) {
                outbox_done(&loaded);
                if (r == -ENOMEM)
                        return r;
                return asprintf(reterr_message, "%s after %zu entries", r == -EBADMSG ? "not a backlog file, or cut short"
                                                                       : strerror(-r), n) < 0 ? -ENOMEM : r;
        }
        while (loaded.head) {
                OutboxEntry *e = loaded.head;

                loaded.head = e->next;
                (void) outbox_push(o, e);
        }
        return (int) MIN(n, (size_t) INT_MAX);
}
