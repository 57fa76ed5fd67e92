/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-utf8.c — text made fit for D-Bus: invalid bytes and control characters out, cuts on boundaries */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/macro.h"
#include "util/utf8.h"

static void test_char_length(void **state) {
        assert_int_equal(utf8_char_length("a", 1), 1);
        assert_int_equal(utf8_char_length("\xc3\xbc", 2), 2);                  /* ü */
        assert_int_equal(utf8_char_length("\xe2\x82\xac", 3), 3);              /* € */
        assert_int_equal(utf8_char_length("\xf0\x9f\x98\x80", 4), 4);          /* 😀 */
        assert_int_equal(utf8_char_length("\xc3\xbc", 1), 0);                  /* cut */
        assert_int_equal(utf8_char_length("\xbc", 1), 0);                      /* a lone continuation */
        assert_int_equal(utf8_char_length("\xc0\xaf", 2), 0);                  /* overlong '/' */
        assert_int_equal(utf8_char_length("\xe0\x80\xaf", 3), 0);              /* overlong '/' */
        assert_int_equal(utf8_char_length("\xed\xa0\x80", 3), 0);              /* a surrogate */
        assert_int_equal(utf8_char_length("\xf4\x90\x80\x80", 4), 0);          /* past U+10FFFF */
        assert_int_equal(utf8_char_length("\xff", 1), 0);
}

static void test_sanitize(void **state) {
        _cleanup_free_ char *a = utf8_sanitize("ok \xc3\xbc \xff\xfe \x1b[2J\n", 100);
        _cleanup_free_ char *b = utf8_sanitize("\xc3", 100);

        assert_string_equal(a, "ok \xc3\xbc ?? ?[2J?");
        assert_string_equal(b, "?");
}

/* A message of 150 × 'ü' cut at any bound is never cut inside a character (issue 10, D3: cut
 * at 255 bytes, JobRemoved was refused and the client hung). */
static void test_cut_on_boundary(void **state) {
        char s[301];

        for (size_t i = 0; i < 150; i++)
                memcpy(s + 2 * i, "\xc3\xbc", 2);
        s[300] = 0;
        for (size_t max = 1; max <= 302; max++) {
                _cleanup_free_ char *t = utf8_sanitize(s, max);
                size_t n = strlen(t);

                if (max >= 300) {
                        assert_string_equal(t, s);
                        continue;
                }
                assert_true(n >= 3 && n <= max + 3);
                assert_string_equal(t + n - 3, "...");
                assert_int_equal((n - 3) % 2, 0);
                for (size_t i = 0; i < n - 3; i += 2)
                        assert_int_equal(utf8_char_length(t + i, n - 3 - i), 2);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_char_length),
                cmocka_unit_test(test_sanitize),
                cmocka_unit_test(test_cut_on_boundary),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
