/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machines-bench.c — lifecycle call → event latency, cycles/s and list latency, for aimd and libvirt-dbus
 *
 *   machines-bench aimd|libvirt-dbus ADDRESS events N   N calls alternating Destroy/Start of domain
 *                                                      "test"; each call's event is timed at a
 *                                                      separate subscriber process
 *   machines-bench aimd|libvirt-dbus ADDRESS list N     N ListMachines / ListDomains calls
 *   machines-bench aimd ADDRESS objects N               N GetManagedObjects calls
 *   machines-bench libvirt-dbus ADDRESS define N        defines N more domains (the test driver's
 *                                                      node lives in libvirt-dbus' connection)
 *   machines-bench aimd|libvirt-dbus ADDRESS definebench N
 *                                                      N definitions, timed to the reply and to the
 *                                                      defined event at a separate subscriber:
 *                                                      DefineMachine(spec) against DomainDefineXML of
 *                                                      the XML aimd builds from that spec
 * Prints one line of key=value results. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

typedef struct Target {
        const char *service, *root, *signal_interface, *signal_member;
} Target;

static const Target aimd = { "org.abiquo.Node1", "/org/abiquo/Node1", "org.abiquo.Node1.Machines", "MachineEvent" };
static const Target lvd = { "org.libvirt", "/org/libvirt/Test", "org.libvirt.Connect", "DomainEvent" };

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void die(const char *what, int r, const sd_bus_error *e) {
        fprintf(stderr, "machines-bench: %s: %s\n", what, e && e->message ? e->message : strerror(-r));
        exit(EXIT_FAILURE);
}

static sd_bus *connect_to(const char *address) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                die("connect", r, NULL);
        return bus;
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static double percentile_us(uint64_t *v, size_t n, double p) {
        qsort(v, n, sizeof(uint64_t), compare_u64);
        return v[(size_t) ((double) (n - 1) * p)] / 1000.0;
}

static char *domain_path(sd_bus *bus, const Target *t, const char *name) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *p;
        char *path;
        int r;

        if (t == &aimd)
                r = sd_bus_call_method(bus, t->service, t->root, "org.abiquo.Node1.Machines", "GetMachine", &e, &reply, "s", name);
        else
                r = sd_bus_call_method(bus, t->service, t->root, "org.libvirt.Connect", "DomainLookupByName", &e, &reply, "s", name);
        if (r < 0)
                die("look up the domain", r, &e);
        if (sd_bus_message_read(reply, "o", &p) < 0)
                die("parse the domain path", -EBADMSG, NULL);
        path = strdup(p);
        sd_bus_message_unref(reply);
        return path;
}

/* The subscriber: its own connection and match rule; writes the arrival time of every event. */
static void subscriber(const char *address, const Target *t, int ready_fd, int out_fd) {
        sd_bus *bus = connect_to(address);
        char rule[256];
        int r;

        snprintf(rule, sizeof(rule), "type='signal',sender='%s',path='%s',interface='%s',member='%s'",
                 t->service, t->root, t->signal_interface, t->signal_member);
        r = sd_bus_add_match(bus, NULL, rule, NULL, NULL);
        if (r < 0)
                die("add match", r, NULL);
        (void) !write(ready_fd, "R", 1);
        close(ready_fd);
        for (;;) {
                sd_bus_message *m = NULL;

                r = sd_bus_process(bus, &m);
                if (r < 0)
                        exit(EXIT_SUCCESS);     /* the parent is done and the bus goes away */
                if (m) {
                        uint64_t ts = now_ns();
                        if (sd_bus_message_is_signal(m, t->signal_interface, t->signal_member) &&
                            write(out_fd, &ts, sizeof(ts)) != sizeof(ts))
                                exit(EXIT_SUCCESS);
                        sd_bus_message_unref(m);
                        continue;
                }
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        exit(EXIT_SUCCESS);
        }
}

