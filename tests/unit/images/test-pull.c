/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-pull.c — a Pull's life without a transfer (the transfers themselves are tested against a
 * real server: tests/integration/test-pull.sh) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "images/pull.h"

static void test_new_sends_nothing(void **state) {
        PullOptions o = {};
        Pull *p = NULL;

        /* Nothing is sent before the first read: a Pull of an unreachable host is made and freed. */
        assert_int_equal(pull_new("http://127.0.0.1:1/x", &o, &p), 0);
        assert_int_equal(pull_size(p), 0);
        assert_int_equal(pull_done(p), 0);
        assert_int_equal(pull_resumes(p), 0);
        assert_null(pull_free(p));
        assert_null(pull_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_sends_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
