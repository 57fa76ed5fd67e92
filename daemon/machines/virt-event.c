/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt-event.c — libvirt's event loop implemented on an sd-event loop (virEventRegisterImpl) */
#include <errno.h>
#include <libvirt/libvirt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "shared/log.h"
#include "machines/virt-event.h"

typedef enum WatchKind {
        WATCH_HANDLE,
        WATCH_TIMEOUT,
} WatchKind;

/* One libvirt handle or timeout. Everything but source is guarded by loop.lock; source belongs to
 * the loop's thread alone. */
typedef struct Watch {
        struct Watch *next;
        WatchKind kind;
        int id;
        int fd;                 /* handles */
        int events;             /* handles: VIR_EVENT_HANDLE_*; 0 = disabled */
        int interval_ms;        /* timeouts: -1 disabled, 0 = at once, else period */
        virEventHandleCallback handle_cb;
        virEventTimeoutCallback timeout_cb;
        void *opaque;
        virFreeCallback ff;
        bool dirty;             /* changed since the loop last applied it */
        bool removed;
        sd_event_source *source;
} Watch;

static struct {
        pthread_mutex_t lock;
        sd_event *event;
        pthread_t thread;
        int wake_fd;
        bool wake_pending;
        int next_id;
        Watch *watches;
} loop = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -EBADF };

static uint32_t to_epoll(int events) {
        return (events & VIR_EVENT_HANDLE_READABLE ? EPOLLIN : 0) |
               (events & VIR_EVENT_HANDLE_WRITABLE ? EPOLLOUT : 0);
}

static int from_epoll(uint32_t revents) {
        return (revents & EPOLLIN ? VIR_EVENT_HANDLE_READABLE : 0) |
               (revents & EPOLLOUT ? VIR_EVENT_HANDLE_WRITABLE : 0) |
               (revents & EPOLLERR ? VIR_EVENT_HANDLE_ERROR : 0) |
               (revents & EPOLLHUP ? VIR_EVENT_HANDLE_HANGUP : 0);
}

/* With loop.lock held: makes the loop's thread apply what changed, soon. */
static void wake_locked(Watch *w) {
        uint64_t one = 1;

        w->dirty = true;
        if (loop.wake_pending)
                return;
        loop.wake_pending = true;
        if (write(loop.wake_fd, &one, sizeof(one)) < 0)
                log_debug_errno(negative_errno(), "Failed to wake the event loop: %m");
}

static Watch *find_locked(WatchKind kind, int id) {
        for (Watch *w = loop.watches; w; w = w->next)
                if (w->kind == kind && w->id == id && !w->removed)
                        return w;
        return NULL;
}

static int handle_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *w = userdata;
        virEventHandleCallback cb;
        void *opaque;
        int id;

        /* Copied under the lock, called without it: the callback may well add or remove watches. */
        pthread_mutex_lock(&loop.lock);
        if (w->removed || w->events == 0) {
                pthread_mutex_unlock(&loop.lock);
                return 0;
        }
        cb = w->handle_cb;
        opaque = w->opaque;
        id = w->id;
        pthread_mutex_unlock(&loop.lock);

        cb(id, fd, from_epoll(revents), opaque);
        return 0;
}

