/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job.h — copy jobs: one exec'd aimd-worker each, watched by sd-event; queue, cancel, rate-limited updates */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "images/copy.h"
#include "util/hashmap.h"
#include "util/string-table.h"
#include "worker/protocol.h"

typedef enum JobType {
        JOB_IMPORT,
        JOB_EXPORT,
        JOB_PULL,
        _JOB_TYPE_MAX,
        _JOB_TYPE_INVALID = -EINVAL,
} JobType;

typedef enum JobState {
        JOB_QUEUED,
        JOB_RUNNING,
        JOB_DONE,
        JOB_FAILED,
        JOB_CANCELLED,
        _JOB_STATE_MAX,
        _JOB_STATE_INVALID = -EINVAL,
} JobState;

DECLARE_STRING_TABLE_LOOKUP(job_type, JobType);
DECLARE_STRING_TABLE_LOOKUP(job_state, JobState);

/* Jobs waiting for a worker beyond this are refused (-ENOBUFS): a queue is not a store. */
#define JOB_QUEUED_MAX 64U

/* State, Progress and BytesDone are signalled at most this often. */
#define JOB_NOTIFY_INTERVAL_USEC (100U * 1000)

typedef struct JobQueue JobQueue;
typedef struct Job Job;
struct Images;

struct Job {
        JobQueue *queue;
        uint32_t id;
        char id_string[12];             /* the key in the queue's table */
        JobType type;
        char *source, *target;
        char *destination;              /* what it writes, for Busy: "DEV:INO/NAME" (hex) of its folder */
        char *object_path;              /* the D-Bus layer's */
        struct Images *images;          /* the D-Bus layer's: its way back to the manager */

        JobState state;
        uint64_t bytes_done, bytes_total;
        CopyMethod method;
        int error;                      /* negative errno of a failed job */
        char *message;                  /* NULL, or what failed */
        char *checksum;                 /* NULL, or the digest of what was published */

        WorkerRecord request;           /* sent to the worker (protocol.h) */
        char *source_root, *target_root;        /* source and target are opened beneath these when the
                                                 * job starts: a queued job holds no fd (NULL source_root:
                                                 * a job without a source file) */
        pid_t pid;
        int channel_fd;
        sd_event_source *child_source, *channel_source, *notify_timer, *kill_timer;
        uint64_t last_notify;
        bool cancel_requested, have_result;
};

typedef struct JobCallbacks {
        void (*changed)(Job *j, void *userdata);        /* State, Progress, BytesDone: rate-limited */
        void (*method_changed)(Job *j, void *userdata); /* Method, BytesTotal: once the copy starts */
        void (*finished)(Job *j, void *userdata);       /* just before the job is freed */
} JobCallbacks;

struct JobQueue {
        sd_event *event;
        Hashmap *jobs;                  /* id_string → Job */
        Hashmap *destinations;          /* destination → Job */
        unsigned max_running, n_running;
        uint32_t last_id;
        char *worker_path;              /* aimd-worker: $AIMD_WORKER, else where it is installed */
        JobCallbacks callbacks;
        void *userdata;
};

int job_queue_new(sd_event *event, unsigned max_running, const JobCallbacks *cb, void *userdata, JobQueue **ret);
/* Kills running workers (their invisible files vanish with them) and frees every job. */
JobQueue *job_queue_free(JobQueue *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(JobQueue *, job_queue_free);

/* The job writing destination, or NULL. */
Job *job_queue_busy(JobQueue *q, const char *destination);

/* Creates a queued job that takes over *request (type= is added here); job_queue_run() starts it,
 * opening source beneath source_root (NULL: none) and the folder of target beneath target_root.
 * -EBUSY if a job writes destination already, -ENOBUFS if JOB_QUEUED_MAX jobs wait already. */
int job_submit(JobQueue *q, JobType type, const char *source_root, const char *source, const char *target_root,
               const char *target, const char *destination, WorkerRecord *request, Job **ret);
/* Starts queued jobs while fewer than max_running run. */
void job_queue_run(JobQueue *q);
/* A new max_running (the configuration reloaded): more jobs start now, fewer only as jobs end. */
void job_queue_set_max_running(JobQueue *q, unsigned max_running);
/* Cancels a queued job at once, a running one by telling its worker (which then reports). */
int job_cancel(Job *j);

double job_progress(const Job *j);
