/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnl.c — netlink (libnl-route-3): the live link table and the link operations VLANs are built of
 *
 * Two sockets: one for requests, which waits for each request's ACK, and one subscribed to
 * RTNLGRP_LINK, read from the event loop. The kernel broadcasts a link's RTM_NEWLINK/RTM_DELLINK
 * while it handles the request, before it queues the ACK, so draining the subscription after an ACK
 * brings the table up to date with our own change: no polling, no sleeping, no extra GETLINK. */
#include <errno.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>
#include <netlink/route/rtnl.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/vlan.h>

#include "shared/log.h"
#include "network/rtnl.h"
#include "util/hashmap.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cb *, nl_cb_put);

/* Big enough for the notifications of thousands of links created between two loop iterations; if it
 * still overflows we resynchronise with a dump. */
#define MONITOR_RCVBUF (8 * 1024 * 1024)
/* Larger than any datagram the kernel sends us (dumps fill up to 32 KiB): one recvmsg() per datagram
 * instead of libnl's default MSG_PEEK probe plus the read. */
#define MSG_BUF_SIZE (64 * 1024)

int nl_error_to_errno(int nle) {
        static const int map[] = {
                [NLE_FAILURE] = EIO,             [NLE_INTR] = EINTR,
                [NLE_BAD_SOCK] = EBADF,          [NLE_AGAIN] = EAGAIN,
                [NLE_NOMEM] = ENOMEM,            [NLE_EXIST] = EEXIST,
                [NLE_INVAL] = EINVAL,            [NLE_RANGE] = ERANGE,
                [NLE_MSGSIZE] = EMSGSIZE,        [NLE_OPNOTSUPP] = EOPNOTSUPP,
                [NLE_AF_NOSUPPORT] = EAFNOSUPPORT, [NLE_OBJ_NOTFOUND] = ENOENT,
                [NLE_NOATTR] = ENODATA,          [NLE_MISSING_ATTR] = EINVAL,
                [NLE_AF_MISMATCH] = EINVAL,      [NLE_SEQ_MISMATCH] = EPROTO,
                [NLE_MSG_OVERFLOW] = EOVERFLOW,  [NLE_MSG_TRUNC] = EMSGSIZE,
                [NLE_NOADDR] = EADDRNOTAVAIL,    [NLE_SRCRT_NOSUPPORT] = EOPNOTSUPP,
                [NLE_MSG_TOOSHORT] = EBADMSG,    [NLE_MSGTYPE_NOSUPPORT] = EOPNOTSUPP,
                [NLE_OBJ_MISMATCH] = EINVAL,     [NLE_NOCACHE] = ENOENT,
                [NLE_BUSY] = EBUSY,              [NLE_PROTO_MISMATCH] = EPROTONOSUPPORT,
                [NLE_NOACCESS] = EACCES,         [NLE_PERM] = EPERM,
                [NLE_PKTLOC_FILE] = ENOENT,      [NLE_PARSE_ERR] = EBADMSG,
                [NLE_NODEV] = ENODEV,            [NLE_IMMUTABLE] = EPERM,
                [NLE_DUMP_INTR] = EAGAIN,        [NLE_ATTRSIZE] = ERANGE,
        };
        int e;

        if (nle >= 0)
                return nle;
        e = -nle;
        return e < (int) ELEMENTSOF(map) && map[e] ? -map[e] : -EIO;
}

int network_new(Network **ret) {
        _cleanup_(network_freep) Network *n = calloc(1, sizeof(Network));

        if (!n)
                return -ENOMEM;
        n->state_fd = -EBADF;
        n->state_fsync = true;
        n->links = link_table_new();
        n->vlans = hashmap_new();
        n->vlans_by_key = hashmap_new();
        if (!n->links || !n->vlans || !n->vlans_by_key)
                return -ENOMEM;
        *ret = TAKE_PTR(n);
        return 0;
}

Network *network_free(Network *n) {
        if (!n)
                return NULL;
        if (n->vlans)
                network_free_vlans(n);
        sd_event_source_disable_unref(n->monitor_source);
        sd_event_source_disable_unref(n->sync_source);
        nl_socket_free(n->monitor);
        nl_socket_free(n->request);
        nl_cb_put(n->request_cb);
        link_table_free(n->links);
        hashmap_free(n->vlans);
        hashmap_free(n->vlans_by_key);
        safe_close(n->state_fd);
        free(n);
        return NULL;
}

