/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hashmap.h — a string-keyed hash table; keys are borrowed from the values they index */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

typedef struct Hashmap Hashmap;

typedef struct HashmapIter {
        size_t bucket;
        void *next;
} HashmapIter;

#define HASHMAP_ITER_FIRST ((HashmapIter) {})

Hashmap *hashmap_new(void);
/* Frees the table only; the values stay with their owners. */
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* The key must stay valid and unchanged while the entry exists. -EEXIST if the key is present. */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(const Hashmap *h, const char *key);
/* Returns the value that was removed, or NULL. */
void *hashmap_remove(Hashmap *h, const char *key);
size_t hashmap_size(const Hashmap *h);

/* Visits every entry once, in no particular order. Removing the entry just returned is allowed. */
bool hashmap_iterate(const Hashmap *h, HashmapIter *i, void **ret_value, const char **ret_key);

#define HASHMAP_FOREACH(v, h)                                                   \
        for (HashmapIter _i_ = HASHMAP_ITER_FIRST; hashmap_iterate((h), &_i_, (void **) &(v), NULL);)
