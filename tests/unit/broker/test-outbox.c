/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-outbox.c — the broker's outbox: order, acknowledgement, rewind after a lost connection, and
 * what a full backlog drops (never an entry in flight) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "broker/outbox.h"
#include "util/macro.h"

static void push(Outbox *o, uint64_t seq) {
        OutboxEntry *e;

        assert_int_equal(outbox_entry_new(EVENT_MACHINE, seq, 1000 + seq,
                                          (const char *[]) { "stopped", "destroyed", "uuid", NULL }, &e), 0);
        (void) outbox_push(o, e);
}

/* The seqs in the outbox, oldest first, with "|" after the last one in flight. */
static void assert_outbox(const Outbox *o, const char *expected) {
        char buf[256] = {};

        if (!o->last_sent)
                strcat(buf, "|");
        for (const OutboxEntry *e = o->head; e; e = e->next)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%llu%s", e == o->head ? "" : " ",
                         (unsigned long long) e->seq, e == o->last_sent ? "|" : "");
        assert_string_equal(buf, expected);
}

static void test_entry(void **state) {
        _cleanup_free_ OutboxEntry *e = NULL;

        assert_int_equal(outbox_entry_new(EVENT_JOB, 7, 42, (const char *[]) { "3", "import", "done", NULL, "a.img", "a" }, &e), 0);
        assert_int_equal(e->seq, 7);
        assert_int_equal(e->time_usec, 42);
        assert_string_equal(event_kind_to_string(e->kind), "job");
        assert_string_equal(outbox_entry_value(e, 0), "3");
        assert_string_equal(outbox_entry_value(e, 3), "");
        assert_string_equal(outbox_entry_value(e, 5), "a");
        assert_string_equal(event_kind_fields(EVENT_JOB)[5], "target");
        assert_null(event_kind_fields(EVENT_JOB)[6]);
        assert_string_equal(event_kind_fields(EVENT_VLAN)[3], "tag");
        assert_int_equal(event_kind_from_string("vlan"), EVENT_VLAN);
        assert_int_equal(event_kind_from_string("nope"), -EINVAL);
        /* Compact: the header and the text, nothing per field. */
        assert_true(sizeof(OutboxEntry) <= 32);
}

static void test_order_and_ack(void **state) {
        Outbox o;

        outbox_init(&o, 100);
        for (uint64_t i = 1; i <= 4; i++)
                push(&o, i);
        assert_outbox(&o, "|1 2 3 4");
        assert_int_equal(outbox_ack(&o), -ESRCH);       /* nothing in flight */
        outbox_mark_sent(&o);
        outbox_mark_sent(&o);
        assert_outbox(&o, "1 2| 3 4");
        assert_int_equal(o.n_in_flight, 2);
        assert_int_equal(outbox_ack(&o), 0);
        assert_outbox(&o, "2| 3 4");
        assert_int_equal(outbox_next_unsent(&o)->seq, 3);
        assert_int_equal(outbox_ack(&o), 0);
        assert_outbox(&o, "|3 4");
        outbox_mark_sent(&o);
        outbox_mark_sent(&o);
        outbox_mark_sent(&o);   /* nothing left to send: no-op */
        assert_int_equal(o.n_in_flight, 2);
        assert_int_equal(outbox_ack(&o), 0);
        assert_int_equal(outbox_ack(&o), 0);
        assert_int_equal(o.n, 0);
        assert_null(o.head);
        assert_null(o.tail);
        push(&o, 5);
        assert_outbox(&o, "|5");
        outbox_done(&o);
}

static void test_rewind(void **state) {
        Outbox o;

        outbox_init(&o, 100);
        for (uint64_t i = 1; i <= 3; i++)
                push(&o, i);
        outbox_mark_sent(&o);
        outbox_mark_sent(&o);
        outbox_rewind(&o);      /* the connection went: 1 and 2 go out again, first */
        assert_outbox(&o, "|1 2 3");
        assert_int_equal(o.n_in_flight, 0);
        assert_int_equal(outbox_next_unsent(&o)->seq, 1);
        outbox_done(&o);
}

