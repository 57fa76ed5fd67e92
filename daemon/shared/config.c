/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.c — aim.ini (AIM-compatible) configuration with built-in defaults */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/config.h"
#include "util/strv.h"

typedef enum KeyType {
        KEY_STRING,
        KEY_PATH,
        KEY_PORT,
        KEY_JOBS,
        KEY_SECONDS,
        KEY_OBSOLETE,
} KeyType;

typedef struct Key {
        const char *section;
        const char *name;
        KeyType type;
        size_t offset;          /* into Config, for everything but KEY_OBSOLETE */
        const char *why;        /* for KEY_OBSOLETE: why it no longer means anything */
} Key;

static const Key keys[] = {
        { "monitor", "uri",        KEY_STRING, offsetof(Config, uri) },
        { "monitor", "redisHost",  KEY_STRING, offsetof(Config, redis_host) },
        { "monitor", "redisPort",  KEY_PORT,   offsetof(Config, redis_port) },
        { "rimp",    "repository", KEY_STRING, offsetof(Config, repository) },
        { "rimp",    "datastore",  KEY_STRING, offsetof(Config, datastore) },
        { "rimp",    "maxJobs",    KEY_JOBS,   offsetof(Config, max_jobs) },
        { "rimp",    "caFile",     KEY_PATH,   offsetof(Config, ca_file) },
        { "rimp",    "pullStallSeconds", KEY_SECONDS, offsetof(Config, pull_stall_seconds) },
        { "server",  "port",       KEY_OBSOLETE, 0, "aimd is reached over D-Bus, it listens on no TCP port" },
        { "vlan",    "ifconfigCmd", KEY_OBSOLETE, 0, "links are configured over netlink, no command is run" },
        { "vlan",    "vconfigCmd", KEY_OBSOLETE, 0, "VLANs are created over netlink, no command is run" },
        { "vlan",    "brctlCmd",   KEY_OBSOLETE, 0, "bridges are created over netlink, no command is run" },
};

int config_init(Config *c) {
        *c = (Config) {
                .uri = strdup("qemu:///system"),
                .redis_host = strdup("localhost"),
                .redis_port = 6379,
                .repository = strdup("/opt/vm_repository"),
                .datastore = strdup("/var/lib/virt"),
                .max_jobs = 4,
                .pull_stall_seconds = 30,
                .state_dir = strdup("/var/lib/aim"),
        };
        if (!c->uri || !c->redis_host || !c->repository || !c->datastore || !c->state_dir) {
                config_done(c);
                return -ENOMEM;
        }
        return 0;
}

void config_done(Config *c) {
        free(c->uri);
        free(c->redis_host);
        free(c->repository);
        free(c->datastore);
        free(c->ca_file);
        free(c->state_dir);
        strv_free(c->notices);
        *c = (Config) {};
}

static int error_at(char **ret_error, const char *filename, unsigned line, const char *format, ...)
        _printf_(4, 5);
static int error_at(char **ret_error, const char *filename, unsigned line, const char *format, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&what, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(ret_error, "%s:%u: %s", filename, line, what) < 0)
                return -ENOMEM;
        return -EINVAL;
}

static char *strip(char *s) {
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

/* Removes matching quotes (AIM's files quote their values) or a trailing " # comment". */
static int unquote(char *v, char **ret) {
        size_t n = strlen(v);

        if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
                char *end = strchr(v + 1, v[0]);

                if (!end || *strip(end + 1) != 0)
                        return -EINVAL;
                *end = 0;
                *ret = v + 1;
                return 0;
        }
        for (char *p = v; *p; p++)
                if ((*p == '#' || *p == ';') && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
                        *p = 0;
                        break;
                }
        *ret = strip(v);
        return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long u;

        if (!isdigit((unsigned char) v[0]))
                return -EINVAL;
        errno = 0;
        u = strtoul(v, &end, 10);
        if (errno != 0 || *end != 0 || u < min || u > max)
                return -ERANGE;
        *ret = (unsigned) u;
        return 0;
}

