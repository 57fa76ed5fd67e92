/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-netlink.c — rtnl.c against the host kernel in a private network namespace: bridges, ports,
 * link notifications from changes made by others, and recovery from lost notifications */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <netlink/socket.h>

#include "network/rtnl.h"

typedef struct Seen {
        unsigned changes[64];
        char names[64][IFNAMSIZ];
        unsigned n;
} Seen;

static void on_change(Rtnl *n, const Link *old, const Link *new, unsigned change, void *userdata) {
        Seen *s = userdata;

        if (s->n < ELEMENTSOF(s->changes)) {
                s->changes[s->n] = change;
                snprintf(s->names[s->n], IFNAMSIZ, "%s", new ? new->name : old->name);
                s->n++;
        }
}

static bool seen(const Seen *s, const char *name, unsigned change) {
        for (unsigned i = 0; i < s->n; i++)
                if (streq(s->names[i], name) && (s->changes[i] & change))
                        return true;
        return false;
}

static void sh(const char *command) {
        assert_int_equal(system(command), 0);
}

static void test_bridge_and_events(void **state) {
        Rtnl *n;
        Seen s = {};
        int br, r;
        Link *l;

        assert_int_equal(rtnl_new(&n), 0);
        assert_int_equal(rtnl_open(n, NULL, NULL), 0);
        rtnl_set_change_handler(n, on_change, &s);
        assert_non_null(link_table_get_by_name(n->links, "lo"));

        /* Our own request: the table shows it as soon as the call returns. */
        assert_int_equal(n->ops->create_bridge(n, "br0", 1400, true, &br), 0);
        l = link_table_get(n->links, br);
        assert_non_null(l);
        assert_string_equal(l->kind, "bridge");
        assert_int_equal(l->mtu, 1400);
        assert_true(link_is_up(l));
        assert_true(seen(&s, "br0", LINK_CHANGE_NEW));
        r = n->ops->create_bridge(n, "br0", 0, false, &br);
        assert_int_equal(r, -EEXIST);

        /* Ports: a veth made by someone else, enslaved by us, then released by someone else. */
        sh("ip link add vA type veth peer name vB");
        assert_int_equal(rtnl_process_events(n), 0);
        l = link_table_get_by_name(n->links, "vA");
        assert_non_null(l);
        assert_string_equal(l->kind, "veth");
        assert_int_equal(n->ops->set_link(n, l->ifindex, &(LinkSettings) { .master = br, .mtu = 0, .up = 1 }), 0);
        assert_int_equal(link_table_get_by_name(n->links, "vA")->master, br);
        assert_int_equal(link_table_get(n->links, br)->n_ports, 1);
        s.n = 0;
        sh("ip link set vA nomaster");
        assert_int_equal(rtnl_process_events(n), 0);
        assert_int_equal(link_table_get_by_name(n->links, "vA")->master, 0);
        assert_int_equal(link_table_get(n->links, br)->n_ports, 0);
        assert_true(seen(&s, "vA", LINK_CHANGE_MASTER));
        /* The bridge's AF_BRIDGE port messages must not have replaced or removed vA. */
        assert_string_equal(link_table_get_by_name(n->links, "vA")->kind, "veth");

        /* MTU, state and name changed with ip are reported. */
        s.n = 0;
        sh("ip link set br0 mtu 1300 && ip link set br0 down && ip link set br0 name br1");
        assert_int_equal(rtnl_process_events(n), 0);
        assert_true(seen(&s, "br0", LINK_CHANGE_MTU));
        assert_true(seen(&s, "br1", LINK_CHANGE_NAME));
        assert_null(link_table_get_by_name(n->links, "br0"));
        l = link_table_get_by_name(n->links, "br1");
        assert_non_null(l);
        assert_false(link_is_up(l));
        assert_int_equal(l->mtu, 1300);

        /* Deleting: ours and theirs. */
        assert_int_equal(n->ops->delete_link(n, br), 0);
        assert_null(link_table_get(n->links, br));
        assert_true(seen(&s, "br1", LINK_CHANGE_REMOVED));
        assert_int_equal(n->ops->delete_link(n, br), -ENODEV);
        sh("ip link del vA");
        assert_int_equal(rtnl_process_events(n), 0);
        assert_null(link_table_get_by_name(n->links, "vA"));
        assert_null(link_table_get_by_name(n->links, "vB"));
        rtnl_free(n);
}

/* With a tiny receive buffer the kernel drops notifications (ENOBUFS): a full dump puts it right. */
static void test_lost_notifications(void **state) {
        Rtnl *n;
        int size = 1024;
        FILE *f;

        assert_int_equal(rtnl_new(&n), 0);
        assert_int_equal(rtnl_open(n, NULL, NULL), 0);
        assert_int_equal(setsockopt(nl_socket_get_fd(n->monitor), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);

        f = fopen("/tmp/test-netlink.batch", "we");
        assert_non_null(f);
        for (int i = 0; i < 100; i++)
                fprintf(f, "link add lost%d type bridge\n", i);
        fclose(f);
        sh("ip -batch /tmp/test-netlink.batch && ip link del lost7");
        unlink("/tmp/test-netlink.batch");

        assert_int_equal(rtnl_process_events(n), 0);
        assert_true(n->n_resyncs > 0);
        for (int i = 0; i < 100; i++) {
                char name[IFNAMSIZ];

                snprintf(name, sizeof(name), "lost%d", i);
                if (i == 7)
                        assert_null(link_table_get_by_name(n->links, name));
                else
                        assert_non_null(link_table_get_by_name(n->links, name));
        }
        rtnl_free(n);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bridge_and_events),
                cmocka_unit_test(test_lost_notifications),
        };

        if (unshare(CLONE_NEWNET) < 0) {
                printf("SKIP: cannot make a network namespace: %m\n");
                return 77;
        }
        if (system("ip link set lo up") != 0) {
                printf("SKIP: ip does not work here\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
