/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* define.c — a machine from a simple spec: its checks and the domain XML built from it with libxml2
 *
 * Every value of the spec reaches the XML through xmlNewProp() or xmlNewTextChild(), which escape
 * it: a value can only ever be the text of one attribute or element, never add one. The validators
 * keep control characters out too (XML 1.0 cannot carry them). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "machines/define.h"
#include "shared/errors.h"
#include "util/message.h"
#include "util/string-table.h"
#include "util/strv.h"
#include "util/valid.h"

#define DISKS_MAX 26            /* vda … vdz */
#define IDE_DISKS_MAX 4
#define NICS_MAX 16
#define FORWARDS_MAX 64
#define CMDLINE_MAX 4096
#define NETWORK_NAME_MAX 255
#define MEMORY_MIN_KIB 16384ULL
#define MEMORY_DEFAULT_KIB 524288ULL
#define DISPLAY_MAX 99

static const char *const disk_bus_table[_DISK_BUS_MAX] = {
        [DISK_BUS_VIRTIO] = "virtio",
        [DISK_BUS_SATA] = "sata",
        [DISK_BUS_SCSI] = "scsi",
        [DISK_BUS_IDE] = "ide",
};
DEFINE_STRING_TABLE_LOOKUP(disk_bus, DiskBus)

static const char *const disk_cache_table[_DISK_CACHE_MAX] = {
        [DISK_CACHE_NONE] = "none",
        [DISK_CACHE_WRITEBACK] = "writeback",
        [DISK_CACHE_WRITETHROUGH] = "writethrough",
        [DISK_CACHE_DIRECTSYNC] = "directsync",
        [DISK_CACHE_UNSAFE] = "unsafe",
};
DEFINE_STRING_TABLE_LOOKUP(disk_cache, DiskCache)

static const char *const nic_model_table[_NIC_MODEL_MAX] = {
        [NIC_MODEL_VIRTIO] = "virtio",
        [NIC_MODEL_E1000] = "e1000",
        [NIC_MODEL_RTL8139] = "rtl8139",
        [NIC_MODEL_NE2K_PCI] = "ne2k_pci",
};
DEFINE_STRING_TABLE_LOOKUP(nic_model, NicModel)

static const char *const graphics_type_table[_GRAPHICS_MAX] = {
        [GRAPHICS_NONE] = "none",
        [GRAPHICS_VNC] = "vnc",
        [GRAPHICS_SPICE] = "spice",
};
DEFINE_STRING_TABLE_LOOKUP(graphics_type, GraphicsType)

static const char *const vga_model_table[_VGA_MAX] = {
        [VGA_STD] = "std",
        [VGA_CIRRUS] = "cirrus",
        [VGA_QXL] = "qxl",
        [VGA_VIRTIO] = "virtio",
        [VGA_VMVGA] = "vmvga",
        [VGA_NONE] = "none",
};
DEFINE_STRING_TABLE_LOOKUP(vga_model, VgaModel)

/* libvirt's names of the video models, in VgaModel's order ("std" is QEMU's -vga std). */
static const char *const vga_libvirt_table[_VGA_MAX] = {
        [VGA_STD] = "vga",
        [VGA_CIRRUS] = "cirrus",
        [VGA_QXL] = "qxl",
        [VGA_VIRTIO] = "virtio",
        [VGA_VMVGA] = "vmvga",
        [VGA_NONE] = "none",
};

void define_spec_done(DefineSpec *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_disks; i++) {
                DefineDisk *d = &s->disks[i];
                free(d->image);
                free(d->device);
                free(d->bus);
                free(d->cache);
                free(d->path);
        }
        free(s->disks);
        for (size_t i = 0; i < s->n_nics; i++) {
                DefineNic *n = &s->nics[i];
                free(n->bridge);
                free(n->network);
                free(n->model);
                free(n->mac);
                strv_free(n->forwards);
        }
        free(s->nics);
        free(s->uuid);
        free(s->graphics);
        free(s->listen);
        free(s->vga);
        free(s->kernel);
        free(s->initrd);
        free(s->cmdline);
        free(s->kernel_path);
        free(s->initrd_path);
        *s = (DefineSpec) DEFINE_SPEC_INIT;
}