static void bench_events(const char *address, const Target *t, size_t n) {
        sd_bus *bus = connect_to(address);
        int ready[2], times[2];
        uint64_t *lat[2], start;
        size_t k[2] = {};
        char *path, c;
        pid_t pid;

        path = domain_path(bus, t, "test");
        lat[0] = calloc(n, sizeof(uint64_t));
        lat[1] = calloc(n, sizeof(uint64_t));
        if (pipe(ready) < 0 || pipe(times) < 0 || !lat[0] || !lat[1])
                die("set up", -errno, NULL);
        pid = fork();
        if (pid < 0)
                die("fork", -errno, NULL);
        if (pid == 0) {
                close(ready[0]);
                close(times[0]);
                subscriber(address, t, ready[1], times[1]);
        }
        close(ready[1]);
        close(times[1]);
        if (read(ready[0], &c, 1) != 1)
                die("subscriber", -EIO, NULL);

        start = now_ns();
        for (size_t i = 0; i < n; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                bool destroy = i % 2 == 0;
                uint64_t t0, t1;
                int r;

                t0 = now_ns();
                if (t == &aimd)
                        r = sd_bus_call_method(bus, t->service, path, "org.abiquo.Node1.Machine",
                                               destroy ? "Destroy" : "Start", &e, NULL, NULL);
                else
                        r = sd_bus_call_method(bus, t->service, path, "org.libvirt.Domain",
                                               destroy ? "Destroy" : "Create", &e, NULL, "u", 0);
                if (r < 0)
                        die(destroy ? "Destroy" : "Start", r, &e);
                if (read(times[0], &t1, sizeof(t1)) != sizeof(t1))
                        die("read event time", -EIO, NULL);
                lat[destroy ? 0 : 1][k[destroy ? 0 : 1]++] = t1 - t0;
        }
        double secs = (now_ns() - start) / 1e9;
        printf("events=%zu destroy_p50_us=%.0f destroy_p99_us=%.0f start_p50_us=%.0f start_p99_us=%.0f cycles_per_s=%.0f\n",
               n, percentile_us(lat[0], k[0], 0.5), percentile_us(lat[0], k[0], 0.99),
               percentile_us(lat[1], k[1], 0.5), percentile_us(lat[1], k[1], 0.99), (n / 2) / secs);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        free(lat[0]);
        free(lat[1]);
        free(path);
        sd_bus_flush_close_unref(bus);
}

static void bench_list(const char *address, const Target *t, size_t n, bool objects) {
        sd_bus *bus = connect_to(address);
        uint64_t *lat = calloc(n, sizeof(uint64_t));
        unsigned count = 0;

        for (size_t i = 0; i < n; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                uint64_t t0 = now_ns();
                int r;

                if (objects)
                        r = sd_bus_call_method(bus, t->service, t->root, "org.freedesktop.DBus.ObjectManager",
                                               "GetManagedObjects", &e, &reply, NULL);
                else if (t == &aimd)
                        r = sd_bus_call_method(bus, t->service, t->root, "org.abiquo.Node1.Machines", "ListMachines",
                                               &e, &reply, NULL);
                else
                        r = sd_bus_call_method(bus, t->service, t->root, "org.libvirt.Connect", "ListDomains",
                                               &e, &reply, "u", 0);
                if (r < 0)
                        die("list", r, &e);
                lat[i] = now_ns() - t0;
                if (i == 0) {
                        /* Count what came back, so that a short answer cannot pass for a fast one. */
                        r = sd_bus_message_enter_container(reply, 'a', objects ? "{oa{sa{sv}}}" : t == &aimd ? "(ssso)" : "o");
                        while (r >= 0 && sd_bus_message_skip(reply, objects ? "{oa{sa{sv}}}" : t == &aimd ? "(ssso)" : "o") > 0)
                                count++;
                }
                sd_bus_message_unref(reply);
        }
        printf("calls=%zu items=%u p50_us=%.0f p99_us=%.0f\n", n, count, percentile_us(lat, n, 0.5), percentile_us(lat, n, 0.99));
        free(lat);
        sd_bus_flush_close_unref(bus);
}

/* What define.c builds on the test driver for {memory_kib: 65536, graphics: vnc} (test-define and
 * test-machines-define check that shape), so that both daemons define the same domain. */
#define BENCH_XML \
        "<domain type=\"test\"><name>%s</name><memory unit=\"KiB\">65536</memory>" \
        "<currentMemory unit=\"KiB\">65536</currentMemory><vcpu>1</vcpu><os><type arch=\"i686\">hvm</type></os>" \
        "<features><acpi/></features><devices><emulator>/usr/bin/test-hv</emulator>" \
        "<graphics type=\"vnc\" autoport=\"yes\" listen=\"127.0.0.1\"><listen type=\"address\" address=\"127.0.0.1\"/>" \
        "</graphics></devices></domain>"

