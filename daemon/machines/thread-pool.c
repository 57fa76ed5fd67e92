/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* thread-pool.c — a few threads for calls that may block, reporting back to the sd-event loop */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "shared/log.h"
#include "machines/thread-pool.h"

typedef struct Item {
        struct Item *next;
        WorkFn work, done, abandon;
        void *data;
} Item;

typedef struct ItemQueue {
        Item *head, *tail;
        size_t n;
} ItemQueue;

struct WorkerPool {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned refs;          /* the owner's, and one per thread: the last one frees */
        unsigned n_threads, n_idle, max_threads;
        bool closing;
        ItemQueue queue, finished;
        int done_fd;
        sd_event_source *done_source;
};

static void queue_push(ItemQueue *q, Item *i) {
        i->next = NULL;
        if (q->tail)
                q->tail->next = i;
        else
                q->head = i;
        q->tail = i;
        q->n++;
}

static Item *queue_pop(ItemQueue *q) {
        Item *i = q->head;

        if (i) {
                q->head = i->next;
                if (!q->head)
                        q->tail = NULL;
                q->n--;
        }
        return i;
}

static ItemQueue queue_take(ItemQueue *q) {
        ItemQueue all = *q;

        *q = (ItemQueue) {};
        return all;
}

/* With p->lock held, by the holder of the last reference. */
static void pool_destroy_locked(WorkerPool *p) {
        pthread_mutex_unlock(&p->lock);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
}

static void *worker_main(void *userdata) {
        WorkerPool *p = userdata;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                Item *i;

                while (!p->queue.head && !p->closing) {
                        p->n_idle++;
                        pthread_cond_wait(&p->cond, &p->lock);
                        p->n_idle--;
                }
                if (p->closing)
                        break;
                i = queue_pop(&p->queue);
                pthread_mutex_unlock(&p->lock);

                i->work(i->data);

                pthread_mutex_lock(&p->lock);
                if (p->closing) {
                        pthread_mutex_unlock(&p->lock);
                        i->abandon(i->data);
                        free(i);
                        pthread_mutex_lock(&p->lock);
                        break;
                }
                queue_push(&p->finished, i);
                /* One wake-up per batch: the loop takes every finished item at once. */
                if (p->finished.n == 1) {
                        uint64_t one = 1;
                        if (write(p->done_fd, &one, sizeof(one)) < 0)
                                log_debug_errno(negative_errno(), "Failed to wake the event loop: %m");
                }
        }
        p->n_threads--;
        if (--p->refs == 0)
                pool_destroy_locked(p);
        else
                pthread_mutex_unlock(&p->lock);
        return NULL;
}

static int done_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkerPool *p = userdata;
        ItemQueue q;
        uint64_t n;
        Item *i;

        (void) read(fd, &n, sizeof(n));
        pthread_mutex_lock(&p->lock);
        q = queue_take(&p->finished);
        pthread_mutex_unlock(&p->lock);

        while ((i = queue_pop(&q))) {
                i->done(i->data);
                free(i);
        }
        return 0;
}

int worker_pool_new(sd_event *e, unsigned max_threads, WorkerPool **ret) {
        _cleanup_(worker_pool_freep) WorkerPool *p = NULL;
        int r;

        p = calloc(1, sizeof(WorkerPool));
        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->refs = 1;
        p->max_threads = MAX(max_threads, 1u);
        p->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->done_fd < 0)
                return negative_errno();
        r = sd_event_add_io(e, &p->done_source, p->done_fd, EPOLLIN, done_dispatch, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

WorkerPool *worker_pool_free(WorkerPool *p) {
        ItemQueue q;
        Item *i;
        bool last;

        if (!p)
                return NULL;
        p->done_source = sd_event_source_disable_unref(p->done_source);

        pthread_mutex_lock(&p->lock);
        p->closing = true;
        pthread_cond_broadcast(&p->cond);
        q = queue_take(&p->queue);
        while ((i = queue_pop(&p->finished)))
                queue_push(&q, i);
        /* No thread writes done_fd once closing is set. */
        p->done_fd = safe_close(p->done_fd);
        last = --p->refs == 0;
        if (last)
                pool_destroy_locked(p);
        else
                pthread_mutex_unlock(&p->lock);

        while ((i = queue_pop(&q))) {
                i->abandon(i->data);
                free(i);
        }
        return NULL;
}

int worker_pool_submit(WorkerPool *p, WorkFn work, WorkFn done, WorkFn abandon, void *data) {
        Item *i;
        int r = 0;

        i = calloc(1, sizeof(Item));
        if (!i)
                return -ENOMEM;
        *i = (Item) { .work = work, .done = done, .abandon = abandon, .data = data };

        pthread_mutex_lock(&p->lock);
        queue_push(&p->queue, i);
        if (p->queue.n > p->n_idle && p->n_threads < p->max_threads) {
                pthread_attr_t attr;
                pthread_t t;

                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = -pthread_create(&t, &attr, worker_main, p);
                pthread_attr_destroy(&attr);
                if (r == 0) {
                        p->n_threads++;
                        p->refs++;
                } else if (p->n_threads > 0)
                        r = 0;          /* a busy thread will come round to it */
                else {
                        (void) queue_pop(&p->queue);    /* it is the only item: nobody else queues */
                        free(i);
                }
        }
        if (r == 0)
                pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return r;
}
