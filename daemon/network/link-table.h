/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* link-table.h — the daemon's picture of the kernel's network links, indexed for O(1) look-ups */
#pragma once

#include <net/if.h>
#include <linux/if.h>        /* after net/if.h: IF_OPER_* */
#include <stdbool.h>
#include <stdint.h>

#include "util/hashmap.h"

/* What we need to know about one link; filled from RTM_NEWLINK messages (or by the unit tests). */
typedef struct Link {
        int ifindex;
        char name[IFNAMSIZ];
        char kind[16];          /* IFLA_INFO_KIND: "vlan", "bridge", "dummy", …; "" for plain devices */
        int parent;             /* IFLA_LINK: the lower device of a VLAN; 0 if none */
        int master;             /* IFLA_MASTER: the bridge this link is a port of; 0 if none */
        uint16_t vlan_id;       /* IFLA_VLAN_ID, for kind "vlan" */
        uint32_t mtu;
        uint8_t operstate;      /* IF_OPER_* */
        unsigned flags;         /* IFF_* */

        /* Maintained by the table. */
        unsigned n_ports;       /* links whose master is this one */
        char index_key[12];
        char vlan_key[24];      /* "<parent ifindex>.<vlan id>" for VLANs, else "" */
} Link;

/* What an update changed, for the subscribers of link events. */
typedef enum LinkChange {
        LINK_CHANGE_NEW       = 1 << 0,
        LINK_CHANGE_MTU       = 1 << 1,
        LINK_CHANGE_OPERSTATE = 1 << 2,
        LINK_CHANGE_MASTER    = 1 << 3,
        LINK_CHANGE_NAME      = 1 << 4,
        LINK_CHANGE_OTHER     = 1 << 5,
        LINK_CHANGE_REMOVED   = 1 << 6,
} LinkChange;

typedef struct LinkTable {
        Hashmap *by_name, *by_index, *by_vlan;
} LinkTable;

LinkTable *link_table_new(void);
LinkTable *link_table_free(LinkTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(LinkTable *, link_table_free);

/* Inserts a link or replaces what is known about it (by ifindex; a rename moves its name key).
 * *ret_change (may be NULL) says what differs from before. */
int link_table_update(LinkTable *t, const Link *l, unsigned *ret_change);
/* Forgets the link; returns false if it was not known. ret_old (may be NULL) gets its last state. */
bool link_table_remove(LinkTable *t, int ifindex, Link *ret_old);
void link_table_clear(LinkTable *t);
/* Counts every link's ports from scratch; after a full dump, where bridges may come after ports. */
void link_table_recount_ports(LinkTable *t);
size_t link_table_size(const LinkTable *t);

Link *link_table_get(const LinkTable *t, int ifindex);
Link *link_table_get_by_name(const LinkTable *t, const char *name);
/* The VLAN link with this id on that parent, whatever its name. */
Link *link_table_get_vlan(const LinkTable *t, int parent, uint16_t vlan_id);

static inline bool link_is_up(const Link *l) {
        return l->flags & IFF_UP;
}

/* The kernel's name of an IF_OPER_* value, as "ip" prints it in lower case. */
const char *operstate_to_string(uint8_t operstate);