static void bench_define(const char *address, const Target *t, size_t n) {
        sd_bus *bus = connect_to(address);
        uint64_t *reply_lat = calloc(n, sizeof(uint64_t)), *event_lat = calloc(n, sizeof(uint64_t));
        /* Rounds on one daemon need new names. */
        const char *prefix = getenv("BENCH_NAME_PREFIX") ?: "def";
        int ready[2], times[2];
        char c;
        pid_t pid;

        if (pipe(ready) < 0 || pipe(times) < 0 || !reply_lat || !event_lat)
                die("set up", -errno, NULL);
        pid = fork();
        if (pid < 0)
                die("fork", -errno, NULL);
        if (pid == 0) {
                close(ready[0]);
                close(times[0]);
                subscriber(address, t, ready[1], times[1]);
        }
        close(ready[1]);
        close(times[1]);
        if (read(ready[0], &c, 1) != 1)
                die("subscriber", -EIO, NULL);

        for (size_t i = 0; i < n; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                char name[48], xml[1024];
                uint64_t t0, t1, t2;
                int r;

                snprintf(name, sizeof(name), "%.16s%05zu", prefix, i);
                t0 = now_ns();
                if (t == &aimd)
                        r = sd_bus_call_method(bus, t->service, t->root, "org.abiquo.Node1.Machines", "DefineMachine",
                                               &e, NULL, "sa{sv}", name, 2, "memory_kib", "t", (uint64_t) 65536,
                                               "graphics", "s", "vnc");
                else {
                        snprintf(xml, sizeof(xml), BENCH_XML, name);
                        r = sd_bus_call_method(bus, t->service, t->root, "org.libvirt.Connect", "DomainDefineXML",
                                               &e, NULL, "s", xml);
                }
                if (r < 0)
                        die("define", r, &e);
                t1 = now_ns();
                if (read(times[0], &t2, sizeof(t2)) != sizeof(t2))
                        die("read event time", -EIO, NULL);
                reply_lat[i] = t1 - t0;
                event_lat[i] = t2 - t0;
        }
        printf("defines=%zu reply_p50_us=%.0f reply_p99_us=%.0f event_p50_us=%.0f event_p99_us=%.0f\n", n,
               percentile_us(reply_lat, n, 0.5), percentile_us(reply_lat, n, 0.99),
               percentile_us(event_lat, n, 0.5), percentile_us(event_lat, n, 0.99));
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        free(reply_lat);
        free(event_lat);
        sd_bus_flush_close_unref(bus);
}

static void define_domains(const char *address, size_t n) {
        sd_bus *bus = connect_to(address);

        for (size_t i = 0; i < n; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                char xml[512];
                int r;

                snprintf(xml, sizeof(xml),
                         "<domain type='test'><name>vm%04zu</name><uuid>00000000-0000-0000-0000-%012zx</uuid>"
                         "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                         "<devices><disk type='file' device='disk'><source file='/images/vm%04zu.img'/>"
                         "<target dev='vda'/></disk></devices></domain>", i, i + 1, i);
                r = sd_bus_call_method(bus, lvd.service, lvd.root, "org.libvirt.Connect", "DomainDefineXML", &e, NULL, "s", xml);
                if (r < 0)
                        die("DomainDefineXML", r, &e);
        }
        printf("defined=%zu\n", n);
        sd_bus_flush_close_unref(bus);
}

int main(int argc, char *argv[]) {
        const Target *t;
        size_t n;

        if (argc != 5) {
                fprintf(stderr, "Usage: machines-bench aimd|libvirt-dbus ADDRESS events|list|objects|define|definebench N\n");
                return EXIT_FAILURE;
        }
        t = strcmp(argv[1], "aimd") == 0 ? &aimd : &lvd;
        n = strtoul(argv[4], NULL, 10);
        if (n == 0)
                return EXIT_FAILURE;
        if (strcmp(argv[3], "events") == 0)
                bench_events(argv[2], t, n);
        else if (strcmp(argv[3], "list") == 0)
                bench_list(argv[2], t, n, false);
        else if (strcmp(argv[3], "objects") == 0)
                bench_list(argv[2], t, n, true);
        else if (strcmp(argv[3], "definebench") == 0)
                bench_define(argv[2], t, n);
        else
                define_domains(argv[2], n);
        return EXIT_SUCCESS;
}
