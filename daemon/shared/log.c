/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c — logging to stderr with <N> priority prefixes that journald understands */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        error = error < 0 ? -error : error;
        if (level > max_level)
                return -error;

        /* %m in the format means the error we were given, not whatever errno happens to be. */
        errno = error;
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (max_level >= LOG_DEBUG)
                fprintf(stderr, "<%i>%s (%s:%i)\n", level, buf, file, line);
        else
                fprintf(stderr, "<%i>%s\n", level, buf);

        errno = saved;
        return -error;
}
