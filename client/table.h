/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* table.h — aimctl's output: aligned columns for people, JSON for programs */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct Table Table;

/* Columns are named by their JSON keys (NULL-terminated list); headers are the keys upper-cased. */
Table *table_new(const char *first_column, ...);
Table *table_free(Table *t);
/* Adds a column; only while the first row is being filled. */
int table_add_column(Table *t, const char *name);
static inline void table_freep(Table **t) {
        table_free(*t);
}

/* Cells are filled row by row, left to right. */
int table_add_string(Table *t, const char *s);
int table_add_uint(Table *t, uint64_t u);
int table_add_int(Table *t, int64_t i);
int table_add_bool(Table *t, bool b);
int table_add_double(Table *t, double d);

/* Prints rows as aligned columns, or a JSON array of objects. A "vertical" table prints its one
 * row as "Key: value" lines, or one JSON object. */
void table_set_vertical(Table *t, bool vertical);
int table_print(Table *t, bool json);

/* Writes s as a JSON string literal. */
void json_print_string(const char *s);
