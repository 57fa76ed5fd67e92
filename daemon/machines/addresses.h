/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* addresses.h — a running machine's IP addresses: DHCP leases, the guest agent, the neighbour table, DNS */
#pragma once

#include <errno.h>
#include <libvirt/libvirt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/macro.h"
#include "util/string-table.h"

typedef enum AddressSource {
        ADDRESS_SOURCE_LEASE,
        ADDRESS_SOURCE_AGENT,
        ADDRESS_SOURCE_ARP,
        ADDRESS_SOURCE_DNS,
        ADDRESS_SOURCE_ANY,     /* the first of the above, in this order, that yields an address */
        _ADDRESS_SOURCE_MAX,
        _ADDRESS_SOURCE_INVALID = -EINVAL,
} AddressSource;

DECLARE_STRING_TABLE_LOOKUP(address_source, AddressSource);

/* One row of GetAddresses' a(ssssu). Strings are never NULL ("" when the source does not say);
 * prefix is 0 when the source does not know it (the neighbour table, DNS). */
typedef struct MachineAddress {
        char *interface;
        char *mac;
        const char *family;     /* "ipv4" or "ipv6" */
        char *address;
        unsigned prefix;
} MachineAddress;

typedef struct AddressList {
        MachineAddress *items;
        size_t n;
} AddressList;

void address_list_done(AddressList *l);

/* Appends a copy of one address; a duplicate (same interface, family and address) is dropped. */
int address_list_add(AddressList *l, const char *interface, const char *mac, int family, const char *address,
                     unsigned prefix);

/* The conversions, kept apart from the lookups for the unit tests. */
int address_list_add_libvirt(AddressList *l, virDomainInterfacePtr *ifaces, int n);
int address_list_add_addrinfo(AddressList *l, const struct addrinfo *ai);

/* A NIC of the domain as its live XML describes it: (target device, MAC), MACs in lower case. */
typedef struct DomainNic {
        char *dev;
        char *mac;
} DomainNic;

void domain_nics_free(DomainNic *nics, size_t n);
int domain_nics_parse(const char *xml, size_t size, DomainNic **ret, size_t *ret_n);

/* Looks the addresses of domain uuid up from source s on conn. Blocks (a worker thread's call):
 * agent and DNS are bounded at ADDRESSES_TIMEOUT_S each; local says that the hypervisor runs on
 * this host (its neighbour table is ours). -AIM_ECONFLICT when the domain is not running. */
#define ADDRESSES_TIMEOUT_S 5
int machine_addresses_get(virConnectPtr conn, const char *uuid, AddressSource s, bool local, AddressList *ret,
                          char **reterr_message);

/* Whether a libvirt URI names a driver on this host (no host part: qemu:///system, test:///default). */
bool virt_uri_is_local(const char *uri);

/* The answer to machine_addresses_lookup(), in the loop's thread: r < 0 with message (may be NULL)
 * on failure, the addresses on success. */
typedef void (*AddressesReplyFn)(int r, const char *message, const AddressList *l, void *userdata);

typedef struct Virt Virt;
/* Looks the addresses of the machine with this UUID up in a worker thread (machine_addresses_get);
 * reply is called exactly once when this returns >= 0. */
int machine_addresses_lookup(Virt *v, const char *uuid, AddressSource s, AddressesReplyFn reply, void *userdata);
