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
#include "images/decompress.h"
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
        uint8_t *buffer;                /* what was read of fd */
        const ArchiveOptions *o;
        archive_read_t stream;          /* instead of fd: a stream that hashes and reports itself */
        void *userdata;
        const uint8_t *data;            /* the last block read: in buffer, or the stream's own */
        int error;                      /* ours, when a read, the decoder or the progress callback failed */
        char *message;                  /* and what it said */

        Decompressor *decompressor;     /* xz, zstd: decoded here, libarchive sees the plain stream */
        uint8_t *decoded;
        size_t in_size, in_pos;
        bool in_end, decoded_end;
} Source;

static void source_done(Source *s) {
        free(s->buffer);
        free(s->decoded);
        free(s->message);
        decompressor_free(s->decompressor);
}

static la_ssize_t source_failed(Source *s, struct archive *a, int r, const char *message) {
        s->error = r;
        if (a)
                archive_set_error(a, -r, "%s", message ?: strerror(-r));
        return -1;
}

/* Reads the next block of fd, hashing it and reporting how far the source is read. */
static la_ssize_t source_fill(struct archive *a, Source *s) {
        const void *p;
        ssize_t k;
        int r;

        if (s->stream) {
                k = s->stream(s->userdata, &p);
                if (k < 0)
                        return source_failed(s, a, (int) k, "Failed to read the source");
                s->data = p;
                return k;
        }
        s->data = s->buffer;
        do
                k = read(s->fd, s->buffer, READ_BLOCK);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return source_failed(s, a, negative_errno(), "Failed to read the source");
        if (s->o->hasher && hasher_update(s->o->hasher, s->buffer, (size_t) k) < 0)
                return source_failed(s, a, -EIO, "Failed to hash the source");
        s->read += (uint64_t) k;
        if (s->o->progress) {
                r = s->o->progress(MIN(s->read, s->size), s->size, COPY_METHOD_ARCHIVE, s->o->userdata);
                if (r < 0)
                        return source_failed(s, a, r, "Cancelled");
        }
        return k;
}

static la_ssize_t source_read(struct archive *a, void *userdata, const void **ret) {
        Source *s = userdata;
        la_ssize_t k;

        if (!s->decompressor) {
                k = source_fill(a, s);
                *ret = s->data;
                return k;
        }
        while (!s->decoded_end) {
                _cleanup_free_ char *message = NULL;
                size_t n = 0;
                int r;

                if (s->in_pos == s->in_size && !s->in_end) {
                        k = source_fill(a, s);
                        if (k < 0)
                                return k;
                        s->in_size = (size_t) k;
                        s->in_pos = 0;
                        s->in_end = k == 0;
                }
                r = decompressor_step(s->decompressor, s->data, s->in_size, &s->in_pos, s->in_end,
                                      s->decoded, READ_BLOCK, &n, &s->decoded_end, &message);
                if (r < 0) {
                        free(s->message);
                        s->message = TAKE_PTR(message);
                        return source_failed(s, a, r, s->message);
                }
                if (n > 0) {
                        *ret = s->decoded;
                        return (la_ssize_t) n;
                }
        }
        return 0;
}

/* The hasher covers the whole source: what libarchive did not need is read here. */
static int source_drain(Source *s) {
        if (!s->o->hasher && !s->stream)
                return 0;
        for (;;) {
                la_ssize_t k = source_fill(NULL, s);

                if (k < 0)
                        return s->error;
                if (k == 0)
                        return 0;
        }
}

/* What failed, for a failure of libarchive's: ours if the source failed, else its. */
static int source_error(Source *s, struct archive *a, int r, const char *what, char **reterr_message) {
        if (s->error < 0)
                return message_set(reterr_message, s->error, "%s", s->message ?: archive_error_string(a) ?:
                                   strerror(-s->error));
        return message_set(reterr_message, r, "Corrupt archive: %s", archive_error_string(a) ?: what);
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
                return source_error(s, a, s->error, NULL, reterr_message);
        if (k == ARCHIVE_EOF) {
                if (member)
                        return message_set(reterr_message, -ENOENT, "The archive has no member '%s'", member);
                return message_set(reterr_message, -ENOENT, "The archive contains no disk image");
        }
        return source_error(s, a, -EPROTO, "unreadable header", reterr_message);
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
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN)
                        return source_error(s, a, -EPROTO, "unreadable data", reterr_message);
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

