/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* macro.h — ownership helpers and small macros used everywhere */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand ownership of a pointer over: returns it and clears the source, so the cleanup handler of the
 * source does nothing. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _p_ = (p);        \
                (p) = NULL;                     \
                _p_;                            \
        })

#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -EBADF;                  \
                _fd_;                           \
        })

/* Defines name##p(), a cleanup handler for "type *" variables that calls func() when non-NULL. */
/* NOLINTBEGIN(bugprone-macro-parentheses): "type" is a type name, it cannot take parentheses */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        func(*p);                               \
        }
/* NOLINTEND(bugprone-macro-parentheses) */

/* Frees p and returns NULL: "x = mfree(x);". */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* errno of the last failed libc call as a negative value, never 0 (some calls fail without errno). */
static inline int negative_errno(void) {
        int e = errno;  /* read once: errno is a function call, analyzers can't assume it stays put */

        return e > 0 ? -e : -EIO;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* Argument checks of public functions (systemd's assert_return): a caller's mistake aborts a build
 * with assertions (every build of ours: tests find it at once) and returns r from one without. */
#include <assert.h>
#define assert_return(expr, r)                          \
        do {                                            \
                if (__builtin_expect(!(expr), 0)) {     \
                        assert(!#expr);                 \
                        return (r);                     \
                }                                       \
        } while (false)
