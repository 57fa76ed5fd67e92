/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* archive.c — unpacking compressed streams and tar/OVA archives with libarchive */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/archive.h"
#include "util/message.h"
#include "util/string-table.h"

#define READ_BLOCK (1U * 1024 * 1024)

static const char * const archive_kind_table[_ARCHIVE_KIND_MAX] = {
        [ARCHIVE_NONE] = "none",
        [ARCHIVE_GZIP] = "gzip",
        [ARCHIVE_XZ] = "xz",
        [ARCHIVE_ZSTD] = "zstd",
        [ARCHIVE_BZIP2] = "bzip2",
        [ARCHIVE_TAR] = "tar",
};

DEFINE_STRING_TABLE_LOOKUP(archive_kind, ArchiveKind);

ArchiveKind archive_probe(const uint8_t *h, size_t n) {
        static const struct { ArchiveKind kind; const char *magic; size_t size; } magics[] = {
                { ARCHIVE_GZIP, "\x1f\x8b", 2 },
                { ARCHIVE_XZ, "\xfd" "7zXZ\0", 6 },
                { ARCHIVE_ZSTD, "\x28\xb5\x2f\xfd", 4 },
                { ARCHIVE_BZIP2, "BZh", 3 },
        };

        for (size_t i = 0; i < ELEMENTSOF(magics); i++)
                if (n >= magics[i].size && memcmp(h, magics[i].magic, magics[i].size) == 0)
                        return magics[i].kind;
        /* POSIX ustar ("ustar\0") and GNU tar ("ustar "), which is what OVA files are. */
        if (n >= 262 && memcmp(h + 257, "ustar", 5) == 0)
                return ARCHIVE_TAR;
        return ARCHIVE_NONE;
}

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

bool archive_member_is_disk(const char *name) {
        /* OVF packages carry their descriptor, manifest and certificate beside the disks. */
        static const char * const metadata[] = { ".ovf", ".mf", ".cert", ".xml", ".txt", ".json", ".nvram" };
        const char *base = strrchr(name, '/');

        base = base ? base + 1 : name;
        if (base[0] == '\0' || base[0] == '.')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(metadata); i++)
                if (endswith(base, metadata[i]))
                        return false;
        return true;
}

typedef struct Source {
        int fd;
        uint64_t size, read;
        uint8_t *buffer;
        const ArchiveOptions *o;
        archive_read_t stream;          /* instead of fd: a stream that hashes and reports itself */
        void *userdata;
        int error;                      /* ours, when a read or the progress callback failed */
} Source;

static la_ssize_t source_read(struct archive *a, void *userdata, const void **ret) {
        Source *s = userdata;
        ssize_t k;
        int r;

        if (s->stream) {
                k = s->stream(s->userdata, ret);
                if (k < 0) {
                        s->error = (int) k;
                        if (a)
                                archive_set_error(a, (int) -k, "Failed to read the source");
                        return -1;
                }
                return k;
        }
        do
                k = read(s->fd, s->buffer, READ_BLOCK);
        while (k < 0 && errno == EINTR);
        if (k < 0) {
                s->error = negative_errno();
                if (a)
                        archive_set_error(a, -s->error, "Failed to read the source");
                return -1;
        }
        if (s->o->hasher && hasher_update(s->o->hasher, s->buffer, (size_t) k) < 0) {
                s->error = -EIO;
                return -1;
        }
        s->read += (uint64_t) k;
        if (s->o->progress) {
                r = s->o->progress(MIN(s->read, s->size), s->size, COPY_METHOD_ARCHIVE, s->o->userdata);
                if (r < 0) {
                        s->error = r;
                        if (a)
                                archive_set_error(a, -r, "Cancelled");
                        return -1;
                }
        }
        *ret = s->buffer;
        return k;
}