static int timeout_arm(Watch *w, int interval_ms) {
        uint64_t now;
        int r;

        if (interval_ms < 0)
                return sd_event_source_set_enabled(w->source, SD_EVENT_OFF);
        r = sd_event_now(loop.event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_source_set_time(w->source, now + (uint64_t) interval_ms * 1000);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(w->source, SD_EVENT_ONESHOT);
}

static int timeout_dispatch(sd_event_source *s, uint64_t usec, void *userdata) {
        Watch *w = userdata;
        virEventTimeoutCallback cb;
        void *opaque;
        int id, r;

        pthread_mutex_lock(&loop.lock);
        if (w->removed || w->interval_ms < 0) {
                pthread_mutex_unlock(&loop.lock);
                return 0;
        }
        cb = w->timeout_cb;
        opaque = w->opaque;
        id = w->id;
        /* Periodic: the next expiry counts from now, as libvirt's own loop does. */
        r = timeout_arm(w, w->interval_ms);
        pthread_mutex_unlock(&loop.lock);
        if (r < 0)
                log_debug_errno(r, "Failed to re-arm libvirt timeout %i: %m", id);

        cb(id, opaque);
        return 0;
}

/* With loop.lock held, in the loop's thread: makes w's sd-event source say what w says. */
static int watch_apply_locked(Watch *w) {
        int r;

        if (w->kind == WATCH_HANDLE) {
                if (!w->source) {
                        r = sd_event_add_io(loop.event, &w->source, w->fd, to_epoll(w->events), handle_dispatch, w);
                        if (r < 0)
                                return r;
                } else if (w->events != 0) {
                        r = sd_event_source_set_io_events(w->source, to_epoll(w->events));
                        if (r < 0)
                                return r;
                }
                return sd_event_source_set_enabled(w->source, w->events != 0 ? SD_EVENT_ON : SD_EVENT_OFF);
        }

        if (!w->source) {
                /* Accuracy 1 µs: with 0, sd-event's default of 250 ms lets it coalesce the wake-up, and
                 * libvirt's "at once" timeout (how its events are flushed) would wait for it. */
                r = sd_event_add_time(loop.event, &w->source, CLOCK_MONOTONIC, UINT64_MAX, 1, timeout_dispatch, w);
                if (r < 0)
                        return r;
        }
        return timeout_arm(w, w->interval_ms);
}

/* In the loop's thread: applies every recorded change, then hands removed watches' data back to
 * libvirt, outside the lock and outside libvirt's own call that removed them (as libvirt asks). */
static int wake_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Watch *freed = NULL;
        uint64_t n;

        (void) read(fd, &n, sizeof(n));

        pthread_mutex_lock(&loop.lock);
        loop.wake_pending = false;
        /* Removals first: a new handle may reuse the fd of one removed in the same round. */
        for (Watch **p = &loop.watches; *p;) {
                Watch *w = *p;

                if (!w->removed) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                w->source = sd_event_source_disable_unref(w->source);
                w->next = freed;
                freed = w;
        }
        for (Watch *w = loop.watches; w; w = w->next) {
                int r;

                if (!w->dirty)
                        continue;
                w->dirty = false;
                r = watch_apply_locked(w);
                if (r < 0)
                        log_error_errno(r, "Failed to apply libvirt %s %i to the event loop: %m",
                                        w->kind == WATCH_HANDLE ? "handle" : "timeout", w->id);
        }
        pthread_mutex_unlock(&loop.lock);

        while (freed) {
                Watch *w = freed;

                freed = w->next;
                if (w->ff)
                        w->ff(w->opaque);
                free(w);
        }
        return 0;
}

static int watch_add(Watch *w) {
        pthread_mutex_lock(&loop.lock);
        w->id = ++loop.next_id;
        w->next = loop.watches;
        loop.watches = w;
        wake_locked(w);
        pthread_mutex_unlock(&loop.lock);
        return w->id;
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque, virFreeCallback ff) {
        Watch *w = calloc(1, sizeof(Watch));

        if (!w)
                return -1;
        *w = (Watch) { .kind = WATCH_HANDLE, .fd = fd, .events = events, .handle_cb = cb, .opaque = opaque, .ff = ff };
        return watch_add(w);
}

static int add_timeout(int interval_ms, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff) {
        Watch *w = calloc(1, sizeof(Watch));

        if (!w)
                return -1;
        *w = (Watch) { .kind = WATCH_TIMEOUT, .interval_ms = interval_ms, .timeout_cb = cb, .opaque = opaque, .ff = ff };
        return watch_add(w);
}

static void update(WatchKind kind, int id, int value) {
        Watch *w;

        pthread_mutex_lock(&loop.lock);
        w = find_locked(kind, id);
        if (w) {
                if (kind == WATCH_HANDLE)
                        w->events = value;
                else
                        w->interval_ms = value;
                wake_locked(w);
        }
        pthread_mutex_unlock(&loop.lock);
}

static int remove_watch(WatchKind kind, int id) {
        Watch *w;

        pthread_mutex_lock(&loop.lock);
        w = find_locked(kind, id);
        if (w) {
                w->removed = true;
                wake_locked(w);
        }
        pthread_mutex_unlock(&loop.lock);
        return w ? 0 : -1;
}

static void update_handle(int id, int events) {
        update(WATCH_HANDLE, id, events);
}

static int remove_handle(int id) {
        return remove_watch(WATCH_HANDLE, id);
}

static void update_timeout(int id, int interval_ms) {
        update(WATCH_TIMEOUT, id, interval_ms);
}

static int remove_timeout(int id) {
        return remove_watch(WATCH_TIMEOUT, id);
}

int virt_event_register(sd_event *e) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (loop.event)
                return -EALREADY;
        fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        /* Before libvirt's own sources: what libvirt changed is applied before anything is dispatched. */
        r = sd_event_add_io(e, NULL, fd, EPOLLIN, wake_dispatch, NULL);
        if (r < 0)
                return r;
        loop.event = sd_event_ref(e);
        loop.thread = pthread_self();
        loop.wake_fd = TAKE_FD(fd);
        virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timeout, update_timeout, remove_timeout);
        return 0;
}
