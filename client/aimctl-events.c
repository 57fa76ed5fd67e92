/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-events.c — aimctl broker (org.abiquo.Node1.Broker) and aimctl events: the fleet's events
 * read from the Redis stream the nodes append to, with gaps in a node's seq pointed out */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aimctl.h"
#include "util/hashmap.h"

int verb_broker(sd_bus *bus, int argc, char *argv[]) {
        return print_properties(bus, BROKER_INTERFACE, "broker's", NULL, NULL, NULL);
}

typedef struct NodeSeq {
        char *node;
        uint64_t last;
} NodeSeq;

typedef struct Reader {
        redisContext *redis;
        const char *stream, *node;
        char last_id[64];       /* the last entry read: the next read starts after it */
        Hashmap *seqs;          /* node → NodeSeq */
} Reader;

static void reader_done(Reader *rd) {
        NodeSeq *s;

        if (rd->seqs)
                HASHMAP_FOREACH(s, rd->seqs) {
                        free(s->node);
                        free(s);
                }
        hashmap_free(rd->seqs);
        if (rd->redis)
                redisFree(rd->redis);
}

/* HOST, HOST:PORT, [V6]:PORT or an absolute socket path. */
static int redis_open(const char *spec, redisContext **ret) {
        _cleanup_free_ char *host = NULL;
        const struct timeval timeout = { .tv_sec = 10 };
        unsigned long port = 6379;
        const char *colon;
        redisContext *c;
        char *end;

        if (spec[0] == '/')
                c = redisConnectUnixWithTimeout(spec, timeout);
        else {
                if (spec[0] == '[') {
                        const char *close = strchr(spec, ']');

                        if (!close || (close[1] != 0 && close[1] != ':'))
                                goto invalid;
                        host = strndup(spec + 1, close - spec - 1);
                        colon = close[1] == ':' ? close + 1 : NULL;
                } else {
                        colon = strrchr(spec, ':');
                        host = colon ? strndup(spec, colon - spec) : strdup(spec);
                }
                if (!host)
                        return -ENOMEM;
                if (colon) {
                        errno = 0;
                        port = strtoul(colon + 1, &end, 10);
                        if (errno != 0 || end == colon + 1 || *end || port < 1 || port > 65535)
                                goto invalid;
                }
                c = redisConnectWithTimeout(host, (int) port, timeout);
        }
        if (!c)
                return -ENOMEM;
        if (c->err) {
                fprintf(stderr, "aimctl: cannot connect to Redis at %s: %s\n", spec, c->errstr);
                redisFree(c);
                return -ECONNREFUSED;
        }
        *ret = c;
        return 0;

invalid:
        fprintf(stderr, "aimctl: invalid --broker '%s': expected HOST, HOST:PORT, [IPV6]:PORT or an absolute socket path.\n",
                spec);
        return -EINVAL;
}

static redisReply *command(Reader *rd, int argc, const char **argv) {
        redisReply *reply = redisCommandArgv(rd->redis, argc, argv, NULL);

        if (!reply)
                fprintf(stderr, "aimctl: %s: %s\n", argv[0], rd->redis->errstr);
        else if (reply->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "aimctl: %s %s: %s\n", argv[0], rd->stream, reply->str);
                freeReplyObject(reply);
                return NULL;
        }
        return reply;
}

static const char *field(const redisReply *kv, const char *name) {
        for (size_t i = 0; i + 1 < kv->elements; i += 2)
                if (kv->element[i]->type == REDIS_REPLY_STRING && streq(kv->element[i]->str, name) &&
                    kv->element[i + 1]->type == REDIS_REPLY_STRING)
                        return kv->element[i + 1]->str;
        return NULL;
}

/* Says when a node's seq jumps (entries lost: a backlog overflow, a crash, MAXLEN trimming) or repeats
 * (at-least-once: an entry sent again after a lost connection). Returns whether to show the entry. */
static int check_seq(Reader *rd, const char *node, const char *seq_text) {
        NodeSeq *s;
        uint64_t seq;
        char *end;
        int r;

        errno = 0;
        seq = strtoull(seq_text, &end, 10);
        if (errno != 0 || *end || end == seq_text)
                return 1;
        s = hashmap_get(rd->seqs, node);
        if (!s) {
                s = calloc(1, sizeof(NodeSeq));
                if (!s || !(s->node = strdup(node))) {
                        free(s);
                        return -ENOMEM;
                }
                r = hashmap_put(rd->seqs, s->node, s);
                if (r < 0) {
                        free(s->node);
                        free(s);
                        return r;
                }
                s->last = seq;
                return 1;
        }
        if (seq <= s->last) {
                fprintf(stderr, "aimctl: %s: seq %" PRIu64 " again (already seen up to %" PRIu64 "): a duplicate, skipped\n",
                        node, seq, s->last);
                return 0;
        }
        if (seq > s->last + 1) {
                if (arg_json) {
                        printf("{\"gap\":{\"node\":");
                        json_print_string(node);
                        printf(",\"after\":%" PRIu64 ",\"next\":%" PRIu64 ",\"missing\":%" PRIu64 "}}\n", s->last, seq,
                               seq - s->last - 1);
                } else
                        printf("-- %s: gap: %" PRIu64 " event(s) missing, seq %" PRIu64 "..%" PRIu64 "\n", node,
                               seq - s->last - 1, s->last + 1, seq - 1);
        }
        s->last = seq;
        return 1;
}