bool machine_name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-") == n;
}

_printf_(2, 3)
static int invalid(char **reterr_message, const char *format, ...) {
        if (reterr_message)
                (void) VA_FORMAT_ALLOC(reterr_message, format);
        return -EINVAL;
}

static bool text_is_clean(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n > max)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static bool uuid_is_valid(const char *s) {
        static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

        if (strlen(s) != sizeof(shape) - 1)
                return false;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
                        return false;
        return true;
}

static int hex_digit(char c) {
        const char *digits = "0123456789abcdef", *p = strchr(digits, c | 0x20);

        return c && p ? (int) (p - digits) : -1;
}

/* xx:xx:xx:xx:xx:xx, not multicast, not all zero. */
static bool mac_is_unicast(const char *s) {
        unsigned any = 0;
        int first = 0;

        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i += 3) {
                int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);

                if (hi < 0 || lo < 0 || (i < 15 && s[i + 2] != ':'))
                        return false;
                if (i == 0)
                        first = hi * 16 + lo;
                any |= (unsigned) (hi * 16 + lo);
        }
        return (first & 1) == 0 && any != 0;
}

static bool port_parse(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v == 0 || v > 65535)
                return false;
        *ret = v;
        return true;
}

/* "tcp:HOSTPORT:GUESTPORT" or "udp:…". */
static int forward_parse(const char *s, char ret_proto[static 4], unsigned *ret_host, unsigned *ret_guest) {
        const char *a, *b;

        if (strncmp(s, "tcp:", 4) != 0 && strncmp(s, "udp:", 4) != 0)
                return -EINVAL;
        a = s + 4;
        b = strchr(a, ':');
        if (!b || !port_parse(a, (size_t) (b - a), ret_host) || !port_parse(b + 1, strlen(b + 1), ret_guest))
                return -EINVAL;
        memcpy(ret_proto, s, 3);
        ret_proto[3] = 0;
        return 0;
}

static bool device_path_is_valid(const char *s) {
        return strncmp(s, "/dev/", 5) == 0 && s[5] && relative_path_is_valid(s + 5) && !strstr(s, "/./");
}

static int disk_validate(DefineDisk *d, size_t i, uint32_t *boot_orders, char **reterr_message) {
        if (!!d->image == !!d->device)
                return invalid(reterr_message, "disks[%zu]: exactly one of 'image' and 'device' must be given.", i);
        if (d->image && !image_name_is_valid(d->image))
                return invalid(reterr_message, "disks[%zu].image: not a valid image name ([A-Za-z0-9._+-], not starting with '.').", i);
        if (d->device && !device_path_is_valid(d->device))
                return invalid(reterr_message, "disks[%zu].device: must be an absolute path under /dev without '..'.", i);
        if (d->bus && disk_bus_from_string(d->bus) < 0)
                return invalid(reterr_message, "disks[%zu].bus: must be virtio, sata, scsi or ide.", i);
        if (d->cache && disk_cache_from_string(d->cache) < 0)
                return invalid(reterr_message, "disks[%zu].cache: must be none, writeback, writethrough, directsync or unsafe.", i);
        if (d->readonly && d->snapshot)
                return invalid(reterr_message, "disks[%zu].snapshot: a readonly disk has no writes to discard.", i);
        if (d->boot_order > 0) {
                if (d->boot_order > DISKS_MAX)
                        return invalid(reterr_message, "disks[%zu].boot_order: must be 1..%u.", i, DISKS_MAX);
                if (boot_orders[d->boot_order - 1])
                        return invalid(reterr_message, "disks[%zu].boot_order: %" PRIu32 " is given twice.", i, d->boot_order);
                boot_orders[d->boot_order - 1] = 1;
        }
        return 0;
}

