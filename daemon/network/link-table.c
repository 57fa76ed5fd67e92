/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* link-table.c — the daemon's picture of the kernel's network links, indexed for O(1) look-ups
 *
 * With thousands of VLANs and bridges every per-call look-up must be a hash probe: by name (the
 * caller's view), by ifindex (netlink's view) and by parent+VLAN id (the kernel's uniqueness rule). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network/link-table.h"

LinkTable *link_table_new(void) {
        LinkTable *t = calloc(1, sizeof(LinkTable));

        if (!t)
                return NULL;
        t->by_name = hashmap_new();
        t->by_index = hashmap_new();
        t->by_vlan = hashmap_new();
        if (!t->by_name || !t->by_index || !t->by_vlan)
                return link_table_free(t);
        return t;
}

void link_table_clear(LinkTable *t) {
        Link *l;

        HASHMAP_FOREACH(l, t->by_index) {
                hashmap_remove(t->by_index, l->index_key);
                hashmap_remove(t->by_name, l->name);
                if (l->vlan_key[0])
                        hashmap_remove(t->by_vlan, l->vlan_key);
                free(l);
        }
}

LinkTable *link_table_free(LinkTable *t) {
        if (!t)
                return NULL;
        if (t->by_index)
                link_table_clear(t);
        hashmap_free(t->by_name);
        hashmap_free(t->by_index);
        hashmap_free(t->by_vlan);
        free(t);
        return NULL;
}

size_t link_table_size(const LinkTable *t) {
        return hashmap_size(t->by_index);
}

Link *link_table_get(const LinkTable *t, int ifindex) {
        char key[12];

        snprintf(key, sizeof(key), "%d", ifindex);
        return hashmap_get(t->by_index, key);
}

Link *link_table_get_by_name(const LinkTable *t, const char *name) {
        return hashmap_get(t->by_name, name);
}

Link *link_table_get_vlan(const LinkTable *t, int parent, uint16_t vlan_id) {
        char key[24];

        snprintf(key, sizeof(key), "%d.%u", parent, vlan_id);
        return hashmap_get(t->by_vlan, key);
}

static void port_count_adjust(LinkTable *t, int master, int delta) {
        Link *m;

        if (master <= 0)
                return;
        m = link_table_get(t, master);
        if (m && (delta > 0 || m->n_ports > 0))
                m->n_ports += delta;
}

/* Takes l's keys out of the name and VLAN indexes (not the ifindex one). */
static void link_unindex(LinkTable *t, Link *l) {
        if (hashmap_get(t->by_name, l->name) == l)
                hashmap_remove(t->by_name, l->name);
        if (l->vlan_key[0] && hashmap_get(t->by_vlan, l->vlan_key) == l)
                hashmap_remove(t->by_vlan, l->vlan_key);
}

static int link_index(LinkTable *t, Link *l) {
        int r;

        l->vlan_key[0] = 0;
        if (streq(l->kind, "vlan") && l->parent > 0)
                snprintf(l->vlan_key, sizeof(l->vlan_key), "%d.%u", l->parent, l->vlan_id);

        /* A name or VLAN key still held by another entry means we missed its removal (the kernel
         * reuses names at once): the newer message wins. */
        hashmap_remove(t->by_name, l->name);
        r = hashmap_put(t->by_name, l->name, l);
        if (r < 0)
                return r;
        if (l->vlan_key[0]) {
                hashmap_remove(t->by_vlan, l->vlan_key);
                r = hashmap_put(t->by_vlan, l->vlan_key, l);
        }
        return r;
}

static unsigned link_diff(const Link *a, const Link *b) {
        unsigned c = 0;

        if (a->mtu != b->mtu)
                c |= LINK_CHANGE_MTU;
        if (a->operstate != b->operstate)
                c |= LINK_CHANGE_OPERSTATE;
        if (a->master != b->master)
                c |= LINK_CHANGE_MASTER;
        if (!streq(a->name, b->name))
                c |= LINK_CHANGE_NAME;
        if (a->flags != b->flags || a->parent != b->parent || a->vlan_id != b->vlan_id || !streq(a->kind, b->kind))
                c |= LINK_CHANGE_OTHER;
        return c;
}

int link_table_update(LinkTable *t, const Link *n, unsigned *ret_change) {
        Link *l = link_table_get(t, n->ifindex);
        unsigned change;
        int r;

        if (l) {
                unsigned ports = l->n_ports;

                change = link_diff(l, n);
                if (change & LINK_CHANGE_MASTER) {
                        port_count_adjust(t, l->master, -1);
                        port_count_adjust(t, n->master, +1);
                }
                link_unindex(t, l);
                memcpy(l, n, offsetof(Link, n_ports));
                l->n_ports = ports;
        } else {
                l = calloc(1, sizeof(Link));
                if (!l)
                        return -ENOMEM;
                memcpy(l, n, offsetof(Link, n_ports));
                snprintf(l->index_key, sizeof(l->index_key), "%d", l->ifindex);
                r = hashmap_put(t->by_index, l->index_key, l);
                if (r < 0) {
                        free(l);
                        return r;
                }
                port_count_adjust(t, l->master, +1);
                change = LINK_CHANGE_NEW;
        }
        r = link_index(t, l);
        if (r < 0)
                return r;
        if (ret_change)
                *ret_change = change;
        return 0;
}

bool link_table_remove(LinkTable *t, int ifindex, Link *ret_old) {
        Link *l = link_table_get(t, ifindex);

        if (!l)
                return false;
        port_count_adjust(t, l->master, -1);
        link_unindex(t, l);
        hashmap_remove(t->by_index, l->index_key);
        if (ret_old)
                *ret_old = *l;
        free(l);
        return true;
}

void link_table_recount_ports(LinkTable *t) {
        Link *l;

        HASHMAP_FOREACH(l, t->by_index)
                l->n_ports = 0;
        HASHMAP_FOREACH(l, t->by_index)
                port_count_adjust(t, l->master, +1);
}

const char *operstate_to_string(uint8_t operstate) {
        static const char * const names[] = {
                [IF_OPER_UNKNOWN] = "unknown",
                [IF_OPER_NOTPRESENT] = "notpresent",
                [IF_OPER_DOWN] = "down",
                [IF_OPER_LOWERLAYERDOWN] = "lowerlayerdown",
                [IF_OPER_TESTING] = "testing",
                [IF_OPER_DORMANT] = "dormant",
                [IF_OPER_UP] = "up",
        };

        return operstate < ELEMENTSOF(names) && names[operstate] ? names[operstate] : "unknown";
}
