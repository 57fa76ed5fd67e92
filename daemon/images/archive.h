/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* archive.h — unpacking compressed streams and tar/OVA archives with libarchive */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/copy.h"
#include "util/string-table.h"

/* What the first bytes of a file say, for decompress=auto. */
typedef enum ArchiveKind {
        ARCHIVE_NONE,                   /* not for us: copy the bytes as they are */
        ARCHIVE_GZIP,
        ARCHIVE_XZ,
        ARCHIVE_ZSTD,
        ARCHIVE_BZIP2,
        ARCHIVE_TAR,                    /* tar and OVA (a tar of an OVF descriptor and disks) */
        _ARCHIVE_KIND_MAX,
        _ARCHIVE_KIND_INVALID = -EINVAL,
} ArchiveKind;

/* The header needed by archive_probe(): tar's magic is at offset 257. */
#define ARCHIVE_PROBE_SIZE 512

ArchiveKind archive_probe(const uint8_t *header, size_t n);
DECLARE_STRING_TABLE_LOOKUP(archive_kind, ArchiveKind);

typedef struct ArchiveOptions {
        const char *member;             /* the file to take from a tar; NULL: the first disk image */
        uint64_t max_size;              /* the unpacked image may not be larger (bombs); 0: no bound */
        Hasher *hasher;                 /* NULL, or the digest of the source as stored (compressed) */
        copy_progress_t progress;       /* bytes of the source read so far */
        void *userdata;
        Hasher *image_hasher;           /* NULL, or the digest of the image as written (holes as zeros) */
} ArchiveOptions;

/* A source read once, front to back (a download): the next bytes at *ret, valid until the next
 * call, and their number; 0 at its end; or a negative errno, which the unpacking fails with. */
typedef ssize_t (*archive_read_t)(void *userdata, const void **ret);

/* Unpacks the image in fdin into fdout (a new, empty file), keeping zero blocks as holes. Corrupt,
 * truncated or hostile input fails with a negative errno and a description. */
int archive_unpack(int fdin, int fdout, const ArchiveOptions *o, char **reterr_message);

/* The same from a stream whose first bytes archive_probe() said are kind: decompressed as it
 * arrives, the first block of the result telling a tar from a bare image. o->hasher and o->progress are not used: the stream hashes and reports what it
 * reads itself (and is read to its end, so that its digest covers every byte). */
int archive_unpack_stream(ArchiveKind kind, archive_read_t read, void *userdata, int fdout, const ArchiveOptions *o,
                          char **reterr_message);

/* True if a tar member's name looks like a disk image rather than OVF metadata. */
bool archive_member_is_disk(const char *name);
