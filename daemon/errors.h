/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errors.h — the one place where errno values meet org.abiquo.Node1.Error names */
#pragma once

#include <systemd/sd-bus.h>

#include "util/macro.h"

#define AIM_ERROR_NOT_FOUND         "org.abiquo.Node1.Error.NotFound"
#define AIM_ERROR_EXISTS            "org.abiquo.Node1.Error.Exists"
#define AIM_ERROR_CONFLICT          "org.abiquo.Node1.Error.Conflict"
#define AIM_ERROR_BUSY              "org.abiquo.Node1.Error.Busy"
#define AIM_ERROR_NO_SPACE          "org.abiquo.Node1.Error.NoSpace"
#define AIM_ERROR_CHECKSUM_MISMATCH "org.abiquo.Node1.Error.ChecksumMismatch"
#define AIM_ERROR_UNSUPPORTED       "org.abiquo.Node1.Error.Unsupported"
#define AIM_ERROR_NOT_CONNECTED     "org.abiquo.Node1.Error.NotConnected"
#define AIM_ERROR_CANCELLED         "org.abiquo.Node1.Error.Cancelled"
#define AIM_ERROR_FAILED            "org.abiquo.Node1.Error.Failed"

/* The errno each error name stands for inside the daemon (and, through sd_bus_error_add_map(), in
 * clients: sd_bus_error_get_errno() of a received error gives these back). */
#define AIM_ENOTFOUND  ENOENT
#define AIM_EEXIST     EEXIST
#define AIM_ECONFLICT  ENOTUNIQ
#define AIM_EBUSY      EBUSY
#define AIM_ENOSPC     ENOSPC
#define AIM_ECHECKSUM  EBADMSG
#define AIM_EUNSUPP    EOPNOTSUPP
#define AIM_ENOTCONN   ENOTCONN
#define AIM_ECANCELED  ECANCELED

/* Registers the map with sd-bus; call once at start. */
int errors_register(void);

/* Sets error from a negative errno: the mapped org.abiquo.Node1.Error name (EINVAL gives
 * org.freedesktop.DBus.Error.InvalidArgs), else Error.Failed with the errno text appended to the
 * message. Returns the negative errno, so that handlers can "return aim_error(...)". */
int aim_error(sd_bus_error *error, int r, const char *format, ...) _printf_(3, 4);

/* The D-Bus error name aim_error() picks for a negative errno. */
const char *aim_error_name(int r);
