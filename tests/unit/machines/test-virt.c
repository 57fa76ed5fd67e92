/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-virt.c — virt.c on an sd-event loop against libvirt's in-process test driver: the event loop
 * glue, lifecycle calls in the workers, events in order, errors as errno; and an unreachable URI */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shared/errors.h"
#include "machines/virt-names.h"
#include "machines/virt.h"

/* virt.c hands the owner back opaque: here the owner is what the test has seen. */
typedef struct Manager Seen;
struct Manager {
        int connected;          /* -1 not yet */
        unsigned n_new, n_gone, n_state;
        char events[16][64];
        unsigned n_events;
        int reply;              /* 1: none yet */
        char *reply_message;
};

static void on_connected(Virt *v, bool connected, Seen *s) {
        s->connected = connected;
}
static void on_new(Virt *v, Machine *m, Seen *s) {
        assert_ptr_equal(m->manager, s);
        s->n_new++;
}
static void on_event(Virt *v, Machine *m, const char *event, const char *detail, Seen *s) {
        if (s->n_events < 16)
                snprintf(s->events[s->n_events++], 64, "%s %s/%s", m->name, event, detail);
}
static void on_gone(Virt *v, Machine *m, Seen *s) {
        s->n_gone++;
}
static void on_changed(Virt *v, Machine *m, const char *property, Seen *s) {
        if (streq(property, "State"))
                s->n_state++;
}

static const VirtOps ops = {
        .connected = on_connected,
        .machine_new = on_new,
        .machine_event = on_event,
        .machine_gone = on_gone,
        .machine_changed = on_changed,
};

static void on_reply(int r, const char *message, const char *result, void *userdata) {
        Seen *s = userdata;

        s->reply = r;
        free(s->reply_message);
        s->reply_message = message ? strdup(message) : NULL;
}

static sd_event *loop;

/* Runs the loop until *flag differs from unset (at most 10 s: a hang fails, never blocks CI). */
static void run_until(int *flag, int unset) {
        for (int i = 0; i < 1000 && *flag == unset; i++)
                assert_true(sd_event_run(loop, 10 * 1000) >= 0);
        assert_int_not_equal(*flag, unset);
}

static void run_until_events(Seen *s, unsigned n) {
        for (int i = 0; i < 1000 && s->n_events < n; i++)
                assert_true(sd_event_run(loop, 10 * 1000) >= 0);
        assert_int_equal(s->n_events, n);
}

static void call(Virt *v, Machine *m, MachineAction a, Seen *s) {
        s->reply = 1;
        assert_int_equal(virt_machine_action(v, m, a, on_reply, s), 0);
        run_until(&s->reply, 1);
}

static void test_test_driver(void **state) {
        Seen s = { .connected = -1 };
        Virt *v = NULL;
        Machine *m;

        assert_int_equal(virt_new(loop, "test:///default", &ops, &s, &v), 0);
        /* Opened in the background: nothing is known before the loop ran. */
        assert_false(virt_is_connected(v));
        run_until(&s.connected, -1);
        assert_int_equal(s.connected, 1);
        assert_true(virt_host(v)->connected);
        assert_string_equal(virt_host(v)->type, "TEST");
        assert_int_equal(virt_host(v)->cpus, 16);
        assert_int_equal(s.n_new, 1);
        assert_int_equal(s.n_events, 0);        /* what was there at start is no event */

        m = virt_machine_find(v, "test");
        assert_non_null(m);
        assert_ptr_equal(virt_machine_find(v, m->uuid), m);
        assert_null(virt_machine_find(v, "nope"));
        assert_string_equal(machine_state_to_string(m->state), "running");
        assert_int_equal(m->vcpus, 2);
        assert_true(m->persistent);
        assert_int_equal(m->devices.n_disks, 1);
        assert_string_equal(m->devices.disks[0].a, "vda");

        call(v, m, MACHINE_DESTROY, &s);
        assert_int_equal(s.reply, 0);
        call(v, m, MACHINE_START, &s);
        assert_int_equal(s.reply, 0);
        call(v, m, MACHINE_SUSPEND, &s);
        call(v, m, MACHINE_RESUME, &s);
        run_until_events(&s, 4);
        assert_string_equal(s.events[0], "test stopped/destroyed");
        assert_string_equal(s.events[1], "test started/booted");
        assert_string_equal(s.events[2], "test suspended/paused");
        assert_string_equal(s.events[3], "test resumed/unpaused");
        assert_int_equal(s.n_state, 4);
        assert_string_equal(machine_state_to_string(m->state), "running");

        /* A call the state does not allow is a conflict, whatever the driver calls it (the test
         * driver an internal error, QEMU an invalid operation). */
        call(v, m, MACHINE_START, &s);
        assert_int_equal(s.reply, -AIM_ECONFLICT);
        assert_string_equal(s.reply_message, "Cannot start machine test: it is running.");
        call(v, m, MACHINE_RESUME, &s);
        assert_int_equal(s.reply, -AIM_ECONFLICT);
        assert_string_equal(s.reply_message, "Cannot resume machine test: it is running.");
        call(v, m, MACHINE_DESTROY, &s);
        assert_int_equal(s.reply, 0);
        call(v, m, MACHINE_SUSPEND, &s);
        assert_int_equal(s.reply, -AIM_ECONFLICT);
        assert_string_equal(s.reply_message, "Cannot suspend machine test: it is shutoff.");
        call(v, m, MACHINE_START, &s);
        assert_int_equal(s.reply, 0);
        run_until_events(&s, 6);

        s.reply = 1;
        assert_int_equal(virt_get_capabilities(v, on_reply, &s), 0);
        run_until(&s.reply, 1);
        assert_int_equal(s.reply, 0);

        virt_free(v);
        free(s.reply_message);
}

static void test_unreachable(void **state) {
        Seen s = { .connected = -1 };
        Virt *v = NULL;
        uint64_t start, now;

        /* A libvirtd socket that does not exist: the daemon must carry on without it. */
        assert_int_equal(virt_new(loop, "qemu+unix:///system?socket=/nonexistent/libvirt-sock", &ops, &s, &v), 0);
        assert_int_equal(sd_event_now(loop, CLOCK_MONOTONIC, &start) >= 0, 1);
        do {
                assert_true(sd_event_run(loop, 100 * 1000) >= 0);
                assert_true(sd_event_now(loop, CLOCK_MONOTONIC, &now) >= 0);
        } while (now - start < 1000 * 1000);
        assert_false(virt_is_connected(v));
        assert_false(virt_host(v)->connected);
        assert_int_equal(s.connected, -1);
        assert_int_equal(hashmap_size(virt_machines(v)), 0);
        assert_int_equal(virt_get_capabilities(v, on_reply, &s), -AIM_ENOTCONN);
        virt_free(v);
}

static int setup(void **state) {
        return sd_event_new(&loop) < 0 ? -1 : 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_test_driver),
                cmocka_unit_test(test_unreachable),
        };
        /* The loop outlives the tests: libvirt's event implementation is bound to it for good. */
        return cmocka_run_group_tests(tests, setup, NULL);
}
