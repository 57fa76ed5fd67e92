/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull.c — downloads over http and https with libcurl, for the copy worker: hardened and resumable
 *
 * libcurl's multi interface turned into a reader: pull_read() runs the transfer until the write
 * callback has put bytes into our buffer, so that the consumer (libarchive's read callback, or a
 * plain writer) pulls the body at its own pace and curl is paused while it is busy. What curl
 * checks badly for us we check ourselves: the status line (an error status is the job's failure,
 * with its reason), and the length — Content-Length is ignored by curl and compared here, so that a
 * body longer than announced is caught, not silently cut. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "images/pull.h"
#include "util/message.h"
#include "util/valid.h"

/* curl hands us at most this much per call; our buffer holds a few of them. */
#define PULL_CURL_BUFFER (256U * 1024)
#define PULL_BUFFER (4U * PULL_CURL_BUFFER)
/* A connection (TCP and TLS handshake) may take this long, or the stall bound if that is longer:
 * a short stall bound must not fail a slow handshake on a busy host. */
#define PULL_CONNECT_SECONDS 30
/* How long one wait for the socket lasts: progress and cancellation are looked at in between. */
#define PULL_POLL_MSEC 200

struct Pull {
        char *url;
        PullOptions o;
        CURLM *multi;
        CURL *easy;                     /* the transfer under way; NULL between two */
        struct curl_slist *headers;
        char error[CURL_ERROR_SIZE];

        /* The response being received (reset by every status line: redirects have their own). */
        long status;
        char reason[64];
        int64_t length;                 /* its Content-Length; -1: none */
        char etag[256], last_modified[64], location[256];
        int64_t range_start, range_total;
        uint64_t received;              /* of its body */
        bool asked_range;

        /* The body as a whole. */
        uint64_t offset;                /* bytes of it read, where a resume starts */
        uint64_t size;                  /* as announced; 0: unknown */
        char validator[256];            /* If-Range of a resume: the strong ETag or Last-Modified; "": none */
        unsigned resumes;
        bool finished, restarted;
        int failure;                    /* set by a callback that stopped the transfer */
        char *failure_message;

        uint8_t *buffer;
        size_t filled;
        bool delivered;                 /* the reader has the filled bytes */
        bool paused;
};

/* A callback's failure, kept until pull_read() can hand it on. */
static void set_failure(Pull *p, int r, const char *format, ...) _printf_(3, 4);
static void set_failure(Pull *p, int r, const char *format, ...) {
        if (p->failure < 0)
                return;
        p->failure = r;
        (void) VA_FORMAT_ALLOC(&p->failure_message, format);
}

/* "12.0 MiB": for messages. */
static const char *format_bytes(uint64_t n, char *buf, size_t size) {
        if (n < 1024)
                snprintf(buf, size, "%" PRIu64 " B", n);
        else if (n < 1024 * 1024)
                snprintf(buf, size, "%.1f KiB", (double) n / 1024);
        else if (n < 1024ULL * 1024 * 1024)
                snprintf(buf, size, "%.1f MiB", (double) n / (1024 * 1024));
        else
                snprintf(buf, size, "%.2f GiB", (double) n / (1024.0 * 1024 * 1024));
        return buf;
}

static void response_reset(Pull *p) {
        p->status = 0;
        p->reason[0] = p->etag[0] = p->last_modified[0] = p->location[0] = 0;
        p->length = -1;
        p->range_start = p->range_total = -1;
        p->received = 0;
}

/* Copies a header's value without its line end, if it fits. */
static void header_value(const char *v, size_t n, char *buf, size_t size) {
        while (n > 0 && (v[0] == ' ' || v[0] == '\t'))
                v++, n--;
        while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
                n--;
        if (n >= size)
                n = 0;          /* cut would be wrong: a validator that does not fit is no validator */
        memcpy(buf, v, n);
        buf[n] = 0;
}

static bool header_is(const char *line, size_t n, const char *name, const char **ret_value, size_t *ret_n) {
        size_t k = strlen(name);

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return false;
        *ret_value = line + k + 1;
        *ret_n = n - k - 1;
        return true;
}

static int parse_int64(const char *s, int64_t *ret) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || v < 0)
                return -EINVAL;
        *ret = v;
        return (int) (end - s);
}

