/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-seq.c — event numbers: a clean close continues without a gap, a crash (no close) leaves a gap
 * of at most a block and never reuses a number, a bad file is refused */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "broker/seq.h"
#include "util/macro.h"

static char dir[] = "/tmp/test-seq.XXXXXX";

static void write_seq_file(const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", dir, SEQ_FILE) > 0);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_clean_close_continues(void **state) {
        SeqStore s;

        write_seq_file("0\n");
        assert_int_equal(seq_store_open(&s, dir, NULL), 0);
        assert_int_equal(seq_store_take(&s), 1);
        assert_int_equal(seq_store_take(&s), 2);
        assert_int_equal(s.error, 0);
        assert_int_equal(s.reserved, SEQ_BLOCK);
        assert_int_equal(seq_store_close(&s), 0);

        assert_int_equal(seq_store_open(&s, dir, NULL), 0);
        assert_int_equal(seq_store_take(&s), 3);
        assert_int_equal(seq_store_close(&s), 0);
}

static void test_crash_never_reuses(void **state) {
        uint64_t last = 0;
        SeqStore s;

        write_seq_file("10\n");
        assert_int_equal(seq_store_open(&s, dir, NULL), 0);
        for (unsigned i = 0; i < SEQ_BLOCK + 5; i++)
                last = seq_store_take(&s);
        assert_int_equal(last, 10 + SEQ_BLOCK + 5);
        /* A crash: no close. The file already holds the second block's end. */
        safe_close(s.dir_fd);
        assert_int_equal(seq_store_open(&s, dir, NULL), 0);
        assert_true(seq_store_take(&s) > last);
        assert_true(s.next - 1 <= last + SEQ_BLOCK);
        assert_int_equal(seq_store_close(&s), 0);
}

static void test_missing_and_bad(void **state) {
        _cleanup_free_ char *p = NULL, *why = NULL;
        SeqStore s;

        assert_true(asprintf(&p, "%s/%s", dir, SEQ_FILE) > 0);
        (void) unlink(p);
        assert_int_equal(seq_store_open(&s, dir, NULL), 0);
        assert_int_equal(seq_store_take(&s), 1);
        assert_int_equal(seq_store_close(&s), 0);

        write_seq_file("twelve\n");
        assert_int_equal(seq_store_open(&s, dir, &why), -EBADMSG);
        assert_non_null(strstr(why, "broker-seq: not a number"));
        free(why);
        why = NULL;
        assert_int_equal(seq_store_open(&s, "/nonexistent", &why), -ENOENT);
        assert_string_equal(why, "Cannot open the state directory /nonexistent: No such file or directory");
}

static int setup(void **state) {
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "rm -rf '%s'", dir) < 0)
                return -1;
        return system(p) == 0 ? 0 : -1;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_close_continues),
                cmocka_unit_test(test_crash_never_reuses),
                cmocka_unit_test(test_missing_and_bad),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
