/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl.h — what aimctl's verb files share */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "shared/bus-names.h"
#include "table.h"
#include "util/macro.h"


extern bool arg_json;

typedef struct Verb {
        const char *name;
        int min_args, max_args;         /* not counting the verb itself */
        int (*run)(sd_bus *bus, int argc, char *argv[]);
        const char *usage;              /* "VERB ARGS  what it does", for --help */
} Verb;

/* Runs the verb named by argv[0] from verbs (NULL-terminated by name). */
int dispatch_verb(sd_bus *bus, const Verb *verbs, int argc, char *argv[]);

/* Prints "aimctl: <what>: <the daemon's message>" and returns a negative errno. */
int log_bus_error(int r, const sd_bus_error *error, const char *what);

/* Verbs of the subsystems, each in its own aimctl-<x>.c. */
int verb_vlan(sd_bus *bus, int argc, char *argv[]);

/* Appends every property in an a{sv} reply with a basic type (or arrays of them) as a column. */
int table_add_properties(Table *t, sd_bus_message *reply);

/* aimctl-machine.c */
int verb_machine(sd_bus *bus, int argc, char *argv[]);
int verb_monitor(sd_bus *bus, int argc, char *argv[]);
/* aimctl-machine.c: GetMachine(NAME|UUID) → its object path, kept in the reply *ret_reply. */
int machine_path(sd_bus *bus, const char *id, sd_bus_message **ret_reply, const char **ret_path);
/* aimctl-addresses.c: a machine's addresses from source as a table, or from any source as one line. */
int machine_addresses_table(sd_bus *bus, const char *path, const char *source, Table **ret);
int machine_addresses_text(sd_bus *bus, const char *path, char **ret);
int verb_machine_addresses(sd_bus *bus, int argc, char *argv[]);
/* aimctl-image.c */
int verb_image(sd_bus *bus, int argc, char *argv[]);
/* Calls Images.<method>(a, b, options from argv's --checksum, --download-checksum, --overwrite,
 * --decompress, --member) and follows the job to its end. */
int copy_and_wait(sd_bus *bus, const char *method, const char *a, const char *b, int argc, char *argv[]);
/* aimctl-deploy.c */
int verb_deploy(sd_bus *bus, int argc, char *argv[]);
int verb_job(sd_bus *bus, int argc, char *argv[]);