/* The hasher covers the whole source: what libarchive did not need is read here. */
static int source_drain(Source *s) {
        const void *p;

        if (!s->o->hasher && !s->stream)
                return 0;
        for (;;) {
                la_ssize_t k = source_read(NULL, s, &p);

                if (k < 0)
                        return s->error;
                if (k == 0)
                        return 0;
        }
}

static const char *entry_name(struct archive_entry *e) {
        const char *name = archive_entry_pathname(e) ?: "";

        while (name[0] == '.' && name[1] == '/')
                name += 2;
        return name;
}

/* Moves to the entry to unpack: the member asked for, or the first disk image. */
static int find_member(struct archive *a, Source *s, struct archive_entry **ret, char **reterr_message) {
        const char *member = s->o->member;
        struct archive_entry *e;
        int k;

        while ((k = archive_read_next_header(a, &e)) == ARCHIVE_OK || k == ARCHIVE_WARN) {
                const char *name = entry_name(e);

                if (archive_entry_filetype(e) != AE_IFREG)
                        continue;
                /* libarchive's "raw" format: a bare compressed stream has one nameless member. */
                if (archive_format(a) == ARCHIVE_FORMAT_RAW ||
                    (member ? streq(name, member) : archive_member_is_disk(name))) {
                        *ret = e;
                        return 0;
                }
        }
        if (s->error < 0)
                return message_set(reterr_message, s->error, "%s", archive_error_string(a) ?: strerror(-s->error));
        if (k == ARCHIVE_EOF) {
                if (member)
                        return message_set(reterr_message, -ENOENT, "The archive has no member '%s'", member);
                return message_set(reterr_message, -ENOENT, "The archive contains no disk image");
        }
        return message_set(reterr_message, -EPROTO, "Corrupt archive: %s", archive_error_string(a) ?: "unreadable header");
}

/* The image's digest over its blocks as they come (in order; the holes between them as zeros). */
static int hash_block(Hasher *h, uint64_t *hashed, const void *p, size_t size, uint64_t offset) {
        if (offset < *hashed)
                return -EPROTO;
        if (hasher_update_zeros(h, offset - *hashed) < 0 || hasher_update(h, p, size) < 0)
                return -EIO;
        *hashed = offset + size;
        return 0;
}

static int unpack_entry(struct archive *a, Source *s, struct archive_entry *e, int fdout,
                        char **reterr_message) {
        uint64_t end = 0, hashed = 0, max = s->o->max_size;
        Hasher *h = s->o->image_hasher;
        int k, r;

        if (archive_entry_size_is_set(e) && max > 0 && (uint64_t) archive_entry_size(e) > max)
                return message_set(reterr_message, -EFBIG, "The unpacked image (%" PRIi64 " bytes) exceeds the bound of %" PRIu64 " bytes",
                            (int64_t) archive_entry_size(e), max);
        for (;;) {
                const void *p;
                size_t size;
                la_int64_t offset;

                k = archive_read_data_block(a, &p, &size, &offset);
                if (k == ARCHIVE_EOF)
                        break;
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        if (s->error < 0)
                                return message_set(reterr_message, s->error, "%s", strerror(-s->error));
                        return message_set(reterr_message, -EPROTO, "Corrupt archive: %s",
                                    archive_error_string(a) ?: "unreadable data");
                }
                if (offset < 0 || (max > 0 && ((uint64_t) offset > max || size > max - (uint64_t) offset)))
                        return message_set(reterr_message, -EFBIG, "The unpacked image exceeds the bound of %" PRIu64 " bytes "
                                    "(a decompression bomb?)", max);
                r = write_sparse(fdout, p, size, (uint64_t) offset);
                if (r < 0)
                        return message_set(reterr_message, r, "Failed to write the image: %s", strerror(-r));
                r = h ? hash_block(h, &hashed, p, size, (uint64_t) offset) : 0;
                if (r < 0)
                        return message_set(reterr_message, r, "%s", r == -EPROTO ? "Corrupt archive: its blocks are out of order"
                                                                                 : "Failed to hash the image");
                end = MAX(end, (uint64_t) offset + size);
        }
        if (archive_entry_size_is_set(e))
                end = MAX(end, (uint64_t) archive_entry_size(e));
        if (h && hasher_update_zeros(h, end - hashed) < 0)
                return message_set(reterr_message, -EIO, "Failed to hash the image");
        if (ftruncate(fdout, (off_t) end) < 0)
                return message_set(reterr_message, negative_errno(), "Failed to size the image: %m");
        return 0;
}

