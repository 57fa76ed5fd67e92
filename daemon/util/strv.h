/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* strv.h — NULL-terminated string arrays and small string helpers */
#pragma once

#include <stddef.h>

#include "util/macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
/* Appends a copy of s; on failure l is unchanged. */
int strv_extend(char ***l, const char *s);
/* Takes ownership of s, also on failure. */
int strv_consume(char ***l, char *s);

/* Replaces *p with a copy of s (NULL allowed); returns 1 if the value changed, 0 if not. */
int free_and_strdup(char **p, const char *s);
