/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker.c — every event of this node appended to a Redis stream, at least once and in order
 *
 * hiredis's asynchronous context runs on the sd-event loop through the adapter below (hiredis 0.14
 * has none for sd-event); the loop never waits for Redis: host names are resolved in a thread,
 * connecting is non-blocking, and what is in flight is bounded. Events wait in the outbox until Redis
 * acknowledged them; a lost connection sends what was in flight again, in order, after a backoff. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/outbox.h"
#include "broker/seq.h"
#include "shared/log.h"
#include "util/message.h"
#include "util/strv.h"
#include "util/time-util.h"

#define BACKOFF_MIN_USEC (250 * 1000ULL)
#define BACKOFF_MAX_USEC (8 * 1000 * 1000ULL)
#define CONNECT_TIMEOUT_USEC (10 * 1000 * 1000ULL)
/* XADDs sent and not yet answered: bounds hiredis's buffers while Redis is slow or paused. */
#define MAX_IN_FLIGHT 1024
#define PASSWORD_MAX 4096

typedef struct Resolve Resolve;

struct Broker {
        sd_event *event;
        char *host;             /* a name, an address, or an absolute socket path */
        unsigned port;
        char *address;          /* what Address shows: host:port or the path */
        char *user, *password_file, *stream, *node;
        char max_len[16];

        Outbox outbox;
        SeqStore seq;
        int seq_error;          /* the last reservation failure reported */

        redisAsyncContext *redis;       /* NULL: not connected, nor connecting */
        sd_event_source *io;            /* redis's fd, events as hiredis asks for them */
        uint32_t io_events;
        sd_event_source *retry, *timeout;
        Resolve *resolve;               /* a host-name lookup under way */
        sd_event_source *resolve_io;
        uint64_t backoff;
        bool ready;                     /* connected (and authenticated): XADDs go out */

        uint64_t published;
        char *last_error;
        bool warned_drop;               /* this outage's backlog overflow was logged */

        void (*on_connected)(Broker *b, void *userdata);
        void *userdata;
};

static void broker_connect(Broker *b);
static void broker_pump(Broker *b);

/* ---- errors and state ---- */

/* Sets LastError and logs it; the same failure again (every retry) is logged at debug only. */
static void broker_fail(Broker *b, const char *format, ...) _printf_(2, 3);
static void broker_fail(Broker *b, const char *format, ...) {
        _cleanup_free_ char *what = NULL;

        if (VA_FORMAT_ALLOC(&what, format) < 0)
                return (void) log_oom();
        if (streq_ptr(what, b->last_error))
                log_debug("Redis at %s: %s (again); retrying.", b->address, what);
        else
                log_error("Redis at %s: %s; retrying with backoff.", b->address, what);
        free(b->last_error);
        b->last_error = TAKE_PTR(what);
}

static void broker_set_ready(Broker *b, bool ready) {
        if (b->ready == ready)
                return;
        b->ready = ready;
        if (b->on_connected)
                b->on_connected(b, b->userdata);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Broker *b = userdata;

        b->retry = sd_event_source_disable_unref(b->retry);
        broker_connect(b);
        return 0;
}

static void broker_schedule_retry(Broker *b) {
        int r;

        if (b->retry)
                return;
        r = sd_event_add_time_relative(b->event, &b->retry, CLOCK_MONOTONIC, b->backoff, 0, on_retry, b);
        if (r < 0)
                log_error_errno(r, "Failed to schedule reconnecting to Redis: %m");
        b->backoff = MIN(b->backoff * 2, BACKOFF_MAX_USEC);
}

static void resolve_cancel(Broker *b);

/* Gives up the connection (or the attempt) and schedules the next. Safe inside hiredis's callbacks:
 * there redisAsyncFree() only marks the context, hiredis frees it when the callback returns. */
static void broker_disconnect(Broker *b) {
        redisAsyncContext *c = TAKE_PTR(b->redis);

        resolve_cancel(b);
        b->timeout = sd_event_source_disable_unref(b->timeout);
        outbox_rewind(&b->outbox);
        if (c)
                redisAsyncFree(c);      /* its pending callbacks see a NULL reply and b->redis != c */
        broker_set_ready(b, false);
        broker_schedule_retry(b);
}

