/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-errors.c — aim_error(): the errno → D-Bus error map, and messages safe to show */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "shared/errors.h"

static void test_names(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL, f = SD_BUS_ERROR_NULL;

        assert_int_equal(aim_error(&e, -EINVAL, "Invalid tag %u: a VLAN tag is 1..4094.", 0U), -EINVAL);
        assert_string_equal(e.name, SD_BUS_ERROR_INVALID_ARGS);
        assert_string_equal(e.message, "Invalid tag 0: a VLAN tag is 1..4094.");
        assert_int_equal(aim_error(&f, -EIO, "Failed to read image %s", "a"), -EIO);
        assert_string_equal(f.name, AIM_ERROR_FAILED);
        assert_string_equal(f.message, "Failed to read image a: Input/output error");
}

static void test_control_characters(void **state) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

        aim_error(&e, -EINVAL, "Invalid name '%s': why", "a\x1b[2J\n\t\x7f" "b");
        assert_string_equal(e.message, "Invalid name 'a?[2J???b': why");
}

static bool utf8_is_valid(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;

                if (n == 0)
                        return false;
                for (size_t i = 1; i < n; i++)
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                p += n;
        }
        return true;
}

static void test_long(void **state) {
        /* 64 KiB of a two-byte character, at both possible alignments of the cuts. */
        for (size_t shift = 0; shift < 2; shift++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                size_t n = 65536;
                _cleanup_free_ char *v = malloc(n + 1);

                assert_non_null(v);
                for (size_t i = 0; i < n; i += 2)
                        memcpy(v + i, "\xc3\xa9", 2);     /* é */
                v[n] = 0;
                aim_error(&e, -EINVAL, "%sInvalid name '%s': must be 1..255 bytes", shift ? "x" : "", v);
                assert_true(strlen(e.message) <= 1003);
                assert_true(utf8_is_valid(e.message));
                assert_non_null(strstr(e.message, "Invalid name '\xc3\xa9"));
                assert_non_null(strstr(e.message, "..."));
                assert_non_null(strstr(e.message, "\xc3\xa9': must be 1..255 bytes"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_long),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
