/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* message.c — filling in the failure text of the error contract (shared/errors.h) */
#include <stdarg.h>
#include <stdio.h>

#include "util/message.h"

int message_set(char **reterr_message, int r, const char *format, ...) {
        if (reterr_message)
                (void) VA_FORMAT_ALLOC(reterr_message, format);
        return r;
}
