/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker-burst.c — a burst of machine events: Destroy and Start in turn on one machine, N calls, each
 * answered before the next (the test driver's domain must be running). Prints one line:
 *   calls=N failed=F seconds=S calls_per_s=R
 * Usage: broker-burst MACHINE_PATH N (the bus: $DBUS_SYSTEM_BUS_ADDRESS) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        unsigned long n, failed = 0;
        double start;
        int r;

        if (argc != 3 || (n = strtoul(argv[2], NULL, 10)) == 0) {
                fprintf(stderr, "Usage: %s MACHINE_PATH N\n", argv[0]);
                return 2;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Cannot connect to the bus: %s\n", strerror(-r));
                return 1;
        }
        start = now();
        for (unsigned long i = 0; i < n; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;

                r = sd_bus_call_method(bus, "org.abiquo.Node1", argv[1], "org.abiquo.Node1.Machine",
                                       i % 2 == 0 ? "Destroy" : "Start", &error, NULL, "");
                if (r < 0) {
                        if (failed++ == 0)
                                fprintf(stderr, "call %lu failed: %s\n", i, error.message ?: strerror(-r));
                }
                sd_bus_error_free(&error);
        }
        printf("calls=%lu failed=%lu seconds=%.3f calls_per_s=%.0f\n", n, failed, now() - start, n / (now() - start));
        sd_bus_flush_close_unref(bus);
        return failed == 0 ? 0 : 1;
}
