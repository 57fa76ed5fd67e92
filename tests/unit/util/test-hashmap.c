/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-hashmap.c — the string-keyed hash table */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "util/hashmap.h"

static void test_put_get_remove(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();
        char keys[1000][8];

        assert_non_null(h);
        for (int i = 0; i < 1000; i++) {
                snprintf(keys[i], sizeof(keys[i]), "k%d", i);
                assert_int_equal(hashmap_put(h, keys[i], keys[i]), 0);
        }
        assert_int_equal(hashmap_size(h), 1000);
        assert_int_equal(hashmap_put(h, "k5", NULL), -EEXIST);
        for (int i = 0; i < 1000; i++)
                assert_ptr_equal(hashmap_get(h, keys[i]), keys[i]);
        assert_null(hashmap_get(h, "nope"));

        assert_ptr_equal(hashmap_remove(h, "k7"), keys[7]);
        assert_null(hashmap_remove(h, "k7"));
        assert_null(hashmap_get(h, "k7"));
        assert_int_equal(hashmap_size(h), 999);
}

static void test_iterate_and_remove(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();
        char keys[100][8];
        int seen[100] = {};
        const char *key;
        void *v;

        for (int i = 0; i < 100; i++) {
                snprintf(keys[i], sizeof(keys[i]), "%d", i);
                assert_int_equal(hashmap_put(h, keys[i], &seen[i]), 0);
        }
        /* Removing the entry just returned must not derail the walk. */
        for (HashmapIter i = HASHMAP_ITER_FIRST; hashmap_iterate(h, &i, &v, &key);) {
                (*(int *) v)++;
                assert_ptr_equal(hashmap_remove(h, key), v);
        }
        for (int i = 0; i < 100; i++)
                assert_int_equal(seen[i], 1);
        assert_int_equal(hashmap_size(h), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_put_get_remove),
                cmocka_unit_test(test_iterate_and_remove),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
