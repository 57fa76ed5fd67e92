/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain-xml.h — the disks and network interfaces of a libvirt domain, read from its XML */
#pragma once

#include <stddef.h>

#include "util/macro.h"

/* One row of the a(sss) properties: a disk is (target, source, format), an interface is
 * (MAC, bridge or network, model). Fields are never NULL ("" when the XML does not say). */
typedef struct DeviceRow {
        char *a, *b, *c;
} DeviceRow;

typedef struct DomainDevices {
        DeviceRow *disks;
        size_t n_disks;
        DeviceRow *interfaces;
        size_t n_interfaces;
} DomainDevices;

void domain_devices_done(DomainDevices *d);

/* Parses a domain's XML description (virDomainGetXMLDesc). -EBADMSG when it is not a <domain>
 * document. */
int domain_devices_parse(const char *xml, size_t size, DomainDevices *ret);
