/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-config.c — aim.ini parsing: AIM's own files, defaults, and every malformed case */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/config.h"
#include "util/strv.h"

/* Parses text as file "aim.ini"; returns the parser's result, the error text in *reterr_message. */
static int parse(Config *c, const char *text, char **reterr_message) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        int r;

        assert_non_null(f);
        assert_int_equal(config_init(c), 0);
        *reterr_message = NULL;
        r = config_parse(c, f, "aim.ini", reterr_message);
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

/* Issue 10, D12: a file saved by a Windows editor, and a quoted value with a comment after it. */
static void test_bom_and_quoted_comment(void **state) {
        static const char text[] =
                "\xef\xbb\xbf[rimp]\n"
                "datastore = \"/tmp/a\" # c\n"
                "repository = '/srv/#repo';the NFS mount\n"
                "[monitor]\n"
                "uri = \"test:///default\"; comment\n";
        _cleanup_free_ char *error = NULL;
        Config c;

        assert_int_equal(parse(&c, text, &error), 0);
        assert_null(error);
        assert_string_equal(c.datastore, "/tmp/a");
        assert_string_equal(c.repository, "/srv/#repo");
        assert_string_equal(c.uri, "test:///default");
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
        { "[monitor]\nuri = \"a\" b\n", "aim.ini:2: text after the quoted value of 'uri' (a comment starts with '#' or ';')" },
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
        { "[rimp]\nrepository = \"\"\n", "aim.ini:2: [rimp] repository must be an absolute path, not ''" },
        /* Relative to the daemon's working directory, which nobody chooses (issue 10, D12). */
        { "[rimp]\n\ndatastore = \"var/lib/virt\"\n", "aim.ini:3: [rimp] datastore must be an absolute path, not 'var/lib/virt'" },
        { "[rimp]\nrepository = ./repo # here\n", "aim.ini:2: [rimp] repository must be an absolute path, not './repo'" },
        /* A byte order mark is skipped at the start of the file only. */
        { "[rimp]\n\xef\xbb\xbf[monitor]\n", "aim.ini:2: expected 'key = value' or '[section]', got '\xef\xbb\xbf[monitor]'" },
        /* The broker's keys (API-v2.md, "Events beyond one host"). */
        { "[monitor]\nredisHost = run/redis.sock\n", "aim.ini:2: [monitor] redisHost must be a host name, an IP "
          "address or an absolute socket path, not 'run/redis.sock'" },
        { "[monitor]\nredisHost = a b\n", "aim.ini:2: [monitor] redisHost must be a host name, an IP address or an "
          "absolute socket path, not 'a b'" },
        { "[monitor]\nredisPasswordFile = secret\n", "aim.ini:2: [monitor] redisPasswordFile must be an absolute path "
          "to a readable file, 'secret' is not: a relative path" },
        { "[monitor]\n\nredisPasswordFile = /nonexistent/pw\n", "aim.ini:3: [monitor] redisPasswordFile must be an "
          "absolute path to a readable file, '/nonexistent/pw' is not: No such file or directory" },
        { "[monitor]\nredisPasswordFile = /\n", "aim.ini:2: [monitor] redisPasswordFile must be an absolute path to a "
          "readable file, '/' is not: Is a directory" },
        { "[monitor]\nredisMaxLen = 0\n", "aim.ini:2: [monitor] redisMaxLen must be a number 1..4294967295, not '0'" },
        { "[monitor]\nredisBacklog = 4294967296\n", "aim.ini:2: [monitor] redisBacklog must be a number 1..4294967295, "
          "not '4294967296'" },
        { "[monitor]\nredisBacklog = lots\n", "aim.ini:2: [monitor] redisBacklog must be a number 1..4294967295, not 'lots'" },
        { "[monitor]\nnodeName = node 1\n", "aim.ini:2: [monitor] nodeName must be 1..64 bytes of [A-Za-z0-9._-], "
          "not 'node 1'" },
        { "[monitor]\nredisStream =\n", "aim.ini:2: [monitor] redisStream must not be empty" },
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

static void test_broker_keys(void **state) {
        static const char text[] =
                "[monitor]\n"
                "redisHost = /run/redis/redis.sock\n"
                "redisPort = 6390\n"
                "redisUser = aimd\n"
                "redisPasswordFile = /dev/null\n"
                "redisStream = {fleet}:events\n"
                "redisMaxLen = 5000\n"
                "redisBacklog = 10\n"
                "nodeName = node-1.rack2\n";
        _cleanup_free_ char *error = NULL;
        Config c;

        /* The defaults: no broker until redisHost is set. */
        assert_int_equal(config_init(&c), 0);
        assert_null(c.redis_host);
        assert_string_equal(c.redis_stream, "aim:events");
        assert_int_equal(c.redis_max_len, 1000000);
        assert_int_equal(c.redis_backlog, 100000);
        assert_null(c.node_name);
        config_done(&c);

        assert_int_equal(parse(&c, text, &error), -EINVAL);
        /* /dev/null is readable but not a regular file: a password file it is not. */
        assert_string_equal(error, "aim.ini:5: [monitor] redisPasswordFile must be an absolute path to a readable file, "
                            "'/dev/null' is not: Is a directory");
        config_done(&c);
        free(error);
        error = NULL;

        /* The same with a real file in place of /dev/null. */
        char path[] = "/tmp/test-config-pw.XXXXXX";
        _cleanup_free_ char *good = NULL;
        const char *dev_null = strstr(text, "/dev/null");
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
        assert_true(asprintf(&good, "%.*s%s%s", (int) (dev_null - text), text, path, dev_null + strlen("/dev/null")) > 0);
        assert_int_equal(parse(&c, good, &error), 0);
        assert_null(error);
        assert_string_equal(c.redis_host, "/run/redis/redis.sock");
        assert_int_equal(c.redis_port, 6390);
        assert_string_equal(c.redis_user, "aimd");
        assert_string_equal(c.redis_password_file, path);
        assert_string_equal(c.redis_stream, "{fleet}:events");
        assert_int_equal(c.redis_max_len, 5000);
        assert_int_equal(c.redis_backlog, 10);
        assert_string_equal(c.node_name, "node-1.rack2");
        config_done(&c);
        unlink(path);
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

/* A caller that does not want the message passes NULL, and gets the errno only. */
static void test_no_message_wanted(void **state) {
        static const char text[] = "[nonsense]\n";
        FILE *f = fmemopen((void *) text, sizeof(text) - 1, "r");
        Config c;

        assert_int_equal(config_init(&c), 0);
        assert_int_equal(config_parse(&c, f, "aim.ini", NULL), -EINVAL);
        fclose(f);
        assert_int_equal(config_load(&c, "/nonexistent/aim.ini", false, NULL), -ENOENT);
        assert_int_equal(config_load(&c, "/", false, NULL), -EISDIR);
        config_done(&c);
}

/* SIGHUP (issue 10, D8): maxJobs is taken, every other changed key is named and left alone. */
static void test_reload(void **state) {
        _cleanup_free_ char *error = NULL;
        _cleanup_strv_free_ char **pending = NULL;
        Config c, next;

        assert_int_equal(parse(&c, "[rimp]\nmaxJobs = 2\n[server]\nport = 1\n", &error), 0);
        assert_int_equal(parse(&next, "[rimp]\nmaxJobs = 7\ndatastore = /srv/ds\n[monitor]\nredisPort = 7000\n"
                                      "uri = test:///default\n[vlan]\nbrctlCmd = x\n", &error), 0);
        assert_int_equal(config_reload(&c, &next, &pending), 0);
        assert_int_equal(c.max_jobs, 7);
        assert_string_equal(c.datastore, "/var/lib/virt");
        assert_string_equal(c.uri, "qemu:///system");
        assert_int_equal(c.redis_port, 6379);
        /* In the order of the key table. */
        assert_int_equal(strv_length(pending), 3);
        assert_string_equal(pending[0], "[monitor] uri");
        assert_string_equal(pending[1], "[monitor] redisPort");
        assert_string_equal(pending[2], "[rimp] datastore");
        /* The notices are the new file's. */
        assert_int_equal(strv_length(c.notices), 1);
        assert_non_null(strstr(c.notices[0], "[vlan] brctlCmd is ignored"));
        config_done(&next);
        pending = strv_free(pending);

        /* The same file again: nothing pending. */
        assert_int_equal(config_init(&next), 0);
        assert_int_equal(free_and_strdup(&next.datastore, c.datastore), 0);
        next.max_jobs = 7;
        assert_int_equal(config_reload(&c, &next, &pending), 0);
        assert_null(pending);
        config_done(&next);
        config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_aim_file),
                cmocka_unit_test(test_empty_file_keeps_defaults),
                cmocka_unit_test(test_bom_and_quoted_comment),
                cmocka_unit_test(test_pull_keys),
                cmocka_unit_test(test_crlf_and_whitespace),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_broker_keys),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_load_missing),
                cmocka_unit_test(test_load_directory),
                cmocka_unit_test(test_no_message_wanted),
                cmocka_unit_test(test_reload),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
