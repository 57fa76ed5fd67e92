/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-util.c — small sd-bus helpers shared by the *-dbus.c files */
#include <errno.h>
#include <stdbool.h>

#include "shared/bus-util.h"

int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", (int) *(bool *) userdata);
}

int bus_add_object_kind(sd_bus *bus, const char *prefix, const char *interface, const sd_bus_vtable *vtable,
                        sd_bus_object_find_t find, sd_bus_node_enumerator_t enumerate, void *userdata) {
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, prefix, interface, vtable, find, userdata);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, prefix, enumerate, userdata);
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