static int nic_validate(const DefineNic *n, size_t i, const DefineLimits *limits, char **reterr_message) {
        if ((!!n->bridge + !!n->network + n->user) != 1)
                return invalid(reterr_message, "nics[%zu]: exactly one of 'bridge', 'network' and 'user' must be given.", i);
        if (n->bridge && !ifname_is_valid(n->bridge))
                return invalid(reterr_message, "nics[%zu].bridge: not a valid interface name.", i);
        if (n->network && (!n->network[0] || strchr(n->network, '/') || !text_is_clean(n->network, NETWORK_NAME_MAX)))
                return invalid(reterr_message, "nics[%zu].network: not a valid network name.", i);
        if (n->model && nic_model_from_string(n->model) < 0)
                return invalid(reterr_message, "nics[%zu].model: must be virtio, e1000, rtl8139 or ne2k_pci.", i);
        if (n->mac && !mac_is_unicast(n->mac))
                return invalid(reterr_message, "nics[%zu].mac: must be a unicast MAC address (xx:xx:xx:xx:xx:xx).", i);
        if (n->forwards && !n->user)
                return invalid(reterr_message, "nics[%zu].forwards: only user-mode networking forwards ports.", i);
        if (strv_length(n->forwards) > FORWARDS_MAX)
                return invalid(reterr_message, "nics[%zu].forwards: at most %u.", i, FORWARDS_MAX);
        for (size_t k = 0; n->forwards && n->forwards[k]; k++) {
                char proto[4];
                unsigned h, g;

                if (forward_parse(n->forwards[k], proto, &h, &g) < 0)
                        return invalid(reterr_message, "nics[%zu].forwards[%zu]: must be tcp:HOSTPORT:GUESTPORT or udp:HOSTPORT:GUESTPORT (ports 1..65535).", i, k);
        }
        if (n->forwards && n->forwards[0] && !limits->forwards) {
                if (reterr_message)
                        (void) asprintf(reterr_message, "nics[%zu].forwards: this hypervisor cannot forward ports of user-mode networking (libvirt's passt backend is missing).", i);
                return -AIM_EUNSUPP;
        }
        return 0;
}

static int graphics_validate(DefineSpec *s, char **reterr_message) {
        unsigned char addr[16];
        GraphicsType g = GRAPHICS_NONE;

        if (s->graphics) {
                g = graphics_type_from_string(s->graphics);
                if (g < 0)
                        return invalid(reterr_message, "graphics: must be none, vnc or spice.");
        }
        if (s->listen && (inet_pton(AF_INET, s->listen, addr) != 1 && inet_pton(AF_INET6, s->listen, addr) != 1))
                return invalid(reterr_message, "listen: must be an IPv4 or IPv6 address.");
        if (s->display < -1 || s->display > DISPLAY_MAX)
                return invalid(reterr_message, "display: must be 0..%d, or -1 (chosen at start).", DISPLAY_MAX);
        if (g == GRAPHICS_NONE && (s->listen || s->display >= 0))
                return invalid(reterr_message, "%s: needs graphics vnc or spice.", s->listen ? "listen" : "display");
        if (s->vga && vga_model_from_string(s->vga) < 0)
                return invalid(reterr_message, "vga: must be std, cirrus, qxl, virtio, vmvga or none.");
        return 0;
}

