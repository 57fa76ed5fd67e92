/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-domain-xml.c — disks and interfaces read from domain XML */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "machines/domain-xml.h"

static const char domain[] =
        "<domain type='kvm'>\n"
        "  <name>web</name>\n"
        "  <devices>\n"
        "    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
        "    <disk type='file' device='disk'>\n"
        "      <driver name='qemu' type='qcow2'/>\n"
        "      <source file='/var/lib/aim/datastore/web.qcow2'/>\n"
        "      <target dev='vda' bus='virtio'/>\n"
        "    </disk>\n"
        "    <disk type='block' device='disk'>\n"
        "      <driver name='qemu' type='raw'/>\n"
        "      <source dev='/dev/vg0/data'/>\n"
        "      <target dev='vdb' bus='virtio'/>\n"
        "    </disk>\n"
        "    <disk type='volume' device='disk'>\n"
        "      <source pool='default' volume='scratch.img'/>\n"
        "      <target dev='vdc'/>\n"
        "    </disk>\n"
        "    <disk type='network' device='disk'>\n"
        "      <driver type='raw'/>\n"
        "      <source protocol='rbd' name='pool/image'/>\n"
        "      <target dev='vdd'/>\n"
        "    </disk>\n"
        "    <disk type='file' device='cdrom'>\n"
        "      <target dev='hdc' bus='ide'/>\n"
        "    </disk>\n"
        "    <interface type='bridge'>\n"
        "      <mac address='52:54:00:12:34:56'/>\n"
        "      <source bridge='br-vlan100'/>\n"
        "      <model type='virtio'/>\n"
        "    </interface>\n"
        "    <interface type='network'>\n"
        "      <mac address='52:54:00:ab:cd:ef'/>\n"
        "      <source network='default'/>\n"
        "    </interface>\n"
        "    <interface type='direct'>\n"
        "      <source dev='eth0' mode='vepa'/>\n"
        "      <model type='e1000'/>\n"
        "    </interface>\n"
        "  </devices>\n"
        "</domain>\n";

static void assert_row(const DeviceRow *row, const char *a, const char *b, const char *c) {
        assert_string_equal(row->a, a);
        assert_string_equal(row->b, b);
        assert_string_equal(row->c, c);
}

static void test_parse(void **state) {
        DomainDevices d;

        assert_int_equal(domain_devices_parse(domain, strlen(domain), &d), 0);
        assert_int_equal(d.n_disks, 5);
        assert_row(&d.disks[0], "vda", "/var/lib/aim/datastore/web.qcow2", "qcow2");
        assert_row(&d.disks[1], "vdb", "/dev/vg0/data", "raw");
        assert_row(&d.disks[2], "vdc", "default/scratch.img", "");
        assert_row(&d.disks[3], "vdd", "pool/image", "raw");
        assert_row(&d.disks[4], "hdc", "", "");         /* an empty CD-ROM drive */
        assert_int_equal(d.n_interfaces, 3);
        assert_row(&d.interfaces[0], "52:54:00:12:34:56", "br-vlan100", "virtio");
        assert_row(&d.interfaces[1], "52:54:00:ab:cd:ef", "default", "");
        assert_row(&d.interfaces[2], "", "eth0", "e1000");
        domain_devices_done(&d);
        assert_null(d.disks);
}

static void test_no_devices(void **state) {
        static const char diskless[] = "<domain type='qemu'><name>tiny</name><devices/></domain>";
        static const char bare[] = "<domain type='qemu'><name>bare</name></domain>";
        DomainDevices d;

        assert_int_equal(domain_devices_parse(diskless, strlen(diskless), &d), 0);
        assert_int_equal(d.n_disks, 0);
        assert_int_equal(d.n_interfaces, 0);
        domain_devices_done(&d);
        assert_int_equal(domain_devices_parse(bare, strlen(bare), &d), 0);
        assert_int_equal(d.n_disks + d.n_interfaces, 0);
        domain_devices_done(&d);
}

static void test_bad(void **state) {
        static const char * const bad[] = {
                "",
                "not xml",
                "<domain><devices><disk></devices></domain>",   /* not well-formed */
                "<network><name>default</name></network>",      /* not a domain */
                /* An external entity must not be fetched (no network, no files). */
                "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>",
        };
        DomainDevices d = {};

        for (size_t i = 0; i < 4; i++)
                assert_int_equal(domain_devices_parse(bad[i], strlen(bad[i]), &d), -EBADMSG);
        /* The entity case parses (as a domain) but reads nothing from outside. */
        assert_int_equal(domain_devices_parse(bad[4], strlen(bad[4]), &d), 0);
        assert_int_equal(d.n_disks, 0);
        domain_devices_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_no_devices),
                cmocka_unit_test(test_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
