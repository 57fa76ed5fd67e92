/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* utf8.c — text from elsewhere made fit for D-Bus strings and logs */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"
#include "util/utf8.h"

static bool is_continuation(uint8_t b) {
        return (b & 0xc0) == 0x80;
}

size_t utf8_char_length(const char *s, size_t n) {
        const uint8_t *b = (const uint8_t *) s;
        uint32_t c;
        size_t len;

        if (n == 0)
                return 0;
        if (b[0] < 0x80)
                return 1;
        if (b[0] >= 0xc2 && b[0] <= 0xdf)
                len = 2, c = b[0] & 0x1f;
        else if (b[0] >= 0xe0 && b[0] <= 0xef)
                len = 3, c = b[0] & 0x0f;
        else if (b[0] >= 0xf0 && b[0] <= 0xf4)
                len = 4, c = b[0] & 0x07;
        else
                return 0;       /* a continuation byte, an overlong 0xc0/0xc1 lead, or past U+10FFFF */
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if (!is_continuation(b[i]))
                        return 0;
                c = c << 6 | (b[i] & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates, and what lies beyond Unicode are not characters. */
        if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return len;
}

char *utf8_sanitize(const char *s, size_t max) {
        size_t n = strlen(s), i = 0, k = 0;
        char *t = malloc(MIN(n, max) + 4);

        if (!t)
                return NULL;
        while (i < n) {
                size_t len = utf8_char_length(s + i, n - i);

                if (k + MAX(len, (size_t) 1) > max) {
                        memcpy(t + k, "...", 3);
                        k += 3;
                        break;
                }
                if (len == 0 || (len == 1 && ((uint8_t) s[i] < 0x20 || s[i] == 0x7f))) {
                        t[k++] = '?';
                        i++;
                        continue;
                }
                memcpy(t + k, s + i, len);
                k += len;
                i += len;
        }
        t[k] = 0;
        return t;
}
