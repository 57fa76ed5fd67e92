/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.c — aim.ini (AIM-compatible) configuration with built-in defaults */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/config.h"
#include "util/message.h"
#include "util/strv.h"
#include "util/valid.h"

typedef enum KeyType {
        KEY_STRING,
        KEY_PATH,               /* an absolute path */
        KEY_PORT,
        KEY_JOBS,
        KEY_COUNT,
        KEY_REDIS_HOST,
        KEY_READABLE_FILE,
        KEY_NODE_NAME,
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
        { "monitor", "redisHost",  KEY_REDIS_HOST, offsetof(Config, redis_host) },
        { "monitor", "redisPort",  KEY_PORT,   offsetof(Config, redis_port) },
        { "monitor", "redisUser",  KEY_STRING, offsetof(Config, redis_user) },
        { "monitor", "redisPasswordFile", KEY_READABLE_FILE, offsetof(Config, redis_password_file) },
        { "monitor", "redisStream", KEY_STRING, offsetof(Config, redis_stream) },
        { "monitor", "redisMaxLen", KEY_COUNT, offsetof(Config, redis_max_len) },
        { "monitor", "redisBacklog", KEY_COUNT, offsetof(Config, redis_backlog) },
        { "monitor", "nodeName",   KEY_NODE_NAME, offsetof(Config, node_name) },
        { "rimp",    "repository", KEY_PATH,   offsetof(Config, repository) },
        { "rimp",    "datastore",  KEY_PATH,   offsetof(Config, datastore) },
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
                .redis_port = 6379,
                .redis_stream = strdup("aim:events"),
                .redis_max_len = 1000000,
                .redis_backlog = 100000,
                .repository = strdup("/opt/vm_repository"),
                .datastore = strdup("/var/lib/virt"),
                .max_jobs = 4,
                .pull_stall_seconds = 30,
                .state_dir = strdup("/var/lib/aim"),
        };
        if (!c->uri || !c->redis_stream || !c->repository || !c->datastore || !c->state_dir) {
                config_done(c);
                return -ENOMEM;
        }
        return 0;
}

void config_done(Config *c) {
        free(c->uri);
        free(c->redis_host);
        free(c->redis_user);
        free(c->redis_password_file);
        free(c->redis_stream);
        free(c->node_name);
        free(c->repository);
        free(c->datastore);
        free(c->ca_file);
        free(c->state_dir);
        strv_free(c->notices);
        *c = (Config) {};
}

static int error_at(char **reterr_message, const char *filename, unsigned line, const char *format, ...)
        _printf_(4, 5);
