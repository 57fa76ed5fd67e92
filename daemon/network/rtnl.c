/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnl.c — the rtnetlink object (libnl-route-3): the live link table and the link operations VLANs
 * are built of
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

#include "shared/errors.h"
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

int rtnl_errno_from_nle(int nle) {
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

int rtnl_new(Rtnl **ret) {
        _cleanup_(rtnl_freep) Rtnl *rtnl = NULL;

        assert_return(ret, -EINVAL);

        rtnl = calloc(1, sizeof(Rtnl));
        if (!rtnl)
                return -ENOMEM;
        rtnl->links = link_table_new();
        if (!rtnl->links)
                return -ENOMEM;
        *ret = TAKE_PTR(rtnl);
        return 0;
}

Rtnl *rtnl_free(Rtnl *rtnl) {
        if (!rtnl)
                return NULL;
        sd_event_source_disable_unref(rtnl->monitor_source);
        nl_socket_free(rtnl->monitor);
        nl_socket_free(rtnl->request);
        nl_cb_put(rtnl->request_cb);
        link_table_free(rtnl->links);
        free(rtnl);
        return NULL;
}

void rtnl_set_change_handler(Rtnl *rtnl, RtnlChangeHandler handler, void *userdata) {
        assert(rtnl);
        rtnl->on_change = handler;
        rtnl->on_change_userdata = userdata;
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
                return rtnl_errno_from_nle(r);
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

static void rtnl_notify(Rtnl *rtnl, const Link *old, const Link *new, unsigned change) {
        if (rtnl->on_change && change)
                rtnl->on_change(rtnl, old, new, change, rtnl->on_change_userdata);
}

/* One RTM_NEWLINK/RTM_DELLINK from the subscription or a dump, applied to table t. */
static int link_message(Rtnl *rtnl, LinkTable *t, struct nlmsghdr *h, bool notify) {
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
                        rtnl_notify(rtnl, &old, NULL, LINK_CHANGE_REMOVED);
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
                rtnl_notify(rtnl, had ? &old : NULL, link_table_get(t, l.ifindex), change);
        return 0;
}

typedef struct DumpContext {
        Rtnl *rtnl;
        LinkTable *table;
        int error;
} DumpContext;

static int on_dump_message(struct nl_msg *msg, void *arg) {
        DumpContext *c = arg;
        int r = link_message(c->rtnl, c->table, nlmsg_hdr(msg), false);

        if (r < 0 && c->error == 0)
                c->error = r;
        return NL_OK;
}

/* A full RTM_GETLINK dump into t (empty), on the request socket. */
static int rtnl_dump(Rtnl *rtnl, LinkTable *t) {
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        DumpContext c = { .rtnl = rtnl, .table = t };
        int r;

        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_dump_message, &c);
        r = nl_rtgen_request(rtnl->request, RTM_GETLINK, AF_UNSPEC, NLM_F_DUMP);
        if (r < 0)
                return rtnl_errno_from_nle(r);
        r = nl_recvmsgs(rtnl->request, cb);
        if (r < 0)
                return rtnl_errno_from_nle(r);
        if (c.error < 0)
                return c.error;
        link_table_recount_ports(t);
        return 0;
}

/* After lost notifications (ENOBUFS): dump afresh and report the differences. */
static int rtnl_resync(Rtnl *rtnl) {
        _cleanup_(link_table_freep) LinkTable *t = link_table_new(), *old = NULL;
        Link *l;
        int r;

        if (!t)
                return -ENOMEM;
        r = rtnl_dump(rtnl, t);
        if (r < 0)
                return r;
        old = TAKE_PTR(rtnl->links);
        rtnl->links = TAKE_PTR(t);
        HASHMAP_FOREACH(l, rtnl->links->by_index) {
                Link *o = link_table_get(old, l->ifindex), before;
                unsigned change = 0;

                /* Updating the old table, about to be thrown away, computes the change mask the same
                 * way notifications do. */
                if (!o)
                        rtnl_notify(rtnl, NULL, l, LINK_CHANGE_NEW);
                else {
                        before = *o;
                        if (link_table_update(old, l, &change) >= 0)
                                rtnl_notify(rtnl, &before, l, change);
                }
        }
        HASHMAP_FOREACH(l, old->by_index)
                if (!link_table_get(rtnl->links, l->ifindex))
                        rtnl_notify(rtnl, l, NULL, LINK_CHANGE_REMOVED);
        return 0;
}

static int on_monitor_message(struct nl_msg *msg, void *arg) {
        Rtnl *rtnl = arg;
        int r = link_message(rtnl, rtnl->links, nlmsg_hdr(msg), true);

        return r < 0 ? NL_STOP : NL_OK;
}

int rtnl_process_events(Rtnl *rtnl) {
        int r;

        assert_return(rtnl, -EINVAL);

        if (!rtnl->monitor)
                return 0;
        for (;;) {
                r = nl_recvmsgs_default(rtnl->monitor);
                if (r == -NLE_AGAIN)
                        return 0;
                if (r == -NLE_NOMEM) {
                        /* ENOBUFS: the kernel dropped notifications; what we hold may be stale. */
                        log_debug("Link notifications were lost, reading all links again.");
                        rtnl->n_resyncs++;
                        r = rtnl_resync(rtnl);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return rtnl_errno_from_nle(r);
        }
}

static int on_monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Rtnl *rtnl = userdata;
        int r;

        r = rtnl_process_events(rtnl);
        if (r < 0)
                log_error_errno(r, "Failed to read link notifications: %m");
        return 0;
}

static int on_request_ack(struct nl_msg *msg, void *arg) {
        return NL_STOP;
}

static int on_request_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg) {
        Rtnl *rtnl = arg;

        rtnl->request_errno = e->error < 0 ? e->error : -EIO;
        return NL_STOP;
}

