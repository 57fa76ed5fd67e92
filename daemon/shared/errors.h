/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errors.h — the error contract of the whole tree, and the one place where errno values meet
 * org.abiquo.Node1.Error names
 *
 * The contract:
 *  - Every function that can fail returns int: a negative errno on failure, >= 0 on success.
 *    What a caller must tell apart has its own errno: AIM_ENOTFOUND, AIM_ECONFLICT, … below.
 *  - Outputs are ret_* parameters, written only on success. A function that has something to say
 *    about a failure takes a last parameter "char **reterr_message": on failure, and only then, it
 *    may set it to a malloc'd, complete sentence for a person ("Bridge br0 is a port of br1"),
 *    which the caller owns; NULL means the errno says it all. Callers pass NULL when they do not
 *    want it. "return message_set(reterr_message, -EINVAL, …);" (util/message.h) does both. No other shape (fixed buffers, const char ** into static text) carries error text.
 *  - Logic code knows no D-Bus: it never picks an error name. Only the *-dbus.c files turn
 *    (errno, message) into a D-Bus error, with aim_error(); the name comes from the map in
 *    errors.c, so the same errno always gives the same name.
 *  - Foreign codes (libnl's -NLE_*, libvirt's virError, libarchive's, libcurl's, hiredis's)
 *    become errno plus message where they enter the tree.
 *  - Programming errors are assert()ed; public functions check their arguments with
 *    assert_return() (util/macro.h).
 *  - A failure is logged once, by whoever handles it; logic code logs at debug at most. */
#pragma once

#include <systemd/sd-bus.h>

#include "util/macro.h"
#include "util/message.h"

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
