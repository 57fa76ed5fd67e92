/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain-xml.h — the disks and network interfaces of a libvirt domain, read from its XML */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"

/* One row of the a(sss) properties: a disk is (target, source, format), an interface is
 * (MAC, bridge or network, model). Fields are never NULL ("" when the XML does not say). */
typedef struct DeviceRow {
        char *a, *b, *c;
        bool writable;          /* a disk neither readonly nor transient */
} DeviceRow;

/* One row of Graphics a(ssi): type, listen address, port (-1 while none is chosen). */
typedef struct GraphicsRow {
        char *type, *listen;
        int port;
} GraphicsRow;

typedef struct DomainDevices {
        DeviceRow *disks;
        size_t n_disks;
        DeviceRow *interfaces;
        size_t n_interfaces;
        GraphicsRow *graphics;
        size_t n_graphics;
} DomainDevices;

void domain_devices_done(DomainDevices *d);
bool domain_graphics_equal(const DomainDevices *a, const DomainDevices *b);

/* Parses a domain's XML description (virDomainGetXMLDesc). -EBADMSG when it is not a <domain>
 * document. */
int domain_devices_parse(const char *xml, size_t size, DomainDevices *ret);