/* libarchive's filter for kind, if it is one of those left to libarchive; the others
 * (decompress.h) are decoded before libarchive sees the stream. Nothing else is reachable. */
static int add_filter(struct archive *a, ArchiveKind kind) {
        if (kind == ARCHIVE_GZIP)
                return archive_read_support_filter_gzip(a) == ARCHIVE_OK ? 0 : -EOPNOTSUPP;
        if (kind == ARCHIVE_BZIP2)
                return archive_read_support_filter_bzip2(a) == ARCHIVE_OK ? 0 : -EOPNOTSUPP;
        return 0;
}

/* Sets s up to read fd for an archive of kind. */
static int source_init(Source *s, int fd, ArchiveKind kind, const ArchiveOptions *o) {
        struct stat st;
        int r;

        *s = (Source) { .fd = fd, .o = o };
        if (fd >= 0 && fstat(fd, &st) < 0)
                return negative_errno();
        s->size = fd >= 0 ? (uint64_t) st.st_size : 0;
        s->buffer = malloc(READ_BLOCK);
        if (!s->buffer)
                return -ENOMEM;
        r = decompressor_new(kind, &s->decompressor);
        if (r == -EOPNOTSUPP)
                return 0;
        if (r < 0)
                return r;
        s->decoded = malloc(READ_BLOCK);
        return s->decoded ? 0 : -ENOMEM;
}

/* Opens a for s: the filter of kind (if libarchive's) and the format (tar, or raw: one member). */
static int archive_open(struct archive *a, Source *s, ArchiveKind kind, bool tar) {
        if (add_filter(a, kind) < 0 ||
            (tar ? archive_read_support_format_tar(a) : archive_read_support_format_raw(a)) != ARCHIVE_OK)
                return -EOPNOTSUPP;
        return archive_read_open(a, s, NULL, source_read, NULL) == ARCHIVE_OK ? 0 : -EPROTO;
}

/* Is the decompressed stream a tar? Asked of its first block, through a second open file (its own
 * offset, and no hashing). Not left to libarchive's bidding: to its tar reader, a stream starting
 * with a zero block (a blank disk) is an empty archive. */
static int stream_is_tar(int fdin, ArchiveKind kind, bool *ret, char **reterr_message) {
        static const ArchiveOptions none = {};
        _cleanup_close_ int fd = -EBADF;
        struct archive *a;
        struct archive_entry *e;
        uint8_t header[ARCHIVE_PROBE_SIZE];
        char path[64];
        Source s = {};
        la_ssize_t k = 0;
        int r;

        snprintf(path, sizeof(path), "/proc/self/fd/%i", fdin);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return message_set(reterr_message, negative_errno(), "Failed to examine the archive: %m");
        a = archive_read_new();
        r = a ? source_init(&s, fd, kind, &none) : -ENOMEM;
        if (r >= 0)
                r = archive_open(a, &s, kind, false);
        if (r >= 0 && archive_read_next_header(a, &e) != ARCHIVE_OK)
                r = -EPROTO;
        if (r >= 0) {
                size_t got = 0;

                /* A short first read is not the end: keep reading until the block is whole. */
                while (got < sizeof(header) && (k = archive_read_data(a, header + got, sizeof(header) - got)) > 0)
                        got += (size_t) k;
                if (k < 0)
                        r = -EPROTO;
                else
                        *ret = archive_probe(header, got) == ARCHIVE_TAR;
        }
        if (r == -EPROTO)
                (void) source_error(&s, a, r, "cannot decompress its start", reterr_message);
        else if (r < 0)
                (void) message_set(reterr_message, r, "Failed to examine the archive: %s", strerror(-r));
        r = r < 0 && s.error < 0 ? s.error : r;
        source_done(&s);
        archive_read_free(a);
        return r;
}

/* The end both readers share: find the image in the opened reader, write it out, and read what is
 * left of the source (for its checksum). */
static int unpack_found(struct archive *a, Source *s, int fdout, char **reterr_message) {
        struct archive_entry *e = NULL;
        int r;

        r = find_member(a, s, &e, reterr_message);
        if (r >= 0)
                r = unpack_entry(a, s, e, fdout, reterr_message);
        if (r >= 0) {
                r = source_drain(s);
                if (r < 0)
                        message_set(reterr_message, r, "Failed to read the source: %s", strerror(-r));
        }
        return r;
}

