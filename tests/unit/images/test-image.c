/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image.c — format detection, archive recognition, path rules, atomic publishing */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include <lzma.h>
#include <sys/mman.h>
#include <zstd.h>

#include "images/image.h"
#include "images/archive.h"
#include "test-util.h"

static char dir[] = "/tmp/test-image.XXXXXX";

static char *mfree_str(char *p) {
        free(p);
        return NULL;
}
static char root[300], outside[300];

static void test_format_from_header(void **state) {
        static uint8_t h[IMAGE_HEADER_SIZE];

        memset(h, 0, sizeof(h));
        assert_string_equal(image_format_from_header(h, sizeof(h)), "raw");
        assert_string_equal(image_format_from_header(h, 0), "raw");
        memcpy(h, "QFI\xfb\0\0\0\3", 8);
        assert_string_equal(image_format_from_header(h, sizeof(h)), "qcow2");
        assert_string_equal(image_format_from_header(h, 3), "raw");     /* too short to tell */
        memcpy(h, "KDMV", 4);
        assert_string_equal(image_format_from_header(h, sizeof(h)), "vmdk");
        memcpy(h, "# Disk DescriptorFile\n", 22);
        assert_string_equal(image_format_from_header(h, sizeof(h)), "vmdk");
        memset(h, 0, 64);
        memcpy(h, "<<< Oracle VM VirtualBox Disk Image >>>\n", 40);
        memcpy(h + 0x40, "\x7f\x10\xda\xbe", 4);
        assert_string_equal(image_format_from_header(h, sizeof(h)), "vdi");
        memset(h, 0, 0x50);
        memcpy(h, "vhdxfile", 8);
        assert_string_equal(image_format_from_header(h, sizeof(h)), "vhdx");
        memset(h, 0, 8);
        memcpy(h + 0x8000, "\1CD001\1", 7);
        assert_string_equal(image_format_from_header(h, sizeof(h)), "iso");
        assert_string_equal(image_format_from_header(h, 0x8004), "raw");
}

static void test_archive_probe(void **state) {
        static uint8_t h[ARCHIVE_PROBE_SIZE];

        memset(h, 0, sizeof(h));
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_NONE);
        memcpy(h, "\x1f\x8b\x08", 3);
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_GZIP);
        memcpy(h, "\xfd" "7zXZ\0", 6);
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_XZ);
        memcpy(h, "\x28\xb5\x2f\xfd", 4);
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_ZSTD);
        memcpy(h, "BZh9", 4);
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_BZIP2);
        memset(h, 0, 8);
        memcpy(h, "vm.ovf", 6);
        memcpy(h + 257, "ustar\0" "00", 8);
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_TAR);
        assert_int_equal(archive_probe(h, 260), ARCHIVE_NONE);
        memcpy(h, "QFI\xfb", 4);
        memset(h + 257, 0, 8);
        assert_int_equal(archive_probe(h, sizeof(h)), ARCHIVE_NONE);
        assert_string_equal(archive_kind_to_string(ARCHIVE_ZSTD), "zstd");
}

static void test_member_is_disk(void **state) {
        assert_true(archive_member_is_disk("disk1.vmdk"));
        assert_true(archive_member_is_disk("./images/root.img"));
        assert_true(archive_member_is_disk("disk"));
        assert_false(archive_member_is_disk("vm.ovf"));
        assert_false(archive_member_is_disk("VM.OVF"));
        assert_false(archive_member_is_disk("vm.mf"));
        assert_false(archive_member_is_disk("vm.cert"));
        assert_false(archive_member_is_disk("dir/"));
        assert_false(archive_member_is_disk(".hidden"));
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Unpacks n bytes at p (an xz or zstd stream) into a memfd; the result, and the data in *ret. */
static int unpack(const void *p, size_t n, uint8_t **ret, size_t *ret_size, char **message) {
        ArchiveOptions o = {};
        struct stat st;
        int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC), r;

        assert_true(in >= 0 && out >= 0);
        assert_int_equal(write(in, p, n), (ssize_t) n);
        assert_int_equal(lseek(in, 0, SEEK_SET), 0);
        r = archive_unpack(in, out, &o, message);
        assert_int_equal(fstat(out, &st), 0);
        *ret_size = (size_t) st.st_size;
        *ret = malloc(*ret_size + 1);
        assert_int_equal(pread(out, *ret, *ret_size, 0), (ssize_t) *ret_size);
        close(in);
        close(out);
        return r;
}

/* xz and zstd are decoded within DECOMPRESS_MEMORY_MAX (issue 10, D4, D12): a 1 GiB zstd window
 * (--long=30) is fine, an xz dictionary of 1 GiB is refused before anything is allocated;
 * concatenated frames are whole, truncated ones fail. */