static void test_overflow(void **state) {
        Outbox o;

        outbox_init(&o, 3);
        for (uint64_t i = 1; i <= 3; i++)
                push(&o, i);
        push(&o, 4);            /* nothing in flight: the oldest goes */
        assert_outbox(&o, "|2 3 4");
        assert_int_equal(o.dropped, 1);
        outbox_mark_sent(&o);
        push(&o, 5);            /* 2 is in flight (it may be stored already): 3 goes */
        assert_outbox(&o, "2| 4 5");
        assert_int_equal(o.dropped, 2);
        outbox_mark_sent(&o);
        outbox_mark_sent(&o);
        push(&o, 6);            /* everything in flight: the new one is the oldest not sent */
        assert_outbox(&o, "2 4 5|");
        assert_ptr_equal(o.tail, o.last_sent);
        assert_int_equal(o.dropped, 3);
        push(&o, 7);
        assert_outbox(&o, "2 4 5|");
        assert_int_equal(o.n, 3);
        assert_int_equal(outbox_ack(&o), 0);
        push(&o, 8);
        assert_outbox(&o, "4 5| 8");
        assert_int_equal(o.dropped, 4);
        outbox_done(&o);
}

/* A clean stop's backlog comes back at the next start, in order with its seqs; a damaged file adds
 * nothing and is gone; past the limit the oldest are dropped and counted. */
static void test_save_load(void **state) {
        char dir[] = "/tmp/test-outbox-XXXXXX";
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_free_ char *why = NULL;
        struct stat st;
        Outbox o, back;
        int fd;

        assert_non_null(mkdtemp(dir));
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dir_fd >= 0);

        outbox_init(&o, 100);
        for (uint64_t i = 5; i <= 8; i++)
                push(&o, i);
        outbox_mark_sent(&o);           /* in flight: maybe not stored, so it is kept too */
        assert_int_equal(outbox_save(&o, dir_fd, OUTBOX_FILE), 0);
        assert_int_equal(faccessat(dir_fd, OUTBOX_FILE ".tmp", F_OK, 0), -1);

        outbox_init(&back, 100);
        push(&back, 1);
        assert_int_equal(outbox_load(&back, dir_fd, OUTBOX_FILE, &why), 4);
        assert_outbox(&back, "|1 5 6 7 8");
        assert_string_equal(outbox_entry_value(back.tail, 1), "destroyed");
        assert_int_equal(back.tail->time_usec, 1008);
        assert_int_equal(fstatat(dir_fd, OUTBOX_FILE, &st, 0), -1);     /* taken */
        assert_int_equal(outbox_load(&back, dir_fd, OUTBOX_FILE, &why), 0);
        outbox_done(&back);

        /* Bounded by the limit of the start that loads it. */
        assert_int_equal(outbox_save(&o, dir_fd, OUTBOX_FILE), 0);
        outbox_init(&back, 3);
        assert_int_equal(outbox_load(&back, dir_fd, OUTBOX_FILE, &why), 4);
        assert_outbox(&back, "|6 7 8");
        assert_int_equal(back.dropped, 1);
        outbox_done(&back);

        /* Cut short: nothing of it, a reason, and the file gone. */
        assert_int_equal(outbox_save(&o, dir_fd, OUTBOX_FILE), 0);
        assert_int_equal(fstatat(dir_fd, OUTBOX_FILE, &st, 0), 0);
        fd = openat(dir_fd, OUTBOX_FILE, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, st.st_size - 3), 0);
        close(fd);
        outbox_init(&back, 100);
        assert_int_equal(outbox_load(&back, dir_fd, OUTBOX_FILE, &why), -EBADMSG);
        assert_non_null(strstr(why, "cut short after 3 entries"));
        assert_outbox(&back, "|");
        assert_int_equal(faccessat(dir_fd, OUTBOX_FILE, F_OK, 0), -1);

        /* Not a backlog file at all. */
        fd = openat(dir_fd, OUTBOX_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "garbage\n", 8), 8);
        close(fd);
        why = mfree(why);
        assert_int_equal(outbox_load(&back, dir_fd, OUTBOX_FILE, &why), -EBADMSG);
        assert_non_null(why);
        assert_outbox(&back, "|");

        /* Nothing waits: no file. */
        outbox_done(&o);
        assert_int_equal(outbox_save(&o, dir_fd, OUTBOX_FILE), 0);
        assert_int_equal(faccessat(dir_fd, OUTBOX_FILE, F_OK, 0), -1);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_entry),
                cmocka_unit_test(test_order_and_ack),
                cmocka_unit_test(test_rewind),
                cmocka_unit_test(test_overflow),
                cmocka_unit_test(test_save_load),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
