/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* utf8.h — text from elsewhere made fit for D-Bus strings and logs */
#pragma once

#include <stddef.h>

/* A malloc'd copy of s with every byte that is not part of a valid UTF-8 character, and every
 * control character, replaced by '?'; cut on a character boundary to at most max bytes (plus
 * "..."). sd-bus refuses a message whose strings are not valid UTF-8. NULL without memory. */
char *utf8_sanitize(const char *s, size_t max);

/* The length of the valid UTF-8 character at s (of at most n bytes), or 0 if there is none. */
size_t utf8_char_length(const char *s, size_t n);