int define_spec_validate(DefineSpec *s, const DefineLimits *limits, char **reterr_message) {
        uint32_t boot_orders[DISKS_MAX] = {};
        size_t ide = 0;
        int r;

        assert_return(s, -EINVAL);
        assert_return(limits, -EINVAL);

        if (s->uuid && !uuid_is_valid(s->uuid))
                return invalid(reterr_message, "uuid: must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).");
        if (s->vcpus == 0)
                s->vcpus = 1;
        if ((uint64_t) s->vcpus > (uint64_t) limits->cpus * 4)
                return invalid(reterr_message, "vcpus: must be 1..%" PRIu64 " (the host's CPUs × 4).", (uint64_t) limits->cpus * 4);
        if (s->memory_kib == 0)
                s->memory_kib = MIN(MEMORY_DEFAULT_KIB, limits->memory_kib);
        if (s->memory_kib < MEMORY_MIN_KIB || s->memory_kib > limits->memory_kib)
                return invalid(reterr_message, "memory_kib: must be %llu..%" PRIu64 " (the host's memory).",
                               MEMORY_MIN_KIB, limits->memory_kib);
        if (s->max_memory_kib == 0)
                s->max_memory_kib = s->memory_kib;
        if (s->max_memory_kib < s->memory_kib)
                return invalid(reterr_message, "max_memory_kib: must be at least memory_kib (%" PRIu64 ").", s->memory_kib);

        if (s->n_disks > DISKS_MAX)
                return invalid(reterr_message, "disks: at most %u.", DISKS_MAX);
        for (size_t i = 0; i < s->n_disks; i++) {
                r = disk_validate(&s->disks[i], i, boot_orders, reterr_message);
                if (r < 0)
                        return r;
                if (s->disks[i].bus && disk_bus_from_string(s->disks[i].bus) == DISK_BUS_IDE && ++ide > IDE_DISKS_MAX)
                        return invalid(reterr_message, "disks[%zu].bus: at most %u ide disks.", i, IDE_DISKS_MAX);
        }
        if (s->n_nics > NICS_MAX)
                return invalid(reterr_message, "nics: at most %u.", NICS_MAX);
        for (size_t i = 0; i < s->n_nics; i++) {
                r = nic_validate(&s->nics[i], i, limits, reterr_message);
                if (r < 0)
                        return r;
        }
        r = graphics_validate(s, reterr_message);
        if (r < 0)
                return r;

        if (s->kernel && !image_name_is_valid(s->kernel))
                return invalid(reterr_message, "kernel: not a valid image name.");
        if (s->initrd && !image_name_is_valid(s->initrd))
                return invalid(reterr_message, "initrd: not a valid image name.");
        if (!s->kernel && (s->initrd || s->cmdline))
                return invalid(reterr_message, "%s: needs a kernel.", s->initrd ? "initrd" : "cmdline");
        if (s->cmdline && !text_is_clean(s->cmdline, CMDLINE_MAX))
                return invalid(reterr_message, "cmdline: at most %u bytes, no control characters.", CMDLINE_MAX);
        return 0;
}

/* "disks[1].image" or "kernel" in the resolver's messages comes from the caller's key. */
static int resolve_image(const DefineResolver *resolver, void *userdata, const char *key, const char *name,
                         char **ret_path, const char **ret_format, char **reterr_message) {
        _cleanup_free_ char *why = NULL;
        int r;

        r = resolver->image(name, userdata, ret_path, ret_format, &why);
        if (r < 0 && reterr_message)
                (void) asprintf(reterr_message, "%s: %s", key, why ?: strerror(-r));
        return r;
}

