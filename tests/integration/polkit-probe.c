/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit-probe.c — a minimal bus service around daemon/polkit.c, so that the asynchronous polkit
 * check can be tested against a real polkitd before (and independently of) any real method. */
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "shared/polkit.h"

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        PolkitRegistry *registry = userdata;
        const char *action;
        int r;

        r = sd_bus_message_read(m, "s", &action);
        if (r < 0)
                return r;
        r = polkit_check_async(registry, m, action, (const char *[]) { "probe", "yes", NULL }, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        return sd_bus_reply_method_return(m, "s", "authorized");
}

static const sd_bus_vtable probe_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Check", SD_BUS_ARGS("s", action), SD_BUS_RESULT("s", verdict), method_check,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int main(int argc, char *argv[]) {
        _cleanup_(polkit_registry_freep) PolkitRegistry *registry = polkit_registry_new();
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        int r;

        if (!registry)
                return EXIT_FAILURE;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, 0);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, "/org/abiquo/Node1/test", "org.abiquo.Node1.Test",
                                             probe_vtable, registry);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.abiquo.Node1", 0);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_loop(event);
        if (r < 0)
                fprintf(stderr, "polkit-probe: %s\n", strerror(-r));
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
