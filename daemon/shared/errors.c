/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errors.c — the one place where errno values meet org.abiquo.Node1.Error names */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/errors.h"
#include "util/message.h"

static const sd_bus_error_map aim_error_map[] = {
        SD_BUS_ERROR_MAP(AIM_ERROR_NOT_FOUND,         AIM_ENOTFOUND),
        SD_BUS_ERROR_MAP(AIM_ERROR_EXISTS,            AIM_EEXIST),
        SD_BUS_ERROR_MAP(AIM_ERROR_CONFLICT,          AIM_ECONFLICT),
        SD_BUS_ERROR_MAP(AIM_ERROR_BUSY,              AIM_EBUSY),
        SD_BUS_ERROR_MAP(AIM_ERROR_NO_SPACE,          AIM_ENOSPC),
        SD_BUS_ERROR_MAP(AIM_ERROR_CHECKSUM_MISMATCH, AIM_ECHECKSUM),
        SD_BUS_ERROR_MAP(AIM_ERROR_UNSUPPORTED,       AIM_EUNSUPP),
        SD_BUS_ERROR_MAP(AIM_ERROR_NOT_CONNECTED,     AIM_ENOTCONN),
        SD_BUS_ERROR_MAP(AIM_ERROR_CANCELLED,         AIM_ECANCELED),
        SD_BUS_ERROR_MAP(SD_BUS_ERROR_INVALID_ARGS,   EINVAL),
        SD_BUS_ERROR_MAP(SD_BUS_ERROR_NO_MEMORY,      ENOMEM),
        SD_BUS_ERROR_MAP_END
};

int errors_register(void) {
        return sd_bus_error_add_map(aim_error_map);
}

const char *aim_error_name(int r) {
        for (const sd_bus_error_map *m = aim_error_map; m->name; m++)
                if (m->code == -r)
                        return m->name;
        return AIM_ERROR_FAILED;
}

/* Messages quote what callers sent: a hostile argument must not put control characters (terminal
 * escapes, fake log lines) into clients' output, nor make a 64 KiB error. A long message keeps its
 * head (what is wrong) and its tail (why), cut on UTF-8 boundaries: sd-bus refuses invalid UTF-8. */
#define MESSAGE_HALF 500
static void sanitize(char *s, size_t n) {
        size_t head = MESSAGE_HALF, tail = n - MESSAGE_HALF;

        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        s[i] = '?';
        if (n <= 2 * MESSAGE_HALF + 3)
                return;
        while (head > 0 && ((unsigned char) s[head] & 0xc0) == 0x80)
                head--;
        while (tail < n && ((unsigned char) s[tail] & 0xc0) == 0x80)
                tail++;
        s[head] = s[head + 1] = s[head + 2] = '.';
        memmove(s + head + 3, s + tail, n - tail + 1);
}

int aim_error(sd_bus_error *error, int r, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        const char *name = aim_error_name(r);
        int k;

        k = VA_FORMAT_ALLOC(&message, format);
        if (k < 0)
                return sd_bus_error_set_errno(error, -ENOMEM);
        sanitize(message, (size_t) k);

        if (streq(name, AIM_ERROR_FAILED))
                sd_bus_error_setf(error, name, "%s: %s", message, strerror(-r));
        else
                sd_bus_error_set(error, name, message);
        return r;
}
