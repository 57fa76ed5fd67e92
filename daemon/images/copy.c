/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy.c — the copy engine: reflink, copy_file_range, sendfile, read/write; holes kept; checksums */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/copy.h"
#include "util/string-table.h"

/* One system call moves at most this much, so that cancellation and progress stay responsive. */
#define COPY_CHUNK (16U * 1024 * 1024)
/* Buffers of the read/write paths. */
#define BUFFER_SIZE (2U * 1024 * 1024)
#define PIPELINE_SLOTS 4
/* The granularity at which zero blocks are left as holes. */
#define SPARSE_BLOCK (64U * 1024)

static const char * const copy_method_table[_COPY_METHOD_MAX] = {
        [COPY_METHOD_REFLINK] = "reflink",
        [COPY_METHOD_COPY_FILE_RANGE] = "copy_file_range",
        [COPY_METHOD_SENDFILE] = "sendfile",
        [COPY_METHOD_READ_WRITE] = "read-write",
        [COPY_METHOD_ARCHIVE] = "archive",
        [COPY_METHOD_HTTP] = "http",
};

DEFINE_STRING_TABLE_LOOKUP(copy_method, CopyMethod);

/* ---- checksums ---- */

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int checksum_parse(const char *s, Checksum *ret) {
        static const struct { const char *name; size_t size; } algorithms[] = {
                { "sha256", 32 },
                { "md5", 16 },
        };
        Checksum c = {};
        const char *colon, *hex;

        if (!s)
                return -EINVAL;
        colon = strchr(s, ':');
        if (!colon)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(algorithms); i++)
                if ((size_t) (colon - s) == strlen(algorithms[i].name) &&
                    strncmp(s, algorithms[i].name, colon - s) == 0) {
                        strcpy(c.algorithm, algorithms[i].name);
                        c.size = algorithms[i].size;
                }
        if (c.size == 0)
                return -EINVAL;
        hex = colon + 1;
        if (strlen(hex) != c.size * 2)
                return -EINVAL;
        for (size_t i = 0; i < c.size; i++) {
                int hi = unhex(hex[2 * i]), lo = unhex(hex[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                c.digest[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret = c;
        return 0;
}

void checksum_format(const Checksum *c, char *buf, size_t n) {
        int k = snprintf(buf, n, "%s:", c->algorithm);

        for (size_t i = 0; i < c->size && k >= 0 && (size_t) k + 2 < n; i++)
                k += snprintf(buf + k, n - k, "%02x", c->digest[i]);
}

struct Hasher {
        EVP_MD_CTX *ctx;
        char algorithm[8];
};

int hasher_new(const char *algorithm, Hasher **ret) {
        _cleanup_(hasher_freep) Hasher *h = NULL;
        const EVP_MD *md;

        if (streq(algorithm, "sha256"))
                md = EVP_sha256();
        else if (streq(algorithm, "md5"))
                md = EVP_md5();
        else
                return -EOPNOTSUPP;
        h = calloc(1, sizeof(Hasher));
        if (!h)
                return -ENOMEM;
        snprintf(h->algorithm, sizeof(h->algorithm), "%s", algorithm);
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(h->ctx, md, NULL) != 1)
                return -EIO;
        *ret = TAKE_PTR(h);
        return 0;
}

Hasher *hasher_free(Hasher *h) {
        if (!h)
                return NULL;
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
}

int hasher_update(Hasher *h, const void *p, size_t n) {
        return EVP_DigestUpdate(h->ctx, p, n) == 1 ? 0 : -EIO;
}

int hasher_update_zeros(Hasher *h, uint64_t n) {
        static const uint8_t zeros[SPARSE_BLOCK];

        while (n > 0) {
                size_t k = MIN(n, (uint64_t) sizeof(zeros));

                if (hasher_update(h, zeros, k) < 0)
                        return -EIO;
                n -= k;
        }
        return 0;
}

int hasher_final(Hasher *h, Checksum *ret) {
        Checksum c = {};
        unsigned size = 0;

        if (EVP_DigestFinal_ex(h->ctx, c.digest, &size) != 1)
                return -EIO;
        c.size = size;
        snprintf(c.algorithm, sizeof(c.algorithm), "%s", h->algorithm);
        *ret = c;
        return 0;
}

/* ---- the system calls ---- */

static int sys_clone(int fdin, int fdout) {
        return ioctl(fdout, FICLONE, fdin) < 0 ? negative_errno() : 0;
}

static ssize_t sys_copy_file_range(int fdin, off_t *off_in, int fdout, off_t *off_out, size_t n) {
        ssize_t k = copy_file_range(fdin, off_in, fdout, off_out, n, 0);
        return k < 0 ? negative_errno() : k;
}

static ssize_t sys_sendfile(int fdout, int fdin, off_t *off_in, size_t n) {
        ssize_t k = sendfile(fdout, fdin, off_in, n);
        return k < 0 ? negative_errno() : k;
}

const CopyOps copy_ops_system = {
        .clone = sys_clone,
        .copy_file_range = sys_copy_file_range,
        .sendfile = sys_sendfile,
};

/* The errors that mean "this method does not work here", as opposed to a failure of the copy. */
static bool error_is_unsupported(int r) {
        return r == -EXDEV || r == -EOPNOTSUPP || r == -ENOSYS || r == -EINVAL || r == -ENOTTY;
}

bool buffer_is_zero(const void *p, size_t n) {
        const uint8_t *b = p;

        /* Compare the buffer with itself shifted by one: memcmp is vectorised, a byte loop is not. */
        return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* pread() or pwrite() until all n bytes moved; a source that ends early gives -ENODATA. */
static int transfer_full(int fd, void *p, size_t n, uint64_t offset, bool write) {
        uint8_t *b = p;

        while (n > 0) {
                ssize_t k = write ? pwrite(fd, b, n, (off_t) offset) : pread(fd, b, n, (off_t) offset);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return write ? -EIO : -ENODATA;        /* the source shrank under us */
                b += k;
                n -= k;
                offset += k;
        }
        return 0;
}

int write_sparse(int fd, const void *p, size_t n, uint64_t offset) {
        const uint8_t *b = p;

        while (n > 0) {
                /* Blocks aligned to the file, so that a skipped block is a whole hole. */
                size_t k = MIN(n, SPARSE_BLOCK - offset % SPARSE_BLOCK);
                int r;

                if (!buffer_is_zero(b, k)) {
                        r = transfer_full(fd, (void *) b, k, offset, true);
                        if (r < 0)
                                return r;
                }
                b += k;
                n -= k;
                offset += k;
        }
        return 0;
}

/* ---- walking the data of a sparse file ---- */

/* Finds the next data segment at or after offset: [*ret_start, *ret_end). Returns 0 at the end
 * (only holes remain), 1 with a segment. A file system without SEEK_DATA is all data. */
static int next_data(int fd, uint64_t offset, uint64_t size, uint64_t *ret_start, uint64_t *ret_end) {
        off_t data, hole;

        if (offset >= size)
                return 0;
        data = lseek(fd, (off_t) offset, SEEK_DATA);
        if (data < 0) {
                if (errno == ENXIO)
                        return 0;
                if (errno != EINVAL && errno != EOPNOTSUPP)
                        return negative_errno();
                *ret_start = offset;
                *ret_end = size;
                return 1;
        }
        if ((uint64_t) data >= size)
                return 0;
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
                return negative_errno();
        *ret_start = (uint64_t) data;
        *ret_end = MIN((uint64_t) hole, size);
        return 1;
}

typedef struct CopyState {
        int fdin, fdout;
        uint64_t size;
        const CopyOptions *o;
        const CopyOps *ops;
        unsigned failed;                /* 1 << CopyMethod that failed as unsupported */
        CopyMethod method;              /* the method of the last bytes moved */
        uint8_t *buffer;
} CopyState;

static bool method_usable(const CopyState *s, CopyMethod m) {
        return !((s->o->disabled | s->failed) & (1U << m));
}

static int report(const CopyState *s, uint64_t done) {
        return s->o->progress ? s->o->progress(done, s->size, s->method, s->o->userdata) : 0;
}

/* Moves [offset, offset + n) with one call of method m; returns bytes moved or a negative errno. */
static ssize_t copy_chunk(CopyState *s, CopyMethod m, uint64_t offset, size_t n) {
        off_t in = (off_t) offset, out = (off_t) offset;
        ssize_t k;
        int r;

        switch (m) {
        case COPY_METHOD_COPY_FILE_RANGE:
                return s->ops->copy_file_range(s->fdin, &in, s->fdout, &out, n);
        case COPY_METHOD_SENDFILE:
                if (lseek(s->fdout, out, SEEK_SET) < 0)
                        return negative_errno();
                return s->ops->sendfile(s->fdout, s->fdin, &in, n);
        case COPY_METHOD_READ_WRITE:
                n = MIN(n, (size_t) BUFFER_SIZE);
                k = pread(s->fdin, s->buffer, n, in);
                if (k <= 0)
                        return k < 0 ? negative_errno() : 0;
                r = write_sparse(s->fdout, s->buffer, (size_t) k, offset);
                return r < 0 ? r : k;
        default:
                return -EINVAL;
        }
}

static int copy_segment(CopyState *s, uint64_t start, uint64_t end) {
        static const CopyMethod chain[] = {
                COPY_METHOD_COPY_FILE_RANGE, COPY_METHOD_SENDFILE, COPY_METHOD_READ_WRITE,
        };
        uint64_t offset = start;
        size_t i = 0;
        int r;

        while (offset < end) {
                ssize_t k;

                while (i < ELEMENTSOF(chain) && !method_usable(s, chain[i]))
                        i++;
                if (i >= ELEMENTSOF(chain))
                        return -EOPNOTSUPP;
                if (chain[i] == COPY_METHOD_READ_WRITE && !s->buffer) {
                        s->buffer = malloc(BUFFER_SIZE);
                        if (!s->buffer)
                                return -ENOMEM;
                }
                k = copy_chunk(s, chain[i], offset, (size_t) MIN(end - offset, (uint64_t) COPY_CHUNK));
                if (k < 0 && error_is_unsupported((int) k)) {
                        /* Not here: remember, and go on from the same offset with the next method. */
                        s->failed |= 1U << chain[i];
                        continue;
                }
                if (k == -EINTR)
                        continue;
                if (k < 0)
                        return (int) k;
                if (k == 0)
                        return -ENODATA;
                s->method = chain[i];
                offset += (uint64_t) k;
                r = report(s, offset);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Hashes the hole [from, to) as zeros, reporting as it goes: hashing zeros costs what data does. */
static int hash_hole(CopyState *s, uint64_t from, uint64_t to) {
        while (from < to) {
                uint64_t n = MIN(to - from, (uint64_t) COPY_CHUNK);
                int r;

                r = hasher_update_zeros(s->o->hasher, n);
                if (r < 0)
                        return r;
                from += n;
                r = report(s, from);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- read, hash and write in one pass, on two threads ---- */

typedef struct Slot {
        uint8_t *buffer;
        uint64_t offset;
        size_t size;
} Slot;

typedef struct Pipeline {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        Slot slots[PIPELINE_SLOTS];
        unsigned head, count;           /* filled slots: head .. head + count - 1 */
        bool eof, abort;                /* abort: what is queued need not be written */
        int error;                      /* the writer's */
        int fdout;
} Pipeline;

static void *pipeline_writer(void *userdata) {
        Pipeline *p = userdata;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                Slot *slot;
                int r;

                while (p->count == 0 && !p->eof)
                        pthread_cond_wait(&p->changed, &p->lock);
                if (p->count == 0 || p->abort)
                        break;
                slot = &p->slots[p->head];
                pthread_mutex_unlock(&p->lock);
                r = write_sparse(p->fdout, slot->buffer, slot->size, slot->offset);
                pthread_mutex_lock(&p->lock);
                p->head = (p->head + 1) % PIPELINE_SLOTS;
                p->count--;
                pthread_cond_broadcast(&p->changed);
                if (r < 0) {
                        p->error = r;
                        break;
                }
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

/* Waits for a free slot; NULL when the writer failed. */
static Slot *pipeline_get_free(Pipeline *p) {
        Slot *slot = NULL;

        pthread_mutex_lock(&p->lock);
        while (p->count == PIPELINE_SLOTS && p->error == 0)
                pthread_cond_wait(&p->changed, &p->lock);
        if (p->error == 0)
                slot = &p->slots[(p->head + p->count) % PIPELINE_SLOTS];
        pthread_mutex_unlock(&p->lock);
        return slot;
}

static void pipeline_push(Pipeline *p) {
        pthread_mutex_lock(&p->lock);
        p->count++;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
}

/* Reads all of fd through the hasher (zeros for its holes). With a pipeline, every block read is
 * handed on to its writer too: the writer writes the very buffer that was hashed, never pages a
 * writer of the source could change in between. Without, fd is only hashed: the clone after a
 * reflink, so that the digest is that of what will be published. */
static int read_and_hash(CopyState *s, int fd, Pipeline *p) {
        uint64_t offset = 0, start = 0, end = 0;
        int r;

        if (!p) {
                s->buffer = malloc(BUFFER_SIZE);
                if (!s->buffer)
                        return -ENOMEM;
        }
        while ((r = next_data(fd, offset, s->size, &start, &end)) > 0) {
                r = hash_hole(s, offset, start);
                if (r < 0)
                        return r;
                for (offset = start; offset < end;) {
                        size_t n = (size_t) MIN(end - offset, (uint64_t) BUFFER_SIZE);
                        Slot *slot = p ? pipeline_get_free(p) : NULL;
                        uint8_t *buffer = p ? (slot ? slot->buffer : NULL) : s->buffer;

                        if (!buffer)
                                return 0;       /* the writer failed: its error is collected by the caller */
                        r = transfer_full(fd, buffer, n, offset, false);
                        if (r < 0)
                                return r;
                        r = hasher_update(s->o->hasher, buffer, n);
                        if (r < 0)
                                return r;
                        if (slot) {
                                slot->offset = offset;
                                slot->size = n;
                                pipeline_push(p);
                        }
                        offset += n;
                        r = report(s, offset);
                        if (r < 0)
                                return r;
                }
        }
        if (r < 0)
                return r;
        return hash_hole(s, offset, s->size);
}

static int copy_pipelined(CopyState *s) {
        Pipeline p = {
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .changed = PTHREAD_COND_INITIALIZER,
                .fdout = s->fdout,
        };
        pthread_t writer;
        int r, k;

        for (size_t i = 0; i < PIPELINE_SLOTS; i++) {
                p.slots[i].buffer = malloc(BUFFER_SIZE);
                if (!p.slots[i].buffer) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        k = pthread_create(&writer, NULL, pipeline_writer, &p);
        if (k != 0) {
                r = -k;
                goto finish;
        }
        r = read_and_hash(s, s->fdin, &p);

        pthread_mutex_lock(&p.lock);
        p.eof = true;
        if (r < 0)
                /* Failed or cancelled: what is queued need not be written. */
                p.abort = true;
        pthread_cond_broadcast(&p.changed);
        pthread_mutex_unlock(&p.lock);
        (void) pthread_join(writer, NULL);
        if (r >= 0)
                r = p.error;
        s->method = COPY_METHOD_READ_WRITE;
finish:
        for (size_t i = 0; i < PIPELINE_SLOTS; i++)
                free(p.slots[i].buffer);
        return r;
}

int copy_file(int fdin, int fdout, const CopyOptions *o, CopyMethod *ret_method) {
        CopyState s = {
                .fdin = fdin,
                .fdout = fdout,
                .o = o,
                .ops = o->ops ?: &copy_ops_system,
                .method = _COPY_METHOD_INVALID,
        };
        uint64_t offset = 0, start = 0, end = 0;
        struct stat st;
        int r;

        if (fstat(fdin, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        s.size = (uint64_t) st.st_size;

        /* A clone shares the extents: nothing to read or write, and holes stay holes. */
        if (method_usable(&s, COPY_METHOD_REFLINK)) {
                r = s.ops->clone(fdin, fdout);
                if (r >= 0) {
                        s.method = COPY_METHOD_REFLINK;
                        /* The clone is what gets published, whatever the source became since. */
                        if (o->hasher && fstat(fdout, &st) < 0)
                                r = negative_errno();
                        else if (o->hasher) {
                                s.size = (uint64_t) st.st_size;
                                r = read_and_hash(&s, fdout, NULL);
                        } else
                                r = report(&s, s.size);
                        goto finish;
                }
                if (!error_is_unsupported(r))
                        return r;
                s.failed |= 1U << COPY_METHOD_REFLINK;
        }

        /* The size first: a trailing hole needs no write, and no write extends the file, so xfs
         * has no reason to preallocate past the end (space that a later truncate up would keep). */
        if (ftruncate(fdout, (off_t) s.size) < 0)
                return negative_errno();

        if (o->hasher && method_usable(&s, COPY_METHOD_READ_WRITE)) {
                /* The bytes must pass through our hands to be hashed: one read, on two cores. */
                s.method = COPY_METHOD_READ_WRITE;
                r = copy_pipelined(&s);
                goto finish;
        }

        while ((r = next_data(fdin, offset, s.size, &start, &end)) > 0) {
                r = copy_segment(&s, start, end);
                if (r < 0)
                        goto finish;
                offset = end;
        }
        if (r >= 0)
                r = report(&s, s.size);
        if (r >= 0 && s.method < 0)
                /* All holes: nothing moved; name the method that would have run. */
                for (CopyMethod m = COPY_METHOD_COPY_FILE_RANGE; s.method < 0 && m <= COPY_METHOD_READ_WRITE; m++)
                        if (method_usable(&s, m))
                                s.method = m;
finish:
        free(s.buffer);
        if (r < 0)
                return r;
        if (ret_method)
                *ret_method = s.method;
        return 0;
}
