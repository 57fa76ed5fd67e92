/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job.c — copy jobs: one exec'd aimd-worker each, watched by sd-event; queue, cancel, rate-limited updates */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "images/image.h"
#include "images/job.h"
#include "util/message.h"
#include "util/string-table.h"
#include "util/utf8.h"

/* A worker that ignores SIGTERM this long after a cancel is killed. */
#define JOB_KILL_TIMEOUT_USEC (10U * 1000 * 1000)
/* A failure text longer than this (bytes) is cut: it is a sentence, not a document. */
#define JOB_MESSAGE_MAX 4096
/* The exit status of a child whose execve() of aimd-worker failed. */
#define EXIT_EXEC_FAILED 127

static const char * const job_type_table[_JOB_TYPE_MAX] = {
        [JOB_IMPORT] = "import",
        [JOB_EXPORT] = "export",
        [JOB_PULL] = "pull",
};

DEFINE_STRING_TABLE_LOOKUP(job_type, JobType);

static const char * const job_state_table[_JOB_STATE_MAX] = {
        [JOB_QUEUED] = "queued",
        [JOB_RUNNING] = "running",
        [JOB_DONE] = "done",
        [JOB_FAILED] = "failed",
        [JOB_CANCELLED] = "cancelled",
};

DEFINE_STRING_TABLE_LOOKUP(job_state, JobState);

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
        sd_event_source_disable_unref(j->channel_source);
        sd_event_source_disable_unref(j->notify_timer);
        sd_event_source_disable_unref(j->kill_timer);
        safe_close(j->channel_fd);
        worker_record_done(&j->request);
        free(j->source_root);
        free(j->target_root);
        free(j->source);
        free(j->target);
        free(j->destination);
        free(j->object_path);
        free(j->message);
        free(j->checksum);
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

/* Sets the failure text: a copy of message (NULL for none) that is valid UTF-8 without control
 * characters, cut on a character boundary, whatever the worker sent: JobRemoved carries it, and
 * sd-bus refuses to send a string that is not UTF-8 (issue 10, D3). */