static int error_at(char **reterr_message, const char *filename, unsigned line, const char *format, ...) {
        _cleanup_free_ char *what = NULL;

        if (!reterr_message)
                return -EINVAL;
        if (VA_FORMAT_ALLOC(&what, format) < 0)
                return -ENOMEM;
        if (asprintf(reterr_message, "%s:%u: %s", filename, line, what) < 0)
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

static bool is_comment(const char *s) {
        return s[0] == '#' || s[0] == ';';
}

/* Removes matching quotes (AIM's files quote their values) or a trailing " # comment"; a quoted
 * value may be followed by a comment too. -EINVAL: no closing quote; -EBADMSG: text after it. */
static int unquote(char *v, char **ret) {
        size_t n = strlen(v);

        if (n > 0 && (v[0] == '"' || v[0] == '\'')) {
                char *end = strchr(v + 1, v[0]), *rest;

                if (!end)
                        return -EINVAL;
                rest = strip(end + 1);
                if (rest[0] != 0 && !is_comment(rest))
                        return -EBADMSG;
                *end = 0;
                *ret = v + 1;
                return 0;
        }
        for (char *p = v; *p; p++)
                if (is_comment(p) && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
                        *p = 0;
                        break;
                }
        *ret = strip(v);
        return 0;
}

bool valid_node_name(const char *s) {
        size_t n = strlen(s);

        return n > 0 && n <= 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* The password is read when the broker connects; a file that cannot be read is a mistake to report now. */
static int check_readable_file(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0)
                return negative_errno();
        return S_ISREG(st.st_mode) ? 0 : -EISDIR;
}

/* A number 1..max into field, or the sentence saying what the key wants ("<what> 1..max"). */
static int set_uint(void *field, const char *value, unsigned max, const char *what, const Key *k,
                    const char *filename, unsigned line, char **reterr_message) {
        unsigned u;

        if (safe_atou_bounded(value, max, &u) >= 0 && u >= 1) {
                *(unsigned *) field = u;
                return 0;
        }
        return error_at(reterr_message, filename, line, "[%s] %s must be %s 1..%u, not '%s'", k->section,
                                k->name, what, max, value);
}

/* What a PATH, REDIS_HOST or NODE_NAME key must be, or NULL when value is that. */
static const char *string_key_wants(KeyType type, const char *value) {
        switch (type) {
        case KEY_PATH:
                /* Relative to what? The daemon's working directory is / under systemd and anything by hand. */
                return value[0] != '/' ? "an absolute path" : NULL;
        case KEY_REDIS_HOST:
                /* A path is a Unix socket; relative to what the daemon's cwd happens to be, it means nothing. */
                return value[0] != '/' && (strchr(value, '/') || value[strcspn(value, " \t")] != 0) ?
                       "a host name, an IP address or an absolute socket path" : NULL;
        default:
                return !valid_node_name(value) ? "1..64 bytes of [A-Za-z0-9._-]" : NULL;
        }
}

static int assign(Config *c, const Key *k, const char *value, const char *filename, unsigned line,
                  char **reterr_message) {
        void *field = (uint8_t *) c + k->offset;
        const char *wants;
        char *notice;
        int r;

        switch (k->type) {
        case KEY_STRING:
                if (value[0] == 0)
                        return error_at(reterr_message, filename, line, "[%s] %s must not be empty", k->section, k->name);
                break;
        case KEY_PATH:
        case KEY_REDIS_HOST:
        case KEY_NODE_NAME:
                wants = string_key_wants(k->type, value);
                if (wants)
                        return error_at(reterr_message, filename, line, "[%s] %s must be %s, not '%s'", k->section,
                                        k->name, wants, value);
                break;
        case KEY_PORT:
                return set_uint(field, value, 65535, "a port number", k, filename, line, reterr_message);
        case KEY_JOBS:
                return set_uint(field, value, 64, "a number", k, filename, line, reterr_message);
        case KEY_COUNT:
                return set_uint(field, value, UINT_MAX, "a number", k, filename, line, reterr_message);
        case KEY_READABLE_FILE:
                r = value[0] == '/' ? check_readable_file(value) : -EINVAL;
                if (r < 0)
                        return error_at(reterr_message, filename, line, "[%s] %s must be an absolute path to a readable file, "
                                        "'%s' is not: %s", k->section, k->name, value,
                                        r == -EINVAL ? "a relative path" : strerror(-r));
                break;
        case KEY_SECONDS:
                return set_uint(field, value, 3600, "a number of seconds", k, filename, line, reterr_message);
        case KEY_OBSOLETE:
                if (asprintf(&notice, "%s:%u: [%s] %s is ignored: %s.", filename, line, k->section, k->name, k->why) < 0)
                        return -ENOMEM;
                return strv_consume(&c->notices, notice);
        }
        /* A string key that passed its check. */
        return free_and_strdup(field, value) < 0 ? -ENOMEM : 0;
}

static int parse_line(Config *c, char *l, const char *filename, unsigned line, char **section, bool *seen,
                      char **reterr_message) {
        char *eq, *key, *value;
        int r;

        l = strip(l);
        if (l[0] == 0 || is_comment(l))
                return 0;

        if (l[0] == '[') {
                size_t n = strlen(l);
                bool known = false;

                if (l[n - 1] != ']')
                        return error_at(reterr_message, filename, line, "malformed section header '%s'", l);
                l[n - 1] = 0;
                l = strip(l + 1);
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        known = known || streq(keys[i].section, l);
                if (!known)
                        return error_at(reterr_message, filename, line, "unknown section [%s]", l);
                return free_and_strdup(section, l) < 0 ? -ENOMEM : 0;
        }

        eq = strchr(l, '=');
        if (!eq)
                return error_at(reterr_message, filename, line, "expected 'key = value' or '[section]', got '%s'", l);
        *eq = 0;
        key = strip(l);
        if (key[0] == 0)
                return error_at(reterr_message, filename, line, "missing key before '='");
        if (!*section)
                return error_at(reterr_message, filename, line, "key '%s' outside of any section", key);
        r = unquote(strip(eq + 1), &value);
        if (r == -EBADMSG)
                return error_at(reterr_message, filename, line, "text after the quoted value of '%s' (a comment starts with '#' or ';')", key);
        if (r < 0)
                return error_at(reterr_message, filename, line, "unterminated quote in the value of '%s'", key);

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (!streq(keys[i].section, *section) || !streq(keys[i].name, key))
                        continue;
                if (seen[i])
                        return error_at(reterr_message, filename, line, "[%s] %s is set twice", *section, key);
                seen[i] = true;
                return assign(c, &keys[i], value, filename, line, reterr_message);
        }
        return error_at(reterr_message, filename, line, "unknown key '%s' in section [%s]", key, *section);
}

