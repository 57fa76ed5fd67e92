/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-util.h — what the unit tests share */
#pragma once

#include <stdio.h>
#include <stdlib.h>

/* Removes a test's scratch directory and all it holds: the teardown of the tests that mkdtemp() one. */
static inline int test_remove_tree(const char *path) {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
        return system(cmd);
}
