/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-machine.c — aimctl machine list|start|shutdown|…, and aimctl monitor */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/bus-names.h"
#include "aimctl.h"


typedef struct MachineRow {
        const char *uuid, *name, *state, *path;
} MachineRow;

static int row_compare(const void *a, const void *b) {
        const MachineRow *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static int verb_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ MachineRow *rows = NULL;
        size_t n = 0, allocated = 0;
        MachineRow row;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "ListMachines", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list machines");
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the machine list");
        while ((r = sd_bus_message_read(reply, "(ssso)", &row.uuid, &row.name, &row.state, &row.path)) > 0) {
                if (n == allocated) {
                        MachineRow *p = realloc(rows, (allocated = allocated ? allocated * 2 : 16) * sizeof(MachineRow));
                        if (!p)
                                return log_bus_error(-ENOMEM, NULL, "Failed to list machines");
                        rows = p;
                }
                rows[n++] = row;
        }
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the machine list");
        if (n > 0)
                qsort(rows, n, sizeof(MachineRow), row_compare);

        t = table_new("name", "uuid", "state", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (table_add_string(t, rows[i].name) < 0 || table_add_string(t, rows[i].uuid) < 0 ||
                    table_add_string(t, rows[i].state) < 0)
                        return log_bus_error(-ENOMEM, NULL, "Failed to list machines");
        return table_print(t, arg_json);
}

/* "start" → "Start": the verb names the method. */
static int verb_action(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char method[16];
        const char *path;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "GetMachine", &error, &reply,
                               "s", argv[1]);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to find the machine");
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");

        snprintf(method, sizeof(method), "%s", argv[0]);
        method[0] = (char) (method[0] - 'a' + 'A');
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, method, &error, NULL, NULL);
        if (r < 0)
                return log_bus_error(r, &error, argv[0]);
        return 0;
}

static int on_machine_event(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *path, *uuid, *name, *event, *detail;
        char stamp[32];
        struct timespec ts;
        struct tm tm;
        int r;

        r = sd_bus_message_read(m, "ossss", &path, &uuid, &name, &event, &detail);
        if (r < 0) {
                fprintf(stderr, "aimctl: ignoring a malformed MachineEvent: %s\n", strerror(-r));
                return 0;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime_r(&ts.tv_sec, &tm));
        if (arg_json) {
                printf("{\"time\":\"%s.%06ld\",\"machine\":", stamp, ts.tv_nsec / 1000);
                json_print_string(path);
                printf(",\"uuid\":");
                json_print_string(uuid);
                printf(",\"name\":");
                json_print_string(name);
                printf(",\"event\":");
                json_print_string(event);
                printf(",\"detail\":");
                json_print_string(detail);
                printf("}\n");
        } else
                printf("%s.%06ld %s %s %s %s\n", stamp, ts.tv_nsec / 1000, name, uuid, event, detail);
        /* One line at a time, also into a pipe: whoever reads us wants the event now. */
        fflush(stdout);
        return 0;
}

int verb_monitor(sd_bus *bus, int argc, char *argv[]) {
        int r;

        /* "aimctl monitor --json" reads as naturally as "aimctl --json monitor". */
        if (argc > 1) {
                if (!streq(argv[1], "--json")) {
                        fprintf(stderr, "aimctl: unknown argument '%s'; usage: monitor [--json]\n", argv[1]);
                        return -EINVAL;
                }
                arg_json = true;
        }
        r = sd_bus_match_signal(bus, NULL, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "MachineEvent",
                                on_machine_event, NULL);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to subscribe to machine events");
        fprintf(stderr, "Monitoring machine events; press ^C to stop.\n");
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_bus_error(r, NULL, "Lost the bus");
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return log_bus_error(r, NULL, "Lost the bus");
        }
}

static const Verb machine_verbs[] = {
        { "list",     0, 0, verb_list,   "machine list" },
        { "start",    1, 1, verb_action, "machine start NAME|UUID" },
        { "shutdown", 1, 1, verb_action, "machine shutdown NAME|UUID" },
        { "reboot",   1, 1, verb_action, "machine reboot NAME|UUID" },
        { "reset",    1, 1, verb_action, "machine reset NAME|UUID" },
        { "destroy",  1, 1, verb_action, "machine destroy NAME|UUID" },
        { "suspend",  1, 1, verb_action, "machine suspend NAME|UUID" },
        { "resume",   1, 1, verb_action, "machine resume NAME|UUID" },
        { "addresses", 1, 3, verb_machine_addresses, "machine addresses NAME|UUID [--source=lease|agent|arp|dns|any]" },
        {}
};

int verb_machine(sd_bus *bus, int argc, char *argv[]) {
        return dispatch_verb(bus, machine_verbs, argc - 1, argv + 1);
}