int define_spec_resolve(DefineSpec *s, const DefineResolver *resolver, void *userdata, char **reterr_message) {
        char key[64];
        int r;

        assert_return(s, -EINVAL);
        assert_return(resolver, -EINVAL);

        /* What an earlier call found goes: this one looks again. */
        for (size_t i = 0; i < s->n_disks; i++) {
                free(s->disks[i].path);
                s->disks[i].path = NULL;
        }
        free(s->kernel_path);
        free(s->initrd_path);
        s->kernel_path = s->initrd_path = NULL;

        for (size_t i = 0; i < s->n_disks; i++) {
                DefineDisk *d = &s->disks[i];
                _cleanup_free_ char *why = NULL;

                if (d->image) {
                        snprintf(key, sizeof(key), "disks[%zu].image", i);
                        r = resolve_image(resolver, userdata, key, d->image, &d->path, &d->format, reterr_message);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = resolver->device(d->device, userdata, &why);
                if (r < 0) {
                        if (reterr_message)
                                (void) asprintf(reterr_message, "disks[%zu].device: %s", i, why ?: strerror(-r));
                        return r;
                }
                d->path = strdup(d->device);
                if (!d->path)
                        return -ENOMEM;
                d->format = "raw";
        }
        for (size_t i = 0; i < s->n_nics; i++) {
                _cleanup_free_ char *why = NULL;

                if (!s->nics[i].bridge)
                        continue;
                r = resolver->bridge(s->nics[i].bridge, userdata, &why);
                if (r < 0) {
                        if (reterr_message)
                                (void) asprintf(reterr_message, "nics[%zu].bridge: %s", i, why ?: strerror(-r));
                        return r;
                }
        }
        if (s->kernel) {
                const char *format;

                r = resolve_image(resolver, userdata, "kernel", s->kernel, &s->kernel_path, &format, reterr_message);
                if (r < 0)
                        return r;
        }
        if (s->initrd) {
                const char *format;

                r = resolve_image(resolver, userdata, "initrd", s->initrd, &s->initrd_path, &format, reterr_message);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- the hypervisor's capabilities ----------------------------------------------------------- */

static inline void xml_free_docp(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}

static inline void xml_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}

static bool node_is(const xmlNode *n, const char *name) {
        return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, (const xmlChar *) name);
}

static xmlNode *child(const xmlNode *n, const char *name) {
        for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
                if (node_is(c, name))
                        return c;
        return NULL;
}

static bool text_is(const xmlNode *n, const char *s) {
        _cleanup_(xml_freep) xmlChar *t = n ? xmlNodeGetContent(n) : NULL;

        return t && xmlStrEqual(t, (const xmlChar *) s);
}

/* What the domain XML needs from the capabilities. */
typedef struct Guest {
        xmlChar *arch, *emulator, *machine, *domain_type;
} Guest;

static void guest_done(Guest *g) {
        xmlFree(g->arch);
        xmlFree(g->emulator);
        xmlFree(g->machine);
        xmlFree(g->domain_type);
}

static const xmlNode *guest_pick(const xmlNode *root) {
        const xmlNode *host = child(child(child(root, "host"), "cpu"), "arch");
        _cleanup_(xml_freep) xmlChar *host_arch = host ? xmlNodeGetContent(host) : NULL;
        const xmlNode *first = NULL;

        for (const xmlNode *g = root->children; g; g = g->next) {
                _cleanup_(xml_freep) xmlChar *arch = NULL;

                if (!node_is(g, "guest") || !text_is(child(g, "os_type"), "hvm") || !child(g, "arch"))
                        continue;
                arch = xmlGetProp(child(g, "arch"), (const xmlChar *) "name");
                if (arch && host_arch && xmlStrEqual(arch, host_arch))
                        return g;
                if (!first)
                        first = g;
        }
        return first;
}

static int capabilities_parse(const char *capabilities, Guest *ret) {
        _cleanup_(xml_free_docp) xmlDoc *doc = NULL;
        const xmlNode *root, *guest, *arch, *machine = NULL, *domain = NULL;
        size_t n = strlen(capabilities);

        if (n > INT_MAX)
                return -EBADMSG;
        doc = xmlReadMemory(capabilities, (int) n, "capabilities.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (!root || !node_is(root, "capabilities"))
                return -EBADMSG;
        guest = guest_pick(root);
        if (!guest)
                return -AIM_EUNSUPP;
        arch = child(guest, "arch");
        /* An alias ("pc", "q35") carries its versioned name as canonical: prefer it, the
         * hypervisor pins the version at define time. */
        for (const xmlNode *c = arch->children; c; c = c->next) {
                if (node_is(c, "machine") && (!machine || (xmlHasProp(c, (const xmlChar *) "canonical") &&
                                                           !xmlHasProp(machine, (const xmlChar *) "canonical"))))
                        machine = c;
                if (node_is(c, "domain")) {
                        _cleanup_(xml_freep) xmlChar *t = xmlGetProp(c, (const xmlChar *) "type");
                        if (!domain || (t && xmlStrEqual(t, (const xmlChar *) "kvm")))
                                domain = c;
                }
        }
        if (!domain)
                return -AIM_EUNSUPP;
        *ret = (Guest) {
                .arch = xmlGetProp(arch, (const xmlChar *) "name"),
                .emulator = child(arch, "emulator") ? xmlNodeGetContent(child(arch, "emulator")) : NULL,
                .machine = machine ? xmlNodeGetContent(machine) : NULL,
                .domain_type = xmlGetProp(domain, (const xmlChar *) "type"),
        };
        if (!ret->arch || !ret->domain_type) {
                guest_done(ret);
                return -EBADMSG;
        }
        return 0;
}

/* --- the domain XML -------------------------------------------------------------------------- */

static xmlNode *add(xmlNode *parent, const char *name, const char *text) {
        return xmlNewTextChild(parent, NULL, (const xmlChar *) name, (const xmlChar *) text);
}

static bool set(xmlNode *n, const char *name, const char *value) {
        return n && xmlNewProp(n, (const xmlChar *) name, (const xmlChar *) value);
}

static bool set_uint(xmlNode *n, const char *name, uint64_t v) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return set(n, name, buf);
}

static xmlNode *add_uint(xmlNode *parent, const char *name, uint64_t v) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return add(parent, name, buf);
}

