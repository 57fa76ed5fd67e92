/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bridge-bench.c — rtnl.c's netlink path on the host kernel: N bridges, each made, brought up and
 * given a veth port, then deleted; in a network namespace of its own. The veths are made (untimed)
 * beforehand with ip. Compare with bench/bridge-bench.sh's ip runs of the same steps. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "network/rtnl.h"

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[]) {
        unsigned count = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
        int *bridges = calloc(count, sizeof(int));
        Rtnl *n = NULL;
        double t0, t1, t2;
        int r;

        if (!bridges || rtnl_new(&n) < 0)
                return EXIT_FAILURE;
        r = rtnl_open(n, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "bridge-bench: netlink: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        t0 = now();
        for (unsigned i = 0; i < count; i++) {
                char name[IFNAMSIZ];
                const Link *veth;

                snprintf(name, sizeof(name), "vb%u", i);
                veth = link_table_get_by_name(n->links, name);
                snprintf(name, sizeof(name), "br%u", i);
                if (!veth || n->ops->create_bridge(n, name, 0, true, &bridges[i]) < 0 ||
                    n->ops->set_link(n, veth->ifindex, &(LinkSettings) { .master = bridges[i], .mtu = 0, .up = 1 }) < 0) {
                        fprintf(stderr, "bridge-bench: pair %u failed\n", i);
                        return EXIT_FAILURE;
                }
        }
        t1 = now();
        for (unsigned i = 0; i < count; i++)
                if (n->ops->delete_link(n, bridges[i]) < 0) {
                        fprintf(stderr, "bridge-bench: delete %u failed\n", i);
                        return EXIT_FAILURE;
                }
        t2 = now();
        printf("n=%u create_s=%.3f delete_s=%.3f pairs_per_s=%.1f\n", count, t1 - t0, t2 - t1, count / (t2 - t0));
        rtnl_free(n);
        free(bridges);
        return EXIT_SUCCESS;
}
