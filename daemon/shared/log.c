/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c — logging to stderr with <N> priority prefixes that journald understands */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

/* Length of the well-formed UTF-8 character at s (no overlong form, surrogate or code point past
 * U+10FFFF), or 0. */
static size_t utf8_char_length(const unsigned char *s) {
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4;
        else
                return 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
            (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
                return 0;
        return n;
}

/* A message quotes what others wrote (aim.ini, bus arguments, the kernel's names): each control
 * character (C0, DEL and C1: a terminal's escape sequences, a newline that would fake a journal line
 * of its own) and each byte that is not UTF-8 becomes "\xNN". out has room for 4 * strlen(in) + 1. */
static void escape(const char *in, char *out) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *) in;

        while (*p) {
                size_t n = utf8_char_length(p);

                if (n == 0 || p[0] < 0x20 || p[0] == 0x7f || (p[0] == 0xc2 && p[1] < 0xa0)) {
                        n = n ?: 1;
                        for (size_t i = 0; i < n; i++) {
                                *out++ = '\\';
                                *out++ = 'x';
                                *out++ = hex[p[i] >> 4];
                                *out++ = hex[p[i] & 15];
                        }
                } else {
                        memcpy(out, p, n);
                        out += n;
                }
                p += n;
        }
        *out = 0;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...) {
        char buf[2048], escaped[4 * sizeof(buf)];
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
        escape(buf, escaped);

        if (max_level >= LOG_DEBUG)
                fprintf(stderr, "<%i>%s (%s:%i)\n", level, escaped, file, line);
        else
                fprintf(stderr, "<%i>%s\n", level, escaped);

        errno = saved;
        return -error;
}
