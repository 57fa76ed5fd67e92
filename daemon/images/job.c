/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job.c — copy jobs: one worker process each, watched by sd-event; queue, cancel, rate-limited updates */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared/errors.h"
#include "images/job.h"

/* A worker that ignores SIGTERM this long after a cancel is killed. */
#define JOB_KILL_TIMEOUT_USEC (10U * 1000 * 1000)
/* Workers report progress at most this often; the daemon then rate-limits its signals. */
#define WORKER_REPORT_INTERVAL_NSEC (50U * 1000 * 1000)
/* Bound of a worker's CPU time: a hostile archive cannot spin forever. */
#define WORKER_CPU_SECONDS (2 * 3600)

static const char * const job_type_table[_JOB_TYPE_MAX] = {
        [JOB_IMPORT] = "import",
        [JOB_EXPORT] = "export",
};

static const char * const job_state_table[_JOB_STATE_MAX] = {
        [JOB_QUEUED] = "queued",
        [JOB_RUNNING] = "running",
        [JOB_DONE] = "done",
        [JOB_FAILED] = "failed",
        [JOB_CANCELLED] = "cancelled",
};

const char *job_type_to_string(JobType t) {
        return t >= 0 && t < _JOB_TYPE_MAX ? job_type_table[t] : "";
}

const char *job_state_to_string(JobState s) {
        return s >= 0 && s < _JOB_STATE_MAX ? job_state_table[s] : "";
}

/* What a worker tells the daemon; one record is one atomic write (less than PIPE_BUF). */
typedef enum ReportKind {
        REPORT_PROGRESS = 1,
        REPORT_RESULT,
} ReportKind;

typedef struct Report {
        uint32_t kind;
        int32_t error;
        int32_t method;
        uint64_t done, total;
        char message[256];
} Report;

/* ---- the worker (a child process) ---- */

static volatile sig_atomic_t worker_cancelled = 0;

typedef struct Worker {
        int fd;
        struct timespec last;
} Worker;

static void worker_on_sigterm(int sig) {
        worker_cancelled = 1;
}

static void worker_send(Worker *w, const Report *r) {
        /* A dead daemon means a dead worker (PDEATHSIG); nothing to do about a failed write. */
        (void) !write(w->fd, r, sizeof(*r));
}

static int worker_progress(uint64_t done, uint64_t total, CopyMethod method, void *userdata) {
        Worker *w = userdata;
        struct timespec now;

        if (worker_cancelled)
                return -ECANCELED;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (done < total && (now.tv_sec - w->last.tv_sec) * 1000000000LL + (now.tv_nsec - w->last.tv_nsec) <
            (long long) WORKER_REPORT_INTERVAL_NSEC)
                return 0;
        w->last = now;
        worker_send(w, &(Report) { .kind = REPORT_PROGRESS, .method = method, .done = done, .total = total });
        return 0;
}

static int worker_setup(pid_t parent) {
        struct sigaction sa = { .sa_handler = worker_on_sigterm, .sa_flags = SA_RESTART };
        struct rlimit cpu = { WORKER_CPU_SECONDS, WORKER_CPU_SECONDS + 10 };
        sigset_t all;

        /* Die with the daemon: an orphaned copy would publish behind the back of a new daemon. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                return -ESRCH;
        (void) prctl(PR_SET_NAME, "aimd-copy");
        if (sigaction(SIGTERM, &sa, NULL) < 0)
                return negative_errno();
        sa.sa_handler = SIG_DFL;
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGCHLD, &sa, NULL);
        sigemptyset(&all);
        if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
                return negative_errno();
        if (setrlimit(RLIMIT_CPU, &cpu) < 0)
                return negative_errno();
        return 0;
}

static _Noreturn void worker_run(Job *j, int fd, pid_t parent) {
        Worker w = { .fd = fd };
        Report result = { .kind = REPORT_RESULT, .method = _COPY_METHOD_INVALID };
        CopyMethod method = _COPY_METHOD_INVALID;
        sigset_t term;
        int r;

        r = worker_setup(parent);
        if (r < 0)
                _exit(EXIT_FAILURE);
        j->copy.copy.progress = worker_progress;
        j->copy.copy.userdata = &w;

        r = image_copy_data(&j->copy, &method, result.message, sizeof(result.message));
        if (r >= 0) {
                /* A cancel either comes before the image is published or not at all. */
                sigemptyset(&term);
                sigaddset(&term, SIGTERM);
                (void) sigprocmask(SIG_BLOCK, &term, NULL);
                if (worker_cancelled)
                        r = -ECANCELED;
                else
                        r = image_copy_publish(&j->copy, result.message, sizeof(result.message));
        }
        if (r == -ECANCELED)
                snprintf(result.message, sizeof(result.message), "Cancelled");
        result.error = r < 0 ? r : 0;
        result.method = method;
        image_copy_done(&j->copy);
        worker_send(&w, &result);
        _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

