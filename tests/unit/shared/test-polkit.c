/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-polkit.c — polkit.c's registry and uid cache, without a bus: the daemon's connection and a
 * fake peer (the caller, the bus driver's GetConnectionUnixUser and polkit's CheckAuthorization,
 * with answers the test picks) on the two ends of a socketpair, pumped by hand. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "shared/polkit.h"

typedef enum Verdict { GRANT, DENY, CHALLENGE, UNAVAILABLE } Verdict;

typedef struct Fake {
        sd_bus *daemon, *peer;
        PolkitRegistry *registry;
        uid_t uid;                      /* what GetConnectionUnixUser answers */
        Verdict verdict;                /* what CheckAuthorization answers */
        unsigned lookups, checks;       /* calls of each seen by the peer */
        char action[64], subject[64], detail[64];
} Fake;

/* The daemon's side: a method that must be authorized, as every mutating method does it. */
static int method_change(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        static const char * const details[] = { "tag", "100", NULL };
        Fake *f = userdata;
        int r;

        r = polkit_check_async(f->registry, m, "org.abiquo.Node1.test", details, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;       /* parked: dispatched again with the verdict */
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable daemon_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Change", "", "", method_change, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* The peer's side: the bus driver and polkit, as far as polkit.c asks them. */
static int fake_unix_user(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *name;

        assert_int_equal(sd_bus_message_read(m, "s", &name), 1);
        f->lookups++;
        return sd_bus_reply_method_return(m, "u", (uint32_t) f->uid);
}

static int fake_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Fake *f = userdata;
        const char *kind, *key, *name, *action, *k, *v;
        uint32_t flags;

        f->checks++;
        assert_int_equal(sd_bus_message_read(m, "(sa{sv})", &kind, 1, &key, "s", &name), 1);
        assert_string_equal(kind, "system-bus-name");
        snprintf(f->subject, sizeof(f->subject), "%s", name);
        assert_int_equal(sd_bus_message_read(m, "s", &action), 1);
        snprintf(f->action, sizeof(f->action), "%s", action);
        assert_int_equal(sd_bus_message_enter_container(m, 'a', "{ss}"), 1);
        f->detail[0] = 0;
        while (sd_bus_message_read(m, "{ss}", &k, &v) > 0)
                snprintf(f->detail, sizeof(f->detail), "%s=%s", k, v);
        assert_int_equal(sd_bus_message_exit_container(m), 1);
        assert_int_equal(sd_bus_message_read(m, "u", &flags), 1);

        switch (f->verdict) {
        case UNAVAILABLE:
                return sd_bus_error_set(error, "org.freedesktop.DBus.Error.ServiceUnknown", "no polkitd here");
        case GRANT:
        case DENY:
        case CHALLENGE:
                break;
        }
        return sd_bus_reply_method_return(m, "(bba{ss})", f->verdict == GRANT, f->verdict == CHALLENGE, 0);
}

static const sd_bus_vtable driver_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("GetConnectionUnixUser", "s", "u", fake_unix_user, 0),
        SD_BUS_VTABLE_END
};

static const sd_bus_vtable polkit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", fake_check_authorization, 0),
        SD_BUS_VTABLE_END
};

static int setup(void **state) {
        Fake *f = calloc(1, sizeof(Fake));
        sd_id128_t id;
        int fds[2];

        assert_non_null(f);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&f->daemon), 0);
        assert_int_equal(sd_bus_set_fd(f->daemon, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(f->daemon, true, id), 0);
        assert_true(sd_bus_start(f->daemon) >= 0);
        assert_int_equal(sd_bus_new(&f->peer), 0);
        assert_int_equal(sd_bus_set_fd(f->peer, fds[1], fds[1]), 0);
        assert_true(sd_bus_start(f->peer) >= 0);

        assert_true(sd_bus_add_object_vtable(f->daemon, NULL, "/test", "org.abiquo.Test", daemon_vtable, f) >= 0);
        assert_true(sd_bus_add_object_vtable(f->peer, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                             driver_vtable, f) >= 0);
        assert_true(sd_bus_add_object_vtable(f->peer, NULL, "/org/freedesktop/PolicyKit1/Authority",
                                             "org.freedesktop.PolicyKit1.Authority", polkit_vtable, f) >= 0);
        f->registry = polkit_registry_new();
        assert_non_null(f->registry);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fake *f = *state;

        polkit_registry_free(f->registry);
        sd_bus_flush_close_unref(f->peer);
        sd_bus_flush_close_unref(f->daemon);
        free(f);
        return 0;
}

typedef struct Call {
        bool done;
        char error[256];        /* "name: message", or "" for success */
} Call;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Call *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                snprintf(c->error, sizeof(c->error), "%s: %s", e->name, e->message);
        c->done = true;
        return 0;
}

