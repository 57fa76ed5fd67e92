/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vlan-bench.c — creates then deletes N VLAN+bridge pairs through aimd's D-Bus API, timing each phase
 *
 * One client connection, like an orchestrator's; --window calls may be in flight at once (1: each
 * call waits for the previous reply). Prints one line of key=value results. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

static const char *arg_parent = "d0", *arg_prefix = "br";
static unsigned arg_first = 1, arg_count = 100, arg_window = 1;
static long arg_pid = 0;

static unsigned in_flight, failures;

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

        snprintf(bridge, sizeof(bridge), "%s%u", arg_prefix, tag);
        if (create)
                r = sd_bus_call_method_async(bus, NULL, "org.abiquo.Node1", "/org/abiquo/Node1",
                                             "org.abiquo.Node1.Network", "CreateVlan", on_reply, NULL, "sqsa{sv}",
                                             arg_parent, (uint16_t) tag, bridge, 0);
        else
                r = sd_bus_call_method_async(bus, NULL, "org.abiquo.Node1", "/org/abiquo/Node1",
                                             "org.abiquo.Node1.Network", "DeleteVlan", on_reply, NULL, "sqs",
                                             arg_parent, (uint16_t) tag, bridge);
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
                        r = call(bus, create, arg_first + next++);
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

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "parent", required_argument, NULL, 'p' },
                { "prefix", required_argument, NULL, 'b' },
                { "first",  required_argument, NULL, 'f' },
                { "count",  required_argument, NULL, 'n' },
                { "window", required_argument, NULL, 'w' },
                { "pid",    required_argument, NULL, 'P' },
                {}
        };
        sd_bus *bus = NULL;
        double create_s, delete_s;
        long rss0, rss1;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'p': arg_parent = optarg; break;
                case 'b': arg_prefix = optarg; break;
                case 'f': arg_first = strtoul(optarg, NULL, 10); break;
                case 'n': arg_count = strtoul(optarg, NULL, 10); break;
                case 'w': arg_window = strtoul(optarg, NULL, 10) ?: 1; break;
                case 'P': arg_pid = strtol(optarg, NULL, 10); break;
                default: return EXIT_FAILURE;
                }

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "vlan-bench: cannot connect to the bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        rss0 = arg_pid ? rss_kib(arg_pid) : -1;
        create_s = phase(bus, true);
        rss1 = arg_pid ? rss_kib(arg_pid) : -1;
        delete_s = phase(bus, false);
        printf("n=%u window=%u create_s=%.3f delete_s=%.3f pairs_per_s=%.1f rss_before_kib=%ld rss_after_kib=%ld "
               "failures=%u\n", arg_count, arg_window, create_s, delete_s, arg_count / (create_s + delete_s), rss0,
               rss1, failures);
        sd_bus_flush_close_unref(bus);
        return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
