/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* addresses.c — a running machine's IP addresses: DHCP leases, the guest agent, the neighbour table, DNS
 *
 * Everything here runs in a worker thread: each source may wait on something slow (the guest agent,
 * a resolver), so each is bounded. The neighbour table is libvirt's ARP source; libvirt up to at
 * least 9.x cannot read the neighbour dump of kernels that end it inside the last message ("wrong
 * nlmsg len"), and then, when the hypervisor is on this host, the same table is read here with
 * libnl-route: same table, same matching by MAC, IPv6 neighbours too. */
#include <arpa/inet.h>
#include <ctype.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <linux/neighbour.h>
#include <netlink/route/neighbour.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/errors.h"
#include "shared/log.h"
#include "machines/addresses.h"
#include "machines/virt.h"
#include "util/string-table.h"

static const char *const address_source_table[_ADDRESS_SOURCE_MAX] = {
        [ADDRESS_SOURCE_LEASE] = "lease",
        [ADDRESS_SOURCE_AGENT] = "agent",
        [ADDRESS_SOURCE_ARP] = "arp",
        [ADDRESS_SOURCE_DNS] = "dns",
        [ADDRESS_SOURCE_ANY] = "any",
};
DEFINE_STRING_TABLE_LOOKUP(address_source, AddressSource);

void address_list_done(AddressList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].interface);
                free(l->items[i].mac);
                free(l->items[i].address);
        }
        free(l->items);
        *l = (AddressList) {};
}

int address_list_add(AddressList *l, const char *interface, const char *mac, int family, const char *address,
                     unsigned prefix) {
        const char *f = family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : NULL;
        MachineAddress *items, *a;

        assert_return(l && address, -EINVAL);
        if (!f)
                return 0;       /* neither IPv4 nor IPv6: not an address of the API */
        interface = interface ?: "";
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->items[i].address, address) && l->items[i].family == f &&
                    streq(l->items[i].interface, interface))
                        return 0;

        items = reallocarray(l->items, l->n + 1, sizeof(MachineAddress));
        if (!items)
                return -ENOMEM;
        l->items = items;
        a = &l->items[l->n];
        *a = (MachineAddress) {
                .interface = strdup(interface),
                .mac = strdup(mac ?: ""),
                .family = f,
                .address = strdup(address),
                .prefix = prefix,
        };
        if (!a->interface || !a->mac || !a->address) {
                free(a->interface);
                free(a->mac);
                free(a->address);
                return -ENOMEM;
        }
        l->n++;
        return 0;
}

