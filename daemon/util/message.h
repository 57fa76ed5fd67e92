/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* message.h — filling in the failure text of the error contract (shared/errors.h) */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/macro.h"

/* Sets *reterr_message (when reterr_message is not NULL) to the formatted sentence, or to NULL
 * when there is no memory for it, and returns r: "return message_set(reterr_message, r, ...)". */
int message_set(char **reterr_message, int r, const char *format, ...) _printf_(3, 4);

/* In a variadic function whose last named parameter is format: its arguments formatted into *ret
 * (the caller's to free); evaluates to the text's length, or to -ENOMEM with *ret NULL. */
#define VA_FORMAT_ALLOC(ret, format)                                                    \
        ({                                                                              \
                va_list _ap;                                                            \
                int _k;                                                                 \
                                                                                        \
                va_start(_ap, format);                                                  \
                _k = vasprintf((ret), (format), _ap);                                   \
                va_end(_ap);                                                            \
                if (_k < 0)                                                             \
                        *(ret) = NULL;                                                  \
                _k < 0 ? -ENOMEM : _k;                                                  \
        })
