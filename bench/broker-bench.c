/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker-bench.c — the broker against the floor: what a bare hiredis program pipelining the same XADDs
 * achieves, what the broker achieves from the hook (broker_publish_machine, where the libvirt
 * callback calls it) to Redis's acknowledgement, the backlog's memory per event, and the latency of
 * an event through Redis against the same event on D-Bus.
 *   broker-bench floor SOCKET N        bare hiredis, XADDs pipelined 1024 deep; prints events/s
 *   broker-bench broker SOCKET N       libaim_broker on an sd-event loop; prints events/s
 *   broker-bench memory N              N events into the backlog while Redis is unreachable; bytes/event
 *   broker-bench latency SOCKET MACHINE_PATH ROUNDS
 *                                      Destroy/Start on the daemon at $DBUS_SYSTEM_BUS_ADDRESS: call →
 *                                      MachineEvent at a bus subscriber, call → entry at XREAD BLOCK */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "broker/broker.h"

#define STREAM "bench:events"
#define UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static redisContext *connect_or_die(const char *socket) {
        redisContext *c = redisConnectUnix(socket);

        if (!c || c->err) {
                fprintf(stderr, "cannot connect to %s: %s\n", socket, c ? c->errstr : "out of memory");
                exit(1);
        }
        return c;
}

static void del_stream(const char *socket) {
        redisContext *c = connect_or_die(socket);

        freeReplyObject(redisCommand(c, "DEL %s", STREAM));
        redisFree(c);
}

/* The same command the broker sends for a machine event. */
static int floor_run(const char *socket, unsigned long n) {
        redisContext *c = connect_or_die(socket);
        unsigned long sent = 0, acked = 0;
        double start = now();

        while (acked < n) {
                while (sent < n && sent - acked < 1024) {
                        char seq[24], usec[24];
                        const char *argv[] = { "XADD", STREAM, "MAXLEN", "~", "1000000", "*", "node", "bench",
                                               "seq", seq, "time", usec, "kind", "machine", "event", "stopped",
                                               "detail", "destroyed", "uuid", UUID, "name", "test" };

                        snprintf(seq, sizeof(seq), "%lu", sent + 1);
                        snprintf(usec, sizeof(usec), "%" PRIu64, (uint64_t) time(NULL) * 1000000);
                        redisAppendCommandArgv(c, sizeof(argv) / sizeof(argv[0]), argv, NULL);
                        sent++;
                }
                redisReply *reply;
                if (redisGetReply(c, (void **) &reply) != REDIS_OK || reply->type == REDIS_REPLY_ERROR) {
                        fprintf(stderr, "XADD failed: %s\n", c->err ? c->errstr : reply->str);
                        return 1;
                }
                freeReplyObject(reply);
                acked++;
        }
        printf("floor events=%lu seconds=%.3f events_per_s=%.0f\n", n, now() - start, n / (now() - start));
        redisFree(c);
        return 0;
}

typedef struct BrokerRun {
        Broker *broker;
        unsigned long n, published;
        double start;
} BrokerRun;

/* Publishes in slices from a defer source, as events come from the loop's own callbacks; sustained:
 * no faster than Redis takes them (a few thousand wait, as many as go out per round trip). */
static int on_publish(sd_event_source *s, void *userdata) {
        BrokerRun *run = userdata;

        for (unsigned i = 0; i < 256 && run->published < run->n && broker_backlog(run->broker) < 4096;
             i++, run->published++)
                broker_publish_machine(run->broker, "stopped", "destroyed", UUID, "test");
        if (run->published == run->n)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        BrokerRun *run = userdata;

        if (broker_published(run->broker) >= run->n)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        (void) sd_event_source_set_time_relative(s, 1000);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int broker_setup(sd_event **ret_event, const char *host, unsigned backlog, Broker **ret) {
        char state[] = "/tmp/broker-bench.XXXXXX";
        Config c;
        int r;

        if (!mkdtemp(state) || config_init(&c) < 0 || sd_event_new(ret_event) < 0)
                return -ENOMEM;
        c.redis_host = strdup(host);
        c.node_name = strdup("bench");
        free(c.redis_stream);
        c.redis_stream = strdup(STREAM);
        free(c.state_dir);
        c.state_dir = strdup(state);
        c.redis_backlog = backlog;
        r = broker_new(*ret_event, &c, ret);
        config_done(&c);
        return r;
}

static int broker_run(const char *socket, unsigned long n) {
        sd_event *e = NULL;
        BrokerRun run = { .n = n };
        int r;

        r = broker_setup(&e, socket, (unsigned) n, &run.broker);
        if (r < 0) {
                fprintf(stderr, "broker_new: %s\n", strerror(-r));
                return 1;
        }
        /* Connected first: the figure is the steady state, not the connect. */
        while (!broker_connected(run.broker))
                sd_event_run(e, UINT64_MAX);
        run.start = now();
        sd_event_source *publisher = NULL;
        sd_event_add_defer(e, &publisher, on_publish, &run);
        sd_event_source_set_enabled(publisher, SD_EVENT_ON);    /* a defer source is one-shot by default */
        /* An always-pending defer source at the I/O's priority would starve the socket. */
        sd_event_source_set_priority(publisher, SD_EVENT_PRIORITY_IDLE);
        sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 1000, 0, on_check, &run);
        sd_event_loop(e);
        printf("broker events=%lu seconds=%.3f events_per_s=%.0f\n", n, now() - run.start, n / (now() - run.start));
        sd_event_source_unref(publisher);
        broker_free(run.broker);
        sd_event_unref(e);
        return 0;
}

