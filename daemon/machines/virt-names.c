/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt-names.c — libvirt's states, lifecycle events and their details as the names of the D-Bus API */
#include <errno.h>
#include <libvirt/libvirt.h>

#include "util/macro.h"
#include "machines/virt-names.h"

/* Indexed by libvirt's enums; the _LAST asserts catch a libvirt that grew a value we do not name
 * (the lookups then say "unknown", never read past the table). */
static const char * const state_names[] = {
        [VIR_DOMAIN_NOSTATE] = "nostate",
        [VIR_DOMAIN_RUNNING] = "running",
        [VIR_DOMAIN_BLOCKED] = "blocked",
        [VIR_DOMAIN_PAUSED] = "paused",
        [VIR_DOMAIN_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_SHUTOFF] = "shutoff",
        [VIR_DOMAIN_CRASHED] = "crashed",
        [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

static const char * const event_names[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = "defined",
        [VIR_DOMAIN_EVENT_UNDEFINED] = "undefined",
        [VIR_DOMAIN_EVENT_STARTED] = "started",
        [VIR_DOMAIN_EVENT_SUSPENDED] = "suspended",
        [VIR_DOMAIN_EVENT_RESUMED] = "resumed",
        [VIR_DOMAIN_EVENT_STOPPED] = "stopped",
        [VIR_DOMAIN_EVENT_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = "pmsuspended",
        [VIR_DOMAIN_EVENT_CRASHED] = "crashed",
};

static const char * const defined_details[] = {
        [VIR_DOMAIN_EVENT_DEFINED_ADDED] = "added",
        [VIR_DOMAIN_EVENT_DEFINED_UPDATED] = "updated",
        [VIR_DOMAIN_EVENT_DEFINED_RENAMED] = "renamed",
        [VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT] = "from_snapshot",
};
static const char * const undefined_details[] = {
        [VIR_DOMAIN_EVENT_UNDEFINED_REMOVED] = "removed",
        [VIR_DOMAIN_EVENT_UNDEFINED_RENAMED] = "renamed",
};
static const char * const started_details[] = {
        [VIR_DOMAIN_EVENT_STARTED_BOOTED] = "booted",
        [VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "migrated",
        [VIR_DOMAIN_EVENT_STARTED_RESTORED] = "restored",
        [VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "from_snapshot",
        [VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "wakeup",
};
static const char * const suspended_details[] = {
        [VIR_DOMAIN_EVENT_SUSPENDED_PAUSED] = "paused",
        [VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED] = "migrated",
        [VIR_DOMAIN_EVENT_SUSPENDED_IOERROR] = "ioerror",
        [VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG] = "watchdog",
        [VIR_DOMAIN_EVENT_SUSPENDED_RESTORED] = "restored",
        [VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT] = "from_snapshot",
        [VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR] = "api_error",
        [VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY] = "postcopy",
        [VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED] = "postcopy_failed",
};
static const char * const resumed_details[] = {
        [VIR_DOMAIN_EVENT_RESUMED_UNPAUSED] = "unpaused",
        [VIR_DOMAIN_EVENT_RESUMED_MIGRATED] = "migrated",
        [VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT] = "from_snapshot",
        [VIR_DOMAIN_EVENT_RESUMED_POSTCOPY] = "postcopy",
        [VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED] = "postcopy_failed",
};
static const char * const stopped_details[] = {
        [VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "destroyed",
        [VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "crashed",
        [VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "migrated",
        [VIR_DOMAIN_EVENT_STOPPED_SAVED] = "saved",
        [VIR_DOMAIN_EVENT_STOPPED_FAILED] = "failed",
        [VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "from_snapshot",
};
static const char * const shutdown_details[] = {
        [VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED] = "finished",
        [VIR_DOMAIN_EVENT_SHUTDOWN_GUEST] = "guest",
        [VIR_DOMAIN_EVENT_SHUTDOWN_HOST] = "host",
};
static const char * const pmsuspended_details[] = {
        [VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY] = "memory",
        [VIR_DOMAIN_EVENT_PMSUSPENDED_DISK] = "disk",
};
static const char * const crashed_details[] = {
        [VIR_DOMAIN_EVENT_CRASHED_PANICKED] = "panicked",
        [VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED] = "crashloaded",
};

typedef struct NameTable {
        const char * const *names;
        size_t n;
} NameTable;

#define TABLE(t) { t, ELEMENTSOF(t) }

static const NameTable event_details[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = TABLE(defined_details),
        [VIR_DOMAIN_EVENT_UNDEFINED] = TABLE(undefined_details),
        [VIR_DOMAIN_EVENT_STARTED] = TABLE(started_details),
        [VIR_DOMAIN_EVENT_SUSPENDED] = TABLE(suspended_details),
        [VIR_DOMAIN_EVENT_RESUMED] = TABLE(resumed_details),
        [VIR_DOMAIN_EVENT_STOPPED] = TABLE(stopped_details),
        [VIR_DOMAIN_EVENT_SHUTDOWN] = TABLE(shutdown_details),
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = TABLE(pmsuspended_details),
        [VIR_DOMAIN_EVENT_CRASHED] = TABLE(crashed_details),
};

/* The reasons libvirt gives for a state (virDomainGetState), by state. */
static const char * const running_reasons[] = {
        [VIR_DOMAIN_RUNNING_UNKNOWN] = "unknown",
        [VIR_DOMAIN_RUNNING_BOOTED] = "booted",
        [VIR_DOMAIN_RUNNING_MIGRATED] = "migrated",
        [VIR_DOMAIN_RUNNING_RESTORED] = "restored",
        [VIR_DOMAIN_RUNNING_FROM_SNAPSHOT] = "from_snapshot",
        [VIR_DOMAIN_RUNNING_UNPAUSED] = "unpaused",
        [VIR_DOMAIN_RUNNING_MIGRATION_CANCELED] = "migration_canceled",
        [VIR_DOMAIN_RUNNING_SAVE_CANCELED] = "save_canceled",
        [VIR_DOMAIN_RUNNING_WAKEUP] = "wakeup",
        [VIR_DOMAIN_RUNNING_CRASHED] = "crashed",
        [VIR_DOMAIN_RUNNING_POSTCOPY] = "postcopy",
        [VIR_DOMAIN_RUNNING_POSTCOPY_FAILED] = "postcopy_failed",
};
static const char * const paused_reasons[] = {
        [VIR_DOMAIN_PAUSED_UNKNOWN] = "unknown",
        [VIR_DOMAIN_PAUSED_USER] = "paused",    /* the event detail's word for it */
        [VIR_DOMAIN_PAUSED_MIGRATION] = "migrated",
        [VIR_DOMAIN_PAUSED_SAVE] = "saved",
        [VIR_DOMAIN_PAUSED_DUMP] = "dump",
        [VIR_DOMAIN_PAUSED_IOERROR] = "ioerror",
        [VIR_DOMAIN_PAUSED_WATCHDOG] = "watchdog",
        [VIR_DOMAIN_PAUSED_FROM_SNAPSHOT] = "from_snapshot",
        [VIR_DOMAIN_PAUSED_SHUTTING_DOWN] = "shutting_down",
        [VIR_DOMAIN_PAUSED_SNAPSHOT] = "snapshot",
        [VIR_DOMAIN_PAUSED_CRASHED] = "crashed",
        [VIR_DOMAIN_PAUSED_STARTING_UP] = "starting_up",
        [VIR_DOMAIN_PAUSED_POSTCOPY] = "postcopy",
        [VIR_DOMAIN_PAUSED_POSTCOPY_FAILED] = "postcopy_failed",
};
static const char * const shutdown_reasons[] = {
        [VIR_DOMAIN_SHUTDOWN_UNKNOWN] = "unknown",
        [VIR_DOMAIN_SHUTDOWN_USER] = "guest",
};
static const char * const shutoff_reasons[] = {
        [VIR_DOMAIN_SHUTOFF_UNKNOWN] = "unknown",
        [VIR_DOMAIN_SHUTOFF_SHUTDOWN] = "shutdown",
        [VIR_DOMAIN_SHUTOFF_DESTROYED] = "destroyed",
        [VIR_DOMAIN_SHUTOFF_CRASHED] = "crashed",
        [VIR_DOMAIN_SHUTOFF_MIGRATED] = "migrated",
        [VIR_DOMAIN_SHUTOFF_SAVED] = "saved",
        [VIR_DOMAIN_SHUTOFF_FAILED] = "failed",
        [VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT] = "from_snapshot",
        [VIR_DOMAIN_SHUTOFF_DAEMON] = "daemon",
};
static const char * const crashed_reasons[] = {
        [VIR_DOMAIN_CRASHED_UNKNOWN] = "unknown",
        [VIR_DOMAIN_CRASHED_PANICKED] = "panicked",
};
static const char * const pmsuspended_reasons[] = {
        [VIR_DOMAIN_PMSUSPENDED_UNKNOWN] = "memory",
};

static const char *table_lookup(const char * const *names, size_t n, int i) {
        if (i < 0 || (size_t) i >= n || !names[i])
                return NULL;
        return names[i];
}

const char *machine_state_to_string(int state) {
        return table_lookup(state_names, ELEMENTSOF(state_names), state);
}

const char *machine_event_to_string(int event) {
        return table_lookup(event_names, ELEMENTSOF(event_names), event);
}

const char *machine_event_detail_to_string(int event, int detail) {
        const NameTable *t;

        if (!machine_event_to_string(event))
                return NULL;
        t = &event_details[event];
        return table_lookup(t->names, t->n, detail) ?: "unknown";
}

int machine_state_after_event(int event) {
        static const int states[] = {
                [VIR_DOMAIN_EVENT_DEFINED] = -EINVAL,
                [VIR_DOMAIN_EVENT_UNDEFINED] = -EINVAL,
                [VIR_DOMAIN_EVENT_STARTED] = VIR_DOMAIN_RUNNING,
                [VIR_DOMAIN_EVENT_SUSPENDED] = VIR_DOMAIN_PAUSED,
                [VIR_DOMAIN_EVENT_RESUMED] = VIR_DOMAIN_RUNNING,
                [VIR_DOMAIN_EVENT_STOPPED] = VIR_DOMAIN_SHUTOFF,
                [VIR_DOMAIN_EVENT_SHUTDOWN] = VIR_DOMAIN_SHUTDOWN,
                [VIR_DOMAIN_EVENT_PMSUSPENDED] = VIR_DOMAIN_PMSUSPENDED,
                [VIR_DOMAIN_EVENT_CRASHED] = VIR_DOMAIN_CRASHED,
        };

        if (event < 0 || (size_t) event >= ELEMENTSOF(states))
                return -EINVAL;
        return states[event];
}

int machine_event_for_state(int state, int reason, const char **ret_event, const char **ret_detail) {
        static const struct {
                int event;
                NameTable reasons;
        } by_state[] = {
                [VIR_DOMAIN_RUNNING] = { VIR_DOMAIN_EVENT_STARTED, TABLE(running_reasons) },
                [VIR_DOMAIN_PAUSED] = { VIR_DOMAIN_EVENT_SUSPENDED, TABLE(paused_reasons) },
                [VIR_DOMAIN_SHUTDOWN] = { VIR_DOMAIN_EVENT_SHUTDOWN, TABLE(shutdown_reasons) },
                [VIR_DOMAIN_SHUTOFF] = { VIR_DOMAIN_EVENT_STOPPED, TABLE(shutoff_reasons) },
                [VIR_DOMAIN_CRASHED] = { VIR_DOMAIN_EVENT_CRASHED, TABLE(crashed_reasons) },
                [VIR_DOMAIN_PMSUSPENDED] = { VIR_DOMAIN_EVENT_PMSUSPENDED, TABLE(pmsuspended_reasons) },
        };

        if (state <= VIR_DOMAIN_NOSTATE || state == VIR_DOMAIN_BLOCKED || (size_t) state >= ELEMENTSOF(by_state))
                return -EINVAL;
        *ret_event = event_names[by_state[state].event];
        *ret_detail = table_lookup(by_state[state].reasons.names, by_state[state].reasons.n, reason) ?: "unknown";
        return 0;
}

uint64_t reconnect_backoff_usec(unsigned attempt, uint64_t base, uint64_t cap) {
        uint64_t d = base;

        for (unsigned i = 0; i < attempt && d < cap; i++)
                d *= 2;
        return MIN(d, cap);
}