int rtnl_open(Rtnl *rtnl, sd_event *event, char **reterr_message) {
        int r;

        assert_return(rtnl, -EINVAL);
        assert_return(!rtnl->request, -EBUSY);

        rtnl->monitor = nl_socket_alloc();
        rtnl->request = nl_socket_alloc();
        rtnl->request_cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!rtnl->monitor || !rtnl->request || !rtnl->request_cb)
                return -ENOMEM;

        nl_socket_set_msg_buf_size(rtnl->monitor, MSG_BUF_SIZE);
        nl_socket_disable_msg_peek(rtnl->monitor);
        nl_socket_set_msg_buf_size(rtnl->request, MSG_BUF_SIZE);
        nl_socket_disable_msg_peek(rtnl->request);

        /* Subscribe before the dump, so that no change falls between the two. */
        nl_socket_disable_seq_check(rtnl->monitor);
        nl_socket_modify_cb(rtnl->monitor, NL_CB_VALID, NL_CB_CUSTOM, on_monitor_message, rtnl);
        r = nl_connect(rtnl->monitor, NETLINK_ROUTE);
        if (r >= 0)
                r = nl_socket_add_membership(rtnl->monitor, RTNLGRP_LINK);
        if (r >= 0)
                r = nl_socket_set_nonblocking(rtnl->monitor);
        if (r < 0)
                return message_set(reterr_message, rtnl_errno_from_nle(r),
                                     "Failed to subscribe to link notifications: %s", nl_geterror(r));
        /* Past net.core.rmem_max when we may (CAP_NET_ADMIN), else as much as the sysctl allows. */
        if (setsockopt(nl_socket_get_fd(rtnl->monitor), SOL_SOCKET, SO_RCVBUFFORCE, &(int) { MONITOR_RCVBUF },
                       sizeof(int)) < 0)
                (void) nl_socket_set_buffer_size(rtnl->monitor, MONITOR_RCVBUF, 0);

        nl_cb_set(rtnl->request_cb, NL_CB_ACK, NL_CB_CUSTOM, on_request_ack, rtnl);
        nl_cb_err(rtnl->request_cb, NL_CB_CUSTOM, on_request_error, rtnl);
        r = nl_connect(rtnl->request, NETLINK_ROUTE);
        if (r < 0)
                return message_set(reterr_message, rtnl_errno_from_nle(r),
                                     "Failed to open the rtnetlink request socket: %s", nl_geterror(r));

        r = rtnl_dump(rtnl, rtnl->links);
        if (r >= 0)
                r = rtnl_process_events(rtnl);
        if (r < 0)
                return message_set(reterr_message, r, "Failed to read the kernel's links");

        if (event) {
                r = sd_event_add_io(event, &rtnl->monitor_source, nl_socket_get_fd(rtnl->monitor), EPOLLIN,
                                    on_monitor_io, rtnl);
                if (r < 0)
                        return message_set(reterr_message, r, "Failed to watch link notifications");
                (void) sd_event_source_set_description(rtnl->monitor_source, "netlink-link-monitor");
        }
        rtnl->ops = &rtnl_netlink_ops;
        return 0;
}

