/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt-event.h — libvirt's event loop implemented on an sd-event loop (virEventRegisterImpl) */
#pragma once

#include <systemd/sd-event.h>

/* Makes libvirt's handles and timeouts sources of the sd-event loop e, which must be run by the
 * calling thread; libvirt's callbacks are then dispatched from that loop, never from a thread of
 * its own. Call once per process, before any virConnectOpen. libvirt may add, update and remove
 * handles and timeouts from any thread (its RPC client does, from whichever thread makes a call):
 * those changes are recorded under a lock and applied by the loop's thread, which a wake-up
 * eventfd brings round. */
int virt_event_register(sd_event *e);
