/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan-bench.c — creates then deletes N VLAN+bridge pairs through aimd's D-Bus API, timing each phase
 *
 * One client connection, like an orchestrator's; --window calls may be in flight at once (1: each
 * call waits for the previous reply). With --mode=apply, all N creates go in one Network.Apply and
 * all N deletes in another; with --mode=rollback, the creates go in one Apply with a rollback_timeout
 * and Checkpoint.Rollback takes them back (timed as the delete phase). The VLANs are tags 1..N on d0
 * (uml-run's guest's NIC), each with bridge br<tag>. Prints one line of key=value results. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#define PARENT "d0"

static unsigned arg_count = 100, arg_window = 1;
static long arg_pid = 0;

static unsigned in_flight, failures;
static enum { MODE_CALLS, MODE_APPLY, MODE_ROLLBACK } arg_mode = MODE_CALLS;

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(long pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        in_flight--;
        if (e && failures++ < 5)
                fprintf(stderr, "vlan-bench: %s: %s\n", e->name, e->message);
        return 0;
}

static int call(sd_bus *bus, bool create, unsigned tag) {
        char bridge[32];
        int r;

        snprintf(bridge, sizeof(bridge), "br%u", tag);
        if (create)
                r = sd_bus_call_method_async(bus, NULL, "org.abiquo.Node1", "/org/abiquo/Node1",
                                             "org.abiquo.Node1.Network", "CreateVlan", on_reply, NULL, "sqsa{sv}",
                                             PARENT, (uint16_t) tag, bridge, 0);
        else
                r = sd_bus_call_method_async(bus, NULL, "org.abiquo.Node1", "/org/abiquo/Node1",
                                             "org.abiquo.Node1.Network", "DeleteVlan", on_reply, NULL, "sqs",
                                             PARENT, (uint16_t) tag, bridge);
        if (r >= 0)
                in_flight++;
        return r;
}

/* Runs one phase with up to arg_window calls in flight; returns its duration in seconds. */
static double phase(sd_bus *bus, bool create) {
        double start = now();
        unsigned next = 0;
        int r;

        while (next < arg_count || in_flight > 0) {
                while (next < arg_count && in_flight < arg_window) {
                        r = call(bus, create, 1 + next++);
                        if (r < 0) {
                                fprintf(stderr, "vlan-bench: call failed: %s\n", strerror(-r));
                                exit(EXIT_FAILURE);
                        }
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "vlan-bench: bus: %s\n", strerror(-r));
                        exit(EXIT_FAILURE);
                }
                if (r == 0)
                        (void) sd_bus_wait(bus, UINT64_MAX);
        }
        return now() - start;
}

/* One Apply of all N changes (create or delete); returns the checkpoint path it gave, or NULL. */
static char *apply(sd_bus *bus, bool create, uint32_t rollback_timeout) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        const char *path = NULL;
        char *ret = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.abiquo.Node1", "/org/abiquo/Node1",
                                           "org.abiquo.Node1.Network", "Apply");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
        for (unsigned i = 0; i < arg_count && r >= 0; i++) {
                char bridge[32];

                snprintf(bridge, sizeof(bridge), "br%u", 1 + i);
                r = sd_bus_message_append(m, "a{sv}", 4, "action", "s", create ? "create" : "delete",
                                          "parent", "s", PARENT, "tag", "q", (uint16_t) (1 + i),
                                          "bridge", "s", bridge);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = rollback_timeout ? sd_bus_message_append(m, "a{sv}", 1, "rollback_timeout", "u", rollback_timeout) :
                                       sd_bus_message_append(m, "a{sv}", 0);
        if (r >= 0)
                r = sd_bus_call(bus, m, 3600ULL * 1000000, &error, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                fprintf(stderr, "vlan-bench: Apply: %s\n", error.message ?: strerror(-r));
                exit(EXIT_FAILURE);
        }
        if (!create || rollback_timeout)
                ret = strdup(path);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        return ret;
}

static double phase_apply(sd_bus *bus, bool create, char **checkpoint) {
        double start = now();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (arg_mode == MODE_APPLY) {
                free(apply(bus, create, 0));
                return now() - start;
        }
        if (create) {
                *checkpoint = apply(bus, true, 3600);
                return now() - start;
        }
        sd_bus_message *m = NULL;

        /* The rollback of a big batch takes as long as its deletes: not sd-bus's default 25 s. */
        r = sd_bus_message_new_method_call(bus, &m, "org.abiquo.Node1", *checkpoint, "org.abiquo.Node1.Checkpoint",
                                           "Rollback");
        if (r >= 0)
                r = sd_bus_call(bus, m, 3600ULL * 1000000, &error, NULL);
        sd_bus_message_unref(m);
        if (r < 0) {
                fprintf(stderr, "vlan-bench: Rollback: %s\n", error.message ?: strerror(-r));
                exit(EXIT_FAILURE);
        }
        return now() - start;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "count",  required_argument, NULL, 'n' },
                { "window", required_argument, NULL, 'w' },
                { "pid",    required_argument, NULL, 'P' },
                { "mode",   required_argument, NULL, 'm' },
                {}
        };
        sd_bus *bus = NULL;
        char *checkpoint = NULL;
        double create_s, delete_s;
        long rss0, rss1;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n': arg_count = strtoul(optarg, NULL, 10); break;
                case 'w': arg_window = strtoul(optarg, NULL, 10) ?: 1; break;
                case 'P': arg_pid = strtol(optarg, NULL, 10); break;
                case 'm':
                        if (strcmp(optarg, "apply") == 0)
                                arg_mode = MODE_APPLY;
                        else if (strcmp(optarg, "rollback") == 0)
                                arg_mode = MODE_ROLLBACK;
                        else if (strcmp(optarg, "calls") != 0) {
                                fprintf(stderr, "vlan-bench: --mode is calls, apply or rollback\n");
                                return EXIT_FAILURE;
                        }
                        break;
                default: return EXIT_FAILURE;
                }

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "vlan-bench: cannot connect to the bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        rss0 = arg_pid ? rss_kib(arg_pid) : -1;
        create_s = arg_mode == MODE_CALLS ? phase(bus, true) : phase_apply(bus, true, &checkpoint);
        rss1 = arg_pid ? rss_kib(arg_pid) : -1;
        delete_s = arg_mode == MODE_CALLS ? phase(bus, false) : phase_apply(bus, false, &checkpoint);
        free(checkpoint);
        printf("n=%u window=%u create_s=%.3f delete_s=%.3f pairs_per_s=%.1f rss_before_kib=%ld rss_after_kib=%ld "
               "failures=%u\n", arg_count, arg_window, create_s, delete_s, arg_count / (create_s + delete_s), rss0,
               rss1, failures);
        sd_bus_flush_close_unref(bus);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