static bool build_os(xmlNode *domain, const DefineSpec *s, const Guest *g) {
        xmlNode *os = add(domain, "os", NULL), *type;

        type = add(os, "type", "hvm");
        if (!set(type, "arch", (const char *) g->arch) || (g->machine && !set(type, "machine", (const char *) g->machine)))
                return false;
        if (s->kernel_path && !add(os, "kernel", s->kernel_path))
                return false;
        if (s->initrd_path && !add(os, "initrd", s->initrd_path))
                return false;
        if (s->cmdline && !add(os, "cmdline", s->cmdline))
                return false;
        return true;
}

static bool build_disk(xmlNode *devices, const DefineDisk *d, size_t i, unsigned *counts, bool qemu, bool any_boot_order) {
        static const char prefixes[_DISK_BUS_MAX][3] = {
                [DISK_BUS_VIRTIO] = "vd", [DISK_BUS_SATA] = "sd", [DISK_BUS_SCSI] = "sd", [DISK_BUS_IDE] = "hd",
        };
        DiskBus bus = d->bus ? disk_bus_from_string(d->bus) : DISK_BUS_VIRTIO;
        DiskCache cache = d->cache ? disk_cache_from_string(d->cache) : DISK_CACHE_NONE;
        /* sata and scsi share the sdX names. */
        unsigned *count = &counts[bus == DISK_BUS_SCSI ? DISK_BUS_SATA : bus];
        char target[16];
        xmlNode *disk, *driver;

        snprintf(target, sizeof(target), "%s%c", prefixes[bus], 'a' + (*count)++);
        disk = add(devices, "disk", NULL);
        if (!set(disk, "type", d->device ? "block" : "file") || !set(disk, "device", "disk"))
                return false;
        driver = add(disk, "driver", NULL);
        if ((qemu && !set(driver, "name", "qemu")) || !set(driver, "type", d->format) ||
            !set(driver, "cache", disk_cache_to_string(cache)))
                return false;
        if (!set(add(disk, "source", NULL), d->device ? "dev" : "file", d->path))
                return false;
        if (!set(add(disk, "target", NULL), "dev", target) || !set(disk->last, "bus", disk_bus_to_string(bus)))
                return false;
        if (d->readonly && !add(disk, "readonly", NULL))
                return false;
        if (d->snapshot && !add(disk, "transient", NULL))
                return false;
        if (d->boot_order > 0 || (!any_boot_order && i == 0))
                return set_uint(add(disk, "boot", NULL), "order", d->boot_order ?: 1);
        return true;
}

static bool build_nic(xmlNode *devices, const DefineNic *n) {
        xmlNode *iface = add(devices, "interface", NULL);

        if (!set(iface, "type", n->bridge ? "bridge" : n->network ? "network" : "user"))
                return false;
        if (n->bridge && !set(add(iface, "source", NULL), "bridge", n->bridge))
                return false;
        if (n->network && !set(add(iface, "source", NULL), "network", n->network))
                return false;
        if (n->mac && !set(add(iface, "mac", NULL), "address", n->mac))
                return false;
        if (!set(add(iface, "model", NULL), "type", n->model ?: "virtio"))
                return false;
        if (n->user && n->forwards && n->forwards[0] && !set(add(iface, "backend", NULL), "type", "passt"))
                return false;
        for (size_t k = 0; n->forwards && n->forwards[k]; k++) {
                char proto[4];
                unsigned h, g;
                xmlNode *pf, *range;

                if (forward_parse(n->forwards[k], proto, &h, &g) < 0)
                        return false;
                pf = add(iface, "portForward", NULL);
                range = add(pf, "range", NULL);
                if (!set(pf, "proto", proto) || !set_uint(range, "start", h) || !set_uint(range, "to", g))
                        return false;
        }
        return true;
}

