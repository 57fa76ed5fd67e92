/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seq.c — the node's event sequence numbers, persisted ahead in blocks so that a crash never reuses one */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/seq.h"
#include "util/macro.h"

static int seq_write(SeqStore *s, uint64_t value) {
        _cleanup_close_ int fd = -EBADF;
        char buf[32];
        int n;

        if (s->dir_fd < 0)
                return 0;
        n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);
        fd = openat(s->dir_fd, SEQ_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        if (write(fd, buf, n) != n)
                return errno > 0 ? negative_errno() : -EIO;
        if (fdatasync(fd) < 0)
                return negative_errno();
        if (renameat(s->dir_fd, SEQ_FILE ".tmp", s->dir_fd, SEQ_FILE) < 0)
                return negative_errno();
        if (fsync(s->dir_fd) < 0)
                return negative_errno();
        return 0;
}

static int seq_read(int dir_fd, uint64_t *ret) {
        _cleanup_close_ int fd = -EBADF;
        char buf[32] = {}, *end;
        ssize_t n;

        fd = openat(dir_fd, SEQ_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        errno = 0;
        *ret = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf || (*end != '\n' && *end != 0))
                return -EBADMSG;
        return 1;
}

int seq_store_open(SeqStore *s, const char *state_dir, char **reterr_message) {
        _cleanup_close_ int dir_fd = -EBADF;
        uint64_t last = 0;
        int r;

        assert_return(s, -EINVAL);
        assert_return(state_dir, -EINVAL);

        dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                r = negative_errno();
                return asprintf(reterr_message, "Cannot open the state directory %s: %s", state_dir,
                                strerror(-r)) < 0 ? -ENOMEM : r;
        }
        r = seq_read(dir_fd, &last);
        if (r < 0)
                return asprintf(reterr_message, "Cannot read %s/%s: %s", state_dir, SEQ_FILE,
                                r == -EBADMSG ? "not a number" : strerror(-r)) < 0 ? -ENOMEM : r;
        *s = (SeqStore) { .dir_fd = TAKE_FD(dir_fd), .next = last + 1, .reserved = last };
        return 0;
}

uint64_t seq_store_take(SeqStore *s) {
        if (s->next > s->reserved) {
                s->reserved = s->next + SEQ_BLOCK - 1;
                s->error = seq_write(s, s->reserved);
        }
        return s->next++;
}

int seq_store_close(SeqStore *s) {
        int r;

        if (!s || s->dir_fd < 0)
                return 0;
        r = seq_write(s, s->next - 1);
        s->dir_fd = safe_close(s->dir_fd);
        return r;
}