static struct nla_policy link_policy[IFLA_MAX + 1] = {
        [IFLA_IFNAME] = { .type = NLA_STRING, .maxlen = IFNAMSIZ },
        [IFLA_MTU] = { .type = NLA_U32 },
        [IFLA_LINK] = { .type = NLA_U32 },
        [IFLA_MASTER] = { .type = NLA_U32 },
        [IFLA_OPERSTATE] = { .type = NLA_U8 },
        [IFLA_LINKINFO] = { .type = NLA_NESTED },
};

static struct nla_policy info_policy[IFLA_INFO_MAX + 1] = {
        [IFLA_INFO_KIND] = { .type = NLA_STRING },
        [IFLA_INFO_DATA] = { .type = NLA_NESTED },
};

static struct nla_policy vlan_policy[IFLA_VLAN_MAX + 1] = {
        [IFLA_VLAN_ID] = { .type = NLA_U16 },
};

/* Parses an RTM_NEWLINK into l. Only what we keep is read: this runs once per notification. */
static int link_parse(struct nlmsghdr *h, Link *l) {
        struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1], *vlan[IFLA_VLAN_MAX + 1];
        struct ifinfomsg *ifi = nlmsg_data(h);
        int r;

        r = nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, link_policy);
        if (r < 0)
                return nl_error_to_errno(r);
        if (!tb[IFLA_IFNAME])
                return -EBADMSG;
        *l = (Link) { .ifindex = ifi->ifi_index, .flags = ifi->ifi_flags };
        nla_strlcpy(l->name, tb[IFLA_IFNAME], sizeof(l->name));
        if (tb[IFLA_MTU])
                l->mtu = nla_get_u32(tb[IFLA_MTU]);
        if (tb[IFLA_LINK])
                l->parent = (int) nla_get_u32(tb[IFLA_LINK]);
        if (tb[IFLA_MASTER])
                l->master = (int) nla_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_OPERSTATE])
                l->operstate = nla_get_u8(tb[IFLA_OPERSTATE]);
        if (tb[IFLA_LINKINFO] && nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], info_policy) >= 0) {
                if (info[IFLA_INFO_KIND])
                        nla_strlcpy(l->kind, info[IFLA_INFO_KIND], sizeof(l->kind));
                if (streq(l->kind, "vlan") && info[IFLA_INFO_DATA] &&
                    nla_parse_nested(vlan, IFLA_VLAN_MAX, info[IFLA_INFO_DATA], vlan_policy) >= 0 &&
                    vlan[IFLA_VLAN_ID])
                        l->vlan_id = nla_get_u16(vlan[IFLA_VLAN_ID]);
        }
        return 0;
}

static void network_notify(Network *n, const Link *old, const Link *new, unsigned change) {
        if (n->on_change && change)
                n->on_change(n, old, new, change, n->on_change_userdata);
}

/* One RTM_NEWLINK/RTM_DELLINK from the subscription or a dump, applied to table t. */
static int link_message(Network *n, LinkTable *t, struct nlmsghdr *h, bool notify) {
        struct ifinfomsg *ifi;
        Link l = {}, old = {};
        unsigned change;
        bool had;
        int r;

        if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
                return 0;
        if (!nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
                return 0;
        ifi = nlmsg_data(h);
        /* The bridge also reports its ports with family AF_BRIDGE (and RTM_DELLINK when a port
         * leaves): those describe the port, not the link, and must not replace or remove it. */
        if (ifi->ifi_family != AF_UNSPEC)
                return 0;

        if (h->nlmsg_type == RTM_DELLINK) {
                if (link_table_remove(t, ifi->ifi_index, &old) && notify)
                        network_notify(n, &old, NULL, LINK_CHANGE_REMOVED);
                return 0;
        }
        r = link_parse(h, &l);
        if (r < 0) {
                log_debug_errno(r, "Ignoring malformed link message: %m");
                return 0;
        }
        if (notify) {
                const Link *o = link_table_get(t, l.ifindex);

                had = !!o;
                if (o)
                        old = *o;
        } else
                had = false;
        r = link_table_update(t, &l, &change);
        if (r < 0)
                return r;
        if (notify)
                network_notify(n, had ? &old : NULL, link_table_get(t, l.ifindex), change);
        return 0;
}

typedef struct DumpContext {
        Network *network;
        LinkTable *table;
        int error;
} DumpContext;

static int on_dump_message(struct nl_msg *msg, void *arg) {
        DumpContext *c = arg;
        int r = link_message(c->network, c->table, nlmsg_hdr(msg), false);

        if (r < 0 && c->error == 0)
                c->error = r;
        return NL_OK;
}

/* A full RTM_GETLINK dump into t (empty), on the request socket. */
static int network_dump(Network *n, LinkTable *t) {
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        DumpContext c = { .network = n, .table = t };
        int r;

        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_dump_message, &c);
        r = nl_rtgen_request(n->request, RTM_GETLINK, AF_UNSPEC, NLM_F_DUMP);
        if (r < 0)
                return nl_error_to_errno(r);
        r = nl_recvmsgs(n->request, cb);
        if (r < 0)
                return nl_error_to_errno(r);
        if (c.error < 0)
                return c.error;
        link_table_recount_ports(t);
        return 0;
}