/* The headers of the final response are complete: is it the body we want, from where we want it? */
static bool response_accept(Pull *p) {
        char a[32], b[32];

        if (p->status == 206 && p->asked_range) {
                if (p->range_start != (int64_t) p->offset) {
                        set_failure(p, -EPROTO, "The server resumed at byte %" PRIi64 " instead of %" PRIu64,
                                    p->range_start, p->offset);
                        return false;
                }
                if (p->range_total >= 0)
                        p->size = (uint64_t) p->range_total;
                return true;
        }
        if (p->status == 416 && p->asked_range && p->range_total == (int64_t) p->offset) {
                /* The file is all we have: the earlier response announced more than it is. */
                set_failure(p, -EPROTO, "The body is shorter than its Content-Length (%" PRIu64 " of %" PRIu64 " bytes)",
                            p->offset, p->size);
                return false;
        }
        if (p->status != 200) {
                set_failure(p, -EPROTO, "HTTP %ld%s%s", p->status, p->reason[0] ? " " : "", p->reason);
                return false;
        }
        if (p->offset > 0) {
                /* The whole body again: Range ignored, or the file changed (If-Range). */
                p->offset = 0;
                p->restarted = true;
        }
        p->size = p->length >= 0 ? (uint64_t) p->length : 0;
        /* A weak ETag may not be used in If-Range (RFC 9110 13.1.5). */
        snprintf(p->validator, sizeof(p->validator), "%s",
                 p->etag[0] && strncmp(p->etag, "W/", 2) != 0 ? p->etag : p->last_modified);
        if (p->o.max_size > 0 && p->size > p->o.max_size) {
                set_failure(p, -EFBIG, "The image is %s, more than max_size (%s)",
                            format_bytes(p->size, a, sizeof(a)), format_bytes(p->o.max_size, b, sizeof(b)));
                return false;
        }
        return true;
}

static size_t on_header(char *line, size_t size, size_t n, void *userdata) {
        Pull *p = userdata;
        const char *v;
        size_t k;

        n *= size;
        if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
                const char *s = memchr(line, ' ', n), *r;

                response_reset(p);
                if (s) {
                        p->status = strtol(s + 1, NULL, 10);
                        r = memchr(s + 1, ' ', n - (size_t) (s + 1 - line));
                        if (r)
                                header_value(r + 1, n - (size_t) (r + 1 - line), p->reason, sizeof(p->reason));
                }
                return n;
        }
        if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
                /* The end of a response's headers: interim ones (1xx, redirects curl follows) pass. */
                if (p->status < 200 || (p->status >= 300 && p->status < 400 && p->location[0]))
                        return n;
                return response_accept(p) ? n : 0;
        }
        if (header_is(line, n, "Content-Length", &v, &k)) {
                char buf[32];

                header_value(v, k, buf, sizeof(buf));
                if (parse_int64(buf, &p->length) != (int) strlen(buf))
                        p->length = -1;
        } else if (header_is(line, n, "ETag", &v, &k))
                header_value(v, k, p->etag, sizeof(p->etag));
        else if (header_is(line, n, "Last-Modified", &v, &k))
                header_value(v, k, p->last_modified, sizeof(p->last_modified));
        else if (header_is(line, n, "Location", &v, &k))
                header_value(v, k, p->location, sizeof(p->location));
        else if (header_is(line, n, "Content-Range", &v, &k)) {
                char buf[96] = "";
                const char *s;
                int64_t end;
                int m;

                /* "bytes START-END/TOTAL"; a 416 has an asterisk in place of START-END */
                header_value(v, k, buf, sizeof(buf));
                if (strncmp(buf, "bytes ", 6) != 0)
                        return n;
                s = buf + 6;
                if (s[0] != '*') {
                        m = parse_int64(s, &p->range_start);
                        if (m <= 0 || s[m] != '-')
                                return n;
                        s += m + 1;
                        m = parse_int64(s, &end);
                        if (m <= 0)
                                return n;
                        s += m;
                } else
                        s++;
                if (s[0] == '/' && parse_int64(s + 1, &p->range_total) <= 0)
                        p->range_total = -1;
        }
        return n;
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata) {
        Pull *p = userdata;
        char a[32];

        n *= size;
        if (p->filled + n > PULL_BUFFER) {
                p->paused = true;
                return CURL_WRITEFUNC_PAUSE;    /* handed to us again once the reader made room */
        }
        p->received += n;
        if (p->length >= 0 && p->received > (uint64_t) p->length) {
                set_failure(p, -EPROTO, "The body is longer than its Content-Length (%" PRIi64 " bytes)", p->length);
                return 0;
        }
        if (p->o.max_size > 0 && p->offset + n > p->o.max_size) {
                set_failure(p, -EFBIG, "The image is larger than max_size (%s)",
                            format_bytes(p->o.max_size, a, sizeof(a)));
                return 0;
        }
        memcpy(p->buffer + p->filled, data, n);
        p->filled += n;
        p->offset += n;
        return n;
}

static void transfer_end(Pull *p) {
        if (!p->easy)
                return;
        (void) curl_multi_remove_handle(p->multi, p->easy);
        curl_easy_cleanup(p->easy);
        p->easy = NULL;
        curl_slist_free_all(p->headers);
        p->headers = NULL;
        p->paused = false;
}

