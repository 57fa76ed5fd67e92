/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-addresses.c — the conversions behind GetAddresses: libvirt's and getaddrinfo's answers, NICs from XML */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "machines/addresses.h"

static void assert_address(const MachineAddress *a, const char *interface, const char *mac, const char *family,
                           const char *address, unsigned prefix) {
        assert_string_equal(a->interface, interface);
        assert_string_equal(a->mac, mac);
        assert_string_equal(a->family, family);
        assert_string_equal(a->address, address);
        assert_int_equal(a->prefix, prefix);
}

static void test_source_names(void **state) {
        assert_int_equal(address_source_from_string("lease"), ADDRESS_SOURCE_LEASE);
        assert_int_equal(address_source_from_string("agent"), ADDRESS_SOURCE_AGENT);
        assert_int_equal(address_source_from_string("arp"), ADDRESS_SOURCE_ARP);
        assert_int_equal(address_source_from_string("dns"), ADDRESS_SOURCE_DNS);
        assert_int_equal(address_source_from_string("any"), ADDRESS_SOURCE_ANY);
        assert_int_equal(address_source_from_string("ARP"), -EINVAL);
        assert_int_equal(address_source_from_string(""), -EINVAL);
        assert_string_equal(address_source_to_string(ADDRESS_SOURCE_DNS), "dns");
        assert_null(address_source_to_string(_ADDRESS_SOURCE_MAX));
}

static void test_add_dedup(void **state) {
        AddressList l = {};

        assert_int_equal(address_list_add(&l, "vnet0", "52:54:00:00:00:01", AF_INET, "192.0.2.10", 24), 0);
        /* The same address on the same interface twice (an IPv4 and an IPv6 neighbour entry of one
         * MAC, or a lookup that repeats itself) is one row. */
        assert_int_equal(address_list_add(&l, "vnet0", "52:54:00:00:00:01", AF_INET, "192.0.2.10", 24), 0);
        assert_int_equal(address_list_add(&l, "vnet1", "52:54:00:00:00:02", AF_INET, "192.0.2.10", 24), 0);
        assert_int_equal(address_list_add(&l, NULL, NULL, AF_INET6, "2001:db8::1", 0), 0);
        assert_int_equal(address_list_add(&l, "x", "y", AF_PACKET, "zz", 0), 0);       /* not IP: dropped */
        assert_int_equal(l.n, 3);
        assert_address(&l.items[0], "vnet0", "52:54:00:00:00:01", "ipv4", "192.0.2.10", 24);
        assert_address(&l.items[1], "vnet1", "52:54:00:00:00:02", "ipv4", "192.0.2.10", 24);
        assert_address(&l.items[2], "", "", "ipv6", "2001:db8::1", 0);
        address_list_done(&l);
        assert_int_equal(l.n, 0);
        assert_null(l.items);
}

static void test_from_libvirt(void **state) {
        virDomainIPAddress a0[] = {
                { .type = VIR_IP_ADDR_TYPE_IPV4, .addr = (char *) "192.0.2.10", .prefix = 24 },
                { .type = VIR_IP_ADDR_TYPE_IPV6, .addr = (char *) "fe80::5054:ff:fe12:3456", .prefix = 64 },
                { .type = 42, .addr = (char *) "what", .prefix = 1 },
                { .type = VIR_IP_ADDR_TYPE_IPV4, .addr = NULL, .prefix = 8 },
        };
        virDomainInterface i0 = { .name = (char *) "vnet0", .hwaddr = (char *) "52:54:00:12:34:56",
                                  .naddrs = ELEMENTSOF(a0), .addrs = a0 };
        virDomainInterface i1 = { .name = (char *) "lo", .hwaddr = NULL, .naddrs = 0, .addrs = NULL };
        virDomainInterfacePtr ifaces[] = { &i0, &i1 };
        AddressList l = {};

        assert_int_equal(address_list_add_libvirt(&l, ifaces, 2), 0);
        assert_int_equal(l.n, 2);
        assert_address(&l.items[0], "vnet0", "52:54:00:12:34:56", "ipv4", "192.0.2.10", 24);
        assert_address(&l.items[1], "vnet0", "52:54:00:12:34:56", "ipv6", "fe80::5054:ff:fe12:3456", 64);
        assert_int_equal(address_list_add_libvirt(&l, NULL, 0), 0);
        assert_int_equal(l.n, 2);
        address_list_done(&l);
}

static void test_from_addrinfo(void **state) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM }, *v4, *v6;
        AddressList l = {};

        assert_int_equal(getaddrinfo("192.0.2.7", NULL, &hints, &v4), 0);
        assert_int_equal(getaddrinfo("2001:db8::7", NULL, &hints, &v6), 0);
        assert_int_equal(address_list_add_addrinfo(&l, v4), 0);
        assert_int_equal(address_list_add_addrinfo(&l, v6), 0);
        assert_int_equal(address_list_add_addrinfo(&l, v4), 0);
        assert_int_equal(l.n, 2);
        assert_address(&l.items[0], "", "", "ipv4", "192.0.2.7", 0);
        assert_address(&l.items[1], "", "", "ipv6", "2001:db8::7", 0);
        freeaddrinfo(v4);
        freeaddrinfo(v6);
        address_list_done(&l);
}

static void test_nics(void **state) {
        static const char xml[] =
                "<domain type='qemu'><name>g</name><devices>"
                "<interface type='bridge'><mac address='52:54:00:AB:CD:EF'/><source bridge='br0'/>"
                "<target dev='vnet3'/><model type='virtio'/></interface>"
                "<interface type='user'><mac address='52:54:00:00:00:02'/></interface>"
                "<disk type='file'><target dev='vda'/></disk>"
                "</devices></domain>";
        DomainNic *nics = NULL;
        size_t n = 0;

        assert_int_equal(domain_nics_parse(xml, strlen(xml), &nics, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(nics[0].dev, "vnet3");
        assert_string_equal(nics[0].mac, "52:54:00:ab:cd:ef");      /* as the kernel prints it */
        assert_string_equal(nics[1].dev, "");
        assert_string_equal(nics[1].mac, "52:54:00:00:00:02");
        domain_nics_free(nics, n);

        assert_int_equal(domain_nics_parse("<domain/>", 9, &nics, &n), 0);
        assert_int_equal(n, 0);
        domain_nics_free(nics, n);
        assert_int_equal(domain_nics_parse("<domain", 7, &nics, &n), -EBADMSG);
}

static void test_uri_local(void **state) {
        assert_true(virt_uri_is_local("qemu:///system"));
        assert_true(virt_uri_is_local("qemu+unix:///system"));
        assert_true(virt_uri_is_local("test:///default"));
        assert_true(virt_uri_is_local("qemu:///embed?root=/tmp/x"));
        assert_false(virt_uri_is_local("qemu+ssh://root@node2/system"));
        assert_false(virt_uri_is_local("qemu+tcp://node2:16509/system"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_source_names),
                cmocka_unit_test(test_add_dedup),
                cmocka_unit_test(test_from_libvirt),
                cmocka_unit_test(test_from_addrinfo),
                cmocka_unit_test(test_nics),
                cmocka_unit_test(test_uri_local),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
