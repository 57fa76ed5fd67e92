/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* thread-pool.h — a few threads for calls that may block, reporting back to the sd-event loop */
#pragma once

#include <systemd/sd-event.h>

#include "util/macro.h"

typedef struct WorkerPool WorkerPool;

/* work runs in a worker thread; done then runs in the loop's thread with the same data. When the
 * pool is freed first, abandon runs instead of done, in whichever thread holds the item at that
 * moment (so it must be thread-safe and must not touch the loop's objects). */
typedef void (*WorkFn)(void *data);

int worker_pool_new(sd_event *e, unsigned max_threads, WorkerPool **ret);
/* Returns at once: threads still inside a work function finish it, abandon it and exit. */
WorkerPool *worker_pool_free(WorkerPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(WorkerPool *, worker_pool_free);

int worker_pool_submit(WorkerPool *p, WorkFn work, WorkFn done, WorkFn abandon, void *data);
