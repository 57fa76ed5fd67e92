/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull.h — downloads over http and https with libcurl, for the copy worker: hardened and resumable */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/image.h"
#include "util/macro.h"

#define PULL_MAX_REDIRECTS 5
#define PULL_MAX_RESUMES 5
/* Slower than this for stall_seconds is a stall. */
#define PULL_STALL_BYTES_PER_SECOND 1024

/* pull_read()'s answer when the server sent the body again from its first byte (it ignored the
 * Range of a resume, or the file changed): what was read so far must be discarded. */
#define PULL_RESTARTED (-ERESTART)

typedef struct PullOptions {
        const char *ca_file;            /* the CAs to trust; NULL: the system's store */
        unsigned stall_seconds;         /* below PULL_STALL_BYTES_PER_SECOND this long fails it */
        uint64_t max_size;              /* bound of the body; 0: none */
        unsigned backoff_msec;          /* before the first resume, doubled for each next one */
        /* Called while the transfer runs, with the bytes of the body read so far and its size (0
         * if unknown); a negative return aborts the transfer with that error (cancellation). */
        int (*progress)(uint64_t done, uint64_t total, void *userdata);
        void *userdata;
} PullOptions;

typedef struct Pull Pull;

/* Prepares the download of url (http_url_is_valid()); nothing is sent before the first pull_read(). */
int pull_new(const char *url, const PullOptions *o, Pull **ret);
Pull *pull_free(Pull *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pull *, pull_free);

/* The next bytes of the body, in order, in a buffer of the Pull's own (valid until the next call).
 * Returns their number, 0 once the whole body has arrived (its length checked), PULL_RESTARTED (the
 * next bytes are the body's first again), or a negative errno with a sentence in *reterr_message
 * ("HTTP 404 Not Found", "certificate verify failed: …", "stalled for 30 s at 12.0 MiB"). A dropped
 * connection is resumed inside, with Range and If-Range, up to PULL_MAX_RESUMES times. */
ssize_t pull_read(Pull *p, const void **ret, char **reterr_message);

/* The size of the body as the server announced it (0 if it did not), and the bytes read of it. */
uint64_t pull_size(const Pull *p);
uint64_t pull_done(const Pull *p);
/* How often the transfer was resumed after a dropped connection. */
unsigned pull_resumes(const Pull *p);

/* Downloads p into a new invisible file of c's folder in one pass: the bytes hashed as they arrive
 * (download_checksum, algorithm "" for none), unpacked as c->decompress and c->member say, hashed
 * again as written (c->checksum), sparse. At most max_size bytes are written (0: the folder's free
 * space). Both digests are verified (-AIM_ECHECKSUM); c->digest is the image's. Then image_copy_publish(). */
int pull_image_data(ImageCopy *c, Pull *p, const Checksum *download_checksum, uint64_t max_size,
                    char **reterr_message);
