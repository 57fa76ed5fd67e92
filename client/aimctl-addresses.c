/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-addresses.c — aimctl machine addresses NAME [--source=…] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aimctl.h"

int machine_path(sd_bus *bus, const char *name_or_uuid, char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        char *p;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "GetMachine", &error, &reply,
                               "s", name_or_uuid);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to find the machine");
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        p = strdup(path);
        if (!p)
                return log_bus_error(-ENOMEM, NULL, "Failed to find the machine");
        *ret_path = p;
        return 0;
}

int machine_addresses_table(sd_bus *bus, const char *path, const char *source, Table **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        const char *interface, *mac, *family, *address;
        uint32_t prefix;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, "GetAddresses", &error, &reply, "s", source);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to get the machine's addresses");
        t = table_new("interface", "mac", "family", "address", "prefix", NULL);
        if (!t)
                return log_bus_error(-ENOMEM, NULL, "Failed to get the machine's addresses");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssu)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssu)", &interface, &mac, &family, &address, &prefix)) > 0)
                if (table_add_string(t, interface) < 0 || table_add_string(t, mac) < 0 ||
                    table_add_string(t, family) < 0 || table_add_string(t, address) < 0 ||
                    table_add_uint(t, prefix) < 0)
                        return log_bus_error(-ENOMEM, NULL, "Failed to get the machine's addresses");
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the addresses");
        *ret = TAKE_PTR(t);
        return 0;
}

int verb_machine_addresses(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *path = NULL;
        const char *name = NULL, *source = "any";
        int r;

        for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], "--source=", 9) == 0)
                        source = argv[i] + 9;
                else if (streq(argv[i], "--json"))
                        arg_json = true;
                else if (argv[i][0] != '-' && !name)
                        name = argv[i];
                else {
                        fprintf(stderr, "aimctl: unknown argument '%s'; usage: machine addresses NAME|UUID "
                                "[--source=lease|agent|arp|dns|any]\n", argv[i]);
                        return -EINVAL;
                }
        if (!name) {
                fprintf(stderr, "aimctl: machine addresses needs a machine's NAME or UUID.\n");
                return -EINVAL;
        }
        r = machine_path(bus, name, &path);
        if (r < 0)
                return r;
        r = machine_addresses_table(bus, path, source, &t);
        if (r < 0)
                return r;
        return table_print(t, arg_json);
}
