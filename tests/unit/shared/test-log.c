/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-log.c — log lines as journald reads them: one line each, no raw control bytes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/log.h"

/* What one log_notice("%s", text) writes to stderr. */
static char *logged(const char *text) {
        char *out = calloc(1, 65536);
        FILE *f = tmpfile();
        int saved = dup(STDERR_FILENO);

        assert_non_null(out);
        assert_non_null(f);
        assert_true(saved >= 0);
        fflush(stderr);
        assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
        log_notice("%s", text);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        rewind(f);
        assert_true(fread(out, 1, 65535, f) > 0);
        fclose(f);
        return out;
}

static void test_plain(void **state) {
        _cleanup_free_ char *s = logged("Reloading /etc/aim/aim.ini (SIGHUP).");

        assert_string_equal(s, "<5>Reloading /etc/aim/aim.ini (SIGHUP).\n");
}

/* UTF-8 is kept as it is: names and paths in other languages stay readable. */
static void test_utf8_kept(void **state) {
        _cleanup_free_ char *s = logged("Image «müll» 日本 \xf0\x9f\x92\xbe");

        assert_string_equal(s, "<5>Image «müll» 日本 \xf0\x9f\x92\xbe\n");
}

/* Issue 10, D12: a terminal escape, a newline that would fake a journal line of priority 0, C1
 * controls, DEL and bytes that are not UTF-8 (Latin-1, an overlong '/', a surrogate, a cut
 * character) each become \xNN. */
static void test_control_and_invalid_escaped(void **state) {
        static const struct { const char *in, *out; } cases[] = {
                { "key '\033]0;owned\a'", "<5>key '\\x1b]0;owned\\x07'\n" },
                { "a\n<0>fake emergency", "<5>a\\x0a<0>fake emergency\n" },
                { "tab\tcr\rdel\x7f", "<5>tab\\x09cr\\x0ddel\\x7f\n" },
                { "csi \xc2\x9b" "31m nbsp \xc2\xa0", "<5>csi \\xc2\\x9b31m nbsp \xc2\xa0\n" },
                { "latin1 \xe9t\xe9", "<5>latin1 \\xe9t\\xe9\n" },
                { "overlong \xc0\xaf surrogate \xed\xa0\x80", "<5>overlong \\xc0\\xaf surrogate \\xed\\xa0\\x80\n" },
                { "cut \xe6\x97", "<5>cut \\xe6\\x97\n" },
                { "\xef\xbb\xbf[rimp]", "<5>\xef\xbb\xbf[rimp]\n" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *s = logged(cases[i].in);

                assert_string_equal(s, cases[i].out);
        }
}

/* The longest message there is, made of bytes that each take four: no overflow, still one line. */
static void test_long_escaped(void **state) {
        _cleanup_free_ char *in = malloc(4096), *s = NULL;

        assert_non_null(in);
        memset(in, '\033', 4095);
        in[4095] = 0;
        s = logged(in);
        assert_int_equal(strlen(s), 3 + 4 * 2047 + 1);
        assert_non_null(strchr(s, '\n'));
        assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain),
                cmocka_unit_test(test_utf8_kept),
                cmocka_unit_test(test_control_and_invalid_escaped),
                cmocka_unit_test(test_long_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
