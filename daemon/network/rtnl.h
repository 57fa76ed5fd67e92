/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnl.h — netlink (libnl-route-3): the live link table and the link operations VLANs are built of */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "network/link-table.h"
#include "util/hashmap.h"

typedef struct Network Network;

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
typedef struct NetworkOps {
        int (*create_vlan)(Network *n, const char *name, int parent, uint16_t tag, uint32_t mtu, int *ret_ifindex);
        int (*create_bridge)(Network *n, const char *name, uint32_t mtu, bool up, int *ret_ifindex);
        int (*set_link)(Network *n, int ifindex, const LinkSettings *s);
        int (*delete_link)(Network *n, int ifindex);
} NetworkOps;

/* Called for every change the kernel reports (ours and everybody else's); old is NULL for a new link,
 * new is NULL for a removed one. change is a LinkChange mask. */
typedef void (*LinkChangeHandler)(Network *n, const Link *old, const Link *new, unsigned change, void *userdata);

struct Network {
        LinkTable *links;
        const NetworkOps *ops;
        void *ops_data;                 /* the fake's state, in tests */

        Hashmap *vlans;                 /* managed Vlan objects by interface name */
        Hashmap *vlans_by_key;          /* … and by "<parent>:<tag>" */
        int state_fd;                   /* <state_dir>/network, or -EBADF: nothing persisted */
        bool state_dirty;               /* the directory needs an fsync */
        bool state_fsync;               /* make records durable (fdatasync, directory fsync) */

        LinkChangeHandler on_change;
        void *on_change_userdata;

        /* netlink: requests on one socket, RTNLGRP_LINK notifications on the other */
        struct nl_sock *request;
        struct nl_sock *monitor;
        struct nl_cb *request_cb;
        sd_event_source *monitor_source;
        sd_event_source *sync_source;   /* the deferred fsync of the state directory */
        int request_errno;              /* the kernel's errno of the last refused request */
        unsigned n_resyncs;             /* full dumps after lost notifications */
};

extern const NetworkOps network_netlink_ops;

/* A Network with an empty link table and no netlink (tests fill in ops and links). */
int network_new(Network **ret);
Network *network_free(Network *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(Network *, network_free);

/* Opens the netlink sockets, subscribes to link events, dumps the links and, if event is given,
 * keeps the table live from the event loop. */
int network_open_netlink(Network *n, sd_event *event);
/* Reads every pending link notification (never blocks). */
int network_process_events(Network *n);

/* Frees the managed VLANs (vlan.c). */
void network_free_vlans(Network *n);

/* libnl's -NLE_* as a negative errno. */
int nl_error_to_errno(int nle);
