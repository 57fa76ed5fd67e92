/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-copy.c — the copy engine: method fallback, holes, checksums, cancellation */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/copy.h"
#include "test-util.h"

#define MiB (1024U * 1024)

static char dir[] = "/tmp/test-copy.XXXXXX";
static unsigned calls_clone, calls_cfr, calls_sendfile;
static int fail_clone, fail_cfr, fail_sendfile;
static unsigned cfr_ok_calls;   /* copy_file_range works this many times, then fails with fail_cfr */

static bool clone_then_rewrite;  /* the fake clone copies, then a writer changes the source */

static void toggle_byte(int fd, off_t offset) {
        uint8_t b;

        assert_int_equal(pread(fd, &b, 1, offset), 1);
        b ^= 0xff;
        assert_int_equal(pwrite(fd, &b, 1, offset), 1);
}

static int fake_clone(int in, int out) {
        calls_clone++;
        if (clone_then_rewrite) {
                struct stat st;
                off_t a = 0, b = 0;

                /* tmpfs has no reflink: a whole copy stands in for the shared extents. */
                assert_int_equal(fstat(in, &st), 0);
                while (a < st.st_size)
                        assert_true(copy_file_range(in, &a, out, &b, (size_t) (st.st_size - a), 0) > 0);
                toggle_byte(in, 0);
                return 0;
        }
        return fail_clone ?: copy_ops_system.clone(in, out);
}

static ssize_t fake_cfr(int in, off_t *oi, int out, off_t *oo, size_t n) {
        calls_cfr++;
        if (fail_cfr && calls_cfr > cfr_ok_calls)
                return fail_cfr;
        return copy_ops_system.copy_file_range(in, oi, out, oo, n);
}

static ssize_t fake_sendfile(int out, int in, off_t *oi, size_t n) {
        calls_sendfile++;
        return fail_sendfile ?: copy_ops_system.sendfile(out, in, oi, n);
}

static const CopyOps fake_ops = { fake_clone, fake_cfr, fake_sendfile };

static void reset(void) {
        calls_clone = calls_cfr = calls_sendfile = 0;
        fail_clone = fail_cfr = fail_sendfile = 0;
        cfr_ok_calls = 0;
        clone_then_rewrite = false;
}

/* A file of data_mib MiB of pseudo-random data at 0 and again at 40 MiB, 64 MiB apparent. */
static int make_source(const char *name, unsigned data_mib) {
        char path[256];
        uint8_t *b = malloc(MiB);
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0 && b);
        for (unsigned i = 0; i < data_mib; i++) {
                for (size_t k = 0; k < MiB; k++)
                        b[k] = (uint8_t) (k * 31 + i * 7 + (k >> 9));
                assert_int_equal(pwrite(fd, b, MiB, (off_t) i * MiB), MiB);
                assert_int_equal(pwrite(fd, b, MiB, (off_t) (40 + i % 8) * MiB), MiB);
        }
        assert_int_equal(ftruncate(fd, 64 * MiB), 0);
        free(b);
        return fd;
}

static int make_target(const char *name) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        return fd;
}

static void assert_same(int a, int b) {
        uint8_t *x = malloc(MiB), *y = malloc(MiB);
        struct stat sa, sb;

        assert_int_equal(fstat(a, &sa), 0);
        assert_int_equal(fstat(b, &sb), 0);
        assert_int_equal(sa.st_size, sb.st_size);
        for (off_t o = 0; o < sa.st_size; o += MiB) {
                assert_int_equal(pread(a, x, MiB, o), MiB);
                assert_int_equal(pread(b, y, MiB, o), MiB);
                assert_memory_equal(x, y, MiB);
        }
        /* Holes stay holes: the copy allocates no more than the source. */
        assert_true(sa.st_blocks < 64 * MiB / 512);
        assert_true(sb.st_blocks <= sa.st_blocks + 1 * MiB / 512);
        free(x);
        free(y);
}

static CopyMethod run(int in, int out, Hasher *h, int expect) {
        CopyOptions o = { .ops = &fake_ops, .hasher = h };
        CopyMethod m = _COPY_METHOD_INVALID;

        assert_int_equal(copy_file(in, out, &o, &m), expect);
        return m;
}

static void test_fallback_to_copy_file_range(void **state) {
        int in = make_source("a", 4), out = make_target("a.out");

        reset();
        fail_clone = -EOPNOTSUPP;       /* ext4, tmpfs */
        assert_int_equal(run(in, out, NULL, 0), COPY_METHOD_COPY_FILE_RANGE);
        assert_int_equal(calls_clone, 1);
        assert_int_equal(calls_sendfile, 0);
        assert_same(in, out);
        close(in);
        close(out);
}