/* Calls Change as sender (a unique name such as ":1.7", or a well-known one) and pumps both ends
 * until the reply is in; returns "" or the error as "name: message". */
static const char *call_change(Fake *f, const char *sender, Call *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        *c = (Call) {};
        assert_int_equal(sd_bus_message_new_method_call(f->peer, &m, NULL, "/test", "org.abiquo.Test", "Change"), 0);
        assert_int_equal(sd_bus_message_set_sender(m, sender), 0);
        assert_true(sd_bus_call_async(f->peer, NULL, m, on_reply, c, 0) >= 0);
        for (unsigned i = 0; !c->done; i++) {
                int a, b;

                assert_true(i < 100000);
                a = sd_bus_process(f->daemon, NULL);
                b = sd_bus_process(f->peer, NULL);
                assert_true(a >= 0 && b >= 0);
                if (a == 0 && b == 0) {
                        struct pollfd p[] = {
                                { .fd = sd_bus_get_fd(f->daemon), .events = POLLIN },
                                { .fd = sd_bus_get_fd(f->peer), .events = POLLIN },
                        };
                        (void) poll(p, 2, 100);
                }
        }
        return c->error;
}

/* Root passes after one uid lookup, without polkit; the next call of the same peer costs nothing. */
static void test_root_cached(void **state) {
        Fake *f = *state;
        Call c;

        f->uid = 0;
        assert_string_equal(call_change(f, ":1.7", &c), "");
        assert_int_equal(f->lookups, 1);
        assert_int_equal(f->checks, 0);
        assert_string_equal(call_change(f, ":1.7", &c), "");
        assert_int_equal(f->lookups, 1);
        assert_int_equal(f->checks, 0);
}

/* Anyone else is asked about every call (a verdict may change), with the action, the caller as a
 * system-bus-name subject and the details; the uid is looked up once. */
static void test_user_asks_polkit(void **state) {
        Fake *f = *state;
        Call c;

        f->uid = 1000;
        f->verdict = GRANT;
        assert_string_equal(call_change(f, ":1.8", &c), "");
        assert_int_equal(f->lookups, 1);
        assert_int_equal(f->checks, 1);
        assert_string_equal(f->action, "org.abiquo.Node1.test");
        assert_string_equal(f->subject, ":1.8");
        assert_string_equal(f->detail, "tag=100");
        assert_string_equal(call_change(f, ":1.8", &c), "");
        assert_int_equal(f->lookups, 1);
        assert_int_equal(f->checks, 2);
}

static void test_denials(void **state) {
        Fake *f = *state;
        Call c;

        f->uid = 1000;
        f->verdict = DENY;
        assert_string_equal(call_change(f, ":1.9", &c),
                            "org.freedesktop.DBus.Error.AccessDenied: Not authorized for org.abiquo.Node1.test.");
        f->verdict = CHALLENGE;
        assert_string_equal(call_change(f, ":1.9", &c),
                            "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired: Interactive authentication "
                            "is required for org.abiquo.Node1.test; allow interactive authorization and retry.");
        f->verdict = UNAVAILABLE;
        assert_string_equal(call_change(f, ":1.9", &c),
                            "org.freedesktop.DBus.Error.AccessDenied: Not authorized for org.abiquo.Node1.test: "
                            "polkit is not available (no polkitd here).");
        assert_int_equal(f->lookups, 1);
        assert_int_equal(f->checks, 3);
}

/* The cache holds 64 peers: a 65th pushes out the oldest, which is then looked up again; and only
 * unique names are kept (a well-known name can pass to another peer). */
static void test_cache_bounded_unique_only(void **state) {
        Fake *f = *state;
        char name[32];
        Call c;

        f->uid = 0;
        for (unsigned i = 0; i < 65; i++) {
                snprintf(name, sizeof(name), ":2.%u", i);
                assert_string_equal(call_change(f, name, &c), "");
        }
        assert_int_equal(f->lookups, 65);
        assert_string_equal(call_change(f, ":2.64", &c), "");
        assert_int_equal(f->lookups, 65);
        assert_string_equal(call_change(f, ":2.0", &c), "");
        assert_int_equal(f->lookups, 66);

        assert_string_equal(call_change(f, "org.example.Name", &c), "");
        assert_string_equal(call_change(f, "org.example.Name", &c), "");
        assert_int_equal(f->lookups, 68);
        assert_int_equal(f->checks, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_root_cached, setup, teardown),
                cmocka_unit_test_setup_teardown(test_user_asks_polkit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_denials, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cache_bounded_unique_only, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