static void print_time(const char *usec_text) {
        char buf[32];
        uint64_t usec = strtoull(usec_text, NULL, 10);
        time_t sec = (time_t) (usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                printf("%s", usec_text);
        else
                printf("%s.%06" PRIu64 "Z", buf, usec % 1000000);
}

static int print_entry(Reader *rd, const redisReply *entry) {
        const redisReply *kv;
        const char *node, *seq;
        int r;

        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || entry->element[0]->type != REDIS_REPLY_STRING ||
            entry->element[1]->type != REDIS_REPLY_ARRAY)
                return 0;
        snprintf(rd->last_id, sizeof(rd->last_id), "%s", entry->element[0]->str);
        kv = entry->element[1];
        node = field(kv, "node");
        seq = field(kv, "seq");
        if (!node || !seq)
                return 0;       /* not one of ours */
        if (rd->node && !streq(node, rd->node))
                return 0;
        r = check_seq(rd, node, seq);
        if (r <= 0)
                return r;

        if (arg_json) {
                printf("{\"id\":");
                json_print_string(rd->last_id);
                for (size_t i = 0; i + 1 < kv->elements; i += 2) {
                        const char *k = kv->element[i]->str, *v = kv->element[i + 1]->str;

                        putchar(',');
                        json_print_string(k);
                        putchar(':');
                        if (streq(k, "seq") || streq(k, "time"))
                                fputs(v, stdout);
                        else
                                json_print_string(v);
                }
                printf("}\n");
        } else {
                print_time(strempty(field(kv, "time")));
                printf(" %s %s %s", node, seq, strempty(field(kv, "kind")));
                for (size_t i = 0; i + 1 < kv->elements; i += 2) {
                        const char *k = kv->element[i]->str;

                        if (streq(k, "node") || streq(k, "seq") || streq(k, "time") || streq(k, "kind"))
                                continue;
                        printf(" %s=%s", k, kv->element[i + 1]->str);
                }
                putchar('\n');
        }
        return 0;
}

static int print_entries(Reader *rd, const redisReply *entries, bool reverse) {
        for (size_t i = 0; i < entries->elements; i++) {
                int r = print_entry(rd, entries->element[reverse ? entries->elements - 1 - i : i]);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* The last n entries (--since=-N). */
static int read_last(Reader *rd, const char *n) {
        const char *argv[] = { "XREVRANGE", rd->stream, "+", "-", "COUNT", n };
        redisReply *reply = command(rd, ELEMENTSOF(argv), argv);
        int r;

        if (!reply)
                return -EIO;
        r = print_entries(rd, reply, true);
        freeReplyObject(reply);
        return r;
}

/* Everything after rd->last_id up to now, in batches. */
static int read_range(Reader *rd) {
        for (;;) {
                char start[sizeof(rd->last_id) + 1];
                const char *argv[] = { "XRANGE", rd->stream, start, "+", "COUNT", "1000" };
                redisReply *reply;
                size_t n;
                int r;

                /* "(" excludes the ID itself (Redis 6.2+); "-" is the very start. */
                snprintf(start, sizeof(start), "%s%s", streq(rd->last_id, "-") ? "" : "(", rd->last_id);
                reply = command(rd, ELEMENTSOF(argv), argv);
                if (!reply)
                        return -EIO;
                n = reply->elements;
                r = print_entries(rd, reply, false);
                freeReplyObject(reply);
                if (r < 0)
                        return r;
                fflush(stdout);
                if (n < 1000)
                        return 0;
        }
}

static int follow(Reader *rd) {
        for (;;) {
                const char *argv[] = { "XREAD", "BLOCK", "0", "COUNT", "1000", "STREAMS", rd->stream,
                                       streq(rd->last_id, "-") ? "0" : rd->last_id };
                redisReply *reply = command(rd, ELEMENTSOF(argv), argv);
                int r = 0;

                if (!reply)
                        return -EIO;
                /* [[stream, [entries…]]] */
                if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 && reply->element[0]->elements == 2)
                        r = print_entries(rd, reply->element[0]->element[1], false);
                freeReplyObject(reply);
                if (r < 0)
                        return r;
                fflush(stdout);
        }
}

/* Where the node's own daemon publishes, when --broker is not given. */
static int daemon_broker_address(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *address = NULL;
        int r;

        if (!bus)
                return -ENOTCONN;
        r = sd_bus_get_property_string(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, BROKER_INTERFACE, "Address", &error,
                                       &address);
        if (r < 0)
                return r;
        if (address[0] == 0) {
                free(address);
                return -ENOENT;
        }
        *ret = address;
        return 0;
}

/* AUTH [user] password, the password being the first line of password_file (as redisPasswordFile). */
static int redis_auth(redisContext *c, const char *user, const char *password_file) {
        redisReply *reply;
        char password[4096 + 2] = {};
        FILE *f;
        bool ok;
        int r = 0;

        f = fopen(password_file, "re");
        if (!f) {
                r = negative_errno();
                fprintf(stderr, "aimctl: cannot read the password file %s: %s\n", password_file, strerror(-r));
                return r;
        }
        ok = fgets(password, sizeof(password), f) != NULL;
        (void) fclose(f);
        password[strcspn(password, "\r\n")] = 0;
        if (!ok || strlen(password) > 4096) {
                fprintf(stderr, "aimctl: %s: %s\n", password_file, ok ? "the password is too long" : "empty");
                explicit_bzero(password, sizeof(password));
                return -EINVAL;
        }
        reply = redisCommandArgv(c, user ? 3 : 2, (const char *[]) { "AUTH", user ?: password, password }, NULL);
        explicit_bzero(password, sizeof(password));
        if (!reply) {
                fprintf(stderr, "aimctl: AUTH failed: %s\n", c->errstr);
                return -EIO;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "aimctl: Redis refused AUTH%s%s: %s\n", user ? " as " : "", strempty(user), reply->str);
                r = -EACCES;
        }
        freeReplyObject(reply);
        return r;
}

