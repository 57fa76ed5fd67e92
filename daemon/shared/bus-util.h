/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-util.h — small sd-bus helpers shared by the *-dbus.c files */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "util/hashmap.h"
#include "util/macro.h"

/* Property getter for a C bool at the vtable offset (sd-bus' own default reads an int). */
int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error);

/* Publishes interface with vtable on the node's object; says so in the log when that fails. */
int bus_add_node_interface(sd_bus *bus, const char *interface, const sd_bus_vtable *vtable, void *userdata);

/* Publishes one kind of child object: interface on every path below prefix that find() knows, and
 * enumerate() listing them (for introspection and the ObjectManager); says so in the log when that
 * fails. */
int bus_add_object_kind(sd_bus *bus, const char *prefix, const char *interface, const sd_bus_vtable *vtable,
                        sd_bus_object_find_t find, sd_bus_node_enumerator_t enumerate, void *userdata);

/* One entry of an a{sv}: m stands before the entry's variant, which the function reads or skips whole. */
typedef int (*bus_dict_entry_t)(sd_bus_message *m, const char *key, void *userdata);
/* Reads an a{sv}, calling entry() for every key in order; the first negative return ends the walk
 * and is returned. */
int bus_message_read_dict(sd_bus_message *m, bus_dict_entry_t entry, void *userdata);

/* One element of an array: i counts from 0; the function reads the element whole. */
typedef int (*bus_array_element_t)(sd_bus_message *m, size_t i, void *userdata);
/* Reads an array of contents (e.g. "a{sv}", "(sss)"), calling element() for each in order; the
 * first negative return ends the walk and is returned. */
int bus_message_read_array(sd_bus_message *m, const char *contents, bus_array_element_t element, void *userdata);

/* For an object kind kept in a Hashmap under the last label of its path below prefix (escaped by
 * sd_bus_path_encode() when encoded, else verbatim): what its find() callback does. 1 with
 * *ret_found set, 0 when path names none, < 0 on failure. */
int bus_hashmap_object_find(const Hashmap *h, const char *prefix, bool encoded, const char *path, void **ret_found);

/* What the node enumerator of the objects in h does: path_of() gives each one's path. */
typedef int (*bus_object_path_t)(const void *object, char **ret_path);
int bus_hashmap_node_enumerate(const Hashmap *h, bus_object_path_t path_of, char ***ret_nodes);

/* Answers call with one array of contents (e.g. "(ssso)"): fill() appends all its elements to
 * reply. < 0 when building or sending failed (nothing was sent then). */
typedef int (*bus_array_fill_t)(sd_bus_message *reply, void *userdata);
int bus_reply_array(sd_bus_message *call, const char *contents, bus_array_fill_t fill, void *userdata);
