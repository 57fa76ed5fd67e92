/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* valid.c — validators for names and paths that callers hand us */
#include <limits.h>
#include <net/if.h>
#include <string.h>

#include "util/macro.h"
#include "util/valid.h"

static bool char_is_control(unsigned char c) {
        return c < 0x20 || c == 0x7f;
}

bool ifname_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n >= IFNAMSIZ)
                return false;
        if (streq(s, ".") || streq(s, ".."))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p == '/' || *p == ':' || *p == ' ' || char_is_control(*p))
                        return false;
        return true;
}

bool image_name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 255 || s[0] == '.')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-") == n;
}

bool relative_path_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n >= PATH_MAX || s[0] == '/')
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (char_is_control(*p))
                        return false;
        /* Walk the components: ".." anywhere could climb out of the base. */
        for (const char *c = s; *c;) {
                size_t l = strcspn(c, "/");

                if (l == 2 && c[0] == '.' && c[1] == '.')
                        return false;
                c += l;
                c += strspn(c, "/");
        }
        return true;
}

int safe_atou_bounded(const char *s, unsigned max, unsigned *ret) {
        unsigned long long v = 0;

        assert_return(s, -EINVAL);
        assert_return(ret, -EINVAL);

        if (!*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*p - '0');
                if (v > max)
                        return -ERANGE;
        }
        *ret = (unsigned) v;
        return 0;
}
