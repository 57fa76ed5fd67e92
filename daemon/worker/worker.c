/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* worker.c — aimd-worker: one copy job (import, export, pull) in a process of its own, exec'd by aimd
 *
 * The daemon parses no untrusted image bytes itself: each job runs here, with only the fds of
 * worker/protocol.h, confined (worker/sandbox.h), reporting over its channel. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "images/image.h"
#include "images/pull.h"
#include "shared/log.h"
#include "util/message.h"
#include "util/valid.h"
#include "worker/protocol.h"
#include "worker/sandbox.h"

/* Progress is reported at most this often; the daemon rate-limits its signals on top. */
#define REPORT_INTERVAL_NSEC (50U * 1000 * 1000)

static volatile sig_atomic_t cancelled = 0;

static void on_sigterm(int sig) {
        cancelled = 1;
}

/* Signals as a fresh process has them (the daemon's mask and ignored signals are inherited
 * through exec), and SIGTERM as the cancel request. */
static int setup_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t none;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        sa.sa_handler = on_sigterm;
        sa.sa_flags = SA_RESTART;
        if (sigaction(SIGTERM, &sa, NULL) < 0)
                return negative_errno();
        sigemptyset(&none);
        return sigprocmask(SIG_SETMASK, &none, NULL) < 0 ? negative_errno() : 0;
}

typedef struct Progress {
        struct timespec last;
} Progress;

static int on_progress(uint64_t done, uint64_t total, CopyMethod method, void *userdata) {
        _cleanup_(worker_record_done) WorkerRecord p = {};
        Progress *progress = userdata;
        struct timespec now;
        int r;

        if (cancelled)
                return -ECANCELED;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((done < total || total == 0) && (now.tv_sec - progress->last.tv_sec) * 1000000000LL +
                            (now.tv_nsec - progress->last.tv_nsec) < (long long) REPORT_INTERVAL_NSEC)
                return 0;
        progress->last = now;
        r = worker_record_add(&p, "state", "running");
        if (r >= 0)
                r = worker_record_addf(&p, "done", "%" PRIu64, done);
        if (r >= 0)
                r = worker_record_addf(&p, "total", "%" PRIu64, total);
        if (r >= 0 && method >= 0)
                r = worker_record_add(&p, "method", copy_method_to_string(method));
        if (r >= 0)
                r = worker_record_send(WORKER_FD_CHANNEL, &p);
        /* The daemon gone (-EPIPE): stop; it would never publish what we finish. */
        return r == -EPIPE ? -ECANCELED : 0;
}

/* What a pull needs beyond an ImageCopy. */
typedef struct PullRequest {
        bool pull;
        char *url;
        Checksum download_checksum;
        uint64_t max_size;
        char *ca_file;
        unsigned stall_seconds;
} PullRequest;

static void pull_request_done(PullRequest *p) {
        free(p->url);
        free(p->ca_file);
}

typedef struct Request {
        ImageCopy *copy;
        PullRequest *pull;
        const char *bad_key;
} Request;