int archive_unpack(int fdin, int fdout, const ArchiveOptions *o, char **reterr_message) {
        uint8_t header[ARCHIVE_PROBE_SIZE];
        struct archive *a = NULL;
        ArchiveKind kind;
        Source s = {};
        bool tar = false;
        ssize_t n;
        int r;

        assert_return(fdin >= 0 && fdout >= 0 && o, -EINVAL);
        n = pread(fdin, header, sizeof(header), 0);
        if (n < 0)
                return message_set(reterr_message, negative_errno(), "Failed to read the source: %m");
        kind = archive_probe(header, (size_t) n);
        r = stream_is_tar(fdin, kind, &tar, reterr_message);
        if (r < 0)
                return r;
        a = archive_read_new();
        r = a ? source_init(&s, fdin, kind, o) : -ENOMEM;
        if (r < 0) {
                message_set(reterr_message, r, "Failed to set up unpacking: %s", strerror(-r));
                goto finish;
        }
        r = archive_open(a, &s, kind, tar);
        if (r == -EOPNOTSUPP) {
                message_set(reterr_message, r, "libarchive lacks a filter: %s", archive_error_string(a) ?: "");
                goto finish;
        }
        if (r < 0) {
                r = source_error(&s, a, r, "unreadable start", reterr_message);
                goto finish;
        }
        r = unpack_found(a, &s, fdout, reterr_message);
finish:
        archive_read_free(a);
        source_done(&s);
        return r;
}

/* ---- a stream, read once front to back (a download) ---- */

/* The decompressed stream as the source of the reader that finds the image in it: the block that
 * told tar from raw first, then the rest as it is decompressed. */
typedef struct Inner {
        struct archive *outer;          /* the decompression, with the raw format: the plain bytes */
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

int archive_unpack_stream(ArchiveKind kind, archive_read_t read, void *userdata, int fdout, const ArchiveOptions *o,
                          char **reterr_message) {
        Inner in = {};
        struct archive *a = NULL;
        struct archive_entry *e = NULL;
        Source s = {};
        la_ssize_t k = 0;
        int r;

        assert_return(read && fdout >= 0 && o, -EINVAL);

        in.outer = archive_read_new();
        a = archive_read_new();
        in.buffer = malloc(READ_BLOCK);
        r = in.outer && a && in.buffer ? source_init(&s, -EBADF, kind, o) : -ENOMEM;
        if (r < 0) {
                message_set(reterr_message, r, "Failed to set up unpacking: %s", strerror(-r));
                goto finish;
        }
        s.stream = read;
        s.userdata = userdata;
        in.source = &s;
        r = archive_open(in.outer, &s, kind, false);
        if (r == -EOPNOTSUPP) {
                message_set(reterr_message, r, "libarchive lacks a filter: %s", archive_error_string(in.outer) ?: "");
                goto finish;
        }
        if (r >= 0 && archive_read_next_header(in.outer, &e) != ARCHIVE_OK)
                r = -EPROTO;
        /* The first block of the decompressed stream tells a tar from a bare image. */
        while (r >= 0 && in.header_size < sizeof(in.header) &&
               (k = archive_read_data(in.outer, in.header + in.header_size, sizeof(in.header) - in.header_size)) > 0)
                in.header_size += (size_t) k;
        if (r >= 0 && k < 0)
                r = -EPROTO;
        if (r < 0) {
                r = source_error(&s, in.outer, r, "cannot decompress its start", reterr_message);
                goto finish;
        }
        if ((archive_probe(in.header, in.header_size) == ARCHIVE_TAR ? archive_read_support_format_tar(a)
                                                                      : archive_read_support_format_raw(a)) != ARCHIVE_OK ||
            archive_read_open(a, &in, NULL, inner_read, NULL) != ARCHIVE_OK) {
                r = source_error(&s, a, -EPROTO, "unreadable start", reterr_message);
                goto finish;
        }
        r = unpack_found(a, &s, fdout, reterr_message);
finish:
        archive_read_free(a);
        archive_read_free(in.outer);
        free(in.buffer);
        source_done(&s);
        return r;
}