int verb_events(sd_bus *bus, int argc, char *argv[]) {
        enum { ARG_BROKER = 0x100, ARG_STREAM, ARG_NODE, ARG_SINCE, ARG_FOLLOW, ARG_JSON, ARG_USER, ARG_PASSWORD_FILE };
        static const struct option options[] = {
                { "broker", required_argument, NULL, ARG_BROKER },
                { "stream", required_argument, NULL, ARG_STREAM },
                { "node",   required_argument, NULL, ARG_NODE },
                { "since",  required_argument, NULL, ARG_SINCE },
                { "follow", no_argument,       NULL, ARG_FOLLOW },
                { "json",   no_argument,       NULL, ARG_JSON },
                { "user",   required_argument, NULL, ARG_USER },
                { "password-file", required_argument, NULL, ARG_PASSWORD_FILE },
                {}
        };
        _cleanup_free_ char *address = NULL;
        const char *broker = NULL, *since = NULL, *user = NULL, *password_file = NULL;
        Reader rd = { .stream = "aim:events" };
        bool do_follow = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_BROKER:
                        broker = optarg;
                        break;
                case ARG_STREAM:
                        rd.stream = optarg;
                        break;
                case ARG_NODE:
                        rd.node = optarg;
                        break;
                case ARG_SINCE:
                        since = optarg;
                        break;
                case ARG_FOLLOW:
                        do_follow = true;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_USER:
                        user = optarg;
                        break;
                case ARG_PASSWORD_FILE:
                        password_file = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "aimctl: unexpected argument '%s'; see --help.\n", argv[optind]);
                return -EINVAL;
        }
        if (since && since[0] == '-' && (since[1] == 0 || strspn(since + 1, "0123456789") != strlen(since + 1))) {
                fprintf(stderr, "aimctl: invalid --since '%s': expected a stream ID or -N (the last N entries).\n", since);
                return -EINVAL;
        }
        if (user && !password_file) {
                fprintf(stderr, "aimctl: --user needs --password-file.\n");
                return -EINVAL;
        }
        if (!broker) {
                r = daemon_broker_address(bus, &address);
                broker = r >= 0 ? address : "localhost:6379";
        }

        snprintf(rd.last_id, sizeof(rd.last_id), "%s", since && since[0] != '-' ? since : "-");
        rd.seqs = hashmap_new();
        if (!rd.seqs)
                return -ENOMEM;
        r = redis_open(broker, &rd.redis);
        if (r >= 0 && password_file)
                r = redis_auth(rd.redis, user, password_file);
        if (r >= 0) {
                if (since && since[0] == '-')
                        r = read_last(&rd, since + 1);
                else
                        r = read_range(&rd);
        }
        if (r >= 0 && do_follow)
                r = follow(&rd);
        reader_done(&rd);
        return r;
}
