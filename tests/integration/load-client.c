/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* load-client.c — N concurrent bus clients, each on a connection of its own, each making M calls of
 * the read-only mix (GetManagedObjects, ListMachines, ListVlans, ListImages, property reads) and
 * reading every reply to its end. Exits 0 only if every call succeeded; prints one summary line:
 *   clients=N calls=T failed=F seconds=S calls_per_s=R
 * Usage: load-client CLIENTS CALLS_PER_CLIENT (the bus: $DBUS_SYSTEM_BUS_ADDRESS) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#define DEST "org.abiquo.Node1"
#define ROOT "/org/abiquo/Node1"

typedef struct Call {
        const char *interface, *member, *arg;   /* arg: the property name for Get, else NULL */
} Call;

static const Call calls[] = {
        { "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL },
        { "org.abiquo.Node1.Machines", "ListMachines", NULL },
        { "org.abiquo.Node1.Network", "ListVlans", NULL },
        { "org.abiquo.Node1.Images", "ListImages", NULL },
        { "org.freedesktop.DBus.Properties", "Get", "Version" },
        { "org.freedesktop.DBus.Properties", "GetAll", NULL },
        { "org.freedesktop.DBus.Properties", "Get", "HypervisorConnected" },
};

/* Reads a whole message, whatever it holds: a reply is only proven well-formed once consumed. */
static int skip_all(sd_bus_message *m) {
        int r;

        for (;;) {
                r = sd_bus_message_skip(m, NULL);
                if (r < 0)
                        return r;
                if (sd_bus_message_at_end(m, true) > 0)
                        return 0;
                if (r == 0)
                        return -EBADMSG;
        }
}

static int one_call(sd_bus *bus, const Call *c, sd_bus_error *error) {
        sd_bus_message *reply = NULL;
        int r;

        if (c->arg)
                r = sd_bus_call_method(bus, DEST, ROOT, c->interface, c->member, error, &reply, "ss",
                                       "org.abiquo.Node1", c->arg);
        else if (strcmp(c->member, "GetAll") == 0)
                r = sd_bus_call_method(bus, DEST, ROOT, c->interface, c->member, error, &reply, "s",
                                       "org.abiquo.Node1");
        else
                r = sd_bus_call_method(bus, DEST, ROOT, c->interface, c->member, error, &reply, NULL);
        if (r >= 0)
                r = skip_all(reply);
        sd_bus_message_unref(reply);
        return r;
}

/* One client: returns the number of failed calls (capped at 255 for the exit status). */
static int client(unsigned id, unsigned n) {
        sd_bus *bus = NULL;
        unsigned failed = 0;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "client %u: cannot connect: %s\n", id, strerror(-r));
                return 255;
        }
        for (unsigned i = 0; i < n; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                const Call *c = &calls[(i + id) % (sizeof(calls) / sizeof(calls[0]))];

                r = one_call(bus, c, &error);
                if (r < 0) {
                        if (failed++ < 3)
                                fprintf(stderr, "client %u call %u %s.%s: %s\n", id, i, c->interface, c->member,
                                        error.message ?: strerror(-r));
                }
                sd_bus_error_free(&error);
        }
        sd_bus_flush_close_unref(bus);
        return failed > 255 ? 255 : (int) failed;
}

int main(int argc, char *argv[]) {
        struct timespec a, b;
        unsigned clients, per, failed = 0;
        double s;

        if (argc != 3 || (clients = (unsigned) atoi(argv[1])) == 0 || (per = (unsigned) atoi(argv[2])) == 0) {
                fprintf(stderr, "usage: load-client CLIENTS CALLS_PER_CLIENT\n");
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (unsigned i = 0; i < clients; i++) {
                pid_t pid = fork();

                if (pid < 0) {
                        perror("fork");
                        return 1;
                }
                if (pid == 0)
                        _exit(client(i, per));
        }
        for (unsigned i = 0; i < clients; i++) {
                int status;

                if (wait(&status) < 0) {
                        perror("wait");
                        return 1;
                }
                if (!WIFEXITED(status))
                        failed += per;          /* a crashed client: count all its calls as failed */
                else
                        failed += (unsigned) WEXITSTATUS(status);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        s = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
        printf("clients=%u calls=%u failed=%u seconds=%.2f calls_per_s=%.0f\n", clients, clients * per, failed, s,
               (double) (clients * per) / s);
        return failed == 0 ? 0 : 1;
}
