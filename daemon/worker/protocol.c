/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol.c — what aimd and its exec'd copy helper, aimd-worker, say to each other */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "worker/protocol.h"

void worker_record_done(WorkerRecord *r) {
        if (!r)
                return;
        free(r->data);
        *r = (WorkerRecord) {};
}

static bool key_is_valid(const char *key, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(key[i] >= 'a' && key[i] <= 'z') && key[i] != '_')
                        return false;
        return true;
}

/* The field of key, or NULL; fields are known to be well-formed. */
static const char *field_find(const char *data, size_t size, const char *key, size_t n) {
        for (const char *p = data; p < data + size; p += strlen(p) + 1)
                if (strncmp(p, key, n) == 0 && p[n] == '=')
                        return p + n + 1;
        return NULL;
}

int worker_record_add(WorkerRecord *r, const char *key, const char *value) {
        size_t k, v;
        char *d;

        assert_return(r, -EINVAL);
        assert_return(key, -EINVAL);
        assert_return(value, -EINVAL);
        k = strlen(key);
        v = strlen(value);
        if (!key_is_valid(key, k) || field_find(r->data, r->size, key, k))
                return -EINVAL;
        if (r->size + k + v + 2 > WORKER_RECORD_MAX)
                return -E2BIG;
        d = realloc(r->data, r->size + k + v + 2);
        if (!d)
                return -ENOMEM;
        memcpy(d + r->size, key, k);
        d[r->size + k] = '=';
        memcpy(d + r->size + k + 1, value, v + 1);
        r->data = d;
        r->size += k + v + 2;
        return 0;
}

int worker_record_addf(WorkerRecord *r, const char *key, const char *format, ...) {
        _cleanup_free_ char *value = NULL;
        va_list ap;
        int k;

        assert_return(format, -EINVAL);
        va_start(ap, format);
        k = vasprintf(&value, format, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return worker_record_add(r, key, value);
}

const char *worker_record_get(const WorkerRecord *r, const char *key) {
        assert_return(r, NULL);
        assert_return(key, NULL);
        return field_find(r->data, r->size, key, strlen(key));
}

int worker_record_foreach(const WorkerRecord *r, int (*f)(const char *key, const char *value, void *userdata),
                          void *userdata) {
        assert_return(r, -EINVAL);
        assert_return(f, -EINVAL);
        for (const char *p = r->data; p && p < r->data + r->size; p += strlen(p) + 1) {
                _cleanup_free_ char *key = strndup(p, strchr(p, '=') - p);
                int k;

                if (!key)
                        return -ENOMEM;
                k = f(key, strchr(p, '=') + 1, userdata);
                if (k < 0)
                        return k;
        }
        return 0;
}

int worker_record_parse(const void *p, size_t n, WorkerRecord *ret) {
        const char *data = p;
        char *copy;

        assert_return(p || n == 0, -EINVAL);
        assert_return(ret, -EINVAL);
        if (n > WORKER_RECORD_MAX || (n > 0 && data[n - 1] != 0))
                return -EBADMSG;
        for (size_t i = 0; i < n; i += strlen(data + i) + 1) {
                const char *eq = strchr(data + i, '=');

                if (!eq || !key_is_valid(data + i, eq - (data + i)) ||
                    field_find(data, i, data + i, eq - (data + i)))
                        return -EBADMSG;
        }
        copy = malloc(MAX(n, (size_t) 1));
        if (!copy)
                return -ENOMEM;
        memcpy(copy, p, n);
        *ret = (WorkerRecord) { .data = copy, .size = n };
        return 0;
}

int worker_record_send(int fd, const WorkerRecord *r) {
        ssize_t k;

        assert_return(fd >= 0, -EBADF);
        assert_return(r && r->size > 0, -EINVAL);       /* an empty packet reads as the end */
        do
                k = send(fd, r->data, r->size, MSG_NOSIGNAL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return negative_errno();
        return (size_t) k == r->size ? 0 : -EIO;
}

int worker_record_receive(int fd, WorkerRecord *ret) {
        _cleanup_free_ char *buffer = malloc(WORKER_RECORD_MAX);
        ssize_t k;
        int r;

        assert_return(fd >= 0, -EBADF);
        assert_return(ret, -EINVAL);
        if (!buffer)
                return -ENOMEM;
        do
                k = recv(fd, buffer, WORKER_RECORD_MAX, MSG_TRUNC);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : negative_errno();
        if ((size_t) k > WORKER_RECORD_MAX)
                return -EBADMSG;
        if (k == 0)
                return 0;
        r = worker_record_parse(buffer, (size_t) k, ret);
        return r < 0 ? r : 1;
}
