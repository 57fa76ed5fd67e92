/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-domain-xml.c — libFuzzer harness: disks and interfaces read from arbitrary domain XML */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "machines/domain-xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rows(const DeviceRow *rows, size_t n) {
        /* Never NULL, always terminated strings: the D-Bus layer appends them as they are. */
        for (size_t i = 0; i < n; i++) {
                assert(rows[i].a && rows[i].b && rows[i].c);
                (void) strlen(rows[i].a);
                (void) strlen(rows[i].b);
                (void) strlen(rows[i].c);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        DomainDevices d;
        int r;

        r = domain_devices_parse((const char *) data, size, &d);
        if (r < 0) {
                assert(r == -EBADMSG || r == -ENOMEM);
                return 0;
        }
        check_rows(d.disks, d.n_disks);
        check_rows(d.interfaces, d.n_interfaces);
        domain_devices_done(&d);
        assert(!d.disks && !d.interfaces && d.n_disks == 0 && d.n_interfaces == 0);
        return 0;
}
