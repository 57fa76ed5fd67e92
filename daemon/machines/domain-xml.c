/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain-xml.c — the disks and network interfaces of a libvirt domain, read from its XML */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <string.h>

#include "machines/domain-xml.h"

static void device_rows_free(DeviceRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rows[i].a);
                free(rows[i].b);
                free(rows[i].c);
        }
        free(rows);
}

static void graphics_rows_free(GraphicsRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rows[i].type);
                free(rows[i].listen);
        }
        free(rows);
}

void domain_devices_done(DomainDevices *d) {
        device_rows_free(d->disks, d->n_disks);
        device_rows_free(d->interfaces, d->n_interfaces);
        graphics_rows_free(d->graphics, d->n_graphics);
        *d = (DomainDevices) {};
}

bool domain_graphics_equal(const DomainDevices *a, const DomainDevices *b) {
        if (a->n_graphics != b->n_graphics)
                return false;
        for (size_t i = 0; i < a->n_graphics; i++)
                if (!streq(a->graphics[i].type, b->graphics[i].type) ||
                    !streq(a->graphics[i].listen, b->graphics[i].listen) || a->graphics[i].port != b->graphics[i].port)
                        return false;
        return true;
}

static inline void xml_free_docp(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}

static bool node_is(const xmlNode *n, const char *name) {
        return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) name);
}

static const xmlNode *child(const xmlNode *n, const char *name) {
        for (const xmlNode *c = n->children; c; c = c->next)
                if (node_is(c, name))
                        return c;
        return NULL;
}

/* A copy of the first of the attributes that the element has ("" when none or no element). */
static char *attr_dup(const xmlNode *n, const char * const *names) {
        if (n)
                for (const char * const *a = names; *a; a++) {
                        xmlChar *v = xmlGetProp(n, (const xmlChar *) *a);
                        char *s;

                        if (!v)
                                continue;
                        s = strdup((const char *) v);
                        xmlFree(v);
                        return s;
                }
        return strdup("");
}

#define ATTRS(...) ((const char * const[]) { __VA_ARGS__, NULL })

static int row_fill(DeviceRow *row, const xmlNode *na, const char * const *aa, const xmlNode *nb,
                    const char * const *ab, const xmlNode *nc, const char * const *ac) {
        row->a = attr_dup(na, aa);
        row->b = attr_dup(nb, ab);
        row->c = attr_dup(nc, ac);
        return row->a && row->b && row->c ? 0 : -ENOMEM;
}

static int disk_row(const xmlNode *disk, DeviceRow *row) {
        const xmlNode *source = child(disk, "source");

        row->writable = !child(disk, "readonly") && !child(disk, "transient");
        /* A pool volume is "pool/volume"; everything else names its backing in one attribute. */
        if (source && xmlHasProp(source, (const xmlChar *) "pool") && xmlHasProp(source, (const xmlChar *) "volume")) {
                _cleanup_free_ char *pool = attr_dup(source, ATTRS("pool"));
                _cleanup_free_ char *vol = attr_dup(source, ATTRS("volume"));
                int r = row_fill(row, child(disk, "target"), ATTRS("dev"), NULL, NULL,
                                 child(disk, "driver"), ATTRS("type"));
                if (r < 0 || !pool || !vol)
                        return -ENOMEM;
                free(row->b);
                if (asprintf(&row->b, "%s/%s", pool, vol) < 0) {
                        row->b = NULL;
                        return -ENOMEM;
                }
                return 0;
        }
        return row_fill(row, child(disk, "target"), ATTRS("dev"),
                        source, ATTRS("file", "dev", "name", "dir"),
                        child(disk, "driver"), ATTRS("type"));
}

static int interface_row(const xmlNode *iface, DeviceRow *row) {
        return row_fill(row, child(iface, "mac"), ATTRS("address"),
                        child(iface, "source"), ATTRS("bridge", "network", "dev", "name"),
                        child(iface, "model"), ATTRS("type"));
}

/* The listen address is an attribute in old XML and a <listen> element in new. */
static int graphics_parse(const xmlNode *devices, GraphicsRow **ret, size_t *ret_n) {
        GraphicsRow *rows = NULL;
        size_t n = 0;

        for (const xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
                _cleanup_free_ char *port = NULL;
                GraphicsRow *p;
                char *end;
                long v;

                if (!node_is(c, "graphics"))
                        continue;
                p = realloc(rows, (n + 1) * sizeof(GraphicsRow));
                if (!p) {
                        graphics_rows_free(rows, n);
                        return -ENOMEM;
                }
                rows = p;
                rows[n].type = attr_dup(c, ATTRS("type"));
                rows[n].listen = xmlHasProp(c, (const xmlChar *) "listen") || !child(c, "listen")
                                 ? attr_dup(c, ATTRS("listen")) : attr_dup(child(c, "listen"), ATTRS("address", "socket"));
                port = attr_dup(c, ATTRS("port"));
                n++;
                if (!rows[n - 1].type || !rows[n - 1].listen || !port) {
                        graphics_rows_free(rows, n);
                        return -ENOMEM;
                }
                errno = 0;
                v = strtol(port, &end, 10);
                rows[n - 1].port = errno == 0 && end != port && *end == 0 && v > 0 && v <= 65535 ? (int) v : -1;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static int rows_parse(const xmlNode *devices, const char *name, int (*fill)(const xmlNode *, DeviceRow *),
                      DeviceRow **ret, size_t *ret_n) {
        DeviceRow *rows = NULL;
        size_t n = 0, allocated = 0;
        int r;

        for (const xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
                if (!node_is(c, name))
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 4;
                        DeviceRow *p = realloc(rows, a * sizeof(DeviceRow));
                        if (!p) {
                                device_rows_free(rows, n);
                                return -ENOMEM;
                        }
                        rows = p;
                        allocated = a;
                }
                rows[n] = (DeviceRow) {};
                r = fill(c, &rows[n++]);
                if (r < 0) {
                        device_rows_free(rows, n);
                        return r;
                }
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

int domain_devices_parse(const char *xml, size_t size, DomainDevices *ret) {
        _cleanup_(xml_free_docp) xmlDoc *doc = NULL;
        DomainDevices d = {};
        const xmlNode *root, *devices;
        int r;

        if (size > INT_MAX)
                return -EBADMSG;
        /* No network, no entities: the text comes from libvirt, but a parser is never trusted more
         * than it must be. */
        doc = xmlReadMemory(xml, (int) size, "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return -EBADMSG;
        root = xmlDocGetRootElement(doc);
        if (!root || !node_is(root, "domain"))
                return -EBADMSG;
        devices = child(root, "devices");

        r = rows_parse(devices, "disk", disk_row, &d.disks, &d.n_disks);
        if (r < 0)
                return r;
        r = rows_parse(devices, "interface", interface_row, &d.interfaces, &d.n_interfaces);
        if (r >= 0)
                r = graphics_parse(devices, &d.graphics, &d.n_graphics);
        if (r < 0) {
                domain_devices_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}