/* Sends msg (taking it), waits for the kernel's ACK, then reads the notifications the request caused. */
static int rtnl_request(Rtnl *rtnl, struct nl_msg *msg) {
        int r;

        rtnl->request_errno = 0;
        r = nl_send_auto(rtnl->request, msg);
        nlmsg_free(msg);
        if (r < 0)
                return rtnl_errno_from_nle(r);
        r = nl_recvmsgs(rtnl->request, rtnl->request_cb);
        if (rtnl->request_errno < 0)
                return rtnl->request_errno;
        if (r < 0)
                return rtnl_errno_from_nle(r);
        return rtnl_process_events(rtnl);
}

static int link_add(Rtnl *rtnl, struct rtnl_link *link, const char *name, int *ret_ifindex) {
        struct nl_msg *msg;
        const Link *l;
        int r;

        r = rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &msg);
        if (r < 0)
                return rtnl_errno_from_nle(r);
        r = rtnl_request(rtnl, msg);
        if (r < 0)
                return r;
        l = link_table_get_by_name(rtnl->links, name);
        if (!l)
                return -ENOENT;         /* someone removed it at once */
        *ret_ifindex = l->ifindex;
        return 0;
}

static int netlink_create_vlan(Rtnl *rtnl, const char *name, int parent, uint16_t tag, uint32_t mtu,
                               int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_vlan_alloc();
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        rtnl_link_set_link(link, parent);
        r = rtnl_link_vlan_set_id(link, tag);
        if (r < 0)
                return rtnl_errno_from_nle(r);
        if (mtu > 0)
                rtnl_link_set_mtu(link, mtu);
        return link_add(rtnl, link, name, ret_ifindex);
}

static int netlink_create_bridge(Rtnl *rtnl, const char *name, uint32_t mtu, bool up, int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_bridge_alloc();

        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, name);
        if (mtu > 0)
                rtnl_link_set_mtu(link, mtu);
        if (up)
                rtnl_link_set_flags(link, IFF_UP);
        return link_add(rtnl, link, name, ret_ifindex);
}

static int netlink_set_link(Rtnl *rtnl, int ifindex, const LinkSettings *s) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = rtnl_link_alloc(), *change = rtnl_link_alloc();
        const Link *l = link_table_get(rtnl->links, ifindex);
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
                return rtnl_errno_from_nle(r);
        return rtnl_request(rtnl, msg);
}

static int netlink_delete_link(Rtnl *rtnl, int ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = rtnl_link_alloc();
        struct nl_msg *msg;
        int r;

        if (!link)
                return -ENOMEM;
        rtnl_link_set_ifindex(link, ifindex);
        r = rtnl_link_build_delete_request(link, &msg);
        if (r < 0)
                return rtnl_errno_from_nle(r);
        return rtnl_request(rtnl, msg);
}

const RtnlOps rtnl_netlink_ops = {
        .create_vlan = netlink_create_vlan,
        .create_bridge = netlink_create_bridge,
        .set_link = netlink_set_link,
        .delete_link = netlink_delete_link,
};
