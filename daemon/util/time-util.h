/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* time-util.h — the clock in microseconds */
#pragma once

#include <stdint.h>
#include <time.h>

/* Now on clock (CLOCK_MONOTONIC for durations, CLOCK_REALTIME for timestamps), in µs. Unlike
 * sd_event_now(), which is the time the loop iteration began, this advances within a dispatch. */
static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000U;
}