static void job_set_message(Job *j, const char *message) {
        free(j->message);
        j->message = message ? utf8_sanitize(message, JOB_MESSAGE_MAX) : NULL;
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Takes in what the worker said: a malformed report is -EBADMSG (the worker is not trusted to be
 * well: it parses hostile archives). */
static int job_apply(Job *j, const WorkerRecord *rec) {
        const char *state = worker_record_get(rec, "state"), *method = worker_record_get(rec, "method");
        uint64_t done = 0, total = 0, error = 0;
        JobState s = job_state_from_string(state);

        if (method && copy_method_from_string(method) < 0)
                return -EBADMSG;
        if (s == JOB_RUNNING) {
                if (parse_u64(worker_record_get(rec, "done"), &done) < 0 ||
                    parse_u64(worker_record_get(rec, "total"), &total) < 0)
                        return -EBADMSG;
                j->bytes_done = done;
                j->bytes_total = total;
        } else if (s == JOB_DONE || s == JOB_FAILED || s == JOB_CANCELLED) {
                if (j->have_result)
                        return -EBADMSG;
                if (s != JOB_DONE && (parse_u64(worker_record_get(rec, "error"), &error) < 0 ||
                                      error == 0 || error > 4095))
                        return -EBADMSG;
                j->have_result = true;
                j->error = s == JOB_DONE ? 0 : s == JOB_CANCELLED ? -ECANCELED : -(int) error;
                job_set_message(j, s == JOB_DONE ? NULL : worker_record_get(rec, "message"));
                free(j->checksum);
                j->checksum = s == JOB_DONE && worker_record_get(rec, "checksum") ?
                              strdup(worker_record_get(rec, "checksum")) : NULL;
        } else
                return -EBADMSG;
        if (method)
                j->method = copy_method_from_string(method);
        return 0;
}

/* Reads what the worker said: 1 once it closed its end, 0 for now, negative on failure. */
static int read_reports(Job *j) {
        for (;;) {
                _cleanup_(worker_record_done) WorkerRecord rec = {};
                int r;

                r = worker_record_receive(j->channel_fd, &rec);
                if (r == -EAGAIN)
                        return 0;
                /* Gone with its request unread (an execve() that failed): its exit status says why. */
                if (r == -ECONNRESET)
                        return 1;
                if (r <= 0)
                        return r < 0 ? r : 1;
                r = job_apply(j, &rec);
                if (r < 0)
                        return r;
        }
}

/* Reads what the worker said; the method is signalled at once (it changes once or twice a job). */
static int job_read(Job *j) {
        CopyMethod method = j->method;
        int r;

        r = read_reports(j);
        if (r < 0 && !j->have_result && j->pid > 0) {
                /* A worker that talks nonsense is not one to wait for. */
                (void) kill(j->pid, SIGKILL);
                j->error = r == -EBADMSG ? -EPROTO : r;
                job_set_message(j, r == -EBADMSG ? "The copy worker sent a malformed report" : NULL);
                j->have_result = true;
        }
        if (j->method != method)
                j->queue->callbacks.method_changed(j, j->queue->userdata);
        return r;
}

static int on_channel(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;

        if (job_read(j) != 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        job_notify(j);
        return 0;
}

static int on_worker_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Job *j = userdata;
        _cleanup_free_ char *message = NULL;

        j->pid = 0;     /* reaped by sd-event */
        if (j->channel_source && sd_event_source_get_enabled(j->channel_source, NULL) > 0)
                (void) job_read(j);
        if (!j->have_result) {
                j->error = j->cancel_requested ? -ECANCELED : -EIO;
                if (j->cancel_requested)
                        message = strdup("Cancelled");
                else if (si->si_code == CLD_EXITED && si->si_status == EXIT_EXEC_FAILED &&
                         access(j->queue->worker_path, X_OK) < 0)
                        (void) message_set(&message, 0, "Failed to execute %s: %s",
                                           j->queue->worker_path, strerror(errno));
                else if (si->si_code == CLD_EXITED && si->si_status == EXIT_EXEC_FAILED)
                        (void) message_set(&message, 0, "The copy worker %s could not be executed",
                                           j->queue->worker_path);
                else if (si->si_code == CLD_EXITED)
                        (void) message_set(&message, 0, "The copy worker failed (exit status %i)", si->si_status);
                else
                        (void) message_set(&message, 0, "The copy worker was killed by signal %s",
                                           strsignal(si->si_status));
                job_set_message(j, message);
        }
        job_finish(j, j->error == 0 ? JOB_DONE : j->error == -ECANCELED ? JOB_CANCELLED : JOB_FAILED);
        return 0;
}

extern char **environ;

/* In the child, between fork() and execve(): async-signal-safe calls only (the daemon has
 * threads). fds[i] becomes fd i (-1: closed); everything above is closed. */
static _Noreturn void exec_worker(const char *path, int fds[], int n, pid_t parent) {
        char *argv[] = { (char *) "aimd-worker", NULL };
        sigset_t none;

        /* First out of the way: a dup2() onto a number that another of them still has would close it. */
        for (int i = 0; i < n; i++)
                if (fds[i] >= 0)
                        fds[i] = fcntl(fds[i], F_DUPFD, n);
        for (int i = 0; i < n; i++)
                if (fds[i] < 0)
                        (void) close(i);
                else if (dup2(fds[i], i) < 0)
                        _exit(EXIT_EXEC_FAILED);
        if (syscall(SYS_close_range, (unsigned) n, ~0U, 0) < 0)
                for (int fd = n; fd < 65536; fd++)
                        (void) close(fd);
        /* Die with the daemon: an orphaned copy would publish behind the back of a new daemon. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(EXIT_EXEC_FAILED);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, environ);
        _exit(EXIT_EXEC_FAILED);
}

static int job_start(Job *j, char **reterr_message) {
        JobQueue *q = j->queue;
        _cleanup_close_ int ours = -EBADF, theirs = -EBADF, null = -EBADF, source_fd = -EBADF, dir_fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        int pair[2], r;
        pid_t parent = getpid(), pid;

        /* Opened now, as at submission (the same checks): the job held no fd while it waited. */
        if (j->source_root) {
                r = image_open_source(j->source_root, j->source, j->type == JOB_IMPORT ? "source" : "name",
                                      &source_fd, reterr_message);
                if (r < 0)
                        return r;
        }
        r = image_open_target(j->target_root, j->target, j->type == JOB_EXPORT ? "target" : "name", &dir_fd,
                              &name, reterr_message);
        if (r < 0)
                return r;
        if (!streq_ptr(name, worker_record_get(&j->request, "name")))
                return message_set(reterr_message, -EINVAL, "The target '%s' does not end in the name asked for", j->target);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                return negative_errno();
        ours = pair[0];
        theirs = pair[1];
        /* The request waits in the socket for the worker: it is far smaller than the buffer. */
        r = worker_record_send(ours, &j->request);
        if (r < 0)
                return r;
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return negative_errno();
        /* fd 2 is the daemon's stderr if it has one: a closed 2 would become the worker's next file. */
        int fds[WORKER_FD_MAX + 1] = {
                null, null, fcntl(STDERR_FILENO, F_GETFD) >= 0 ? STDERR_FILENO : null,
                [WORKER_FD_CHANNEL] = theirs, [WORKER_FD_TARGET] = dir_fd, [WORKER_FD_SOURCE] = source_fd,
        };

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0)
                exec_worker(q->worker_path, fds, (int) ELEMENTSOF(fds), parent);
        j->pid = pid;
        j->state = JOB_RUNNING;
        q->n_running++;
        /* The worker has what it needs; the daemon keeps no file of the copy open. */
        worker_record_done(&j->request);

        r = sd_event_add_io(q->event, &j->channel_source, ours, EPOLLIN, on_channel, j);
        if (r < 0)
                return r;
        j->channel_fd = TAKE_FD(ours);
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
                _cleanup_free_ char *message = NULL;

                r = job_start(first, &message);
                if (r < 0) {
                        /* The worker, if forked, is killed by job_free(); report the failure. */
                        first->error = r;
                        if (!message)
                                (void) message_set(&message, r, "Failed to start the copy worker: %s", strerror(-r));
                        job_set_message(first, message);
                        job_finish(first, JOB_FAILED);
                        return;         /* job_finish() started the next ones */
                }
        }
}

