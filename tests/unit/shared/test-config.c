/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-config.c — aim.ini parsing: AIM's own files, defaults, and every malformed case */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shared/config.h"
#include "util/strv.h"

/* Parses text as file "aim.ini"; returns the parser's result, the error text in *ret_error. */
static int parse(Config *c, const char *text, char **ret_error) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        int r;

        assert_non_null(f);
        assert_int_equal(config_init(c), 0);
        *ret_error = NULL;
        r = config_parse(c, f, "aim.ini", ret_error);
        fclose(f);
        return r;
}

static void test_defaults(void **state) {
        Config c;

        assert_int_equal(config_init(&c), 0);
        assert_string_equal(c.uri, "qemu:///system");
        assert_string_equal(c.repository, "/opt/vm_repository");
        assert_string_equal(c.datastore, "/var/lib/virt");
        assert_string_equal(c.state_dir, "/var/lib/aim");
        assert_int_equal(c.redis_port, 6379);
        assert_int_equal(c.max_jobs, 4);
        assert_null(c.ca_file);
        assert_int_equal(c.pull_stall_seconds, 30);
        assert_null(c.notices);
        config_done(&c);
}

/* The aim.ini that AIM shipped, quotes, comments and obsolete keys included. */
static void test_aim_file(void **state) {
        static const char text[] =
                "# AIM configuration\n"
                "[server]\n"
                "port = 60606\n"
                "\n"
                "[monitor]\n"
                "uri = \"qemu+unix:///system\"\n"
                "redisHost = \"10.60.1.4\"\n"
                "redisPort = 6380\n"
                "\n"
                "; the repository is an NFS mount\n"
                "[rimp]\n"
                "repository = \"/opt/vm_repository/\"\n"
                "datastore = /var/lib/virt   # local disks\n"
                "maxJobs=8\n"
                "\n"
                "[vlan]\n"
                "ifconfigCmd = \"/sbin/ifconfig\"\n"
                "vconfigCmd = \"/sbin/vconfig\"\n"
                "brctlCmd = '/usr/sbin/brctl'\n";
        _cleanup_free_ char *error = NULL;
        Config c;

        assert_int_equal(parse(&c, text, &error), 0);
        assert_null(error);
        assert_string_equal(c.uri, "qemu+unix:///system");
        assert_string_equal(c.redis_host, "10.60.1.4");
        assert_int_equal(c.redis_port, 6380);
        assert_string_equal(c.repository, "/opt/vm_repository/");
        assert_string_equal(c.datastore, "/var/lib/virt");
        assert_int_equal(c.max_jobs, 8);
        /* One notice per obsolete key, each naming the file, line and the reason. */
        assert_int_equal(strv_length(c.notices), 4);
        assert_non_null(strstr(c.notices[0], "aim.ini:3: [server] port is ignored"));
        assert_non_null(strstr(c.notices[1], "aim.ini:17: [vlan] ifconfigCmd is ignored: links are configured over netlink"));
        assert_non_null(strstr(c.notices[3], "aim.ini:19: [vlan] brctlCmd"));
        config_done(&c);
}

static void test_empty_file_keeps_defaults(void **state) {
        _cleanup_free_ char *error = NULL;
        Config c;

        assert_int_equal(parse(&c, "", &error), 0);
        assert_string_equal(c.uri, "qemu:///system");
        config_done(&c);
}

static void test_pull_keys(void **state) {
        _cleanup_free_ char *error = NULL;
        Config c;

        assert_int_equal(parse(&c, "[rimp]\ncaFile = \"/etc/aim/ca.pem\"\npullStallSeconds = 5\n", &error), 0);
        assert_null(error);
        assert_string_equal(c.ca_file, "/etc/aim/ca.pem");
        assert_int_equal(c.pull_stall_seconds, 5);
        config_done(&c);
}

static void test_crlf_and_whitespace(void **state) {
        _cleanup_free_ char *error = NULL;
        Config c;

        assert_int_equal(parse(&c, "  [ monitor ]  \r\n\turi=test:///default\r\n", &error), 0);
        assert_string_equal(c.uri, "test:///default");
        config_done(&c);
}

typedef struct Bad {
        const char *text;
        const char *error;      /* expected error text, "aim.ini:LINE: ..." */
} Bad;

