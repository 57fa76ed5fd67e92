/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-util.c — small sd-bus helpers shared by the *-dbus.c files */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/log.h"
#include "util/strv.h"

int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", (int) *(bool *) userdata);
}

int bus_add_node_interface(sd_bus *bus, const char *interface, const sd_bus_vtable *vtable, void *userdata) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, NODE_OBJECT_PATH, interface, vtable, userdata);
        if (r < 0)
                return log_error_errno(r, "Failed to publish %s: %m", interface);
        return 0;
}

int bus_add_object_kind(sd_bus *bus, const char *prefix, const char *interface, const sd_bus_vtable *vtable,
                        sd_bus_object_find_t find, sd_bus_node_enumerator_t enumerate, void *userdata) {
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, prefix, interface, vtable, find, userdata);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, prefix, enumerate, userdata);
        if (r < 0)
                return log_error_errno(r, "Failed to publish %s: %m", interface);
        return 0;
}

int bus_message_read_dict(sd_bus_message *m, bus_dict_entry_t entry, void *userdata) {
        const char *key;
        int r;

        assert_return(m, -EINVAL);
        assert_return(entry, -EINVAL);

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &key);
                if (r >= 0)
                        r = entry(m, key, userdata);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_message_read_array(sd_bus_message *m, const char *contents, bus_array_element_t element, void *userdata) {
        int r;

        assert_return(m, -EINVAL);
        assert_return(contents, -EINVAL);
        assert_return(element, -EINVAL);

        r = sd_bus_message_enter_container(m, 'a', contents);
        if (r < 0)
                return r;
        for (size_t i = 0; (r = sd_bus_message_at_end(m, false)) == 0; i++) {
                r = element(m, i, userdata);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_hashmap_object_find(const Hashmap *h, const char *prefix, bool encoded, const char *path, void **ret_found) {
        _cleanup_free_ char *decoded = NULL;
        const char *key;
        size_t n;
        void *object;
        int r;

        assert_return(prefix, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(ret_found, -EINVAL);

        if (encoded) {
                r = sd_bus_path_decode(path, prefix, &decoded);
                if (r <= 0)
                        return r;
                key = decoded;
        } else {
                n = strlen(prefix);
                if (strncmp(path, prefix, n) != 0 || path[n] != '/')
                        return 0;
                key = path + n + 1;
        }
        object = hashmap_get(h, key);
        if (!object)
                return 0;
        *ret_found = object;
        return 1;
}

int bus_hashmap_node_enumerate(const Hashmap *h, bus_object_path_t path_of, char ***ret_nodes) {
        _cleanup_strv_free_ char **nodes = NULL;
        const void *object;
        size_t n = 0;
        int r;

        assert_return(path_of, -EINVAL);
        assert_return(ret_nodes, -EINVAL);

        nodes = calloc(hashmap_size(h) + 1, sizeof(char *));
        if (!nodes)
                return -ENOMEM;
        HASHMAP_FOREACH(object, h) {
                r = path_of(object, &nodes[n]);
                if (r < 0)
                        return r;
                n++;
        }
        *ret_nodes = TAKE_PTR(nodes);
        return 0;
}

int bus_reply_array(sd_bus_message *call, const char *contents, bus_array_fill_t fill, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        assert_return(call, -EINVAL);
        assert_return(contents, -EINVAL);
        assert_return(fill, -EINVAL);

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', contents);
        if (r >= 0)
                r = fill(reply, userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