int job_submit(JobQueue *q, JobType type, const char *source_root, const char *source, const char *target_root,
               const char *target, const char *destination, WorkerRecord *request, Job **ret) {
        Job *j;
        int r;

        assert_return(q, -EINVAL);
        assert_return(type >= 0 && type < _JOB_TYPE_MAX, -EINVAL);
        assert_return(source && target_root && target && destination && request && ret, -EINVAL);

        if (job_queue_busy(q, destination))
                return -EBUSY;
        if (hashmap_size(q->jobs) - q->n_running >= JOB_QUEUED_MAX)
                return -ENOBUFS;
        r = worker_record_add(request, "type", job_type_to_string(type));
        if (r < 0)
                return r;
        j = calloc(1, sizeof(Job));
        if (!j)
                return -ENOMEM;
        *j = (Job) {
                .id = ++q->last_id,
                .type = type,
                .method = _COPY_METHOD_INVALID,
                .channel_fd = -EBADF,
                .source = strdup(source),
                .target = strdup(target),
                .destination = strdup(destination),
                .request = *request,
                .source_root = source_root ? strdup(source_root) : NULL,
                .target_root = strdup(target_root),
        };
        *request = (WorkerRecord) {};   /* ours now, with the fds */
        snprintf(j->id_string, sizeof(j->id_string), "%u", j->id);
        if (!j->source || !j->target || !j->destination || !j->target_root || (source_root && !j->source_root)) {
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
        assert_return(j, -EINVAL);
        if (j->state == JOB_QUEUED) {
                j->error = -ECANCELED;
                job_set_message(j, "Cancelled");
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

Job *job_queue_busy(JobQueue *q, const char *destination) {
        assert_return(q && destination, NULL);
        return hashmap_get(q->destinations, destination);
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
        q->worker_path = strdup(secure_getenv("AIMD_WORKER") ?: AIMD_WORKER_PATH);
        if (!q->worker_path)
                return -ENOMEM;
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
        free(q->worker_path);
        free(q);
        return NULL;
}