/* After lost notifications (ENOBUFS): dump afresh and report the differences. */
static int network_resync(Network *n) {
        _cleanup_(link_table_freep) LinkTable *t = link_table_new(), *old = NULL;
        Link *l;
        int r;

        if (!t)
                return -ENOMEM;
        r = network_dump(n, t);
        if (r < 0)
                return r;
        old = TAKE_PTR(n->links);
        n->links = TAKE_PTR(t);
        HASHMAP_FOREACH(l, n->links->by_index) {
                Link *o = link_table_get(old, l->ifindex), before;
                unsigned change = 0;

                /* Updating the old table, about to be thrown away, computes the change mask the same
                 * way notifications do. */
                if (!o)
                        network_notify(n, NULL, l, LINK_CHANGE_NEW);
                else {
                        before = *o;
                        if (link_table_update(old, l, &change) >= 0)
                                network_notify(n, &before, l, change);
                }
        }
        HASHMAP_FOREACH(l, old->by_index)
                if (!link_table_get(n->links, l->ifindex))
                        network_notify(n, l, NULL, LINK_CHANGE_REMOVED);
        return 0;
}

static int on_monitor_message(struct nl_msg *msg, void *arg) {
        Network *n = arg;
        int r = link_message(n, n->links, nlmsg_hdr(msg), true);

        return r < 0 ? NL_STOP : NL_OK;
}

int network_process_events(Network *n) {
        int r;

        if (!n->monitor)
                return 0;
        for (;;) {
                r = nl_recvmsgs_default(n->monitor);
                if (r == -NLE_AGAIN)
                        return 0;
                if (r == -NLE_NOMEM) {
                        /* ENOBUFS: the kernel dropped notifications; what we hold may be stale. */
                        log_debug("Link notifications were lost, reading all links again.");
                        n->n_resyncs++;
                        r = network_resync(n);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return nl_error_to_errno(r);
        }
}

static int on_monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Network *n = userdata;
        int r;

        r = network_process_events(n);
        if (r < 0)
                log_error_errno(r, "Failed to read link notifications: %m");
        return 0;
}

static int on_request_ack(struct nl_msg *msg, void *arg) {
        return NL_STOP;
}

static int on_request_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg) {
        Network *n = arg;

        n->request_errno = e->error < 0 ? e->error : -EIO;
        return NL_STOP;
}

int network_open_netlink(Network *n, sd_event *event) {
        int r;

        n->monitor = nl_socket_alloc();
        n->request = nl_socket_alloc();
        n->request_cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!n->monitor || !n->request || !n->request_cb)
                return -ENOMEM;

        nl_socket_set_msg_buf_size(n->monitor, MSG_BUF_SIZE);
        nl_socket_disable_msg_peek(n->monitor);
        nl_socket_set_msg_buf_size(n->request, MSG_BUF_SIZE);
        nl_socket_disable_msg_peek(n->request);

        /* Subscribe before the dump, so that no change falls between the two. */
        nl_socket_disable_seq_check(n->monitor);
        nl_socket_modify_cb(n->monitor, NL_CB_VALID, NL_CB_CUSTOM, on_monitor_message, n);
        r = nl_connect(n->monitor, NETLINK_ROUTE);
        if (r >= 0)
                r = nl_socket_add_membership(n->monitor, RTNLGRP_LINK);
        if (r >= 0)
                r = nl_socket_set_nonblocking(n->monitor);
        if (r < 0)
                return nl_error_to_errno(r);
        /* Past net.core.rmem_max when we may (CAP_NET_ADMIN), else as much as the sysctl allows. */
        if (setsockopt(nl_socket_get_fd(n->monitor), SOL_SOCKET, SO_RCVBUFFORCE, &(int) { MONITOR_RCVBUF },
                       sizeof(int)) < 0)
                (void) nl_socket_set_buffer_size(n->monitor, MONITOR_RCVBUF, 0);

        nl_cb_set(n->request_cb, NL_CB_ACK, NL_CB_CUSTOM, on_request_ack, n);
        nl_cb_err(n->request_cb, NL_CB_CUSTOM, on_request_error, n);
        r = nl_connect(n->request, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);

        r = network_dump(n, n->links);
        if (r < 0)
                return r;
        r = network_process_events(n);
        if (r < 0)
                return r;

        if (event) {
                r = sd_event_add_io(event, &n->monitor_source, nl_socket_get_fd(n->monitor), EPOLLIN,
                                    on_monitor_io, n);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(n->monitor_source, "netlink-link-monitor");
        }
        n->ops = &network_netlink_ops;
        return 0;
}