static void test_decompress_bounds(void **state) {
        size_t n = 3 * 1024 * 1024, cap = n + 4096, k, got_size;
        _cleanup_free_ uint8_t *data = malloc(n), *z = malloc(2 * cap);
        _cleanup_free_ char *message = NULL;
        uint8_t *got = NULL;
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        ZSTD_inBuffer in;
        ZSTD_outBuffer out;
        size_t pos = 0;

        for (size_t i = 0; i < n; i++)
                data[i] = (uint8_t) ("aimd worker\n"[i % 12] + (i >> 20));
        /* Two zstd frames back to back, the second with a 1 GiB window and no content size. */
        k = ZSTD_compress(z, cap, data, n / 2, 3);
        assert_false(ZSTD_isError(k));
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 30)));
        assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1)));
        in = (ZSTD_inBuffer) { data + n / 2, n - n / 2, 0 };
        out = (ZSTD_outBuffer) { z + k, 2 * cap - k, 0 };
        assert_int_equal(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end), 0);
        ZSTD_freeCCtx(cctx);
        k += out.pos;
        assert_int_equal(unpack(z, k, &got, &got_size, &message), 0);
        assert_int_equal(got_size, n);
        assert_memory_equal(got, data, n);
        free(got);
        assert_int_equal(unpack(z, k - 7, &got, &got_size, &message), -EPROTO);
        assert_non_null(strstr(message, "truncated"));
        free(got);
        free(message);
        message = NULL;

        /* xz: fine with its dictionary, refused with one of 1 GiB (its properties byte patched). */
        assert_int_equal(lzma_easy_buffer_encode(0, LZMA_CHECK_CRC64, NULL, data, n, z, &pos, 2 * cap), LZMA_OK);
        assert_int_equal(unpack(z, pos, &got, &got_size, &message), 0);
        assert_int_equal(got_size, n);
        free(got);
        {
                /* The block header: size, flags, optional sizes (varints), then the filter. */
                size_t f = 14;

                for (int field = 0x40; field <= 0x80; field <<= 1)
                        if (z[13] & field)
                                while (z[f++] & 0x80)
                                        ;
                assert_int_equal(z[f], 0x21);           /* LZMA2, one byte of properties */
                assert_int_equal(z[f + 1], 1);
                z[f + 2] = 36;                          /* dictionary 2 << (36 / 2 + 11) = 1 GiB */
        }
        {
                uint32_t crc = lzma_crc32(z + 12, (z[12] + 1) * 4 - 4, 0);

                memcpy(z + 12 + (z[12] + 1) * 4 - 4, &crc, 4);
        }
        assert_int_equal(unpack(z, pos, &got, &got_size, &message), -ENOMEM);
        assert_non_null(strstr(message, "more than the bound of 1024 MiB"));
        free(got);
}

static void test_open_beneath(void **state) {
        _cleanup_free_ char *why = NULL;
        int fd = -1, rootfd;

        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(rootfd >= 0);
        fd = open_beneath(rootfd, "a.img", O_RDONLY, 0);
        assert_true(fd >= 0);
        close(fd);
        fd = open_beneath(rootfd, "sub/inner-link", O_RDONLY, 0);   /* a symlink that stays inside */
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(open_beneath(rootfd, "../outside/secret", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(rootfd, "/etc/passwd", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(rootfd, "abs-link", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(rootfd, "rel-link", O_RDONLY, 0), -EXDEV);
        assert_int_equal(open_beneath(rootfd, "sub/up/outside/secret", O_RDONLY, 0), -EXDEV);
        close(rootfd);

        assert_int_equal(image_open_source(root, "a.img", "source", &fd, NULL), 0);
        close(fd);
        assert_int_equal(image_open_source(root, "../outside/secret", "source", &fd, NULL), -EINVAL);
        assert_int_equal(image_open_source(root, "/etc/passwd", "source", &fd, NULL), -EINVAL);
        assert_int_equal(image_open_source(root, "abs-link", "source", &fd, &why), -EINVAL);
        assert_string_equal(why, "Invalid source 'abs-link': leads outside its directory");
        why = mfree_str(why);
        assert_int_equal(image_open_source(root, "sub", "source", &fd, &why), -EINVAL);
        assert_string_equal(why, "Invalid source 'sub': is a directory");
        why = mfree_str(why);
        assert_int_equal(image_open_source(root, "fifo", "source", &fd, NULL), -EINVAL);  /* and no hang */
        /* Sockets and devices are looked at through O_PATH, never opened (issue 10, D11, D12). */
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                char path[400];
                int sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                assert_true(strlen(root) + 6 < sizeof(sa.sun_path));
                memcpy(sa.sun_path, root, strlen(root));
                memcpy(sa.sun_path + strlen(root), "/sock", 6);
                assert_int_equal(bind(sk, (struct sockaddr *) &sa, sizeof(sa)), 0);
                assert_int_equal(image_open_source(root, "sock", "source", &fd, &why), -EINVAL);
                assert_string_equal(why, "Invalid source 'sock': is a socket");
                why = mfree_str(why);
                close(sk);
                snprintf(path, sizeof(path), "%s/null", root);
                if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) >= 0) {
                        assert_int_equal(image_open_source(root, "null", "source", &fd, &why), -EINVAL);
                        assert_string_equal(why, "Invalid source 'null': is a character device");
                        why = mfree_str(why);
                }
        }
        assert_int_equal(image_open_source(root, "missing", "source", &fd, NULL), -ENOENT);
        assert_int_equal(image_open_source(root, "", "source", &fd, NULL), -EINVAL);
}