/* ---- the daemon's side ---- */

static void job_start_queued(JobQueue *q);

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        if (j->queue) {
                hashmap_remove(j->queue->jobs, j->id_string);
                if (hashmap_get(j->queue->destinations, j->destination) == j)
                        hashmap_remove(j->queue->destinations, j->destination);
        }
        if (j->pid > 0) {
                (void) kill(j->pid, SIGKILL);
                (void) waitpid(j->pid, NULL, 0);
        }
        sd_event_source_disable_unref(j->child_source);
        sd_event_source_disable_unref(j->report_source);
        sd_event_source_disable_unref(j->notify_timer);
        sd_event_source_disable_unref(j->kill_timer);
        safe_close(j->report_fd);
        image_copy_done(&j->copy);
        free(j->source);
        free(j->target);
        free(j->destination);
        free(j->object_path);
        free(j);
        return NULL;
}

double job_progress(const Job *j) {
        if (j->state == JOB_DONE)
                return 1.0;
        if (j->bytes_total == 0)
                return 0.0;
        return MIN(1.0, (double) j->bytes_done / (double) j->bytes_total);
}

static int on_notify_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        /* Now, not usec: the interval counts from when the signal really went out. */
        (void) sd_event_now(j->queue->event, CLOCK_MONOTONIC, &j->last_notify);
        j->queue->callbacks.changed(j, j->queue->userdata);
        return 0;
}