static int add_filters(struct archive *a) {
        /* Only what decompress=auto promises: no other filter of libarchive's is reachable. */
        if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_xz(a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_filter_bzip2(a) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        return 0;
}

/* Is the decompressed stream a tar? Asked of its first block, through a second open file (its own
 * offset, and no hashing). Not left to libarchive's bidding: to its tar reader, a stream starting
 * with a zero block (a blank disk) is an empty archive. */
static int stream_is_tar(int fdin, bool *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct archive *a;
        struct archive_entry *e;
        uint8_t header[ARCHIVE_PROBE_SIZE];
        char path[64];
        la_ssize_t k = 0;
        int r = 0;

        snprintf(path, sizeof(path), "/proc/self/fd/%i", fdin);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        a = archive_read_new();
        if (!a)
                return -ENOMEM;
        if (add_filters(a) < 0 || archive_read_support_format_raw(a) != ARCHIVE_OK)
                r = -EOPNOTSUPP;
        else if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
                r = -EPROTO;
        else {
                size_t got = 0;

                /* A short first read is not the end: keep reading until the block is whole. */
                while (got < sizeof(header) && (k = archive_read_data(a, header + got, sizeof(header) - got)) > 0)
                        got += (size_t) k;
                if (k < 0)
                        r = -EPROTO;
                else
                        *ret = archive_probe(header, got) == ARCHIVE_TAR;
        }
        archive_read_free(a);
        return r;
}

int archive_unpack(int fdin, int fdout, const ArchiveOptions *o, char **reterr_message) {
        struct archive *a = NULL;
        struct archive_entry *e = NULL;
        struct stat st;
        Source s = { .fd = fdin, .o = o };
        bool tar = false;
        int r;

        if (fstat(fdin, &st) < 0)
                return message_set(reterr_message, negative_errno(), "Failed to stat the source: %m");
        s.size = (uint64_t) st.st_size;
        s.buffer = malloc(READ_BLOCK);
        a = archive_read_new();
        if (!s.buffer || !a) {
                r = message_set(reterr_message, -ENOMEM, "Out of memory");
                goto finish;
        }
        r = stream_is_tar(fdin, &tar);
        if (r == -EPROTO) {
                message_set(reterr_message, r, "Corrupt archive: cannot decompress its start");
                goto finish;
        }
        if (r < 0) {
                message_set(reterr_message, r, "Failed to examine the archive: %s", strerror(-r));
                goto finish;
        }
        if (add_filters(a) < 0 ||
            (tar ? archive_read_support_format_tar(a) : archive_read_support_format_raw(a)) != ARCHIVE_OK) {
                r = message_set(reterr_message, -EOPNOTSUPP, "libarchive lacks a filter: %s", archive_error_string(a) ?: "");
                goto finish;
        }
        if (archive_read_open(a, &s, NULL, source_read, NULL) != ARCHIVE_OK) {
                r = s.error < 0 ? message_set(reterr_message, s.error, "%s", strerror(-s.error))
                                : message_set(reterr_message, -EPROTO, "Corrupt archive: %s", archive_error_string(a) ?: "");
                goto finish;
        }
        r = find_member(a, &s, &e, reterr_message);
        if (r >= 0)
                r = unpack_entry(a, &s, e, fdout, reterr_message);
        if (r >= 0) {
                r = source_drain(&s);
                if (r < 0)
                        message_set(reterr_message, r, "Failed to read the source: %s", strerror(-r));
        }
finish:
        archive_read_free(a);
        free(s.buffer);
        return r;
}

/* ---- a stream, read once front to back (a download) ---- */

/* The decompressed stream as the source of the reader that finds the image in it: the block that
 * told tar from raw first, then the rest as it is decompressed. */
typedef struct Inner {
        struct archive *outer;          /* the filters, with the raw format: the bytes decompressed */
        Source *source;
        uint8_t *buffer;
        uint8_t header[ARCHIVE_PROBE_SIZE];
        size_t header_size;
        bool header_given;
} Inner;

static la_ssize_t inner_read(struct archive *a, void *userdata, const void **ret) {
        Inner *in = userdata;
        la_ssize_t k;

        if (!in->header_given) {
                in->header_given = true;
                if (in->header_size > 0) {
                        *ret = in->header;
                        return (la_ssize_t) in->header_size;
                }
        }
        k = archive_read_data(in->outer, in->buffer, READ_BLOCK);
        if (k < 0) {
                archive_set_error(a, in->source->error < 0 ? -in->source->error : EPROTO, "%s",
                                  archive_error_string(in->outer) ?: "unreadable data");
                return -1;
        }
        *ret = in->buffer;
        return k;
}

static int stream_error(Source *s, struct archive *a, char **reterr_message) {
        if (s->error < 0)
                return message_set(reterr_message, s->error, "%s", strerror(-s->error));
        return message_set(reterr_message, -EPROTO, "Corrupt archive: %s", archive_error_string(a) ?: "unreadable start");
}

int archive_unpack_stream(archive_read_t read, void *userdata, int fdout, const ArchiveOptions *o,
                          char **reterr_message) {
        Source s = { .fd = -EBADF, .o = o, .stream = read, .userdata = userdata };
        Inner in = { .source = &s };
        struct archive *a = NULL;
        struct archive_entry *e = NULL;
        la_ssize_t k = 0;
        int r;

        assert_return(read, -EINVAL);
        assert_return(o, -EINVAL);

        in.outer = archive_read_new();
        a = archive_read_new();
        in.buffer = malloc(READ_BLOCK);
        if (!in.outer || !a || !in.buffer) {
                r = message_set(reterr_message, -ENOMEM, "Out of memory");
                goto finish;
        }
        if (add_filters(in.outer) < 0 || archive_read_support_format_raw(in.outer) != ARCHIVE_OK) {
                r = message_set(reterr_message, -EOPNOTSUPP, "libarchive lacks a filter: %s",
                                archive_error_string(in.outer) ?: "");
                goto finish;
        }
        if (archive_read_open(in.outer, &s, NULL, source_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header(in.outer, &e) != ARCHIVE_OK) {
                r = stream_error(&s, in.outer, reterr_message);
                goto finish;
        }
        /* The first block of the decompressed stream tells a tar from a bare image. */
        while (in.header_size < sizeof(in.header) &&
               (k = archive_read_data(in.outer, in.header + in.header_size, sizeof(in.header) - in.header_size)) > 0)
                in.header_size += (size_t) k;
        if (k < 0) {
                r = stream_error(&s, in.outer, reterr_message);
                goto finish;
        }
        if ((archive_probe(in.header, in.header_size) == ARCHIVE_TAR ? archive_read_support_format_tar(a)
                                                                      : archive_read_support_format_raw(a)) != ARCHIVE_OK ||
            archive_read_open(a, &in, NULL, inner_read, NULL) != ARCHIVE_OK) {
                r = stream_error(&s, a, reterr_message);
                goto finish;
        }
        r = find_member(a, &s, &e, reterr_message);
        if (r >= 0)
                r = unpack_entry(a, &s, e, fdout, reterr_message);
        if (r >= 0) {
                r = source_drain(&s);
                if (r < 0)
                        message_set(reterr_message, r, "Failed to read the source: %s", strerror(-r));
        }
finish:
        archive_read_free(a);
        archive_read_free(in.outer);
        free(in.buffer);
        return r;
}
