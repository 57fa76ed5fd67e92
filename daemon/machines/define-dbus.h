/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* define-dbus.h — Machines.DefineMachine */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* One key of an a{sv} argument, read into a C struct at offset. */
typedef struct BusField BusField;
struct BusField {
        const char *key;
        const char *signature;  /* "s" (char *, copied), "u", "t", "i", "b" (bool), "as" (char **), or any
                                 * other with read */
        size_t offset;
        int (*read)(sd_bus_message *message, const char *key, void *base, sd_bus_error *error);
};

/* Reads an a{sv} into base by the table (terminated by an empty entry): an unknown key or a value
 * of the wrong type is InvalidArgs naming it, after prefix ("disks[1]."). */
int bus_read_dict(sd_bus_message *message, const char *prefix, const BusField *fields, void *base,
                  sd_bus_error *error);

int method_define_machine(sd_bus_message *message, void *userdata, sd_bus_error *error);