static int assign(Config *c, const Key *k, const char *value, const char *filename, unsigned line,
                  char **ret_error) {
        void *field = (uint8_t *) c + k->offset;
        char *notice;

        switch (k->type) {
        case KEY_STRING:
                if (value[0] == 0)
                        return error_at(ret_error, filename, line, "[%s] %s must not be empty", k->section, k->name);
                return free_and_strdup(field, value) < 0 ? -ENOMEM : 0;
        case KEY_PATH:
                if (value[0] != '/')
                        return error_at(ret_error, filename, line, "[%s] %s must be an absolute path, not '%s'",
                                        k->section, k->name, value);
                return free_and_strdup(field, value) < 0 ? -ENOMEM : 0;
        case KEY_PORT:
                if (parse_uint(value, 1, 65535, field) < 0)
                        return error_at(ret_error, filename, line, "[%s] %s must be a port number 1..65535, not '%s'",
                                        k->section, k->name, value);
                return 0;
        case KEY_JOBS:
                if (parse_uint(value, 1, 64, field) < 0)
                        return error_at(ret_error, filename, line, "[%s] %s must be a number 1..64, not '%s'",
                                        k->section, k->name, value);
                return 0;
        case KEY_SECONDS:
                if (parse_uint(value, 1, 3600, field) < 0)
                        return error_at(ret_error, filename, line, "[%s] %s must be a number of seconds 1..3600, not '%s'",
                                        k->section, k->name, value);
                return 0;
        case KEY_OBSOLETE:
                if (asprintf(&notice, "%s:%u: [%s] %s is ignored: %s.", filename, line, k->section, k->name, k->why) < 0)
                        return -ENOMEM;
                return strv_consume(&c->notices, notice);
        }
        return -EINVAL;
}

static int parse_line(Config *c, char *l, const char *filename, unsigned line, char **section, bool *seen,
                      char **ret_error) {
        char *eq, *key, *value;

        l = strip(l);
        if (l[0] == 0 || l[0] == '#' || l[0] == ';')
                return 0;

        if (l[0] == '[') {
                size_t n = strlen(l);
                bool known = false;

                if (l[n - 1] != ']')
                        return error_at(ret_error, filename, line, "malformed section header '%s'", l);
                l[n - 1] = 0;
                l = strip(l + 1);
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        known = known || streq(keys[i].section, l);
                if (!known)
                        return error_at(ret_error, filename, line, "unknown section [%s]", l);
                return free_and_strdup(section, l) < 0 ? -ENOMEM : 0;
        }

        eq = strchr(l, '=');
        if (!eq)
                return error_at(ret_error, filename, line, "expected 'key = value' or '[section]', got '%s'", l);
        *eq = 0;
        key = strip(l);
        if (key[0] == 0)
                return error_at(ret_error, filename, line, "missing key before '='");
        if (!*section)
                return error_at(ret_error, filename, line, "key '%s' outside of any section", key);
        if (unquote(strip(eq + 1), &value) < 0)
                return error_at(ret_error, filename, line, "unterminated quote in the value of '%s'", key);

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(keys[i].section, *section) || !streq(keys[i].name, key))
                        continue;
                if (seen[i])
                        return error_at(ret_error, filename, line, "[%s] %s is set twice", *section, key);
                seen[i] = true;
                return assign(c, &keys[i], value, filename, line, ret_error);
        }
        return error_at(ret_error, filename, line, "unknown key '%s' in section [%s]", key, *section);
}

int config_parse(Config *c, FILE *f, const char *filename, char **ret_error) {
        _cleanup_free_ char *buf = NULL, *section = NULL;
        bool seen[ELEMENTSOF(keys)] = {};
        size_t size = 0;
        unsigned line = 0;

        for (;;) {
                ssize_t n;
                int r;

                errno = 0;
                n = getline(&buf, &size, f);
                if (n < 0)
                        return errno == 0 ? 0 : negative_errno();
                line++;
                if (strlen(buf) != (size_t) n)
                        return error_at(ret_error, filename, line, "NUL byte in line");
                r = parse_line(c, buf, filename, line, &section, seen, ret_error);
                if (r < 0)
                        return r;
        }
}

int config_load(Config *c, const char *path, bool missing_ok, char **ret_error) {
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && missing_ok)
                        return 0;
                r = negative_errno();
                if (asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        r = config_parse(c, f, path, ret_error);
        fclose(f);
        /* A read error (a directory given as the file, EIO) has no line: name the file at least. */
        if (r < 0 && !*ret_error && asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
                return -ENOMEM;
        return r;
}
