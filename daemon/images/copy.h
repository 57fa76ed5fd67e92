/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy.h — the copy engine: reflink, copy_file_range, sendfile, read/write; holes kept; checksums */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"
#include "util/string-table.h"

typedef enum CopyMethod {
        COPY_METHOD_REFLINK,
        COPY_METHOD_COPY_FILE_RANGE,
        COPY_METHOD_SENDFILE,
        COPY_METHOD_READ_WRITE,
        COPY_METHOD_ARCHIVE,
        COPY_METHOD_HTTP,               /* a pull: the bytes came over http or https */
        _COPY_METHOD_MAX,
        _COPY_METHOD_INVALID = -EINVAL,
} CopyMethod;

DECLARE_STRING_TABLE_LOOKUP(copy_method, CopyMethod);

#define CHECKSUM_MAX_SIZE 64

/* An expected digest, as callers write it: "sha256:<hex>" or "md5:<hex>". */
typedef struct Checksum {
        char algorithm[8];                      /* "sha256", "md5"; empty: no checksum */
        uint8_t digest[CHECKSUM_MAX_SIZE];
        size_t size;
} Checksum;

/* Parses "sha256:<64 hex>" or "md5:<32 hex>" (hex in either case). -EINVAL if malformed. */
int checksum_parse(const char *s, Checksum *ret);
/* Formats "algorithm:hex" into buf (at least 8 + 2 * CHECKSUM_MAX_SIZE + 2 bytes). */
void checksum_format(const Checksum *c, char *buf, size_t n);

/* A running digest over the bytes of a copy (OpenSSL's EVP: SHA-NI where the CPU has it). */
typedef struct Hasher Hasher;
int hasher_new(const char *algorithm, Hasher **ret);
Hasher *hasher_free(Hasher *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hasher *, hasher_free);
int hasher_update(Hasher *h, const void *p, size_t n);
/* Feeds n zero bytes (a hole) without reading anything. */
int hasher_update_zeros(Hasher *h, uint64_t n);
/* Finishes the digest into ret (algorithm and bytes). */
int hasher_final(Hasher *h, Checksum *ret);

/* The system calls the engine tries, replaceable so that tests can make them fail. Each returns
 * >= 0 (bytes copied; 0 for clone) or a negative errno. */
typedef struct CopyOps {
        int (*clone)(int fdin, int fdout);
        ssize_t (*copy_file_range)(int fdin, off_t *off_in, int fdout, off_t *off_out, size_t n);
        ssize_t (*sendfile)(int fdout, int fdin, off_t *off_in, size_t n);
} CopyOps;

extern const CopyOps copy_ops_system;

/* Called with the offset of the source reached so far (holes included, so that it ends at the
 * size) and the method moving the bytes. A negative return aborts the copy with that error
 * (cancellation). */
typedef int (*copy_progress_t)(uint64_t done, uint64_t total, CopyMethod method, void *userdata);

typedef struct CopyOptions {
        const CopyOps *ops;             /* NULL: the real system calls */
        unsigned disabled;              /* 1 << CopyMethod: methods not to try */
        Hasher *hasher;                 /* NULL: no checksum; else every byte (zeros of holes too) */
        copy_progress_t progress;
        void *userdata;
} CopyOptions;

/* Copies the whole regular file fdin into fdout, which must be a new, empty regular file. Fastest
 * method first, falling back on EXDEV/EOPNOTSUPP/ENOSYS/EINVAL (and remembering what failed); the
 * holes of fdin stay holes in fdout. With a hasher, the digest is that of the bytes of fdout: a
 * reflink followed by a read of the clone, or a pipelined read/hash/write on two threads where the
 * buffer hashed is the buffer written (a source rewritten meanwhile cannot slip past). Returns
 * the method that ran (the last one, when a fallback happened midway). */
int copy_file(int fdin, int fdout, const CopyOptions *o, CopyMethod *ret_method);

/* True if n bytes at p are all zero. */
bool buffer_is_zero(const void *p, size_t n);

/* Writes n bytes at offset, leaving all-zero blocks of the file unwritten (holes), for fresh files. */
int write_sparse(int fd, const void *p, size_t n, uint64_t offset);