static bool build_graphics(xmlNode *devices, const DefineSpec *s) {
        GraphicsType g = s->graphics ? graphics_type_from_string(s->graphics) : GRAPHICS_NONE;
        const char *listen = s->listen ?: "127.0.0.1";
        xmlNode *n;

        if (g != GRAPHICS_NONE) {
                n = add(devices, "graphics", NULL);
                if (!set(n, "type", graphics_type_to_string(g)))
                        return false;
                if (s->display >= 0 ? !set_uint(n, "port", 5900 + (uint64_t) s->display) || !set(n, "autoport", "no")
                                    : !set(n, "autoport", "yes"))
                        return false;
                if (!set(n, "listen", listen))
                        return false;
                n = add(n, "listen", NULL);
                if (!set(n, "type", "address") || !set(n, "address", listen))
                        return false;
        }
        if (s->vga) {
                n = add(add(devices, "video", NULL), "model", NULL);
                if (!set(n, "type", vga_libvirt_table[vga_model_from_string(s->vga)]))
                        return false;
        }
        return true;
}

static bool build_domain(xmlNode *domain, const DefineSpec *s, const char *name, const Guest *g) {
        unsigned counts[_DISK_BUS_MAX] = {};
        bool qemu = xmlStrEqual(g->domain_type, (const xmlChar *) "kvm") ||
                    xmlStrEqual(g->domain_type, (const xmlChar *) "qemu");
        bool any_boot_order = false;
        xmlNode *devices;

        if (!set(domain, "type", (const char *) g->domain_type) || !add(domain, "name", name))
                return false;
        if (s->uuid && !add(domain, "uuid", s->uuid))
                return false;
        if (!set(add_uint(domain, "memory", s->max_memory_kib), "unit", "KiB") ||
            !set(add_uint(domain, "currentMemory", s->memory_kib), "unit", "KiB") ||
            !add_uint(domain, "vcpu", s->vcpus))
                return false;
        if (!build_os(domain, s, g))
                return false;
        if (!add(add(domain, "features", NULL), "acpi", NULL))
                return false;
        devices = add(domain, "devices", NULL);
        if (g->emulator && !add(devices, "emulator", (const char *) g->emulator))
                return false;
        for (size_t i = 0; i < s->n_disks; i++)
                any_boot_order = any_boot_order || s->disks[i].boot_order > 0;
        for (size_t i = 0; i < s->n_disks; i++)
                if (!build_disk(devices, &s->disks[i], i, counts, qemu, any_boot_order))
                        return false;
        for (size_t i = 0; i < s->n_nics; i++)
                if (!build_nic(devices, &s->nics[i]))
                        return false;
        return build_graphics(devices, s);
}

int define_build_xml(const DefineSpec *s, const char *name, const char *capabilities, char **ret_xml,
                     char **reterr_message) {
        _cleanup_(xml_free_docp) xmlDoc *doc = NULL;
        _cleanup_(guest_done) Guest g = {};
        xmlNode *domain;
        xmlChar *out = NULL;
        int r, size = 0;

        assert_return(s, -EINVAL);
        assert_return(machine_name_is_valid(name), -EINVAL);
        assert_return(capabilities, -EINVAL);
        assert_return(ret_xml, -EINVAL);

        r = capabilities_parse(capabilities, &g);
        if (r == -AIM_EUNSUPP) {
                if (reterr_message)
                        *reterr_message = strdup("The hypervisor runs no hardware-virtualized (hvm) guests.");
                return r;
        }
        if (r < 0) {
                if (reterr_message)
                        *reterr_message = strdup("The hypervisor's capabilities cannot be read.");
                return r;
        }
        doc = xmlNewDoc((const xmlChar *) "1.0");
        if (!doc)
                return -ENOMEM;
        domain = xmlNewNode(NULL, (const xmlChar *) "domain");
        if (!domain)
                return -ENOMEM;
        xmlDocSetRootElement(doc, domain);
        if (!build_domain(domain, s, name, &g))
                return -ENOMEM;
        xmlDocDumpFormatMemoryEnc(doc, &out, &size, "UTF-8", 1);
        if (!out)
                return -ENOMEM;
        *ret_xml = strndup((const char *) out, (size_t) size);
        xmlFree(out);
        return *ret_xml ? 0 : -ENOMEM;
}