int address_list_add_libvirt(AddressList *l, virDomainInterfacePtr *ifaces, int n) {
        int r;

        assert_return(l && (ifaces || n == 0), -EINVAL);
        for (int i = 0; i < n; i++)
                for (unsigned j = 0; j < ifaces[i]->naddrs; j++) {
                        const virDomainIPAddress *a = &ifaces[i]->addrs[j];
                        int family = a->type == VIR_IP_ADDR_TYPE_IPV4 ? AF_INET :
                                     a->type == VIR_IP_ADDR_TYPE_IPV6 ? AF_INET6 : AF_UNSPEC;

                        if (!a->addr)
                                continue;
                        r = address_list_add(l, ifaces[i]->name, ifaces[i]->hwaddr, family, a->addr, a->prefix);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int address_list_add_addrinfo(AddressList *l, const struct addrinfo *ai) {
        char buf[INET6_ADDRSTRLEN];
        int r;

        assert_return(l, -EINVAL);
        for (; ai; ai = ai->ai_next) {
                const void *p;

                if (ai->ai_family == AF_INET)
                        p = &((const struct sockaddr_in *) ai->ai_addr)->sin_addr;
                else if (ai->ai_family == AF_INET6)
                        p = &((const struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;
                else
                        continue;
                if (!inet_ntop(ai->ai_family, p, buf, sizeof(buf)))
                        continue;
                r = address_list_add(l, NULL, NULL, ai->ai_family, buf, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

void domain_nics_free(DomainNic *nics, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(nics[i].dev);
                free(nics[i].mac);
        }
        free(nics);
}

static char *xml_attr(xmlNode *node, const char *child, const char *attr) {
        for (xmlNode *c = node->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST child)) {
                        xmlChar *v = xmlGetProp(c, BAD_CAST attr);
                        char *s = v ? strdup((const char *) v) : strdup("");
                        xmlFree(v);
                        return s;
                }
        return strdup("");
}

int domain_nics_parse(const char *xml, size_t size, DomainNic **ret, size_t *ret_n) {
        xmlDoc *doc;
        xmlXPathContext *ctx = NULL;
        xmlXPathObject *obj = NULL;
        DomainNic *nics = NULL;
        size_t n = 0;
        int r = 0;

        assert_return(xml && ret && ret_n, -EINVAL);
        doc = xmlReadMemory(xml, (int) MIN(size, (size_t) INT32_MAX), NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
        if (!doc)
                return -EBADMSG;
        ctx = xmlXPathNewContext(doc);
        obj = ctx ? xmlXPathEvalExpression(BAD_CAST "/domain/devices/interface", ctx) : NULL;
        if (!obj) {
                r = -ENOMEM;
                goto finish;
        }
        if (obj->nodesetval && obj->nodesetval->nodeNr > 0) {
                nics = calloc(obj->nodesetval->nodeNr, sizeof(DomainNic));
                if (!nics) {
                        r = -ENOMEM;
                        goto finish;
                }
                for (int i = 0; i < obj->nodesetval->nodeNr; i++, n++) {
                        nics[n].dev = xml_attr(obj->nodesetval->nodeTab[i], "target", "dev");
                        nics[n].mac = xml_attr(obj->nodesetval->nodeTab[i], "mac", "address");
                        if (!nics[n].dev || !nics[n].mac) {
                                n++;
                                r = -ENOMEM;
                                goto finish;
                        }
                        for (char *c = nics[n].mac; *c; c++)
                                *c = (char) tolower((unsigned char) *c);
                }
        }
        *ret = TAKE_PTR(nics);
        *ret_n = n;
finish:
        if (nics)
                domain_nics_free(nics, n);
        xmlXPathFreeObject(obj);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        return r;
}

bool virt_uri_is_local(const char *uri) {
        const char *p;

        assert_return(uri, false);
        p = strstr(uri, "://");
        return !p || p[3] == '/';
}

/* --- the sources ----------------------------------------------------------------------------- */

/* Adds what libvirt returned and frees it. */
static int take_libvirt(AddressList *l, virDomainInterfacePtr *ifaces, int n) {
        int r = address_list_add_libvirt(l, ifaces, n);

        for (int i = 0; i < n; i++)
                virDomainInterfaceFree(ifaces[i]);
        free(ifaces);
        return r;
}

static int lookup_libvirt(virDomainPtr d, unsigned source, AddressList *l, char **reterr_message) {
        virDomainInterfacePtr *ifaces = NULL;
        int n;

        n = virDomainInterfaceAddresses(d, &ifaces, source, 0);
        if (n < 0)
                return virt_last_error(reterr_message);
        return take_libvirt(l, ifaces, n);
}

static int lookup_agent(virDomainPtr d, AddressList *l, char **reterr_message) {
        /* libvirt waits for the agent's answer without end unless told; this bound then holds for
         * every agent call on this domain until it stops. */
        if (virDomainAgentSetResponseTimeout(d, ADDRESSES_TIMEOUT_S, 0) < 0)
                (void) virt_last_error(NULL);   /* no agent: the lookup below says so */
        return lookup_libvirt(d, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, l, reterr_message);
}

static bool neighbour_is_valid(int state) {
        return state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT);
}

/* The host's neighbour table for the domain's MACs, read here (libvirt's reader failed). */
static int lookup_neighbours(virDomainPtr d, AddressList *l, char **reterr_message) {
        _cleanup_free_ char *xml = NULL;
        struct nl_sock *sk = NULL;
        struct nl_cache *cache = NULL;
        DomainNic *nics = NULL;
        size_t n_nics = 0;
        int r;

        xml = virDomainGetXMLDesc(d, 0);
        if (!xml)
                return virt_last_error(reterr_message);
        r = domain_nics_parse(xml, strlen(xml), &nics, &n_nics);
        if (r < 0)
                return r;

        sk = nl_socket_alloc();
        if (!sk) {
                r = -ENOMEM;
                goto finish;
        }
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r >= 0)
                r = rtnl_neigh_alloc_cache(sk, &cache);
        if (r < 0) {
                if (reterr_message && asprintf(reterr_message, "Failed to read the neighbour table: %s.", nl_geterror(r)) < 0)
                        *reterr_message = NULL;
                r = -EIO;
                goto finish;
        }
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_neigh *neigh = (struct rtnl_neigh *) o;
                struct nl_addr *ll = rtnl_neigh_get_lladdr(neigh), *dst = rtnl_neigh_get_dst(neigh);
                char mac[32], ip[INET6_ADDRSTRLEN];
                int family;

                if (!ll || !dst || !neighbour_is_valid(rtnl_neigh_get_state(neigh)))
                        continue;
                family = nl_addr_get_family(dst);
                if ((family != AF_INET && family != AF_INET6) ||
                    !inet_ntop(family, nl_addr_get_binary_addr(dst), ip, sizeof(ip)))
                        continue;
                nl_addr2str(ll, mac, sizeof(mac));
                for (size_t i = 0; i < n_nics; i++)
                        if (streq(nics[i].mac, mac)) {
                                r = address_list_add(l, nics[i].dev, nics[i].mac, family, ip, 0);
                                if (r < 0)
                                        goto finish;
                        }
        }
        r = 0;
finish:
        nl_cache_free(cache);
        nl_socket_free(sk);
        domain_nics_free(nics, n_nics);
        return r;
}

static int lookup_arp(virDomainPtr d, bool local, AddressList *l, char **reterr_message) {
        virDomainInterfacePtr *ifaces = NULL;
        virErrorPtr e;
        int n;

        n = virDomainInterfaceAddresses(d, &ifaces, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, 0);
        if (n >= 0)
                return take_libvirt(l, ifaces, n);
        e = virGetLastError();
        if (!local || !e || (e->code != VIR_ERR_INTERNAL_ERROR && e->code != VIR_ERR_NO_SUPPORT))
                return virt_last_error(reterr_message);
        log_debug("libvirt could not read the neighbour table (%s); reading it here.", strempty(e->message));
        virResetLastError();
        return lookup_neighbours(d, l, reterr_message);
}

/* One getaddrinfo_a() request, shared by the asking thread and glibc's notification: whoever
 * lets go last frees it, so that a lookup that outlives its deadline cannot touch freed memory. */
typedef struct DnsQuery {
        atomic_int refs;
        struct gaicb cb;
        struct addrinfo hints;
        char *name;
} DnsQuery;

static void dns_query_unref(DnsQuery *q) {
        if (atomic_fetch_sub(&q->refs, 1) != 1)
                return;
        if (q->cb.ar_result)
                freeaddrinfo(q->cb.ar_result);
        free(q->name);
        free(q);
}

static void dns_notify(union sigval v) {
        dns_query_unref(v.sival_ptr);
}

static int lookup_dns(const char *name, AddressList *l, char **reterr_message) {
        struct timespec deadline, now, left;
        struct gaicb *list[1];
        struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = dns_notify };
        DnsQuery *q;
        int r;

        q = calloc(1, sizeof(DnsQuery));
        if (!q)
                return -ENOMEM;
        q->name = strdup(name);
        if (!q->name) {
                free(q);
                return -ENOMEM;
        }
        atomic_init(&q->refs, 2);
        q->hints = (struct addrinfo) { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        q->cb = (struct gaicb) { .ar_name = q->name, .ar_request = &q->hints };
        ev.sigev_value.sival_ptr = q;
        list[0] = &q->cb;
        if (getaddrinfo_a(GAI_NOWAIT, list, 1, &ev) != 0) {
                free(q->name);
                free(q);
                return -EAGAIN;
        }

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += ADDRESSES_TIMEOUT_S;
        for (;;) {
                r = gai_error(&q->cb);
                if (r != EAI_INPROGRESS)
                        break;
                clock_gettime(CLOCK_MONOTONIC, &now);
                left.tv_sec = deadline.tv_sec - now.tv_sec;
                left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
                if (left.tv_nsec < 0) {
                        left.tv_sec--;
                        left.tv_nsec += 1000000000L;
                }
                if (left.tv_sec < 0)
                        break;
                (void) gai_suspend((const struct gaicb * const *) list, 1, &left);
        }
        if (r == EAI_INPROGRESS) {
                /* A request glibc had not started yet is dropped without a notification. */
                if (gai_cancel(&q->cb) == EAI_CANCELED)
                        dns_query_unref(q);
                dns_query_unref(q);
                if (reterr_message && asprintf(reterr_message, "The resolver did not answer for '%s' within %u s.",
                                               name, ADDRESSES_TIMEOUT_S) < 0)
                        *reterr_message = NULL;
                return -ETIMEDOUT;
        }
        if (r == 0)
                r = address_list_add_addrinfo(l, q->cb.ar_result);
        else if (r == EAI_NONAME || r == EAI_NODATA)
                r = 0;          /* the name is not known: no address, no error */
        else {
                if (reterr_message && asprintf(reterr_message, "Failed to resolve '%s': %s.", name, gai_strerror(r)) < 0)
                        *reterr_message = NULL;
                r = -EIO;
        }
        dns_query_unref(q);
        return r;
}

static int lookup(virDomainPtr d, AddressSource s, bool local, AddressList *l, char **reterr_message) {
        switch (s) {
        case ADDRESS_SOURCE_LEASE:
                return lookup_libvirt(d, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, l, reterr_message);
        case ADDRESS_SOURCE_AGENT:
                return lookup_agent(d, l, reterr_message);
        case ADDRESS_SOURCE_ARP:
                return lookup_arp(d, local, l, reterr_message);
        case ADDRESS_SOURCE_DNS:
                return lookup_dns(virDomainGetName(d), l, reterr_message);
        default:
                return -EINVAL;
        }
}

int machine_addresses_get(virConnectPtr conn, const char *uuid, AddressSource s, bool local, AddressList *ret,
                          char **reterr_message) {
        _cleanup_(address_list_done) AddressList l = {};
        virDomainPtr d;
        int r;

        assert_return(conn && uuid && ret, -EINVAL);
        assert_return(s >= 0 && s < _ADDRESS_SOURCE_MAX, -EINVAL);

        d = virDomainLookupByUUIDString(conn, uuid);
        if (!d)
                return virt_last_error(reterr_message);
        r = virDomainIsActive(d);
        if (r < 0) {
                r = virt_last_error(reterr_message);
                goto finish;
        }
        if (r == 0) {
                if (reterr_message && asprintf(reterr_message, "Machine %s is not running.", strempty(virDomainGetName(d))) < 0)
                        *reterr_message = NULL;
                r = -AIM_ECONFLICT;
                goto finish;
        }

        if (s != ADDRESS_SOURCE_ANY)
                r = lookup(d, s, local, &l, reterr_message);
        else
                /* The first source that has something; the others' failures only say they had nothing. */
                for (AddressSource i = 0; i < ADDRESS_SOURCE_ANY && l.n == 0; i++) {
                        _cleanup_free_ char *m = NULL;

                        r = lookup(d, i, local, &l, &m);
                        if (r < 0)
                                log_debug_errno(r, "Address source %s: %s", address_source_to_string(i), strempty(m));
                        r = 0;
                }
        if (r >= 0) {
                *ret = l;
                l = (AddressList) {};
        }
finish:
        virDomainFree(d);
        return r;
}

typedef struct AddressJob {
        char *uuid;
        AddressSource source;
        bool local;
        AddressesReplyFn reply;
        void *userdata;
        AddressList list;
        int r;
        char *message;
} AddressJob;

static void address_job_free(void *data) {
        AddressJob *j = data;

        address_list_done(&j->list);
        free(j->uuid);
        free(j->message);
        free(j);
}

static void address_job_work(virConnectPtr conn, void *data) {
        AddressJob *j = data;

        j->r = machine_addresses_get(conn, j->uuid, j->source, j->local, &j->list, &j->message);
}

static void address_job_done(void *data) {
        AddressJob *j = data;

        j->reply(j->r, j->message, &j->list, j->userdata);
        address_job_free(j);
}

int machine_addresses_lookup(Virt *v, const char *uuid, AddressSource s, AddressesReplyFn reply, void *userdata) {
        AddressJob *j;
        int r;

        assert_return(v && uuid && reply, -EINVAL);
        assert_return(s >= 0 && s < _ADDRESS_SOURCE_MAX, -EINVAL);
        j = calloc(1, sizeof(AddressJob));
        if (!j)
                return -ENOMEM;
        *j = (AddressJob) { .source = s, .local = virt_uri_is_local(virt_uri(v)), .reply = reply, .userdata = userdata };
        j->uuid = strdup(uuid);
        if (!j->uuid) {
                free(j);
                return -ENOMEM;
        }
        /* Abandoned at exit: the caller's userdata belongs to the loop, which is going away. */
        r = virt_submit(v, address_job_work, address_job_done, address_job_free, j);
        if (r < 0)
                address_job_free(j);
        return r;
}
