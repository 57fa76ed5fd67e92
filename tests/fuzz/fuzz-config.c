/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-config.c — libFuzzer harness: config_parse on arbitrary aim.ini bytes */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/config.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What config_parse promises (config.h): success leaves a usable configuration and no error
 * text; a malformed input gives -EINVAL and "FILE:LINE: what" naming this file. */
static void check_result(const Config *c, int r, const char *error, const uint8_t *data, size_t size) {
        size_t lines = 1;

        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        if (r == 0) {
                /* A NUL byte anywhere is an error (config files are text). */
                assert(!memchr(data, 0, size));
                assert(!error);
                assert(c->uri && c->uri[0] && c->repository && c->repository[0]);
                /* redisHost: empty (the broker is off), an absolute socket path, or a host without blanks. */
                assert(c->datastore && c->datastore[0] && c->datastore[0] == '/' && c->repository[0] == '/');
                assert(!c->redis_host || c->redis_host[0] == '/' || !strpbrk(c->redis_host, " \t/"));
                assert(c->redis_port >= 1 && c->redis_port <= 65535);
                assert(c->max_jobs >= 1 && c->max_jobs <= 64);
                return;
        }
        assert(r == -EINVAL);
        assert(error);
        assert(strncmp(error, "fuzz.ini:", strlen("fuzz.ini:")) == 0);
        assert(error[strlen("fuzz.ini:")] >= '1' && error[strlen("fuzz.ini:")] <= '9');
        /* ... and the line it names exists. */
        assert(strtoul(error + strlen("fuzz.ini:"), NULL, 10) <= lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *error = NULL;
        Config c;
        FILE *f;
        int r;

        /* fmemopen() refuses a zero-sized buffer: an empty file is a valid one-byte-less case. */
        f = fmemopen(size > 0 ? (void *) data : (void *) "", size > 0 ? size : 1, "r");
        if (!f)
                return 0;
        if (size == 0)
                (void) fgetc(f);
        if (config_init(&c) < 0)
                abort();
        r = config_parse(&c, f, "fuzz.ini", &error);
        fclose(f);
        check_result(&c, r, error, data, size);
        config_done(&c);
        return 0;
}