static void test_open_target(void **state) {
        _cleanup_free_ char *why = NULL;
        char *name = NULL;
        int fd = -1;

        assert_int_equal(image_open_target(root, "sub/new.img", "name", &fd, &name, NULL), 0);
        assert_string_equal(name, "new.img");
        free(name);
        close(fd);
        assert_int_equal(image_open_target(root, "top.img", "name", &fd, &name, NULL), 0);
        free(name);
        close(fd);
        assert_int_equal(image_open_target(root, "nodir/x.img", "name", &fd, &name, NULL), -ENOENT);
        assert_int_equal(image_open_target(root, "sub/.hidden", "name", &fd, &name, NULL), -EINVAL);
        assert_int_equal(image_open_target(root, "sub/", "name", &fd, &name, NULL), -EINVAL);
        assert_int_equal(image_open_target(root, "../x.img", "name", &fd, &name, NULL), -EINVAL);
        assert_int_equal(image_open_target(root, "sub/up/outside/x.img", "name", &fd, &name, NULL), -EINVAL);
        assert_int_equal(image_open_target(root, "a.img/x.img", "name", &fd, &name, NULL), -EINVAL);
        /* An overwrite onto a directory is refused before any copy (issue 10, D12). */
        assert_int_equal(image_open_target(root, "sub", "name", &fd, &name, &why), -EINVAL);
        assert_string_equal(why, "Invalid name 'sub': is a directory, which is never replaced");
}

/* Copies root/a.img to root/sub/NAME through the whole ImageCopy path; the failure text in *message. */
static int copy_to(const char *name, bool overwrite, const char *checksum, char **message) {
        ImageCopy c;
        CopyMethod m;
        int r;

        image_copy_init(&c);
        assert_int_equal(image_open_source(root, "a.img", "source", &c.source_fd, NULL), 0);
        {
                char path[300];

                snprintf(path, sizeof(path), "sub/%s", name);
                assert_int_equal(image_open_target(root, path, "name", &c.dir_fd, &c.name, NULL), 0);
        }
        c.overwrite = overwrite;
        if (checksum)
                assert_int_equal(checksum_parse(checksum, &c.checksum), 0);
        free(*message);
        *message = NULL;
        r = image_copy_data(&c, &m, message);
        if (r >= 0)
                r = image_copy_publish(&c, message);
        image_copy_done(&c);
        return r;
}

static void test_copy_publish(void **state) {
        _cleanup_free_ char *message = NULL;
        char path[400], buf[64] = {};
        struct stat st;
        int fd, n = 0;

        assert_int_equal(copy_to("one.img", false, NULL, &message), 0);
        snprintf(path, sizeof(path), "%s/sub/one.img", root);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, sizeof(buf) - 1), 11);
        assert_string_equal(buf, "image bytes");
        close(fd);

        /* Never over an existing image unless asked. */
        write_file(path, "precious");
        assert_int_equal(copy_to("one.img", false, NULL, &message), -EEXIST);
        assert_non_null(strstr(message, "not replaced"));
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 8);
        assert_int_equal(copy_to("one.img", true, NULL, &message), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 11);

        /* A mismatch publishes nothing. */
        assert_int_equal(copy_to("two.img", false, "md5:00000000000000000000000000000000", &message), -EBADMSG);
        assert_non_null(strstr(message, "Checksum mismatch"));
        snprintf(path, sizeof(path), "%s/sub/two.img", root);
        assert_int_equal(stat(path, &st), -1);

        /* What a killed worker may leave where there is no O_TMPFILE is removed at start. */
        snprintf(path, sizeof(path), "%s/sub/" IMAGE_TEMP_PREFIX "0123456789abcdef", root);
        write_file(path, "partial");
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        n = openat(fd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(fd);
        assert_int_equal(image_remove_temporaries(n), 1);
        assert_int_equal(stat(path, &st), -1);
        close(n);
}

static int setup(void **state) {
        char path[400];

        if (!mkdtemp(dir))
                return -1;
        snprintf(root, sizeof(root), "%s/root", dir);
        snprintf(outside, sizeof(outside), "%s/outside", dir);
        if (mkdir(root, 0755) < 0 || mkdir(outside, 0755) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/secret", outside);
        write_file(path, "secret");
        snprintf(path, sizeof(path), "%s/a.img", root);
        write_file(path, "image bytes");
        snprintf(path, sizeof(path), "%s/sub", root);
        mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/abs-link", root);
        if (symlink("/etc/passwd", path) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/rel-link", root);
        if (symlink("../outside/secret", path) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/sub/up", root);
        if (symlink("../..", path) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/sub/inner-link", root);
        if (symlink("../a.img", path) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/fifo", root);
        return mkfifo(path, 0644);
}

static int teardown(void **state) {
        return test_remove_tree(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_from_header),
                cmocka_unit_test(test_archive_probe),
                cmocka_unit_test(test_member_is_disk),
                cmocka_unit_test(test_decompress_bounds),
                cmocka_unit_test(test_open_beneath),
                cmocka_unit_test(test_open_target),
                cmocka_unit_test(test_copy_publish),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
