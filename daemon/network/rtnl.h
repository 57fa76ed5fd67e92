/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnl.h — the rtnetlink object (libnl-route-3): sockets, the live link table, the link operations
 * VLANs are built of, and one subscriber for the kernel's link changes */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "network/link-table.h"
#include "util/hashmap.h"

typedef struct Rtnl Rtnl;

/* What to change on an existing link; fields left at their "leave" value are not touched. */
typedef struct LinkSettings {
        int master;             /* -1: leave; 0: no master; > 0: ifindex of the bridge */
        uint32_t mtu;           /* 0: leave */
        int up;                 /* -1: leave; 0: down; 1: up */
} LinkSettings;

#define LINK_SETTINGS_LEAVE ((LinkSettings) { .master = -1, .mtu = 0, .up = -1 })

/* The link operations. Each returns once the kernel has confirmed it (or refused: negative errno),
 * with the link table already showing the result. The real ones talk netlink; the unit tests plug
 * in a fake that edits the table. */
typedef struct RtnlOps {
        int (*create_vlan)(Rtnl *rtnl, const char *name, int parent, uint16_t tag, uint32_t mtu, int *ret_ifindex);
        int (*create_bridge)(Rtnl *rtnl, const char *name, uint32_t mtu, bool up, int *ret_ifindex);
        int (*set_link)(Rtnl *rtnl, int ifindex, const LinkSettings *s);
        int (*delete_link)(Rtnl *rtnl, int ifindex);
} RtnlOps;

/* Called for every change the kernel reports (ours and everybody else's); old is NULL for a new link,
 * new is NULL for a removed one. change is a LinkChange mask. */
typedef void (*RtnlChangeHandler)(Rtnl *rtnl, const Link *old, const Link *new, unsigned change, void *userdata);

struct Rtnl {
        LinkTable *links;
        const RtnlOps *ops;
        void *ops_data;                 /* the fake's state, in tests */

        RtnlChangeHandler on_change;
        void *on_change_userdata;

        /* netlink: requests on one socket, RTNLGRP_LINK notifications on the other */
        struct nl_sock *request;
        struct nl_sock *monitor;
        struct nl_cb *request_cb;
        sd_event_source *monitor_source;
        int request_errno;              /* the kernel's errno of the last refused request */
        unsigned n_resyncs;             /* full dumps after lost notifications */
};

extern const RtnlOps rtnl_netlink_ops;

/* An Rtnl with an empty link table and no netlink (tests fill in ops and links). */
int rtnl_new(Rtnl **ret);
Rtnl *rtnl_free(Rtnl *rtnl);
DEFINE_TRIVIAL_CLEANUP_FUNC(Rtnl *, rtnl_free);

/* Opens the netlink sockets, subscribes to link events, dumps the links and, if event is given,
 * keeps the table live from the event loop. */
int rtnl_open(Rtnl *rtnl, sd_event *event, char **reterr_message);
/* Reads every pending link notification (never blocks). */
int rtnl_process_events(Rtnl *rtnl);
/* The one subscriber of link changes (NULL: none). */
void rtnl_set_change_handler(Rtnl *rtnl, RtnlChangeHandler handler, void *userdata);

/* libnl's -NLE_* as a negative errno. */
int rtnl_errno_from_nle(int nle);