/* Tells the D-Bus layer now, or arms a timer for the end of the current interval. */
static void job_notify(Job *j) {
        uint64_t now = 0;

        (void) sd_event_now(j->queue->event, CLOCK_MONOTONIC, &now);
        if (now >= j->last_notify + JOB_NOTIFY_INTERVAL_USEC) {
                j->last_notify = now;
                j->queue->callbacks.changed(j, j->queue->userdata);
                return;
        }
        if (j->notify_timer) {
                int enabled = SD_EVENT_OFF;

                (void) sd_event_source_get_enabled(j->notify_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return;
                if (sd_event_source_set_time(j->notify_timer, j->last_notify + JOB_NOTIFY_INTERVAL_USEC) >= 0 &&
                    sd_event_source_set_enabled(j->notify_timer, SD_EVENT_ONESHOT) >= 0)
                        return;
        } else if (sd_event_add_time(j->queue->event, &j->notify_timer, CLOCK_MONOTONIC,
                                     j->last_notify + JOB_NOTIFY_INTERVAL_USEC, 1, on_notify_timer, j) >= 0)
                return;     /* accuracy 1 µs: sd-event's default would let it slip by 250 ms */
        /* No timer: better one signal too many than a stale property. */
        j->last_notify = now;
        j->queue->callbacks.changed(j, j->queue->userdata);
}

static void job_finish(Job *j, JobState state) {
        JobQueue *q = j->queue;
        uint64_t now = 0;

        if (j->state == JOB_RUNNING)
                q->n_running--;
        j->state = state;
        if (state == JOB_DONE)
                j->bytes_done = j->bytes_total;
        /* The final state is signalled only if the rate allows; JobRemoved carries it anyway. */
        (void) sd_event_now(q->event, CLOCK_MONOTONIC, &now);
        if (now >= j->last_notify + JOB_NOTIFY_INTERVAL_USEC)
                q->callbacks.changed(j, q->userdata);
        q->callbacks.finished(j, q->userdata);
        job_free(j);
        job_start_queued(q);
}

static void job_apply(Job *j, const Report *r) {
        if (r->method >= 0 && r->method < _COPY_METHOD_MAX)
                j->method = r->method;
        if (r->kind == REPORT_PROGRESS) {
                j->bytes_done = r->done;
                j->bytes_total = r->total;
        } else if (r->kind == REPORT_RESULT) {
                j->have_result = true;
                j->error = r->error;
                memcpy(j->message, r->message, sizeof(j->message));
                j->message[sizeof(j->message) - 1] = 0;
        }
}

static int read_reports(Job *j) {
        Report r;

        for (;;) {
                ssize_t k = read(j->report_fd, &r, sizeof(r));

                if (k < 0)
                        return errno == EAGAIN ? 0 : negative_errno();
                if (k == 0)
                        return 1;       /* the worker is gone */
                if ((size_t) k == sizeof(r))
                        job_apply(j, &r);
        }
}

/* Reads what the worker said; the method is signalled at once (it changes once or twice a job). */
static int job_read(Job *j) {
        CopyMethod method = j->method;
        int r;

        r = read_reports(j);
        if (j->method != method)
                j->queue->callbacks.method_changed(j, j->queue->userdata);
        return r;
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;

        if (job_read(j) != 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        job_notify(j);
        return 0;
}

static int on_worker_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Job *j = userdata;

        j->pid = 0;     /* reaped by sd-event */
        (void) job_read(j);
        if (!j->have_result) {
                j->error = j->cancel_requested ? -ECANCELED : -EIO;
                if (j->cancel_requested)
                        snprintf(j->message, sizeof(j->message), "Cancelled");
                else if (si->si_code != CLD_EXITED && si->si_status == SIGBUS)
                        /* The hashing thread reads the source mapped: truncating it under the copy does this. */
                        snprintf(j->message, sizeof(j->message), "The source shrank while it was being copied");
                else if (si->si_code == CLD_EXITED)
                        snprintf(j->message, sizeof(j->message), "The copy worker failed (exit status %i)", si->si_status);
                else
                        snprintf(j->message, sizeof(j->message), "The copy worker was killed by signal %s",
                                 strsignal(si->si_status));
        }
        job_finish(j, j->error == 0 ? JOB_DONE : j->error == -ECANCELED ? JOB_CANCELLED : JOB_FAILED);
        return 0;
}

static int job_start(Job *j) {
        JobQueue *q = j->queue;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        int fds[2], r;
        pid_t parent = getpid(), pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        rfd = fds[0];
        wfd = fds[1];
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                safe_close(rfd);
                worker_run(j, wfd, parent);
        }
        j->pid = pid;
        j->state = JOB_RUNNING;
        q->n_running++;
        /* The worker has what it needs; the daemon keeps no file of the copy open. */
        image_copy_done(&j->copy);

        if (fcntl(rfd, F_SETFL, O_NONBLOCK) < 0)
                return negative_errno();
        r = sd_event_add_io(q->event, &j->report_source, rfd, EPOLLIN, on_report, j);
        if (r < 0)
                return r;
        j->report_fd = TAKE_FD(rfd);
        r = sd_event_add_child(q->event, &j->child_source, pid, WEXITED, on_worker_exit, j);
        if (r < 0)
                return r;
        job_notify(j);
        return 0;
}

void job_queue_run(JobQueue *q) {
        job_start_queued(q);
}

