/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hashmap.c — a string-keyed hash table with separate chaining */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

typedef struct Entry {
        struct Entry *next;
        const char *key;
        void *value;
        uint64_t hash;
} Entry;

struct Hashmap {
        Entry **buckets;
        size_t n_buckets;
        size_t n_entries;
};

/* FNV-1a, 64 bit: keys are short names, so a simple mixing function is plenty. */
static uint64_t hash_string(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

Hashmap *hashmap_new(void) {
        Hashmap *h = calloc(1, sizeof(Hashmap));

        if (!h)
                return NULL;
        h->n_buckets = 16;
        h->buckets = calloc(h->n_buckets, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return NULL;
        }
        return h;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        for (size_t b = 0; b < h->n_buckets; b++)
                for (Entry *e = h->buckets[b], *n; e; e = n) {
                        n = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static int hashmap_grow(Hashmap *h) {
        size_t n = h->n_buckets * 2;
        Entry **b = calloc(n, sizeof(Entry *));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash % n];
                        b[e->hash % n] = e;
                }
        free(h->buckets);
        h->buckets = b;
        h->n_buckets = n;
        return 0;
}

static Entry **hashmap_find(const Hashmap *h, const char *key, uint64_t hash) {
        Entry **p = &h->buckets[hash % h->n_buckets];

        for (; *p; p = &(*p)->next)
                if ((*p)->hash == hash && streq((*p)->key, key))
                        return p;
        return p;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        uint64_t hash = hash_string(key);
        Entry **p, *e;

        if (*hashmap_find(h, key, hash))
                return -EEXIST;
        /* Growing is best effort: a full table is slower, not wrong. */
        if (h->n_entries >= h->n_buckets * 2)
                (void) hashmap_grow(h);

        e = malloc(sizeof(Entry));
        if (!e)
                return -ENOMEM;
        *e = (Entry) { .key = key, .value = value, .hash = hash };
        p = &h->buckets[hash % h->n_buckets];
        e->next = *p;
        *p = e;
        h->n_entries++;
        return 0;
}

void *hashmap_get(const Hashmap *h, const char *key) {
        Entry *e;

        if (!h)
                return NULL;
        e = *hashmap_find(h, key, hash_string(key));
        return e ? e->value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        Entry **p, *e;
        void *v;

        if (!h)
                return NULL;
        p = hashmap_find(h, key, hash_string(key));
        e = *p;
        if (!e)
                return NULL;
        *p = e->next;
        v = e->value;
        free(e);
        h->n_entries--;
        return v;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->n_entries : 0;
}

bool hashmap_iterate(const Hashmap *h, HashmapIter *i, void **ret_value, const char **ret_key) {
        Entry *e = i->next;

        if (!h)
                return false;
        while (!e) {
                if (i->bucket >= h->n_buckets)
                        return false;
                e = h->buckets[i->bucket++];
        }
        /* Remember the successor now, so the caller may remove e. */
        i->next = e->next;
        if (ret_value)
                *ret_value = e->value;
        if (ret_key)
                *ret_key = e->key;
        return true;
}