static int parse_u64(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The keys only a pull has. */
static int pull_field(PullRequest *p, const char *key, const char *value) {
        uint64_t u = 0;
        int r;

        if (streq(key, "url")) {
                if (!http_url_is_valid(value))
                        return -EINVAL;
                free(p->url);
                p->url = strdup(value);
                return p->url ? 0 : -ENOMEM;
        }
        if (streq(key, "download_checksum"))
                return checksum_parse(value, &p->download_checksum);
        if (streq(key, "max_size"))
                return parse_u64(value, UINT64_MAX, &p->max_size);
        if (streq(key, "ca_file")) {
                if (value[0] != '/')
                        return -EINVAL;
                free(p->ca_file);
                p->ca_file = strdup(value);
                return p->ca_file ? 0 : -ENOMEM;
        }
        if (streq(key, "stall_seconds")) {
                r = parse_u64(value, 3600, &u);
                p->stall_seconds = (unsigned) u;
                return r < 0 || u == 0 ? -EINVAL : 0;
        }
        return -EPROTO;
}

static int parse_bool(const char *s) {
        if (streq(s, "yes"))
                return true;
        if (streq(s, "no"))
                return false;
        return -EINVAL;
}

static int request_field(const char *key, const char *value, void *userdata) {
        Request *q = userdata;
        ImageCopy *c = q->copy;
        int r = 0;

        q->bad_key = key;
        if (streq(key, "type")) {
                r = streq(value, "import") || streq(value, "export") || streq(value, "pull") ? 0 : -EOPNOTSUPP;
                q->pull->pull = streq(value, "pull");
        } else if (streq(key, "name")) {
                if (!image_name_is_valid(value))
                        return -EINVAL;
                free(c->name);
                c->name = strdup(value);
                r = c->name ? 0 : -ENOMEM;
        } else if (streq(key, "overwrite")) {
                r = parse_bool(value);
                c->overwrite = r > 0;
        } else if (streq(key, "decompress")) {
                r = streq(value, "auto") || streq(value, "none") ? 0 : -EINVAL;
                c->decompress = streq(value, "auto");
        } else if (streq(key, "member")) {
                if (!relative_path_is_valid(value))
                        return -EINVAL;
                free(c->member);
                c->member = strdup(value);
                r = c->member ? 0 : -ENOMEM;
        } else if (streq(key, "checksum"))
                r = checksum_parse(value, &c->checksum);
        else if (streq(key, "sync")) {
                r = parse_bool(value);
                c->sync = r > 0;
        } else
                r = pull_field(q->pull, key, value);
        if (r >= 0)
                q->bad_key = NULL;
        return r < 0 ? r : 0;
}

/* Reads the request and fills in c; the fds of protocol.h are c's from here on. */
static int read_request(ImageCopy *c, PullRequest *pull, char **reterr_message) {
        _cleanup_(worker_record_done) WorkerRecord req = {};
        Request q = { .copy = c, .pull = pull };
        int r;

        r = worker_record_receive(WORKER_FD_CHANNEL, &req);
        if (r <= 0)
                return message_set(reterr_message, r < 0 ? r : -EBADMSG, "The copy worker got no valid request");
        r = worker_record_foreach(&req, request_field, &q);
        if (r == -EPROTO)
                return message_set(reterr_message, r, "The copy worker does not know the request key '%s'", q.bad_key);
        if (r < 0 && q.bad_key)
                return message_set(reterr_message, r, "The copy worker cannot do '%s=%s'", q.bad_key,
                                   worker_record_get(&req, q.bad_key));
        if (r < 0)
                return message_set(reterr_message, r, "The copy worker cannot read its request: %s", strerror(-r));
        if (!worker_record_get(&req, "type") || !c->name)
                return message_set(reterr_message, -EBADMSG, "The copy worker's request lacks its type or name");
        if (pull->pull != !!pull->url)
                return message_set(reterr_message, -EBADMSG, "The copy worker's request has a url only if it is a pull");
        c->dir_fd = WORKER_FD_TARGET;
        c->source_fd = WORKER_FD_SOURCE;
        return 0;
}

static int on_pull_progress(uint64_t done, uint64_t total, void *userdata) {
        return on_progress(done, total, COPY_METHOD_HTTP, userdata);
}

static int pull_data(ImageCopy *c, const PullRequest *q, CopyMethod *ret_method, char **reterr_message) {
        _cleanup_(pull_freep) Pull *p = NULL;
        PullOptions o = {
                .ca_file = q->ca_file,
                .stall_seconds = q->stall_seconds,
                .backoff_msec = 250,
                .progress = on_pull_progress,
                .userdata = c->copy.userdata,
        };
        int r;

        r = pull_new(q->url, &o, &p);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to set up the download: %s", strerror(-r));
        *ret_method = COPY_METHOD_HTTP;
        r = pull_image_data(c, p, &q->download_checksum, q->max_size, reterr_message);
        /* The last figures: BytesDone is the bytes received, BytesTotal the Content-Length. */
        (void) on_progress(pull_done(p), pull_size(p), COPY_METHOD_HTTP, c->copy.userdata);
        return r;
}

static int run(ImageCopy *c, const PullRequest *pull, CopyMethod *ret_method, char **reterr_message) {
        sigset_t term;
        int r;

        r = pull->pull ? pull_data(c, pull, ret_method, reterr_message) : image_copy_data(c, ret_method, reterr_message);
        if (r < 0)
                return r;
        /* A cancel either comes before the image is published or not at all. */
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        (void) sigprocmask(SIG_BLOCK, &term, NULL);
        if (cancelled)
                return -ECANCELED;
        return image_copy_publish(c, reterr_message);
}

static int send_result(int error, CopyMethod method, const Checksum *checksum, const char *message) {
        _cleanup_(worker_record_done) WorkerRecord res = {};
        char digest[2 * CHECKSUM_MAX_SIZE + 16];
        int r;

        r = worker_record_add(&res, "state", error == 0 ? "done" : error == -ECANCELED ? "cancelled" : "failed");
        if (r >= 0 && method >= 0)
                r = worker_record_add(&res, "method", copy_method_to_string(method));
        if (r >= 0 && error < 0)
                r = worker_record_addf(&res, "error", "%i", -error);
        if (r >= 0 && error == 0 && checksum->size > 0) {
                checksum_format(checksum, digest, sizeof(digest));
                r = worker_record_add(&res, "checksum", digest);
        }
        if (r >= 0 && error < 0)
                /* At most the record's room: a message that long is cut by the daemon anyway. */
                r = worker_record_add(&res, "message", message ?: strerror(-error));
        if (r == -E2BIG || r == -EINVAL)
                r = worker_record_add(&res, "message", strerror(-error));
        if (r >= 0)
                r = worker_record_send(WORKER_FD_CHANNEL, &res);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(image_copy_done) ImageCopy c;
        _cleanup_(pull_request_done) PullRequest pull = {};
        _cleanup_free_ char *message = NULL;
        CopyMethod method = _COPY_METHOD_INVALID;
        Progress progress = {};
        Checksum digest;
        int r;

        image_copy_init(&c);
        if (argc != 1) {
                log_error("aimd-worker takes no arguments: aimd starts it with its request on fd %i.",
                          WORKER_FD_CHANNEL);
                return EXIT_FAILURE;
        }
        r = setup_signals();
        if (r >= 0)
                r = read_request(&c, &pull, &message);
        if (r >= 0)
                r = sandbox_enter(pull.pull, &message);
        if (r >= 0) {
                c.copy.progress = on_progress;
                c.copy.userdata = &progress;
                r = run(&c, &pull, &method, &message);
        }
        if (r == -ECANCELED) {
                free(message);
                message = strdup("Cancelled");
        }
        digest = c.digest;
        image_copy_done(&c);            /* the invisible file goes before the daemon hears of the end */
        if (send_result(r < 0 ? r : 0, method, &digest, message) < 0)
                log_error("aimd-worker: failed to report the end of the job.");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
