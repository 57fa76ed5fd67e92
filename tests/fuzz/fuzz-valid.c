/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-valid.c — libFuzzer harness: the name and path validators, each against an oracle */
#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Resolves s lexically beneath a base directory: the depth below the base must never go negative
 * (that is what "cannot climb out" means), and no component may be "..". Written independently
 * of valid.c on purpose. */
static void check_relative_path(const char *s) {
        const char *p = s;
        long depth = 0;

        assert(s[0] != 0 && s[0] != '/');
        assert(strlen(s) < PATH_MAX);
        assert(!has_control(s));
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);

                assert(!(n == 2 && p[0] == '.' && p[1] == '.'));
                if (n > 0 && !(n == 1 && p[0] == '.'))
                        depth++;
                assert(depth >= 0);
                p += n;
                if (*p == '/')
                        p++;
        }
}

static void check_ifname(const char *s) {
        size_t n = strlen(s);

        assert(n >= 1 && n < IFNAMSIZ);
        assert(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                assert(*p != '/' && *p != ':' && !isspace(*p) && *p >= 0x20 && *p != 0x7f);
}

static void check_image_name(const char *s) {
        size_t n = strlen(s);

        assert(n >= 1 && n <= 255 && s[0] != '.');
        assert(!strchr(s, '/'));
        for (const char *p = s; *p; p++)
                assert(isalnum((unsigned char) *p) || strchr("._+-", *p));
        /* An image name is a file name in the datastore: always a valid relative path too. */
        assert(relative_path_is_valid(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s;

        /* The validators see C strings, as sd-bus hands them over: up to the first NUL. */
        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        if (ifname_is_valid(s))
                check_ifname(s);
        if (image_name_is_valid(s))
                check_image_name(s);
        if (relative_path_is_valid(s))
                check_relative_path(s);
        /* The converse for paths: what the oracle would call safe and plain is accepted. */
        else if (s[0] && s[0] != '/' && strlen(s) < PATH_MAX && !has_control(s) && !strstr(s, ".."))
                abort();
        free(s);
        return 0;
}
