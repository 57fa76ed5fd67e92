/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-valid.c — the name, path and URL validators */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/macro.h"
#include "util/valid.h"

static void test_ifname(void **state) {
        assert_true(ifname_is_valid("eth0"));
        assert_true(ifname_is_valid("eth0.4094"));
        assert_true(ifname_is_valid("br-vlan100"));
        assert_true(ifname_is_valid("a"));
        assert_true(ifname_is_valid("123456789012345"));        /* 15 bytes: the kernel's limit */
        assert_true(ifname_is_valid("..."));

        assert_false(ifname_is_valid(NULL));
        assert_false(ifname_is_valid(""));
        assert_false(ifname_is_valid("1234567890123456"));      /* 16 bytes */
        assert_false(ifname_is_valid("."));
        assert_false(ifname_is_valid(".."));
        assert_false(ifname_is_valid("eth/0"));
        assert_false(ifname_is_valid("eth:0"));
        assert_false(ifname_is_valid("eth 0"));
        assert_false(ifname_is_valid("eth\t0"));
        assert_false(ifname_is_valid("eth\n"));
        assert_false(ifname_is_valid("eth\x7f"));
        assert_false(ifname_is_valid("\x1b[31m"));
}

static void test_image_name(void **state) {
        char longest[256], too_long[257];

        assert_true(image_name_is_valid("debian-12.qcow2"));
        assert_true(image_name_is_valid("A_b+c-1.2"));
        memset(longest, 'a', 255);
        longest[255] = 0;
        assert_true(image_name_is_valid(longest));

        memset(too_long, 'a', 256);
        too_long[256] = 0;
        assert_false(image_name_is_valid(too_long));
        assert_false(image_name_is_valid(NULL));
        assert_false(image_name_is_valid(""));
        assert_false(image_name_is_valid(".hidden"));
        assert_false(image_name_is_valid("."));
        assert_false(image_name_is_valid(".."));
        assert_false(image_name_is_valid("a/b"));
        assert_false(image_name_is_valid("a b"));
        assert_false(image_name_is_valid("a:b"));
        assert_false(image_name_is_valid("caf\xc3\xa9"));
        assert_false(image_name_is_valid("a\nb"));
}

static void test_relative_path(void **state) {
        assert_true(relative_path_is_valid("image.img"));
        assert_true(relative_path_is_valid("debian/12/disk.qcow2"));
        assert_true(relative_path_is_valid("a//b"));
        assert_true(relative_path_is_valid("./a"));
        assert_true(relative_path_is_valid("a..b/..c/d.."));

        assert_false(relative_path_is_valid(NULL));
        assert_false(relative_path_is_valid(""));
        assert_false(relative_path_is_valid("/etc/shadow"));
        assert_false(relative_path_is_valid(".."));
        assert_false(relative_path_is_valid("../x"));
        assert_false(relative_path_is_valid("a/../../x"));
        assert_false(relative_path_is_valid("a/.."));
        assert_false(relative_path_is_valid("a//../b"));
        assert_false(relative_path_is_valid("a\nb"));
        assert_false(relative_path_is_valid("a\x01"));
}

static void test_http_url_valid(void **state) {
        static const char * const good[] = {
                "http://example.com/disk.img",
                "https://127.0.0.1:8443/images/disk.qcow2.img.gz",
                "http://[::1]/a",
                "https://host/path?query=1&x=%20#frag",
                "http://h",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                assert_true(http_url_is_valid(good[i]));
}

static void test_http_url_invalid(void **state) {
        static const char * const bad[] = {
                "", "http://", "https://", "http:///etc/passwd", "http://?x", "http://#x",
                "file:///etc/passwd", "ftp://example.com/disk.img", "HTTP://example.com/a", "gopher://x/",
                "http://example.com/a b", "http://example.com/a\tb", "http://example.com/a\nb",
                "http://example.com/\x7f", "http://example.com/\x01", " http://example.com/",
                "example.com/disk.img", "http:/example.com/a",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(http_url_is_valid(bad[i]));
        assert_false(http_url_is_valid(NULL));
}

static void test_http_url_length(void **state) {
        _cleanup_free_ char *url = malloc(HTTP_URL_MAX + 2);

        assert_non_null(url);
        memcpy(url, "http://h/", 9);
        memset(url + 9, 'a', HTTP_URL_MAX - 9);
        url[HTTP_URL_MAX] = 0;
        assert_true(http_url_is_valid(url));            /* exactly the bound */
        url[HTTP_URL_MAX] = 'a';
        url[HTTP_URL_MAX + 1] = 0;
        assert_false(http_url_is_valid(url));           /* one byte more */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ifname),
                cmocka_unit_test(test_image_name),
                cmocka_unit_test(test_relative_path),
                cmocka_unit_test(test_http_url_valid),
                cmocka_unit_test(test_http_url_invalid),
                cmocka_unit_test(test_http_url_length),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
