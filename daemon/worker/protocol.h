/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol.h — what aimd and its exec'd copy helper, aimd-worker, say to each other
 *
 * The daemon execs one aimd-worker per job with only these fds open (everything else is closed
 * before the exec):
 *   0, 1  /dev/null
 *   2     the daemon's stderr (the journal): the worker's own log lines
 *   3     WORKER_FD_CHANNEL: one end of a SOCK_SEQPACKET socketpair
 *   4     WORKER_FD_TARGET: the destination folder (O_PATH), opened beneath the datastore or repository
 *   5     WORKER_FD_SOURCE: the source file (O_RDONLY) of an import or export; closed for a pull
 *
 * Over the channel go records, one per packet, each at most WORKER_RECORD_MAX bytes: a list of
 * "key=value" fields, each ended by a NUL byte (values are any bytes but NUL; keys [a-z_]+, each
 * at most once). The daemon sends one record, the request, before the worker starts:
 *   type=import|export|pull   what the job is
 *   name=NAME                 the final name in the destination folder
 *   overwrite=yes|no          replace an existing NAME (default no)
 *   decompress=auto|none      unpack what the first bytes say is compressed or a tar (default auto)
 *   member=PATH               the member to take from a tar (default: the first disk image)
 *   checksum=ALG:HEX          the digest the source must have (default: none checked)
 *   sync=yes|no               fdatasync the image and fsync its folder before done (default yes)
 *   url=URL                   a pull's source, instead of fd 5; then also, optionally:
 *   download_checksum=ALG:HEX the digest the bytes as downloaded must have
 *   max_size=N                bytes the image may take (default: the folder's free space)
 *   ca_file=PATH              the CAs to trust instead of the system's ([rimp] caFile)
 *   stall_seconds=N           below 1 KiB/s this long fails the pull ([rimp] pullStallSeconds)
 * A worker refuses a request with a key it does not know (an older worker, a newer daemon).
 * The worker answers with any number of progress records and then exactly one result:
 *   state=running  done=N total=N method=M                           progress (rate-limited)
 *   state=done|failed|cancelled  method=M  error=ERRNO  checksum=ALG:HEX  message=TEXT
 * (error is a positive errno, present when state is not done; checksum is the digest of what was
 * published, when one was asked for; message a sentence for a person, the failure text of the
 * error contract.) A worker that dies without a result failed, with the reason the daemon saw.
 * Cancel is SIGTERM (the worker reports "cancelled" unless its image was already published),
 * and SIGKILL after a grace period. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

#define WORKER_FD_CHANNEL 3
#define WORKER_FD_TARGET  4
#define WORKER_FD_SOURCE  5
#define WORKER_FD_MAX     WORKER_FD_SOURCE

#define WORKER_RECORD_MAX (64U * 1024)

typedef struct WorkerRecord {
        char *data;                     /* "key=value\0key=value\0" */
        size_t size;
} WorkerRecord;

void worker_record_done(WorkerRecord *r);

/* Appends key=value. -EINVAL for a key that is not [a-z_]+ or is there already, or a value with a
 * NUL; -E2BIG past WORKER_RECORD_MAX. */
int worker_record_add(WorkerRecord *r, const char *key, const char *value);
int worker_record_addf(WorkerRecord *r, const char *key, const char *format, ...) _printf_(3, 4);

/* The value of key, or NULL. */
const char *worker_record_get(const WorkerRecord *r, const char *key);
/* Calls f for each field in order; stops at (and returns) the first negative return of f. */
int worker_record_foreach(const WorkerRecord *r, int (*f)(const char *key, const char *value, void *userdata),
                          void *userdata);

/* Checks that n bytes at p are a well-formed record and copies them into ret. -EBADMSG if not. */
int worker_record_parse(const void *p, size_t n, WorkerRecord *ret);

/* Sends r as one packet (MSG_NOSIGNAL: a dead peer is -EPIPE, not a signal). */
int worker_record_send(int fd, const WorkerRecord *r);
/* Receives one packet into ret: 0 at the end of the stream (ret untouched), 1 with a record,
 * -EAGAIN when a non-blocking fd has none, -EBADMSG for a malformed or oversized one. */
int worker_record_receive(int fd, WorkerRecord *ret);
