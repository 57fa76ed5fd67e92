/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* table.c — aimctl's output: aligned columns for people, JSON for programs */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "util/strv.h"

typedef enum CellType {
        CELL_STRING,
        CELL_NUMBER,    /* text already formatted as a JSON number or literal */
} CellType;

typedef struct Cell {
        CellType type;
        char *text;
} Cell;

struct Table {
        char **columns;
        size_t n_columns;
        Cell *cells;
        size_t n_cells;
        bool vertical;
};

Table *table_new(const char *first_column, ...) {
        Table *t = calloc(1, sizeof(Table));
        va_list ap;

        if (!t)
                return NULL;
        va_start(ap, first_column);
        for (const char *c = first_column; c; c = va_arg(ap, const char *))
                if (strv_extend(&t->columns, c) < 0) {
                        va_end(ap);
                        return table_free(t);
                }
        va_end(ap);
        t->n_columns = strv_length(t->columns);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i].text);
        free(t->cells);
        strv_free(t->columns);
        free(t);
        return NULL;
}

int table_add_column(Table *t, const char *name) {
        int r;

        /* Columns can grow while the first row is built (properties), not after. */
        if (t->n_cells > t->n_columns)
                return -EBUSY;
        r = strv_extend(&t->columns, name);
        if (r < 0)
                return r;
        t->n_columns++;
        return 0;
}

static int table_add(Table *t, CellType type, char *text) {
        Cell *c;

        if (!text)
                return -ENOMEM;
        c = realloc(t->cells, sizeof(Cell) * (t->n_cells + 1));
        if (!c) {
                free(text);
                return -ENOMEM;
        }
        t->cells = c;
        t->cells[t->n_cells++] = (Cell) { .type = type, .text = text };
        return 0;
}

int table_add_string(Table *t, const char *s) {
        return table_add(t, CELL_STRING, strdup(s ?: ""));
}

int table_add_uint(Table *t, uint64_t u) {
        char *s;

        return table_add(t, CELL_NUMBER, asprintf(&s, "%" PRIu64, u) < 0 ? NULL : s);
}

int table_add_int(Table *t, int64_t i) {
        char *s;

        return table_add(t, CELL_NUMBER, asprintf(&s, "%" PRIi64, i) < 0 ? NULL : s);
}

int table_add_bool(Table *t, bool b) {
        return table_add(t, CELL_NUMBER, strdup(b ? "true" : "false"));
}

int table_add_double(Table *t, double d) {
        char *s;

        return table_add(t, CELL_NUMBER, asprintf(&s, "%g", d) < 0 ? NULL : s);
}

void table_set_vertical(Table *t, bool vertical) {
        t->vertical = vertical;
}

void json_print_string(const char *s) {
        putchar('"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p == '"' || *p == '\\')
                        printf("\\%c", *p);
                else if (*p < 0x20)
                        printf("\\u%04x", *p);
                else
                        putchar(*p);
        putchar('"');
}

static void print_json_row(const Table *t, size_t row) {
        putchar('{');
        for (size_t c = 0; c < t->n_columns; c++) {
                const Cell *cell = &t->cells[row * t->n_columns + c];

                if (c > 0)
                        putchar(',');
                json_print_string(t->columns[c]);
                putchar(':');
                if (cell->type == CELL_STRING)
                        json_print_string(cell->text);
                else
                        fputs(cell->text, stdout);
        }
        putchar('}');
}

static void print_header(const char *name, int width, bool last) {
        for (const char *p = name; *p; p++)
                putchar(toupper((unsigned char) *p));
        if (!last)
                printf("%*s", width - (int) strlen(name) + 1, "");
}

int table_print(Table *t, bool json) {
        size_t n_rows = t->n_columns ? t->n_cells / t->n_columns : 0;
        int width[t->n_columns ?: 1];

        if (json) {
                if (t->vertical && n_rows == 1)
                        print_json_row(t, 0);
                else {
                        putchar('[');
                        for (size_t r = 0; r < n_rows; r++) {
                                if (r > 0)
                                        putchar(',');
                                print_json_row(t, r);
                        }
                        putchar(']');
                }
                putchar('\n');
                return 0;
        }

        if (t->vertical) {
                int w = 0;

                for (size_t c = 0; c < t->n_columns; c++)
                        w = MAX(w, (int) strlen(t->columns[c]));
                for (size_t r = 0; r < n_rows; r++)
                        for (size_t c = 0; c < t->n_columns; c++)
                                printf("%*s: %s\n", w, t->columns[c], t->cells[r * t->n_columns + c].text);
                return 0;
        }

        for (size_t c = 0; c < t->n_columns; c++) {
                width[c] = (int) strlen(t->columns[c]);
                for (size_t r = 0; r < n_rows; r++)
                        width[c] = MAX(width[c], (int) strlen(t->cells[r * t->n_columns + c].text));
        }
        for (size_t c = 0; c < t->n_columns; c++)
                print_header(t->columns[c], width[c], c + 1 == t->n_columns);
        putchar('\n');
        for (size_t r = 0; r < n_rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *s = t->cells[r * t->n_columns + c].text;

                        if (c + 1 == t->n_columns)
                                fputs(s, stdout);
                        else
                                printf("%-*s ", width[c], s);
                }
                putchar('\n');
        }
        return 0;
}