/* Sends msg (taking it), waits for the kernel's ACK, then reads the notifications the request caused. */
static int network_request(Network *n, struct nl_msg *msg) {
        int r;

        n->request_errno = 0;
        r = nl_send_auto(n->request, msg);
        nlmsg_free(msg);
        if (r < 0)
                return nl_error_to_errno(r);
        r = nl_recvmsgs(n->request, n->request_cb);
        if (n->request_errno < 0)
                return n->request_errno;
        if (r < 0)
                return nl_error_to_errno(r);
        return network_process_events(n);
}

static int link_add(Network *n, struct rtnl_link *link, const char *name, int *ret_ifindex) {
        struct nl_msg *msg;
        const Link *l;
        int r;

        r = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &msg);
        if (r < 0)
                return nl_error_to_errno(r);
        r = network_request(n, msg);
        if (r < 0)
                return r;
        l = link_table_get_by_name(n->links, name);
        if (!l)
                return -ENOENT;         /* someone removed it at once */
        *ret_ifindex = l->ifindex;
        return 0;
}

static int netlink_create_vlan(Network *n, const char *name, int parent, uint16_t tag, uint32_t mtu,
                               int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_vlan_alloc();
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        rtnl_link_set_link(link, parent);
        r = rtnl_link_vlan_set_id(link, tag);
        if (r < 0)
                return nl_error_to_errno(r);
        if (mtu > 0)
                rtnl_link_set_mtu(link, mtu);
        return link_add(n, link, name, ret_ifindex);
}

static int netlink_create_bridge(Network *n, const char *name, uint32_t mtu, bool up, int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_bridge_alloc();

        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        if (mtu > 0)
                rtnl_link_set_mtu(link, mtu);
        if (up)
                rtnl_link_set_flags(link, IFF_UP);
        return link_add(n, link, name, ret_ifindex);
}

static int netlink_set_link(Network *n, int ifindex, const LinkSettings *s) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = rtnl_link_alloc(), *change = rtnl_link_alloc();
        const Link *l = link_table_get(n->links, ifindex);
        struct nl_msg *msg;
        int r;

        if (!orig || !change)
                return -ENOMEM;
        rtnl_link_set_ifindex(orig, ifindex);
        if (l)
                rtnl_link_set_flags(orig, l->flags);
        if (s->master >= 0)
                rtnl_link_set_master(change, s->master);
        if (s->mtu > 0)
                rtnl_link_set_mtu(change, s->mtu);
        if (s->up > 0)
                rtnl_link_set_flags(change, IFF_UP);
        else if (s->up == 0)
                rtnl_link_unset_flags(change, IFF_UP);
        r = rtnl_link_build_change_request(orig, change, 0, &msg);
        if (r < 0)
                return nl_error_to_errno(r);
        return network_request(n, msg);
}

static int netlink_delete_link(Network *n, int ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_alloc();
        struct nl_msg *msg;
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_ifindex(link, ifindex);
        r = rtnl_link_build_delete_request(link, &msg);
        if (r < 0)
                return nl_error_to_errno(r);
        return network_request(n, msg);
}

const NetworkOps network_netlink_ops = {
        .create_vlan = netlink_create_vlan,
        .create_bridge = netlink_create_bridge,
        .set_link = netlink_set_link,
        .delete_link = netlink_delete_link,
};
