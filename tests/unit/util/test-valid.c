/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-valid.c — the name and path validators */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ifname),
                cmocka_unit_test(test_image_name),
                cmocka_unit_test(test_relative_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
