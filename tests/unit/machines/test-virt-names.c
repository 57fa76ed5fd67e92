/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-virt-names.c — libvirt states, events and details as the API names them; reconnect backoff */
#include <errno.h>
/* The _LAST values, to check that every value libvirt has is named. */
#define VIR_ENUM_SENTINELS
#include <libvirt/libvirt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "machines/virt-names.h"

static void test_states(void **state) {
        static const char * const expected[] = {
                "nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended",
        };

        /* Every state libvirt has, in the words of API.md. */
        assert_int_equal(VIR_DOMAIN_LAST, 8);
        for (int s = 0; s < VIR_DOMAIN_LAST; s++)
                assert_string_equal(machine_state_to_string(s), expected[s]);
        assert_null(machine_state_to_string(-1));
        assert_null(machine_state_to_string(VIR_DOMAIN_LAST));
}

static void test_events(void **state) {
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_DEFINED), "defined");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_UNDEFINED), "undefined");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_STARTED), "started");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_SUSPENDED), "suspended");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_RESUMED), "resumed");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_STOPPED), "stopped");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_SHUTDOWN), "shutdown");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_PMSUSPENDED), "pmsuspended");
        assert_string_equal(machine_event_to_string(VIR_DOMAIN_EVENT_CRASHED), "crashed");
        assert_null(machine_event_to_string(-1));
        assert_null(machine_event_to_string(VIR_DOMAIN_EVENT_CRASHED + 1));
}

static void test_details(void **state) {
        static const struct {
                int event, detail;
                const char *name;
        } cases[] = {
                { VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED, "added" },
                { VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_UPDATED, "updated" },
                { VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_RENAMED, "renamed" },
                { VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED, "removed" },
                { VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_RENAMED, "renamed" },
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, "booted" },
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED, "migrated" },
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_RESTORED, "restored" },
                { VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_WAKEUP, "wakeup" },
                { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_PAUSED, "paused" },
                { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, "ioerror" },
                { VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, "postcopy_failed" },
                { VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_UNPAUSED, "unpaused" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, "shutdown" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, "destroyed" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED, "crashed" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SAVED, "saved" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED, "failed" },
                { VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, "from_snapshot" },
                { VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED, "finished" },
                { VIR_DOMAIN_EVENT_SHUTDOWN, VIR_DOMAIN_EVENT_SHUTDOWN_GUEST, "guest" },
                { VIR_DOMAIN_EVENT_PMSUSPENDED, VIR_DOMAIN_EVENT_PMSUSPENDED_DISK, "disk" },
                { VIR_DOMAIN_EVENT_CRASHED, VIR_DOMAIN_EVENT_CRASHED_PANICKED, "panicked" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                assert_string_equal(machine_event_detail_to_string(cases[i].event, cases[i].detail), cases[i].name);

        /* Every detail this libvirt knows has a name; a newer libvirt's gets "unknown", never garbage. */
        for (int d = 0; d < VIR_DOMAIN_EVENT_STOPPED_LAST; d++)
                assert_string_not_equal(machine_event_detail_to_string(VIR_DOMAIN_EVENT_STOPPED, d), "unknown");
        for (int d = 0; d < VIR_DOMAIN_EVENT_SUSPENDED_LAST; d++)
                assert_string_not_equal(machine_event_detail_to_string(VIR_DOMAIN_EVENT_SUSPENDED, d), "unknown");
        assert_string_equal(machine_event_detail_to_string(VIR_DOMAIN_EVENT_STOPPED, 999), "unknown");
        assert_string_equal(machine_event_detail_to_string(VIR_DOMAIN_EVENT_STOPPED, -1), "unknown");
        assert_null(machine_event_detail_to_string(42, 0));
}

static void test_event_for_state(void **state) {
        const char *event, *detail;

        assert_int_equal(machine_event_for_state(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_CRASHED, &event, &detail), 0);
        assert_string_equal(event, "stopped");
        assert_string_equal(detail, "crashed");
        assert_int_equal(machine_event_for_state(VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DAEMON, &event, &detail), 0);
        assert_string_equal(detail, "daemon");
        assert_int_equal(machine_event_for_state(VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED, &event, &detail), 0);
        assert_string_equal(event, "started");
        assert_string_equal(detail, "booted");
        assert_int_equal(machine_event_for_state(VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER, &event, &detail), 0);
        assert_string_equal(event, "suspended");
        assert_string_equal(detail, "paused");
        assert_int_equal(machine_event_for_state(VIR_DOMAIN_CRASHED, 77, &event, &detail), 0);
        assert_string_equal(event, "crashed");
        assert_string_equal(detail, "unknown");
        assert_int_equal(machine_event_for_state(VIR_DOMAIN_NOSTATE, 0, &event, &detail), -EINVAL);
        assert_int_equal(machine_event_for_state(VIR_DOMAIN_BLOCKED, 0, &event, &detail), -EINVAL);
        assert_int_equal(machine_event_for_state(99, 0, &event, &detail), -EINVAL);
}

static void test_state_after_event(void **state) {
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_STARTED), VIR_DOMAIN_RUNNING);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_SUSPENDED), VIR_DOMAIN_PAUSED);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_RESUMED), VIR_DOMAIN_RUNNING);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_STOPPED), VIR_DOMAIN_SHUTOFF);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_SHUTDOWN), VIR_DOMAIN_SHUTDOWN);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_PMSUSPENDED), VIR_DOMAIN_PMSUSPENDED);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_CRASHED), VIR_DOMAIN_CRASHED);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_DEFINED), -EINVAL);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_UNDEFINED), -EINVAL);
        assert_int_equal(machine_state_after_event(-1), -EINVAL);
        assert_int_equal(machine_state_after_event(VIR_DOMAIN_EVENT_LAST), -EINVAL);
}

static void test_backoff(void **state) {
        const uint64_t base = 250000, cap = 8000000;

        assert_int_equal(reconnect_backoff_usec(0, base, cap), 250000);
        assert_int_equal(reconnect_backoff_usec(1, base, cap), 500000);
        assert_int_equal(reconnect_backoff_usec(4, base, cap), 4000000);
        assert_int_equal(reconnect_backoff_usec(5, base, cap), 8000000);
        assert_int_equal(reconnect_backoff_usec(6, base, cap), 8000000);
        /* Never overflows, however long the hypervisor stays away. */
        assert_int_equal(reconnect_backoff_usec(100000, base, cap), cap);
        assert_int_equal(reconnect_backoff_usec(UINT32_MAX, base, cap), cap);
        assert_int_equal(reconnect_backoff_usec(3, base, 100000), 100000);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_states),
                cmocka_unit_test(test_events),
                cmocka_unit_test(test_details),
                cmocka_unit_test(test_event_for_state),
                cmocka_unit_test(test_state_after_event),
                cmocka_unit_test(test_backoff),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
