/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan-state.c — the VLAN records in <state_dir>/network: one small file per VLAN, replaced atomically
 *
 * The directory is the daemon's, but a careless admin (or a hostile one with a shell there) may leave
 * anything in it: every entry is opened with O_NOFOLLOW|O_NONBLOCK and checked with fstat() before a
 * byte is read, so that a symlink, a FIFO or a device is skipped, never followed and never waited for. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/log.h"
#include "network/vlan-state.h"
#include "util/valid.h"

#define RECORD_PREFIX "vlan-"
#define TEMP_PREFIX ".#"

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

int vlan_state_open(const char *state_dir, VlanState **ret) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        VlanState *s;

        assert_return(state_dir, -EINVAL);
        assert_return(ret, -EINVAL);

        /* Under systemd StateDirectory= makes it; started by hand, we do. */
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        dfd = open(state_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (mkdirat(dfd, "network", 0755) < 0 && errno != EEXIST)
                return negative_errno();
        fd = openat(dfd, "network", O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        s = calloc(1, sizeof(VlanState));
        if (!s)
                return -ENOMEM;
        *s = (VlanState) { .dir_fd = TAKE_FD(fd), .fsync = true };
        *ret = s;
        return 0;
}

VlanState *vlan_state_free(VlanState *s) {
        if (!s)
                return NULL;
        safe_close(s->dir_fd);
        free(s);
        return NULL;
}

int vlan_state_write_file(VlanState *s, const char *name, const void *data, size_t size) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        ssize_t k;
        int r;

        assert_return(s, -EINVAL);
        assert_return(name && !strchr(name, '/'), -EINVAL);
        assert_return(data || size == 0, -EINVAL);

        if (asprintf(&tmp, TEMP_PREFIX "%s", name) < 0)
                return -ENOMEM;
        fd = openat(s->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        k = write(fd, data, size);
        if (k < 0 || (size_t) k != size || (s->fsync && fdatasync(fd) < 0) ||
            renameat(s->dir_fd, tmp, s->dir_fd, name) < 0) {
                r = k >= 0 && (size_t) k != size ? -EIO : negative_errno();
                (void) unlinkat(s->dir_fd, tmp, 0);
                return r;
        }
        s->dirty = true;
        return 0;
}

int vlan_state_read_file(VlanState *s, const char *name, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;
        ssize_t k;

        assert_return(s, -EINVAL);
        assert_return(name, -EINVAL);
        assert_return(ret, -EINVAL);

        /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer; O_NOFOLLOW: a symlink fails
         * with ELOOP. Either way, fstat() decides before any read. */
        fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADF : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        /* Read to the end (up to max + 1 bytes: a file that grew since fstat() is refused too). */
        while (n <= max) {
                k = read(fd, buf + n, max + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        if (n > max)
                return -EFBIG;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int vlan_state_remove_file(VlanState *s, const char *name) {
        assert_return(s, -EINVAL);
        assert_return(name, -EINVAL);

        if (unlinkat(s->dir_fd, name, 0) < 0 && errno != ENOENT)
                return negative_errno();
        s->dirty = true;
        return 0;
}

static int record_file_name(const char *name, char buf[static IFNAMSIZ + sizeof(RECORD_PREFIX)]) {
        if (!ifname_is_valid(name))
                return -EINVAL;
        snprintf(buf, IFNAMSIZ + sizeof(RECORD_PREFIX), RECORD_PREFIX "%s", name);
        return 0;
}

int vlan_state_write(VlanState *s, const VlanRecord *rec) {
        char path[IFNAMSIZ + sizeof(RECORD_PREFIX)], buf[256];
        int k, r;

        assert_return(s, -EINVAL);
        assert_return(rec, -EINVAL);

        r = record_file_name(rec->name, path);
        if (r < 0)
                return r;
        k = snprintf(buf, sizeof(buf), "name=%s\nparent=%s\ntag=%u\nbridge=%s\nmtu=%u\ncreated-vlan=%d\n"
                     "created-bridge=%d\n", rec->name, rec->parent, rec->tag, rec->bridge, rec->mtu,
                     rec->created_vlan, rec->created_bridge);
        assert(k > 0 && (size_t) k < sizeof(buf));
        return vlan_state_write_file(s, path, buf, (size_t) k);
}

int vlan_state_remove(VlanState *s, const char *name) {
        char path[IFNAMSIZ + sizeof(RECORD_PREFIX)];
        int r;

        assert_return(s, -EINVAL);

        r = record_file_name(name, path);
        if (r < 0)
                return r;
        return vlan_state_remove_file(s, path);
}

static int parse_ifname(const char *value, char buf[static IFNAMSIZ]) {
        if (!ifname_is_valid(value))
                return -EBADMSG;
        strcpy(buf, value);
        return 0;
}

static int parse_bool01(const char *value, bool *ret) {
        if (!streq(value, "0") && !streq(value, "1"))
                return -EBADMSG;
        *ret = value[0] == '1';
        return 0;
}

/* One "key=value" line (its '\n' already cut) into rec; *seen gets a bit per required key. */
static int parse_line(char *line, VlanRecord *rec, unsigned *seen) {
        char *value = strchr(line, '=');
        unsigned u;

        if (!value)
                return -EBADMSG;
        *value++ = 0;
        if (streq(line, "name")) {
                *seen |= 1;
                return parse_ifname(value, rec->name);
        }
        if (streq(line, "parent")) {
                *seen |= 2;
                return parse_ifname(value, rec->parent);
        }
        if (streq(line, "bridge")) {
                *seen |= 4;
                return parse_ifname(value, rec->bridge);
        }
        if (streq(line, "tag")) {
                *seen |= 8;
                if (safe_atou_bounded(value, UINT16_MAX, &u) < 0)
                        return -EBADMSG;
                rec->tag = (uint16_t) u;
                return 0;
        }
        if (streq(line, "mtu")) {
                if (safe_atou_bounded(value, UINT32_MAX, &u) < 0)
                        return -EBADMSG;
                rec->mtu = u;
                return 0;
        }
        if (streq(line, "created-vlan"))
                return parse_bool01(value, &rec->created_vlan);
        if (streq(line, "created-bridge"))
                return parse_bool01(value, &rec->created_bridge);
        return 0;
}

int vlan_record_parse(const char *text, size_t size, VlanRecord *ret) {
        _cleanup_free_ char *copy = NULL;
        VlanRecord rec = {};
        unsigned seen = 0;
        char *p, *nl;
        int r;

        assert_return(text || size == 0, -EINVAL);
        assert_return(ret, -EINVAL);

        if (size > VLAN_RECORD_SIZE_MAX || (size > 0 && memchr(text, 0, size)))
                return -EBADMSG;
        copy = strndup(text ?: "", size);
        if (!copy)
                return -ENOMEM;
        for (p = copy; *p; p = nl + 1) {
                nl = strchr(p, '\n');
                if (!nl)
                        return -EBADMSG;        /* a record ends with a newline: a cut one does not */
                *nl = 0;
                r = parse_line(p, &rec, &seen);
                if (r < 0)
                        return r;
        }
        if (seen != 15)
                return -EBADMSG;
        *ret = rec;
        return 0;
}

int vlan_state_foreach(VlanState *s, const char *prefix, size_t max, VlanStateFileHandler handler, void *userdata) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd, r;

        assert_return(s, -EINVAL);
        assert_return(prefix, -EINVAL);
        assert_return(handler, -EINVAL);

        fd = openat(s->dir_fd, ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }

        while ((de = readdir(d))) {
                _cleanup_free_ char *text = NULL;
                size_t size = 0;

                if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0) {
                        (void) unlinkat(s->dir_fd, de->d_name, 0);      /* a write a crash cut short */
                        continue;
                }
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                r = vlan_state_read_file(s, de->d_name, max, &text, &size);
                if (r == -EBADF) {
                        log_warning("Skipping %s in the state directory: not a regular file.", de->d_name);
                        continue;
                }
                if (r < 0) {
                        log_warning_errno(r, "Skipping %s in the state directory: %m", de->d_name);
                        continue;
                }
                r = handler(de->d_name, text, size, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct LoadContext {
        VlanRecordHandler handler;
        void *userdata;
        int count;
} LoadContext;

static int on_record_file(const char *name, const char *text, size_t size, void *userdata) {
        LoadContext *c = userdata;
        VlanRecord rec;
        int r;

        r = vlan_record_parse(text, size, &rec);
        if (r == -EBADMSG) {
                log_warning("Skipping malformed VLAN record %s.", name);
                return 0;
        }
        if (r < 0)
                return r;
        r = c->handler(&rec, c->userdata);
        if (r > 0)
                c->count++;
        return r < 0 ? r : 0;
}

int vlan_state_load(VlanState *s, VlanRecordHandler handler, void *userdata) {
        LoadContext c = { .handler = handler, .userdata = userdata };
        int r;

        assert_return(s, -EINVAL);
        assert_return(handler, -EINVAL);

        r = vlan_state_foreach(s, RECORD_PREFIX, VLAN_RECORD_SIZE_MAX, on_record_file, &c);
        return r < 0 ? r : c.count;
}

int vlan_state_sync(VlanState *s) {
        assert_return(s, -EINVAL);

        if (!s->dirty)
                return 0;
        s->dirty = false;
        if (s->fsync && fsync(s->dir_fd) < 0)
                return negative_errno();
        return 0;
}
