/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit.h — asynchronous authorization of bus calls with polkit */
#pragma once

#include <systemd/sd-bus.h>

#include "util/macro.h"

typedef struct PolkitRegistry PolkitRegistry;

PolkitRegistry *polkit_registry_new(void);
/* Forgets every parked call (their callers get no reply: used only when the daemon exits). */
PolkitRegistry *polkit_registry_free(PolkitRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry *, polkit_registry_free);

/* Asks whether the sender of the method call m may do action. details is NULL or a NULL-terminated
 * list of key, value, key, value… handed to polkit (and to its rules).
 *
 * Returns 1 when the caller is authorized: go on. Returns 0 when the answer is not known yet: the
 * handler must return 1 without replying; m is parked and dispatched again once polkit has answered,
 * and that second call of the handler gets the verdict from here. Returns < 0 with error set when
 * the caller is not authorized (AccessDenied, or InteractiveAuthorizationRequired when polkit would
 * have asked but the caller did not allow interaction) or the check itself failed.
 *
 * uid 0 is authorized without asking polkit. */
int polkit_check_async(PolkitRegistry *registry, sd_bus_message *m, const char *action,
                       const char * const *details, sd_bus_error *error);
