/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull-image.c — a download written as an image in one pass: hashed as it arrives, unpacked
 * through the archive path of Import, hashed again as written, sparse; never stored compressed
 *
 * Every byte is hashed from the Pull's own buffer and the same buffer is what libarchive or the
 * writer is given: the bytes verified are the bytes written. When the server sends the body again
 * from its start (PULL_RESTARTED), the file is emptied, the digests and the unpacker begin anew. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "images/archive.h"
#include "images/pull.h"
#include "shared/errors.h"
#include "util/message.h"

typedef struct Sink {
        Pull *pull;
        Hasher *download;               /* of the bytes as they arrive: download_checksum */
        Hasher *image;                  /* of the image as written: checksum */
        uint8_t header[ARCHIVE_PROBE_SIZE];
        size_t header_size;
        const uint8_t *rest;            /* what the read that completed the header brought beyond it */
        size_t rest_size;
        bool header_given;
        char *message;                  /* the Pull's sentence for its failure */
} Sink;

static void sink_done(Sink *s) {
        hasher_free(s->download);
        hasher_free(s->image);
        free(s->message);
}

/* The next bytes of the download, hashed; PULL_RESTARTED and failures as pull_read() gives them. */
static ssize_t sink_pull(Sink *s, const void **ret) {
        ssize_t k;

        free(s->message);
        s->message = NULL;
        k = pull_read(s->pull, ret, &s->message);
        if (k > 0 && s->download && hasher_update(s->download, *ret, (size_t) k) < 0)
                return -EIO;
        return k;
}

/* Reads until the header is whole (or the body ended). */
static int sink_read_header(Sink *s) {
        while (s->header_size < sizeof(s->header)) {
                const void *p;
                ssize_t k = sink_pull(s, &p);
                size_t n;

                if (k <= 0)
                        return (int) k;
                n = MIN((size_t) k, sizeof(s->header) - s->header_size);
                memcpy(s->header + s->header_size, p, n);
                s->header_size += n;
                s->rest = (const uint8_t *) p + n;
                s->rest_size = (size_t) k - n;
        }
        return 0;
}

/* The body in order: the header, the rest of its read, then the Pull's next reads. */
static ssize_t sink_read(void *userdata, const void **ret) {
        Sink *s = userdata;

        if (!s->header_given) {
                s->header_given = true;
                if (s->header_size > 0) {
                        *ret = s->header;
                        return (ssize_t) s->header_size;
                }
        }
        if (s->rest_size > 0) {
                size_t n = s->rest_size;

                s->rest_size = 0;
                *ret = s->rest;
                return (ssize_t) n;
        }
        return sink_pull(s, ret);
}

/* An image that is not compressed: written (and hashed) as it comes. */
static int write_raw(Sink *s, int fd, uint64_t max_size, char **reterr_message) {
        uint64_t offset = 0;

        for (;;) {
                const void *p;
                ssize_t k = sink_read(s, &p);
                int r;

                if (k == 0)
                        break;
                if (k < 0)
                        return (int) k;
                if (max_size > 0 && offset + (uint64_t) k > max_size)
                        return message_set(reterr_message, -EFBIG, "The image is larger than max_size (%" PRIu64 " bytes)",
                                           max_size);
                if (s->image && hasher_update(s->image, p, (size_t) k) < 0)
                        return -EIO;
                r = write_sparse(fd, p, (size_t) k, offset);
                if (r < 0)
                        return message_set(reterr_message, r, "Failed to write the image: %s", strerror(-r));
                offset += (uint64_t) k;
        }
        if (ftruncate(fd, (off_t) offset) < 0)
                return message_set(reterr_message, negative_errno(), "Failed to size the image: %m");
        return 0;
}

static int sink_begin(Sink *s, const Checksum *download, const Checksum *image) {
        int r;

        s->download = hasher_free(s->download);
        s->image = hasher_free(s->image);
        s->header_size = s->rest_size = 0;
        s->header_given = false;
        if (download->algorithm[0]) {
                r = hasher_new(download->algorithm, &s->download);
                if (r < 0)
                        return r;
        }
        if (image->algorithm[0])
                return hasher_new(image->algorithm, &s->image);
        return 0;
}