static int transfer_start(Pull *p) {
        char range[64], condition[320];
        bool resume;
        CURL *e;

        e = curl_easy_init();
        if (!e)
                return -ENOMEM;
        p->easy = e;
        p->error[0] = 0;
        response_reset(p);

        /* Resumed only against a validator: without one a changed file would be spliced. */
        resume = p->offset > 0 && p->validator[0];
        p->asked_range = resume;
        /* curl would otherwise keep the connection open, waiting for a body it ignores the length of. */
        p->headers = curl_slist_append(NULL, "Connection: close");
        if (resume && p->headers) {
                snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", p->offset);
                snprintf(condition, sizeof(condition), "If-Range: %s", p->validator);
                if (!curl_slist_append(p->headers, range) || !curl_slist_append(p->headers, condition))
                        return -ENOMEM;
        }
        if (!p->headers)
                return -ENOMEM;

        if (curl_easy_setopt(e, CURLOPT_URL, p->url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long) PULL_MAX_REDIRECTS) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            (p->o.ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, p->o.ca_file) != CURLE_OK) ||
            curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_IGNORE_CONTENT_LENGTH, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "aimd/" AIMD_VERSION) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long) MAX(p->o.stall_seconds, PULL_CONNECT_SECONDS)) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (long) PULL_STALL_BYTES_PER_SECOND) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long) p->o.stall_seconds) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long) PULL_CURL_BUFFER) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->error) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_HEADERDATA, p) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, p) != CURLE_OK)
                return -EOPNOTSUPP;
        if (curl_multi_add_handle(p->multi, e) != CURLM_OK)
                return -ENOMEM;
        return 0;
}