static long rss_kib(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kib = -1;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

static int memory_run(unsigned long n) {
        sd_event *e = NULL;
        Broker *b = NULL;
        long before;
        int r;

        r = broker_setup(&e, "/nonexistent/redis.sock", (unsigned) n, &b);
        if (r < 0)
                return 1;
        before = rss_kib();
        for (unsigned long i = 0; i < n; i++)
                broker_publish_machine(b, "stopped", "destroyed", UUID, "test");
        printf("memory events=%u backlog_bytes_per_event=%.1f rss_bytes_per_event=%.1f\n", broker_backlog(b),
               (double) broker_backlog_bytes(b) / n, (rss_kib() - before) * 1024.0 / n);
        broker_free(b);
        sd_event_unref(e);
        return 0;
}

/* ---- latency ---- */

#define ROUNDS_MAX 10000

typedef struct Seen {
        pthread_mutex_t lock;
        double at[ROUNDS_MAX];          /* when the i-th entry reached the XREAD consumer */
        unsigned n;
        const char *socket;
} Seen;

static void *xread_thread(void *userdata) {
        Seen *seen = userdata;
        redisContext *c = connect_or_die(seen->socket);
        char last[64] = "$";

        for (;;) {
                redisReply *reply = redisCommand(c, "XREAD BLOCK 0 STREAMS aim:events %s", last);
                double t = now();

                if (!reply)
                        return NULL;
                if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
                        redisReply *entries = reply->element[0]->element[1];

                        pthread_mutex_lock(&seen->lock);
                        for (size_t i = 0; i < entries->elements && seen->n < ROUNDS_MAX; i++)
                                seen->at[seen->n++] = t;
                        pthread_mutex_unlock(&seen->lock);
                        snprintf(last, sizeof(last), "%s", entries->element[entries->elements - 1]->element[0]->str);
                }
                freeReplyObject(reply);
        }
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static int latency_run(const char *socket, const char *path, unsigned rounds) {
        static Seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };
        static double bus_ms[ROUNDS_MAX], redis_ms[ROUNDS_MAX];
        sd_bus *bus = NULL;
        pthread_t thread;
        int r;

        if (rounds > ROUNDS_MAX)
                rounds = ROUNDS_MAX;
        seen.socket = socket;
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.abiquo.Node1", "/org/abiquo/Node1", "org.abiquo.Node1.Machines",
                                        "MachineEvent", NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "bus: %s\n", strerror(-r));
                return 1;
        }
        pthread_create(&thread, NULL, xread_thread, &seen);
        /* Let the XREAD start blocking before the first event. */
        for (double until = now() + 0.5; now() < until;)
                sd_bus_wait(bus, 100000);

        for (unsigned i = 0; i < rounds; i++) {
                sd_bus_message *call = NULL, *m = NULL;
                double t0, t_bus = 0;
                unsigned got;

                sd_bus_message_new_method_call(bus, &call, "org.abiquo.Node1", path, "org.abiquo.Node1.Machine",
                                               i % 2 == 0 ? "Destroy" : "Start");
                t0 = now();
                sd_bus_send(bus, call, NULL);
                sd_bus_message_unref(call);
                while (t_bus == 0) {
                        r = sd_bus_process(bus, &m);
                        if (r < 0)
                                return 1;
                        if (m && sd_bus_message_is_signal(m, "org.abiquo.Node1.Machines", "MachineEvent"))
                                t_bus = now();
                        m = sd_bus_message_unref(m);
                        if (r == 0)
                                sd_bus_wait(bus, 1000000);
                }
                for (;;) {
                        pthread_mutex_lock(&seen.lock);
                        got = seen.n;
                        pthread_mutex_unlock(&seen.lock);
                        if (got > i)
                                break;
                        sd_bus_wait(bus, 200);
                }
                bus_ms[i] = (t_bus - t0) * 1000;
                redis_ms[i] = (seen.at[i] - t0) * 1000;
        }
        qsort(bus_ms, rounds, sizeof(double), compare_double);
        qsort(redis_ms, rounds, sizeof(double), compare_double);
        printf("latency rounds=%u dbus_p50_ms=%.3f dbus_p99_ms=%.3f redis_p50_ms=%.3f redis_p99_ms=%.3f "
               "ratio_p50=%.2f ratio_p99=%.2f\n", rounds, bus_ms[rounds / 2], bus_ms[rounds * 99 / 100],
               redis_ms[rounds / 2], redis_ms[rounds * 99 / 100], redis_ms[rounds / 2] / bus_ms[rounds / 2],
               redis_ms[rounds * 99 / 100] / bus_ms[rounds * 99 / 100]);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc == 4 && strcmp(argv[1], "floor") == 0) {
                del_stream(argv[2]);
                return floor_run(argv[2], strtoul(argv[3], NULL, 10));
        }
        if (argc == 4 && strcmp(argv[1], "broker") == 0) {
                del_stream(argv[2]);
                return broker_run(argv[2], strtoul(argv[3], NULL, 10));
        }
        if (argc == 3 && strcmp(argv[1], "memory") == 0)
                return memory_run(strtoul(argv[2], NULL, 10));
        if (argc == 5 && strcmp(argv[1], "latency") == 0)
                return latency_run(argv[2], argv[3], (unsigned) strtoul(argv[4], NULL, 10));
        fprintf(stderr, "Usage: %s floor|broker SOCKET N | memory N | latency SOCKET MACHINE_PATH ROUNDS\n", argv[0]);
        return 2;
}