static int verify(Hasher *h, const Checksum *want, const char *what, Checksum *ret, char **reterr_message) {
        char a[2 * CHECKSUM_MAX_SIZE + 16], b[2 * CHECKSUM_MAX_SIZE + 16];
        Checksum got;
        int r;

        if (!h)
                return 0;
        r = hasher_final(h, &got);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to finish the %s digest", want->algorithm);
        if (got.size == want->size && memcmp(got.digest, want->digest, got.size) == 0) {
                *ret = got;
                return 0;
        }
        checksum_format(want, a, sizeof(a));
        checksum_format(&got, b, sizeof(b));
        return message_set(reterr_message, -AIM_ECHECKSUM, "%s mismatch: expected %s, got %s", what, a, b);
}

/* What an image may take at most: the free space of its file system, unless the caller said. */
static uint64_t image_bound(int dirfd, uint64_t max_size) {
        struct statvfs sv;

        if (max_size > 0 || fstatvfs(dirfd, &sv) < 0)
                return max_size;
        return (uint64_t) sv.f_bavail * sv.f_frsize;
}

/* One attempt from the body's first byte; PULL_RESTARTED when the server started it over. */
static int pull_attempt(ImageCopy *c, Sink *s, uint64_t max_size, char **reterr_message) {
        ArchiveKind kind = ARCHIVE_NONE;
        int r;

        r = sink_read_header(s);
        if (r < 0)
                return r;
        if (c->decompress)
                kind = archive_probe(s->header, s->header_size);
        if (kind == ARCHIVE_NONE) {
                if (max_size > 0 && pull_size(s->pull) > max_size)
                        return message_set(reterr_message, -EFBIG, "The image is %" PRIu64 " bytes, more than max_size (%"
                                           PRIu64 " bytes)", pull_size(s->pull), max_size);
                return write_raw(s, c->tmp_fd, max_size, reterr_message);
        }
        return archive_unpack_stream(kind, sink_read, s, c->tmp_fd,
                                     &(ArchiveOptions) { .member = c->member, .max_size = max_size, .image_hasher = s->image },
                                     reterr_message);
}

int pull_image_data(ImageCopy *c, Pull *p, const Checksum *download_checksum, uint64_t max_size,
                    char **reterr_message) {
        _cleanup_(sink_done) Sink s = { .pull = p };
        _cleanup_free_ char *message = NULL;
        Checksum ignored;
        int r;

        assert_return(c, -EINVAL);
        assert_return(p, -EINVAL);
        assert_return(download_checksum, -EINVAL);

        r = image_copy_make_temporary(c);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to create the new file: %s", strerror(-r));
        max_size = image_bound(c->dir_fd, max_size);
        for (;;) {
                r = sink_begin(&s, download_checksum, &c->checksum);
                if (r < 0)
                        return message_set(reterr_message, r, "Failed to set up the digests: %s", strerror(-r));
                free(message);
                message = NULL;
                r = pull_attempt(c, &s, max_size, &message);
                if (r != PULL_RESTARTED)
                        break;
                /* Nothing is published yet: start over, as if this were the first byte. */
                if (ftruncate(c->tmp_fd, 0) < 0)
                        return message_set(reterr_message, negative_errno(), "Failed to empty the new file: %m");
        }
        if (r < 0) {
                /* The Pull's own sentence, when it is what failed (through libarchive's callback too). */
                if (reterr_message)
                        *reterr_message = s.message ? TAKE_PTR(s.message) : TAKE_PTR(message);
                return r;
        }
        r = verify(s.download, download_checksum, "Download checksum", &ignored, reterr_message);
        if (r < 0)
                return r;
        return verify(s.image, &c->checksum, "Checksum", &c->digest, reterr_message);
}
