/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-protocol.c — the records aimd and aimd-worker exchange: building, parsing, one per packet */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "worker/protocol.h"

static void test_add_get(void **state) {
        _cleanup_(worker_record_done) WorkerRecord r = {};

        assert_int_equal(worker_record_add(&r, "type", "import"), 0);
        assert_int_equal(worker_record_addf(&r, "done", "%u", 42U), 0);
        assert_int_equal(worker_record_add(&r, "message", "a=b c\n"), 0);      /* values may hold '=' */
        assert_string_equal(worker_record_get(&r, "type"), "import");
        assert_string_equal(worker_record_get(&r, "done"), "42");
        assert_string_equal(worker_record_get(&r, "message"), "a=b c\n");
        assert_null(worker_record_get(&r, "typ"));
        assert_null(worker_record_get(&r, "nothere"));
        /* Keys are [a-z_]+, each once. */
        assert_int_equal(worker_record_add(&r, "type", "export"), -EINVAL);
        assert_int_equal(worker_record_add(&r, "Type", "x"), -EINVAL);
        assert_int_equal(worker_record_add(&r, "a=b", "x"), -EINVAL);
        assert_int_equal(worker_record_add(&r, "", "x"), -EINVAL);
        assert_string_equal(worker_record_get(&r, "type"), "import");
}

static void test_bound(void **state) {
        _cleanup_(worker_record_done) WorkerRecord r = {};
        _cleanup_free_ char *big = malloc(WORKER_RECORD_MAX);

        assert_non_null(big);
        memset(big, 'x', WORKER_RECORD_MAX - 1);
        big[WORKER_RECORD_MAX - 1] = 0;
        assert_int_equal(worker_record_add(&r, "message", big), -E2BIG);
        assert_int_equal(r.size, 0);
}

static int count(const char *key, const char *value, void *userdata) {
        (*(int *) userdata)++;
        return streq(key, "stop") ? -ECANCELED : 0;
}

static void test_parse(void **state) {
        _cleanup_(worker_record_done) WorkerRecord r = {};
        static const char good[] = "a=1\0b=\0c=x=y";            /* the final NUL is the literal's */
        int n = 0;

        assert_int_equal(worker_record_parse(good, sizeof(good), &r), 0);
        assert_string_equal(worker_record_get(&r, "b"), "");
        assert_string_equal(worker_record_get(&r, "c"), "x=y");
        assert_int_equal(worker_record_foreach(&r, count, &n), 0);
        assert_int_equal(n, 3);
        worker_record_done(&r);

        assert_int_equal(worker_record_parse("a=1", 3, &r), -EBADMSG);          /* unterminated */
        assert_int_equal(worker_record_parse("a1", 3, &r), -EBADMSG);           /* no '=' */
        assert_int_equal(worker_record_parse("=1", 3, &r), -EBADMSG);           /* no key */
        assert_int_equal(worker_record_parse("A=1", 4, &r), -EBADMSG);
        assert_int_equal(worker_record_parse("a=1\0a=2", 8, &r), -EBADMSG);    /* twice */
        assert_int_equal(worker_record_parse("a=1\0\0", 5, &r), -EBADMSG);     /* an empty field */
        assert_null(r.data);

        assert_int_equal(worker_record_parse("a=1\0stop=\0z=", 13, &r), 0);
        n = 0;
        assert_int_equal(worker_record_foreach(&r, count, &n), -ECANCELED);
        assert_int_equal(n, 2);
}

static void test_send_receive(void **state) {
        _cleanup_(worker_record_done) WorkerRecord a = {}, b = {}, c = {};
        _cleanup_free_ char *junk = malloc(WORKER_RECORD_MAX + 10);
        int pair[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair), 0);
        assert_int_equal(worker_record_receive(pair[1], &b), -EAGAIN);
        assert_int_equal(worker_record_add(&a, "state", "running"), 0);
        assert_int_equal(worker_record_add(&a, "done", "7"), 0);
        assert_int_equal(worker_record_send(pair[0], &a), 0);
        assert_int_equal(worker_record_send(pair[0], &a), 0);
        /* One record per packet: two sends are two records. */
        assert_int_equal(worker_record_receive(pair[1], &b), 1);
        assert_string_equal(worker_record_get(&b, "done"), "7");
        assert_int_equal(worker_record_receive(pair[1], &c), 1);
        assert_int_equal(c.size, a.size);
        worker_record_done(&c);

        /* What a broken or hostile peer sends: too long, or not a record. */
        assert_non_null(junk);
        memset(junk, 'a', WORKER_RECORD_MAX + 10);
        assert_int_equal(send(pair[0], junk, WORKER_RECORD_MAX + 10, 0), WORKER_RECORD_MAX + 10);
        assert_int_equal(worker_record_receive(pair[1], &c), -EBADMSG);
        assert_int_equal(send(pair[0], "x", 1, 0), 1);
        assert_int_equal(worker_record_receive(pair[1], &c), -EBADMSG);

        close(pair[0]);
        assert_int_equal(worker_record_receive(pair[1], &c), 0);              /* the end */
        assert_null(c.data);
        close(pair[1]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_get),
                cmocka_unit_test(test_bound),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_send_receive),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