/* ---- the sd-event adapter for redisAsyncContext ---- */

static void ev_update(Broker *b, uint32_t events) {
        /* hiredis asks for write interest with every command: only a change reaches sd-event. */
        if (events == b->io_events)
                return;
        b->io_events = events;
        if (!b->io)
                return;
        if (b->io_events != 0)
                (void) sd_event_source_set_io_events(b->io, b->io_events);
        (void) sd_event_source_set_enabled(b->io, b->io_events != 0 ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void ev_add_read(void *privdata) {
        Broker *b = privdata;

        ev_update(b, b->io_events | EPOLLIN);
}

static void ev_del_read(void *privdata) {
        Broker *b = privdata;

        ev_update(b, b->io_events & ~EPOLLIN);
}

static void ev_add_write(void *privdata) {
        Broker *b = privdata;

        ev_update(b, b->io_events | EPOLLOUT);
}

static void ev_del_write(void *privdata) {
        Broker *b = privdata;

        ev_update(b, b->io_events & ~(uint32_t) EPOLLOUT);
}

static void ev_cleanup(void *privdata) {
        Broker *b = privdata;

        b->io = sd_event_source_disable_unref(b->io);
        b->io_events = 0;
}

static int on_redis_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Broker *b = userdata;
        redisAsyncContext *c = b->redis;

        /* Either call may end the context (cleanup runs): check it is still ours before the next. */
        if (c && revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                redisAsyncHandleRead(c);
        if (c && b->redis == c && revents & EPOLLOUT)
                redisAsyncHandleWrite(c);
        return 0;
}

static int ev_attach(Broker *b, redisAsyncContext *c) {
        int r;

        r = sd_event_add_io(b->event, &b->io, c->c.fd, EPOLLOUT, on_redis_io, b);
        if (r < 0)
                return r;
        /* Writable means connected (or failed): hiredis finishes the non-blocking connect there. */
        b->io_events = EPOLLOUT;
        c->ev = (__typeof__(c->ev)) {
                .data = b,
                .addRead = ev_add_read,
                .delRead = ev_del_read,
                .addWrite = ev_add_write,
                .delWrite = ev_del_write,
                .cleanup = ev_cleanup,
        };
        return 0;
}

/* ---- replies ---- */

static void on_xadd_reply(redisAsyncContext *c, void *reply, void *privdata) {
        Broker *b = privdata;
        redisReply *rep = reply;

        if (!rep || b->redis != c)
                return;         /* a connection given up: its entries go out again */
        if (rep->type == REDIS_REPLY_ERROR) {
                /* NOPERM, WRONGTYPE, OOM…: the event stays, and so does the order behind it. */
                broker_fail(b, "XADD to '%s' refused: %s", b->stream, rep->str);
                return broker_disconnect(b);
        }
        if (outbox_ack(&b->outbox) < 0)
                return;
        b->published++;
        broker_pump(b);
}

static void broker_became_ready(Broker *b) {
        b->timeout = sd_event_source_disable_unref(b->timeout);
        b->backoff = BACKOFF_MIN_USEC;
        b->warned_drop = false;
        free(b->last_error);
        b->last_error = NULL;
        log_info("Connected to Redis at %s: publishing to stream '%s' as node '%s' (%zu event(s) waiting).",
                 b->address, b->stream, b->node, b->outbox.n);
        broker_set_ready(b, true);
        broker_pump(b);
}

static void on_auth_reply(redisAsyncContext *c, void *reply, void *privdata) {
        Broker *b = privdata;
        redisReply *rep = reply;

        if (!rep || b->redis != c)
                return;
        if (rep->type == REDIS_REPLY_ERROR) {
                broker_fail(b, "authentication%s%s refused: %s", b->user ? " as " : "", strempty(b->user), rep->str);
                return broker_disconnect(b);
        }
        broker_became_ready(b);
}

static void on_connect(const redisAsyncContext *c, int status) {
        Broker *b = c->ev.data;

        if (b->redis != c)
                return;
        if (status != REDIS_OK) {
                /* hiredis frees the context after this callback. */
                b->redis = NULL;
                broker_fail(b, "cannot connect: %s", c->errstr);
                return broker_disconnect(b);
        }
        /* A peer that vanishes without a word (a partition, a dead host) is noticed, not waited for. */
        if (b->host[0] != '/')
                (void) redisEnableKeepAlive((redisContext *) &c->c);
        if (!b->password_file)
                broker_became_ready(b);
        /* else the AUTH sent with the connect answers. */
}

static void on_disconnect(const redisAsyncContext *c, int status) {
        Broker *b = c->ev.data;

        if (b->redis != c)
                return;         /* we gave it up ourselves */
        b->redis = NULL;        /* hiredis frees it */
        broker_fail(b, "connection lost: %s", status == REDIS_OK ? "closed by the server" : c->errstr);
        broker_disconnect(b);
}

/* ---- sending ---- */

static int broker_send(Broker *b, const OutboxEntry *e) {
        const char * const *fields = event_kind_fields(e->kind);
        const char *argv[32];
        char seq[24], time[24];
        size_t argc = 0;
        const char *v = e->values;

        snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
        snprintf(time, sizeof(time), "%" PRIu64, e->time_usec);
        argv[argc++] = "XADD";
        argv[argc++] = b->stream;
        argv[argc++] = "MAXLEN";
        argv[argc++] = "~";
        argv[argc++] = b->max_len;
        argv[argc++] = "*";
        argv[argc++] = "node";
        argv[argc++] = b->node;
        argv[argc++] = "seq";
        argv[argc++] = seq;
        argv[argc++] = "time";
        argv[argc++] = time;
        argv[argc++] = "kind";
        argv[argc++] = event_kind_to_string(e->kind);
        for (size_t i = 0; fields[i] && argc + 2 <= ELEMENTSOF(argv); i++) {
                argv[argc++] = fields[i];
                argv[argc++] = v;
                v += strlen(v) + 1;
        }
        /* hiredis copies the arguments into its output buffer: the entry may go before the reply. */
        return redisAsyncCommandArgv(b->redis, on_xadd_reply, b, (int) argc, argv, NULL) == REDIS_OK ? 0 : -ENOMEM;
}

static void broker_pump(Broker *b) {
        OutboxEntry *e;

        while (b->ready && b->redis && b->outbox.n_in_flight < MAX_IN_FLIGHT && (e = outbox_next_unsent(&b->outbox))) {
                if (broker_send(b, e) < 0) {
                        broker_fail(b, "cannot queue XADD: %s", b->redis->errstr[0] ? b->redis->errstr : "out of memory");
                        return broker_disconnect(b);
                }
                outbox_mark_sent(&b->outbox);
        }
}

/* ---- connecting ---- */

static int read_password(const char *path, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        buf = malloc(PASSWORD_MAX + 1);
        if (!buf)
                return -ENOMEM;
        n = read(fd, buf, PASSWORD_MAX + 1);
        if (n < 0)
                return negative_errno();
        if (n > PASSWORD_MAX)
                return -EFBIG;
        buf[n] = 0;
        buf[strcspn(buf, "\r\n")] = 0;  /* the file's one line, as "echo pw > file" writes it */
        *ret = TAKE_PTR(buf);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Broker *b = userdata;

        b->timeout = sd_event_source_disable_unref(b->timeout);
        broker_fail(b, "%s timed out", b->resolve ? "resolving the host name" : "connecting");
        broker_disconnect(b);
        return 0;
}

static void broker_connect_to(Broker *b, const char *address) {
        _cleanup_free_ char *password = NULL;
        redisAsyncContext *c;
        int r;

        if (b->password_file) {
                r = read_password(b->password_file, &password);
                if (r < 0) {
                        broker_fail(b, "cannot read the password file %s: %s", b->password_file, strerror(-r));
                        return broker_disconnect(b);
                }
        }

        c = b->host[0] == '/' ? redisAsyncConnectUnix(b->host) : redisAsyncConnect(address, (int) b->port);
        if (!c) {
                (void) log_oom();
                return broker_disconnect(b);
        }
        if (c->err) {
                broker_fail(b, "cannot connect: %s", c->errstr);
                redisAsyncFree(c);
                return broker_disconnect(b);
        }
        r = ev_attach(b, c);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the Redis connection: %m");
                redisAsyncFree(c);
                return broker_disconnect(b);
        }
        b->redis = c;
        (void) redisAsyncSetConnectCallback(c, on_connect);
        (void) redisAsyncSetDisconnectCallback(c, on_disconnect);
        if (password) {
                /* Queued before the connect completes: the first thing Redis reads. */
                const char *argv[] = { "AUTH", b->user ?: password, password };

                if (redisAsyncCommandArgv(c, on_auth_reply, b, b->user ? 3 : 2, argv, NULL) != REDIS_OK) {
                        broker_fail(b, "cannot queue AUTH: %s", c->errstr);
                        return broker_disconnect(b);
                }
                explicit_bzero(password, strlen(password));
        }
}

/* The host-name lookup: getaddrinfo() blocks, so it runs in a thread of its own, which hands the first
 * address back through an eventfd. Whoever lets go last (the thread, or the broker giving up) frees it. */
struct Resolve {
        unsigned refs;
        int fd;
        char *host;
        int error;              /* EAI_* */
        int sys_errno;          /* for EAI_SYSTEM */
        char address[INET6_ADDRSTRLEN];
};

static void resolve_unref(Resolve *r) {
        if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        safe_close(r->fd);
        free(r->host);
        free(r);
}

static void *resolve_thread(void *userdata) {
        Resolve *r = userdata;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai = NULL;
        uint64_t one = 1;

        r->error = getaddrinfo(r->host, NULL, &hints, &ai);
        r->sys_errno = errno;
        if (r->error == 0) {
                const void *a = ai->ai_family == AF_INET6 ? (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr
                                                           : (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr;

                if (!inet_ntop(ai->ai_family, a, r->address, sizeof(r->address)))
                        r->error = EAI_FAMILY;
                freeaddrinfo(ai);
        }
        (void) write(r->fd, &one, sizeof(one));
        resolve_unref(r);
        return NULL;
}

static void resolve_cancel(Broker *b) {
        b->resolve_io = sd_event_source_disable_unref(b->resolve_io);
        resolve_unref(TAKE_PTR(b->resolve));
}

static int on_resolved(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Broker *b = userdata;
        Resolve *r = TAKE_PTR(b->resolve);

        b->resolve_io = sd_event_source_disable_unref(b->resolve_io);
        if (r->error != 0) {
                broker_fail(b, "cannot resolve '%s': %s", b->host,
                            r->error == EAI_SYSTEM ? strerror(r->sys_errno) : gai_strerror(r->error));
                broker_disconnect(b);
        } else
                broker_connect_to(b, r->address);
        resolve_unref(r);
        return 0;
}

static int resolve_start(Broker *b) {
        Resolve *r;
        pthread_attr_t attr;
        pthread_t thread;
        int k;

        r = calloc(1, sizeof(Resolve));
        if (!r)
                return -ENOMEM;
        *r = (Resolve) { .refs = 2, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .host = strdup(b->host) };
        if (r->fd < 0 || !r->host) {
                r->refs = 1;
                resolve_unref(r);
                return -ENOMEM;
        }
        k = sd_event_add_io(b->event, &b->resolve_io, r->fd, EPOLLIN, on_resolved, b);
        if (k < 0) {
                r->refs = 1;
                resolve_unref(r);
                return k;
        }
        b->resolve = r;
        k = pthread_attr_init(&attr);
        if (k == 0)
                k = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (k == 0)
                k = pthread_create(&thread, &attr, resolve_thread, r);
        (void) pthread_attr_destroy(&attr);
        if (k != 0) {
                resolve_unref(r);       /* the thread's reference, never taken */
                resolve_cancel(b);
                return -k;
        }
        return 0;
}

static bool is_address(const char *host) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void broker_connect(Broker *b) {
        int r;

        assert(!b->redis && !b->resolve);

        r = sd_event_add_time_relative(b->event, &b->timeout, CLOCK_MONOTONIC, CONNECT_TIMEOUT_USEC, 0, on_timeout, b);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the Redis connect timeout: %m");
        if (b->host[0] == '/' || is_address(b->host))
                return broker_connect_to(b, b->host);
        r = resolve_start(b);
        if (r < 0) {
                broker_fail(b, "cannot start resolving '%s': %s", b->host, strerror(-r));
                broker_disconnect(b);
        }
}

/* ---- publishing ---- */

static void broker_publish(Broker *b, EventKind kind, const char * const *values) {
        OutboxEntry *e;
        uint64_t seq;
        int r;

        seq = seq_store_take(&b->seq);
        if (b->seq.error != b->seq_error) {
                b->seq_error = b->seq.error;
                if (b->seq_error < 0)
                        log_warning_errno(b->seq_error, "Cannot record the event numbers ahead in %s: %m; "
                                          "after a restart they may repeat.", SEQ_FILE);
        }
        r = outbox_entry_new(kind, seq, now_usec(CLOCK_REALTIME), values, &e);
        if (r < 0) {
                b->outbox.dropped++;
                return (void) log_oom();
        }
        if (outbox_push(&b->outbox, e) > 0 && !b->warned_drop) {
                b->warned_drop = true;
                log_warning("Redis at %s: %zu events are waiting, the most redisBacklog keeps: dropping the oldest "
                            "(Broker.Dropped counts them).", b->address, b->outbox.limit);
        }
        broker_pump(b);
}

void broker_publish_machine(Broker *b, const char *event, const char *detail, const char *uuid, const char *name) {
        if (!b)
                return;
        broker_publish(b, EVENT_MACHINE, (const char *[]) { event, detail, uuid, name });
}

void broker_publish_job(Broker *b, uint32_t id, const char *type, const char *result, const char *message,
                        const char *source, const char *target) {
        char n[12];

        if (!b)
                return;
        snprintf(n, sizeof(n), "%" PRIu32, id);
        broker_publish(b, EVENT_JOB, (const char *[]) { n, type, result, message, source, target });
}

void broker_publish_vlan(Broker *b, const char *event, const char *interface, const char *parent, uint16_t tag,
                         const char *bridge, const char *operstate) {
        char t[8];

        if (!b)
                return;
        snprintf(t, sizeof(t), "%u", tag);
        broker_publish(b, EVENT_VLAN, (const char *[]) { event, interface, parent, t, bridge, operstate });
}

/* ---- life ---- */

int broker_new(sd_event *event, const Config *c, Broker **ret) {
        _cleanup_(broker_freep) Broker *b = NULL;
        _cleanup_free_ char *why = NULL;
        char hostname[HOST_NAME_MAX + 1] = {};
        int r;

        assert_return(event, -EINVAL);
        assert_return(c && c->redis_host, -EINVAL);
        assert_return(ret, -EINVAL);

        b = calloc(1, sizeof(Broker));
        if (!b)
                return -ENOMEM;
        b->event = sd_event_ref(event);
        b->seq.dir_fd = -EBADF;
        b->backoff = BACKOFF_MIN_USEC;
        outbox_init(&b->outbox, c->redis_backlog);
        snprintf(b->max_len, sizeof(b->max_len), "%u", c->redis_max_len);
        if (!c->node_name && gethostname(hostname, sizeof(hostname) - 1) < 0)
                return negative_errno();
        b->host = strdup(c->redis_host);
        b->stream = strdup(c->redis_stream);
        b->node = strdup(c->node_name ?: hostname);
        if (!b->host || !b->stream || !b->node)
                return -ENOMEM;
        if (c->redis_user && !(b->user = strdup(c->redis_user)))
                return -ENOMEM;
        if (c->redis_password_file && !(b->password_file = strdup(c->redis_password_file)))
                return -ENOMEM;
        r = b->host[0] == '/' ? asprintf(&b->address, "%s", b->host)
                              : asprintf(&b->address, strchr(b->host, ':') ? "[%s]:%u" : "%s:%u", b->host, c->redis_port);
        if (r < 0)
                return -ENOMEM;
        b->port = c->redis_port;

        r = seq_store_open(&b->seq, c->state_dir, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* Publishing goes on; only the numbering across restarts is at risk, and that is said. */
                log_warning("%s: event numbers start at 1 again after every restart.", why);
                b->seq = (SeqStore) { .dir_fd = -EBADF, .next = 1 };
        }
        if (b->seq.dir_fd >= 0) {
                /* What the last clean stop could not deliver goes first, with its own seq. */
                why = mfree(why);
                r = outbox_load(&b->outbox, b->seq.dir_fd, OUTBOX_FILE, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        log_warning("%s/%s: %s; its events are skipped.", c->state_dir, OUTBOX_FILE, why);
                else if (r > 0) {
                        log_info("%d event(s) the last stop left for Redis wait again (seq %" PRIu64 "…%" PRIu64 ").",
                                 r, b->outbox.head->seq, b->outbox.tail->seq);
                        b->seq.next = MAX(b->seq.next, b->outbox.tail->seq + 1);
                }
        }

        broker_connect(b);
        *ret = TAKE_PTR(b);
        return 0;
}

Broker *broker_free(Broker *b) {
        int r;

        if (!b)
                return NULL;
        resolve_cancel(b);
        if (b->redis)
                redisAsyncFree(TAKE_PTR(b->redis));
        sd_event_source_disable_unref(b->io);
        sd_event_source_disable_unref(b->retry);
        sd_event_source_disable_unref(b->timeout);
        if (b->outbox.n > 0) {
                r = b->seq.dir_fd >= 0 ? outbox_save(&b->outbox, b->seq.dir_fd, OUTBOX_FILE) : -EBADF;
                if (r < 0)
                        log_warning_errno(r, "%zu event(s) not yet stored by Redis are lost (seq %" PRIu64 "…%" PRIu64 "): "
                                          "cannot keep them in %s: %m", b->outbox.n, b->outbox.head->seq,
                                          b->outbox.tail->seq, OUTBOX_FILE);
                else
                        log_info("%zu event(s) not yet stored by Redis are kept in %s for the next start.",
                                 b->outbox.n, OUTBOX_FILE);
        }
        outbox_done(&b->outbox);
        r = seq_store_close(&b->seq);
        if (r < 0)
                log_warning_errno(r, "Failed to record the last event number in %s: %m", SEQ_FILE);
        sd_event_unref(b->event);
        free(b->host);
        free(b->address);
        free(b->user);
        free(b->password_file);
        free(b->stream);
        free(b->node);
        free(b->last_error);
        free(b);
        return NULL;
}

void broker_set_on_connected(Broker *b, void (*cb)(Broker *b, void *userdata), void *userdata) {
        b->on_connected = cb;
        b->userdata = userdata;
}

const char *broker_address(const Broker *b) {
        return b ? b->address : "";
}

bool broker_connected(const Broker *b) {
        return b && b->ready;
}

uint32_t broker_backlog(const Broker *b) {
        return b ? (uint32_t) MIN(b->outbox.n, (size_t) UINT32_MAX) : 0;
}

uint64_t broker_published(const Broker *b) {
        return b ? b->published : 0;
}

uint64_t broker_dropped(const Broker *b) {
        return b ? b->outbox.dropped : 0;
}

const char *broker_last_error(const Broker *b) {
        return b ? strempty(b->last_error) : "";
}

size_t broker_backlog_bytes(const Broker *b) {
        size_t n = 0;

        /* malloc's own word of bookkeeping per chunk counts too. */
        for (const OutboxEntry *e = b->outbox.head; e; e = e->next)
                n += malloc_usable_size((void *) e) + sizeof(size_t);
        return n;
}
