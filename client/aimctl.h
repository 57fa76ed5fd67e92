/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl.h — what aimctl's verb files share */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "shared/bus-names.h"
#include "table.h"
#include "util/macro.h"

/* The reply timeout of calls whose work grows with their input (Apply, Checkpoint.Rollback: a
 * batch of 4094 VLANs takes minutes where bridges are slow to delete): sd-bus's default of 25 s
 * would give up on a call that is still working. */
#define CALL_LONG_USEC (3600ULL * 1000000ULL)


extern bool arg_json;

typedef struct Verb {
        const char *name;
        int min_args, max_args;         /* not counting the verb itself */
        int (*run)(sd_bus *bus, int argc, char *argv[]);
        const char *usage;              /* "VERB ARGS  what it does", for --help */
        bool bus_optional;              /* runs without the bus too (bus is NULL then) */
} Verb;

/* Runs the verb named by argv[0] from verbs (NULL-terminated by name). */
int dispatch_verb(sd_bus *bus, const Verb *verbs, int argc, char *argv[]);

/* Prints "aimctl: <what>: <the daemon's message>" and returns a negative errno. */
int log_bus_error(int r, const sd_bus_error *error, const char *what);

/* A call of METHOD on the node's object that ends in an a{sv} of options: call_begin() appends the
 * positional arguments (types and values as for sd_bus_message_append()) and opens the options,
 * the caller appends "{sv}" entries to *ret, and call_end() closes them, makes the call and, on
 * failure, says "aimctl: <what>: <the daemon's message>". */
int call_begin(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret, const char *types, ...);
int call_end(sd_bus *bus, sd_bus_message *call, const char *what, sd_bus_message **ret_reply);
/* Opens the dictionary entry key → variant of type in an a{sv} being built, leaving the variant open. */
int call_open_entry(sd_bus_message *m, const char *key, const char *type);
/* Closes n containers unless r < 0 already; returns r, or the first failure. */
int call_close_n(sd_bus_message *m, int n, int r);
/* Appends the option KEY with the string VALUE, or nothing when VALUE is NULL (not given). */
int call_append_string(sd_bus_message *call, const char *key, const char *value);

/* Calls the node's GetManagedObjects and object(m, path, userdata) for every object with interface,
 * m standing before its a{sv} of properties, which object() reads whole. Failures are said as
 * "aimctl: <what_call>: …" (the call) or "aimctl: <what_parse>: …" (the reply, or object()). */
typedef int (*managed_object_t)(sd_bus_message *m, const char *path, void *userdata);
int for_each_managed_object(sd_bus *bus, const char *interface, managed_object_t object, void *userdata,
                            const char *what_call, const char *what_parse);

/* Verbs of the subsystems, each in its own aimctl-<x>.c. */
int verb_vlan(sd_bus *bus, int argc, char *argv[]);
int verb_checkpoint(sd_bus *bus, int argc, char *argv[]);

/* Prints the properties of interface on the node object, vertically (or as one JSON object). */
int print_properties(sd_bus *bus, const char *interface, const char *whose, const char * const *except,
                     const char *note_column, const char *note);

/* Appends every property in an a{sv} reply with a basic type (or arrays of them) as a column. */
int table_add_properties(Table *t, sd_bus_message *reply);
/* The same, leaving out the properties named in skip (NULL-terminated, or NULL). */
int table_add_properties_except(Table *t, sd_bus_message *reply, const char * const *skip);

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
/* aimctl-events.c */
int verb_broker(sd_bus *bus, int argc, char *argv[]);
int verb_events(sd_bus *bus, int argc, char *argv[]);