/* What editors on Windows put at the start of a UTF-8 file: U+FEFF, no part of the first line. */
#define UTF8_BOM "\xef\xbb\xbf"

int config_parse(Config *c, FILE *f, const char *filename, char **reterr_message) {
        _cleanup_free_ char *buf = NULL, *section = NULL;
        bool seen[ELEMENTSOF(keys)] = {};
        size_t size = 0;
        unsigned line = 0;

        for (;;) {
                ssize_t n;
                size_t skip;
                int r;

                errno = 0;
                n = getline(&buf, &size, f);
                if (n < 0)
                        return errno == 0 ? 0 : negative_errno();
                line++;
                if (strlen(buf) != (size_t) n)
                        return error_at(reterr_message, filename, line, "NUL byte in line");
                skip = line == 1 && strncmp(buf, UTF8_BOM, strlen(UTF8_BOM)) == 0 ? strlen(UTF8_BOM) : 0;
                r = parse_line(c, buf + skip, filename, line, &section, seen, reterr_message);
                if (r < 0)
                        return r;
        }
}

int config_load(Config *c, const char *path, bool missing_ok, char **reterr_message) {
        _cleanup_free_ char *message = NULL;
        FILE *f;
        int r;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && missing_ok)
                        return 0;
                r = negative_errno();
                if (reterr_message && asprintf(reterr_message, "%s: %s", path, strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        r = config_parse(c, f, path, &message);
        fclose(f);
        if (r >= 0)
                return r;
        /* A read error (a directory given as the file, EIO) has no line: name the file at least. */
        if (!message && asprintf(&message, "%s: %s", path, strerror(-r)) < 0)
                return -ENOMEM;
        if (reterr_message)
                *reterr_message = TAKE_PTR(message);
        return r;
}

/* Does the key's value differ between a and b? */
static bool key_differs(const Key *k, const Config *a, const Config *b) {
        const uint8_t *fa = (const uint8_t *) a + k->offset, *fb = (const uint8_t *) b + k->offset;

        switch (k->type) {
        case KEY_STRING:
        case KEY_PATH:
        case KEY_REDIS_HOST:
        case KEY_READABLE_FILE:
        case KEY_NODE_NAME:
                return !streq_ptr(*(char * const *) fa, *(char * const *) fb);
        case KEY_PORT:
        case KEY_JOBS:
        case KEY_COUNT:
        case KEY_SECONDS:
                return *(const unsigned *) fa != *(const unsigned *) fb;
        case KEY_OBSOLETE:
                return false;
        }
        return true;
}

/* What SIGHUP takes into the running daemon: [rimp] maxJobs (main.c hands it to the job queue). */
static bool key_reloadable(const Key *k) {
        return k->type == KEY_JOBS && k->offset == offsetof(Config, max_jobs);
}

int config_reload(Config *c, Config *next, char ***ret_pending) {
        _cleanup_strv_free_ char **pending = NULL;
        int r;

        assert_return(c, -EINVAL);
        assert_return(next, -EINVAL);
        assert_return(ret_pending, -EINVAL);

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const Key *k = &keys[i];
                char *name;

                if (!key_differs(k, c, next))
                        continue;
                if (!key_reloadable(k)) {
                        if (asprintf(&name, "[%s] %s", k->section, k->name) < 0)
                                return -ENOMEM;
                        r = strv_consume(&pending, name);
                        if (r < 0)
                                return r;
                        continue;
                }
                /* A plain number (KEY_JOBS): copied, so next stays whole. */
                memcpy((uint8_t *) c + k->offset, (const uint8_t *) next + k->offset, sizeof(unsigned));
        }
        strv_free(c->notices);
        c->notices = TAKE_PTR(next->notices);
        *ret_pending = TAKE_PTR(pending);
        return 0;
}