/* Waits msec before a resume, watching for cancellation. */
static int backoff(Pull *p, unsigned msec) {
        while (msec > 0) {
                unsigned k = MIN(msec, (unsigned) PULL_POLL_MSEC);
                struct timespec ts = { k / 1000, (long) (k % 1000) * 1000000L };
                int r;

                (void) nanosleep(&ts, NULL);
                msec -= k;
                if (p->o.progress) {
                        r = p->o.progress(p->offset, p->size, p->o.userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static bool result_is_dropped(CURLcode c) {
        return c == CURLE_PARTIAL_FILE || c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
               c == CURLE_GOT_NOTHING || c == CURLE_HTTP2_STREAM;
}

/* The sentence for a transfer curl ended with c. */
static int result_error(Pull *p, CURLcode c, char **reterr_message) {
        const char *what = p->error[0] ? p->error : curl_easy_strerror(c);
        char a[32];

        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:
                if (p->status == 0)
                        return message_set(reterr_message, -ETIMEDOUT, "Could not connect within %u s: %s",
                                    MAX(p->o.stall_seconds, (unsigned) PULL_CONNECT_SECONDS), what);
                return message_set(reterr_message, -ETIMEDOUT, "The transfer stalled for %u s at %s",
                            p->o.stall_seconds, format_bytes(p->offset, a, sizeof(a)));
        case CURLE_PEER_FAILED_VERIFICATION:
                return message_set(reterr_message, -EPERM, "certificate verify failed: %s", what);
        case CURLE_SSL_CACERT_BADFILE:
                return message_set(reterr_message, -ENOENT, "Cannot read the CA file %s: %s", strempty(p->o.ca_file), what);
        case CURLE_SSL_CONNECT_ERROR:
                return message_set(reterr_message, -EPROTO, "TLS handshake failed: %s", what);
        case CURLE_UNSUPPORTED_PROTOCOL:
                if (p->location[0])
                        return message_set(reterr_message, -EPROTO, "Redirected to '%s', which is not http or https", p->location);
                return message_set(reterr_message, -EPROTO, "%s", what);
        case CURLE_TOO_MANY_REDIRECTS:
                return message_set(reterr_message, -ELOOP, "More than %u redirects (a redirect loop?)", PULL_MAX_REDIRECTS);
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
                return message_set(reterr_message, -EHOSTUNREACH, "%s", what);
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return message_set(reterr_message, -EIO, "The transfer failed: %s", what);
        }
}

/* The transfer ended with c: finished, resumed (a new transfer started), or failed. */
static int transfer_done(Pull *p, CURLcode c, char **reterr_message) {
        char a[32], b[32];
        int r;

        if (p->failure < 0) {
                r = p->failure;
                if (reterr_message)
                        *reterr_message = TAKE_PTR(p->failure_message);
                return r;
        }
        if (c == CURLE_OK && (p->length < 0 || p->received == (uint64_t) p->length)) {
                transfer_end(p);
                p->finished = true;
                return 0;
        }
        if (c != CURLE_OK && !result_is_dropped(c))
                return result_error(p, c, reterr_message);

        /* The connection ended before the body did. */
        transfer_end(p);
        if (p->resumes >= PULL_MAX_RESUMES)
                return message_set(reterr_message, -ECONNRESET, "The connection dropped %u times; gave up at %s of %s",
                            p->resumes + 1, format_bytes(p->offset, a, sizeof(a)), format_bytes(p->size, b, sizeof(b)));
        r = backoff(p, p->o.backoff_msec << p->resumes);
        if (r < 0)
                return message_set(reterr_message, r, "Cancelled");
        p->resumes++;
        r = transfer_start(p);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to set up the transfer: %s", strerror(-r));
        return 0;
}

/* Runs curl until something happened: bytes, an end, or a failure. */
static int transfer_step(Pull *p, char **reterr_message) {
        CURLMsg *m;
        int running = 0, left = 0, r;
        CURLMcode mc;

        mc = curl_multi_perform(p->multi, &running);
        if (mc != CURLM_OK)
                return message_set(reterr_message, -EIO, "The transfer failed: %s", curl_multi_strerror(mc));
        while ((m = curl_multi_info_read(p->multi, &left)))
                if (m->msg == CURLMSG_DONE) {
                        r = transfer_done(p, m->data.result, reterr_message);
                        /* transfer_done() replaced or ended the handle: m is gone with it. */
                        return r;
                }
        if (p->filled == 0 && running > 0) {
                mc = curl_multi_poll(p->multi, NULL, 0, PULL_POLL_MSEC, NULL);
                if (mc != CURLM_OK)
                        return message_set(reterr_message, -EIO, "The transfer failed: %s", curl_multi_strerror(mc));
        }
        return 0;
}

ssize_t pull_read(Pull *p, const void **ret, char **reterr_message) {
        int r;

        assert_return(p, -EINVAL);
        assert_return(ret, -EINVAL);

        /* What the last call returned has been consumed (a PULL_RESTARTED leaves the buffer be:
         * it may hold the new body's first bytes). */
        if (p->delivered) {
                p->filled = 0;
                p->delivered = false;
        }
        if (p->paused && p->easy) {
                p->paused = false;
                /* The data curl held back is handed to on_write() now, which may stop it. */
                if (curl_easy_pause(p->easy, CURLPAUSE_CONT) != CURLE_OK) {
                        if (p->failure < 0) {
                                if (reterr_message)
                                        *reterr_message = TAKE_PTR(p->failure_message);
                                return p->failure;
                        }
                        return message_set(reterr_message, -EIO, "Failed to resume the paused transfer");
                }
        }
        for (;;) {
                if (p->restarted) {
                        p->restarted = false;
                        return PULL_RESTARTED;
                }
                if (p->filled > 0) {
                        p->delivered = true;
                        *ret = p->buffer;
                        return (ssize_t) p->filled;
                }
                if (p->finished)
                        return 0;
                if (!p->easy) {
                        r = transfer_start(p);
                        if (r < 0)
                                return message_set(reterr_message, r, "Failed to set up the transfer: %s", strerror(-r));
                }
                if (p->o.progress) {
                        r = p->o.progress(p->offset, p->size, p->o.userdata);
                        if (r < 0)
                                return message_set(reterr_message, r, "Cancelled");
                }
                r = transfer_step(p, reterr_message);
                if (r < 0)
                        return r;
        }
}

int pull_new(const char *url, const PullOptions *o, Pull **ret) {
        _cleanup_(pull_freep) Pull *p = NULL;

        assert_return(http_url_is_valid(url), -EINVAL);
        assert_return(o, -EINVAL);
        assert_return(ret, -EINVAL);

        p = calloc(1, sizeof(Pull));
        if (!p)
                return -ENOMEM;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                free(p);
                return -EIO;
        }
        p->o = *o;
        if (p->o.stall_seconds == 0)
                p->o.stall_seconds = 30;
        p->url = strdup(url);
        p->buffer = malloc(PULL_BUFFER);
        p->multi = curl_multi_init();
        if (!p->url || !p->buffer || !p->multi)
                return -ENOMEM;
        response_reset(p);
        *ret = TAKE_PTR(p);
        return 0;
}

Pull *pull_free(Pull *p) {
        if (!p)
                return NULL;
        transfer_end(p);
        if (p->multi)
                curl_multi_cleanup(p->multi);
        free(p->failure_message);
        free(p->buffer);
        free(p->url);
        free(p);
        curl_global_cleanup();
        return NULL;
}

uint64_t pull_size(const Pull *p) {
        return p ? p->size : 0;
}

uint64_t pull_done(const Pull *p) {
        return p ? p->offset : 0;
}

unsigned pull_resumes(const Pull *p) {
        return p ? p->resumes : 0;
}