static void test_fallback_to_sendfile_remembered(void **state) {
        int in = make_source("b", 4), out = make_target("b.out");

        reset();
        fail_clone = -EXDEV;            /* btrfs → xfs */
        fail_cfr = -EXDEV;
        assert_int_equal(run(in, out, NULL, 0), COPY_METHOD_SENDFILE);
        /* Two data segments, but copy_file_range was asked once: its failure is remembered. */
        assert_int_equal(calls_cfr, 1);
        assert_true(calls_sendfile >= 2);
        assert_same(in, out);
        close(in);
        close(out);
}

static void test_fallback_to_read_write(void **state) {
        int in = make_source("c", 4), out = make_target("c.out");

        reset();
        fail_clone = -ENOTTY;
        fail_cfr = -ENOSYS;
        fail_sendfile = -EINVAL;
        assert_int_equal(run(in, out, NULL, 0), COPY_METHOD_READ_WRITE);
        assert_same(in, out);
        close(in);
        close(out);
}

static void test_fallback_midway(void **state) {
        int in = make_source("d", 20), out = make_target("d.out");

        reset();
        fail_clone = -EOPNOTSUPP;
        fail_cfr = -EINVAL;             /* after the first 16 MiB chunk */
        cfr_ok_calls = 1;
        assert_int_equal(run(in, out, NULL, 0), COPY_METHOD_SENDFILE);
        assert_same(in, out);
        close(in);
        close(out);
}

static void test_real_error_is_not_a_fallback(void **state) {
        int in = make_source("e", 2), out = make_target("e.out");

        reset();
        fail_clone = -EOPNOTSUPP;
        fail_cfr = -EIO;
        run(in, out, NULL, -EIO);
        assert_int_equal(calls_sendfile, 0);
        reset();
        fail_clone = -ENOSPC;
        run(in, out, NULL, -ENOSPC);
        assert_int_equal(calls_cfr, 0);
        close(in);
        close(out);
}

static int cancel_after_first(uint64_t done, uint64_t total, CopyMethod m, void *userdata) {
        return ++*(unsigned *) userdata > 1 ? -ECANCELED : 0;
}

static void test_cancel(void **state) {
        int in = make_source("f", 20), out = make_target("f.out");
        unsigned n = 0;
        CopyOptions o = { .ops = &fake_ops, .progress = cancel_after_first, .userdata = &n };
        CopyMethod m;

        reset();
        fail_clone = -EOPNOTSUPP;
        assert_int_equal(copy_file(in, out, &o, &m), -ECANCELED);
        close(in);
        close(out);
}

static void digest_of(int fd, const char *algorithm, Checksum *ret) {
        uint8_t *b = malloc(MiB);
        Hasher *h = NULL;
        ssize_t k;

        assert_int_equal(hasher_new(algorithm, &h), 0);
        for (off_t o = 0; (k = pread(fd, b, MiB, o)) > 0; o += k)
                assert_int_equal(hasher_update(h, b, (size_t) k), 0);
        assert_int_equal(hasher_final(h, ret), 0);
        hasher_free(h);
        free(b);
}

static void test_checksum_in_the_same_pass(void **state) {
        int in = make_source("g", 6);
        const char *algorithms[] = { "sha256", "md5" };

        for (size_t i = 0; i < 2; i++) {
                int out = make_target("g.out");
                Hasher *h = NULL;
                Checksum got, want;

                reset();
                fail_clone = -EOPNOTSUPP;
                assert_int_equal(hasher_new(algorithms[i], &h), 0);
                /* No reflink: the bytes pass through a buffer — read, hashed, written on two threads. */
                assert_int_equal(run(in, out, h, 0), COPY_METHOD_READ_WRITE);
                assert_int_equal(calls_cfr, 0);
                assert_int_equal(hasher_final(h, &got), 0);
                digest_of(in, algorithms[i], &want);
                assert_int_equal(got.size, want.size);
                assert_memory_equal(got.digest, want.digest, got.size);
                assert_same(in, out);
                hasher_free(h);
                close(out);
        }
        close(in);
}

/* Rewrites the last byte read so far: on the pipelined path that is the block just hashed and
 * handed to the writer, which has likely not written it yet. */
static int rewrite_behind(uint64_t done, uint64_t total, CopyMethod m, void *userdata) {
        if (done > 0 && done < 8 * MiB)
                toggle_byte(*(int *) userdata, (off_t) done - 1);
        return 0;
}

/* The digest is that of the bytes published, whatever a writer does to the source meanwhile
 * (issue 10, D1): after a reflink the clone is hashed, not the source; on the read/write path the
 * buffer hashed is the buffer written. */