static const Bad bad[] = {
        { "uri = x\n", "aim.ini:1: key 'uri' outside of any section" },
        { "[monitor]\nfoo = 1\n", "aim.ini:2: unknown key 'foo' in section [monitor]" },
        { "[nonsense]\n", "aim.ini:1: unknown section [nonsense]" },
        { "[monitor\n", "aim.ini:1: malformed section header '[monitor'" },
        { "[monitor]\njust words\n", "aim.ini:2: expected 'key = value' or '[section]', got 'just words'" },
        { "[monitor]\n = 3\n", "aim.ini:2: missing key before '='" },
        { "[monitor]\nuri = \"test:///default\n", "aim.ini:2: unterminated quote in the value of 'uri'" },
        { "[monitor]\nuri = \"a\" b\n", "aim.ini:2: unterminated quote in the value of 'uri'" },
        { "[monitor]\nuri =\n", "aim.ini:2: [monitor] uri must not be empty" },
        { "[monitor]\nredisPort = 0\n", "aim.ini:2: [monitor] redisPort must be a port number 1..65535, not '0'" },
        { "[monitor]\nredisPort = 65536\n", "aim.ini:2: [monitor] redisPort must be a port number 1..65535, not '65536'" },
        { "[monitor]\nredisPort = -1\n", "aim.ini:2: [monitor] redisPort must be a port number 1..65535, not '-1'" },
        { "[monitor]\nredisPort = 12ab\n", "aim.ini:2: [monitor] redisPort must be a port number 1..65535, not '12ab'" },
        { "[rimp]\nmaxJobs = 0\n", "aim.ini:2: [rimp] maxJobs must be a number 1..64, not '0'" },
        { "[rimp]\nmaxJobs = 99999999999999999999\n", "aim.ini:2: [rimp] maxJobs must be a number 1..64, not '99999999999999999999'" },
        { "[rimp]\ndatastore = /a\n\ndatastore = /b\n", "aim.ini:4: [rimp] datastore is set twice" },
        { "[monitor]\nURI = x\n", "aim.ini:2: unknown key 'URI' in section [monitor]" },
        { "[rimp]\nuri = x\n", "aim.ini:2: unknown key 'uri' in section [rimp]" },
        /* Less friendly shapes: each still names the line (issue 6, malformed configuration). */
        { "[monitor] trailing\n", "aim.ini:1: malformed section header '[monitor] trailing'" },
        { "[]\n", "aim.ini:1: unknown section []" },
        { "[monitor]\nuri = 'test:///default\n", "aim.ini:2: unterminated quote in the value of 'uri'" },
        { "[monitor]\n=\n", "aim.ini:2: missing key before '='" },
        { "[monitor]\r\n\r\nfoo = 1\r\n", "aim.ini:3: unknown key 'foo' in section [monitor]" },
        { "[monitor]\n\xff\xfe = 1\n", "aim.ini:2: unknown key '\xff\xfe' in section [monitor]" },
        { "# comment\n; comment\n\n[rimp]\nmaxJobs = 5 x\n", "aim.ini:5: [rimp] maxJobs must be a number 1..64, not '5 x'" },
        { "[rimp]\nmaxJobs = +5\n", "aim.ini:2: [rimp] maxJobs must be a number 1..64, not '+5'" },
        { "[rimp]\nrepository = \"\"\n", "aim.ini:2: [rimp] repository must not be empty" },
        { "[rimp]\ncaFile = ca.pem\n", "aim.ini:2: [rimp] caFile must be an absolute path, not 'ca.pem'" },
        { "[rimp]\ncaFile =\n", "aim.ini:2: [rimp] caFile must be an absolute path, not ''" },
        { "[rimp]\npullStallSeconds = 0\n", "aim.ini:2: [rimp] pullStallSeconds must be a number of seconds 1..3600, not '0'" },
        { "[rimp]\npullStallSeconds = 3601\n", "aim.ini:2: [rimp] pullStallSeconds must be a number of seconds 1..3600, not '3601'" },
        { "[rimp]\npullStallSeconds = 5s\n", "aim.ini:2: [rimp] pullStallSeconds must be a number of seconds 1..3600, not '5s'" },
};

static void test_malformed(void **state) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_free_ char *error = NULL;
                Config c;

                assert_int_equal(parse(&c, bad[i].text, &error), -EINVAL);
                assert_non_null(error);
                assert_string_equal(error, bad[i].error);
                config_done(&c);
        }
}

static void test_nul_byte(void **state) {
        static const char text[] = "[monitor]\nuri = a\0b\n";
        _cleanup_free_ char *error = NULL;
        FILE *f = fmemopen((void *) text, sizeof(text) - 1, "r");
        Config c;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_parse(&c, f, "aim.ini", &error), -EINVAL);
        assert_string_equal(error, "aim.ini:2: NUL byte in line");
        fclose(f);
        config_done(&c);
}

static void test_load_missing(void **state) {
        _cleanup_free_ char *error = NULL;
        Config c;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, "/nonexistent/aim.ini", true, &error), 0);
        assert_null(error);
        assert_int_equal(config_load(&c, "/nonexistent/aim.ini", false, &error), -ENOENT);
        assert_string_equal(error, "/nonexistent/aim.ini: No such file or directory");
        config_done(&c);
}

static void test_load_directory(void **state) {
        _cleanup_free_ char *error = NULL;
        Config c;

        /* fopen() takes a directory; the first read fails. The error must still name the file. */
        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_load(&c, "/", false, &error), -EISDIR);
        assert_string_equal(error, "/: Is a directory");
        config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_aim_file),
                cmocka_unit_test(test_empty_file_keeps_defaults),
                cmocka_unit_test(test_pull_keys),
                cmocka_unit_test(test_crlf_and_whitespace),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_load_missing),
                cmocka_unit_test(test_load_directory),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
