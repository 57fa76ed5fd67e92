/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* message.h — filling in the failure text of the error contract (shared/errors.h) */
#pragma once

#include "util/macro.h"

/* Sets *reterr_message (when reterr_message is not NULL) to the formatted sentence, or to NULL
 * when there is no memory for it, and returns r: "return message_set(reterr_message, r, ...)". */
int message_set(char **reterr_message, int r, const char *format, ...) _printf_(3, 4);