static void test_checksum_covers_what_is_written(void **state) {
        for (int pass = 0; pass < 2; pass++) {
                int in = make_source("d1", 8), out = make_target("d1.out");
                CopyOptions o = { .ops = &fake_ops, .progress = rewrite_behind, .userdata = &in };
                CopyMethod m = _COPY_METHOD_INVALID;
                Hasher *h = NULL;
                Checksum got, written;

                reset();
                if (pass == 0) {
                        clone_then_rewrite = true;
                        o.progress = NULL;
                } else
                        fail_clone = -EOPNOTSUPP;
                assert_int_equal(hasher_new("sha256", &h), 0);
                o.hasher = h;
                assert_int_equal(copy_file(in, out, &o, &m), 0);
                assert_int_equal(m, pass == 0 ? COPY_METHOD_REFLINK : COPY_METHOD_READ_WRITE);
                assert_int_equal(hasher_final(h, &got), 0);
                digest_of(out, "sha256", &written);
                assert_memory_equal(got.digest, written.digest, got.size);
                hasher_free(h);
                close(out);
                close(in);
        }
}

static void test_checksum_parse(void **state) {
        Checksum c;
        char buf[160];

        assert_int_equal(checksum_parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &c), 0);
        assert_string_equal(c.algorithm, "sha256");
        assert_int_equal(c.size, 32);
        checksum_format(&c, buf, sizeof(buf));
        assert_string_equal(buf, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(checksum_parse("md5:900150983CD24FB0D6963F7D28E17F72", &c), 0);
        assert_int_equal(c.size, 16);

        assert_int_equal(checksum_parse(NULL, &c), -EINVAL);
        assert_int_equal(checksum_parse("", &c), -EINVAL);
        assert_int_equal(checksum_parse("sha256", &c), -EINVAL);
        assert_int_equal(checksum_parse("sha1:a9993e364706816aba3e25717850c26c9cd0d89d", &c), -EINVAL);
        assert_int_equal(checksum_parse("md5:900150983cd24fb0d6963f7d28e17f7", &c), -EINVAL);     /* short */
        assert_int_equal(checksum_parse("md5:900150983cd24fb0d6963f7d28e17f722", &c), -EINVAL);   /* long */
        assert_int_equal(checksum_parse("md5:900150983cd24fb0d6963f7d28e17fxx", &c), -EINVAL);
        assert_int_equal(checksum_parse("sha256x:00", &c), -EINVAL);
}

static void test_hasher(void **state) {
        static const uint8_t zeros[100000];
        Hasher *a = NULL, *b = NULL;
        Checksum x, y, abc;

        assert_int_equal(hasher_new("sha256", &a), 0);
        assert_int_equal(hasher_update(a, "abc", 3), 0);
        assert_int_equal(hasher_final(a, &x), 0);
        assert_int_equal(checksum_parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &abc), 0);
        assert_memory_equal(x.digest, abc.digest, 32);
        hasher_free(a);

        /* A hole hashes as the zeros it reads as. */
        assert_int_equal(hasher_new("md5", &a), 0);
        assert_int_equal(hasher_new("md5", &b), 0);
        assert_int_equal(hasher_update(a, zeros, sizeof(zeros)), 0);
        assert_int_equal(hasher_update_zeros(b, sizeof(zeros)), 0);
        assert_int_equal(hasher_final(a, &x), 0);
        assert_int_equal(hasher_final(b, &y), 0);
        assert_memory_equal(x.digest, y.digest, 16);
        hasher_free(a);
        hasher_free(b);
        assert_int_equal(hasher_new("crc32", &a), -EOPNOTSUPP);
}

static void test_buffer_is_zero(void **state) {
        uint8_t b[4096] = {};

        assert_true(buffer_is_zero(b, sizeof(b)));
        assert_true(buffer_is_zero(b, 0));
        b[4095] = 1;
        assert_false(buffer_is_zero(b, sizeof(b)));
        b[4095] = 0;
        b[0] = 1;
        assert_false(buffer_is_zero(b, sizeof(b)));
}

static void test_method_names(void **state) {
        for (CopyMethod m = 0; m < _COPY_METHOD_MAX; m++)
                assert_int_equal(copy_method_from_string(copy_method_to_string(m)), m);
        assert_string_equal(copy_method_to_string(COPY_METHOD_READ_WRITE), "read-write");
        assert_int_equal(copy_method_from_string("splice"), _COPY_METHOD_INVALID);
        assert_null(copy_method_to_string(_COPY_METHOD_INVALID));
}

static int setup(void **state) {
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        return test_remove_tree(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fallback_to_copy_file_range),
                cmocka_unit_test(test_fallback_to_sendfile_remembered),
                cmocka_unit_test(test_fallback_to_read_write),
                cmocka_unit_test(test_fallback_midway),
                cmocka_unit_test(test_real_error_is_not_a_fallback),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_checksum_in_the_same_pass),
                cmocka_unit_test(test_checksum_covers_what_is_written),
                cmocka_unit_test(test_checksum_parse),
                cmocka_unit_test(test_hasher),
                cmocka_unit_test(test_buffer_is_zero),
                cmocka_unit_test(test_method_names),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
