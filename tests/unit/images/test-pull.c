/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-pull.c — which URLs a pull accepts, and a Pull's life without a transfer (the transfers
 * themselves are tested against a real server: tests/integration/test-pull.sh) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "images/pull.h"

static void test_url_valid(void **state) {
        static const char * const good[] = {
                "http://example.com/disk.img",
                "https://127.0.0.1:8443/images/disk.qcow2.img.gz",
                "http://[::1]/a",
                "https://host/path?query=1&x=%20#frag",
                "http://h",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(pull_url_is_valid(good[i]));
}

static void test_url_invalid(void **state) {
        static const char * const bad[] = {
                "", "http://", "https://", "http:///etc/passwd", "http://?x", "http://#x",
                "file:///etc/passwd", "ftp://example.com/disk.img", "HTTP://example.com/a", "gopher://x/",
                "http://example.com/a b", "http://example.com/a\tb", "http://example.com/a\nb",
                "http://example.com/\x7f", "http://example.com/\x01", " http://example.com/",
                "example.com/disk.img", "http:/example.com/a",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(pull_url_is_valid(bad[i]));
        assert_false(pull_url_is_valid(NULL));
}

static void test_url_length(void **state) {
        _cleanup_free_ char *url = malloc(PULL_URL_MAX + 2);

        assert_non_null(url);
        memcpy(url, "http://h/", 9);
        memset(url + 9, 'a', PULL_URL_MAX - 9);
        url[PULL_URL_MAX] = 0;
        assert_true(pull_url_is_valid(url));            /* exactly the bound */
        url[PULL_URL_MAX] = 'a';
        url[PULL_URL_MAX + 1] = 0;
        assert_false(pull_url_is_valid(url));           /* one byte more */
}

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
                cmocka_unit_test(test_url_valid),
                cmocka_unit_test(test_url_invalid),
                cmocka_unit_test(test_url_length),
                cmocka_unit_test(test_new_sends_nothing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