void job_queue_set_max_running(JobQueue *q, unsigned max_running) {
        q->max_running = MAX(max_running, 1U);
        job_start_queued(q);
}

static void job_start_queued(JobQueue *q) {
        while (q->n_running < q->max_running) {
                Job *j, *first = NULL;
                int r;

                HASHMAP_FOREACH(j, q->jobs)
                        if (j->state == JOB_QUEUED && (!first || j->id < first->id))
                                first = j;
                if (!first)
                        return;
                r = job_start(first);
                if (r < 0) {
                        /* The worker, if forked, is killed by job_free(); report the failure. */
                        first->error = r;
                        snprintf(first->message, sizeof(first->message), "Failed to start the copy worker: %s",
                                 strerror(-r));
                        job_finish(first, JOB_FAILED);
                        return;         /* job_finish() started the next ones */
                }
        }
}

int job_submit(JobQueue *q, JobType type, const char *source, const char *target, const char *destination,
               ImageCopy *copy, Job **ret) {
        Job *j;
        int r;

        if (job_queue_busy(q, destination))
                return -EBUSY;
        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        *j = (Job) {
                .id = ++q->last_id,
                .type = type,
                .method = _COPY_METHOD_INVALID,
                .report_fd = -EBADF,
                .source = strdup(source),
                .target = strdup(target),
                .destination = strdup(destination),
                .copy = *copy,
        };
        image_copy_init(copy);          /* ours now */
        snprintf(j->id_string, sizeof(j->id_string), "%u", j->id);
        if (!j->source || !j->target || !j->destination) {
                job_free(j);
                return -ENOMEM;
        }
        r = hashmap_put(q->jobs, j->id_string, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        j->queue = q;
        r = hashmap_put(q->destinations, j->destination, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        if (j->pid > 0)
                (void) kill(j->pid, SIGKILL);
        return 0;
}

int job_cancel(Job *j) {
        if (j->state == JOB_QUEUED) {
                j->error = -ECANCELED;
                snprintf(j->message, sizeof(j->message), "Cancelled");
                job_finish(j, JOB_CANCELLED);
                return 0;
        }
        if (j->state != JOB_RUNNING || j->cancel_requested)
                return 0;
        j->cancel_requested = true;
        if (kill(j->pid, SIGTERM) < 0)
                return negative_errno();
        (void) sd_event_add_time_relative(j->queue->event, &j->kill_timer, CLOCK_MONOTONIC, JOB_KILL_TIMEOUT_USEC, 0,
                                          on_kill_timer, j);
        return 0;
}

Job *job_queue_get(JobQueue *q, uint32_t id) {
        char key[12];

        snprintf(key, sizeof(key), "%u", id);
        return hashmap_get(q->jobs, key);
}

bool job_queue_busy(JobQueue *q, const char *destination) {
        return hashmap_get(q->destinations, destination) != NULL;
}

int job_queue_new(sd_event *event, unsigned max_running, const JobCallbacks *cb, void *userdata, JobQueue **ret) {
        _cleanup_(job_queue_freep) JobQueue *q = NULL;
        sigset_t chld;

        /* sd-event watches children through SIGCHLD, which must be blocked for that. */
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
                return negative_errno();

        q = calloc(1, sizeof(JobQueue));
        if (!q)
                return -ENOMEM;
        q->event = sd_event_ref(event);
        q->max_running = MAX(max_running, 1U);
        q->callbacks = *cb;
        q->userdata = userdata;
        q->jobs = hashmap_new();
        q->destinations = hashmap_new();
        if (!q->jobs || !q->destinations)
                return -ENOMEM;
        *ret = TAKE_PTR(q);
        return 0;
}

JobQueue *job_queue_free(JobQueue *q) {
        Job *j;

        if (!q)
                return NULL;
        HASHMAP_FOREACH(j, q->jobs)
                job_free(j);
        hashmap_free(q->jobs);
        hashmap_free(q->destinations);
        sd_event_unref(q->event);
        free(q);
        return NULL;
}
