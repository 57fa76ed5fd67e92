/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-addresses.c — aimctl machine addresses NAME [--source=…] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aimctl.h"
#include "shared/errors.h"

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

/* "192.0.2.10 (vnet0), …" from any source; empty for a machine that is not running. */
int machine_addresses_text(sd_bus *bus, const char *path, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *interface, *mac, *family, *address;
        _cleanup_free_ char *text = strdup("");
        uint32_t prefix;
        int r;

        if (!text)
                return -ENOMEM;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, "GetAddresses", &error, &reply, "s", "any");
        if (r < 0 && sd_bus_error_has_name(&error, AIM_ERROR_CONFLICT)) {
                *ret = TAKE_PTR(text);
                return 0;
        }
        if (r < 0)
                return log_bus_error(r, &error, "Failed to get the machine's addresses");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssu)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssu)", &interface, &mac, &family, &address, &prefix)) > 0) {
                char *n;

                if (asprintf(&n, "%s%s%s%s%s%s", text, text[0] ? ", " : "", address, interface[0] ? " (" : "",
                             interface, interface[0] ? ")" : "") < 0)
                        return -ENOMEM;
                free(text);
                text = n;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}

int verb_machine_addresses(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *found = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        const char *path = NULL, *name = NULL, *source = "any";
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
        r = machine_path(bus, name, &found, &path);
        if (r < 0)
                return r;
        r = machine_addresses_table(bus, path, source, &t);
        if (r < 0)
                return r;
        return table_print(t, arg_json);
}
