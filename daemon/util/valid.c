/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* valid.c — validators for names, paths and URLs that callers hand us */
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

bool http_url_is_valid(const char *s) {
        const char *host;

        if (!s || strnlen(s, HTTP_URL_MAX + 1) > HTTP_URL_MAX)
                return false;
        if (strncmp(s, "http://", 7) == 0)
                host = s + 7;
        else if (strncmp(s, "https://", 8) == 0)
                host = s + 8;
        else
                return false;
        if (host[0] == 0 || host[0] == '/' || host[0] == '?' || host[0] == '#')
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p == ' ' || char_is_control(*p))
                        return false;
        return true;
}
