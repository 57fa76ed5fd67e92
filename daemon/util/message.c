/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* message.c — filling in the failure text of the error contract (shared/errors.h) */
#include <stdarg.h>
#include <stdio.h>

#include "util/message.h"

int message_set(char **reterr_message, int r, const char *format, ...) {
        va_list ap;

        if (!reterr_message)
                return r;
        va_start(ap, format);
        if (vasprintf(reterr_message, format, ap) < 0)
                *reterr_message = NULL;
        va_end(ap);
        return r;
}
