/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* string-table.h — one macro for the enum ↔ string tables of the whole tree */
#pragma once

#include <sys/types.h>

#include "util/macro.h"

/* An enum whose values index a "static const char *const name##_table[]" gets
 *   const char *name##_to_string(type v)      NULL for a value outside the table
 *   type name##_from_string(const char *s)    -EINVAL (the enum's _INVALID) for an unknown string
 * Enums end with NAME_MAX and NAME_INVALID = -EINVAL, as systemd's do. */
ssize_t string_table_lookup(const char *const *table, size_t n, const char *s);

/* The two functions' declarations, for the enum's header. */
#define DECLARE_STRING_TABLE_LOOKUP(name, type)                                         \
        const char *name##_to_string(type v);                                           \
        type name##_from_string(const char *s)

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                          \
        const char *name##_to_string(type v) {                                          \
                if ((size_t) v >= ELEMENTSOF(name##_table))                             \
                        return NULL;                                                    \
                return name##_table[v];                                                 \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                return (type) string_table_lookup(name##_table, ELEMENTSOF(name##_table), s); \
        }
