/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* define.h — a machine from a simple spec: its checks and the domain XML built from it with libxml2 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"
#include "util/string-table.h"

typedef enum DiskBus {
        DISK_BUS_VIRTIO,
        DISK_BUS_SATA,
        DISK_BUS_SCSI,
        DISK_BUS_IDE,
        _DISK_BUS_MAX,
        _DISK_BUS_INVALID = -EINVAL,
} DiskBus;

typedef enum DiskCache {
        DISK_CACHE_NONE,
        DISK_CACHE_WRITEBACK,
        DISK_CACHE_WRITETHROUGH,
        DISK_CACHE_DIRECTSYNC,
        DISK_CACHE_UNSAFE,
        _DISK_CACHE_MAX,
        _DISK_CACHE_INVALID = -EINVAL,
} DiskCache;

typedef enum NicModel {
        NIC_MODEL_VIRTIO,
        NIC_MODEL_E1000,
        NIC_MODEL_RTL8139,
        NIC_MODEL_NE2K_PCI,
        _NIC_MODEL_MAX,
        _NIC_MODEL_INVALID = -EINVAL,
} NicModel;

typedef enum GraphicsType {
        GRAPHICS_NONE,
        GRAPHICS_VNC,
        GRAPHICS_SPICE,
        _GRAPHICS_MAX,
        _GRAPHICS_INVALID = -EINVAL,
} GraphicsType;

typedef enum VgaModel {
        VGA_STD,
        VGA_CIRRUS,
        VGA_QXL,
        VGA_VIRTIO,
        VGA_VMVGA,
        VGA_NONE,
        _VGA_MAX,
        _VGA_INVALID = -EINVAL,
} VgaModel;

DECLARE_STRING_TABLE_LOOKUP(disk_bus, DiskBus);
DECLARE_STRING_TABLE_LOOKUP(disk_cache, DiskCache);
DECLARE_STRING_TABLE_LOOKUP(nic_model, NicModel);
DECLARE_STRING_TABLE_LOOKUP(graphics_type, GraphicsType);
DECLARE_STRING_TABLE_LOOKUP(vga_model, VgaModel);

typedef struct DefineDisk {
        char *image;            /* exactly one of image (a datastore image name) and device (/dev/…) */
        char *device;
        char *bus, *cache;      /* as asked; NULL: the defaults */
        bool readonly, snapshot;
        uint32_t boot_order;    /* 0: none asked */

        char *path;             /* resolved: the file or device the hypervisor opens */
        const char *format;     /* resolved: "raw", "qcow2", … (static) */
} DefineDisk;

typedef struct DefineNic {
        char *bridge;           /* exactly one of bridge, network and user */
        char *network;
        bool user;
        char *model, *mac;
        char **forwards;        /* user only: "tcp:HOSTPORT:GUESTPORT" or "udp:…" */
} DefineNic;

typedef struct DefineSpec {
        char *uuid;
        uint32_t vcpus;         /* 0: the default */
        uint64_t memory_kib, max_memory_kib;
        bool autostart, start;
        DefineDisk *disks;
        size_t n_disks;
        DefineNic *nics;
        size_t n_nics;
        char *graphics, *listen, *vga;
        int32_t display;        /* -1: chosen at start */
        char *kernel, *initrd, *cmdline;

        char *kernel_path, *initrd_path;        /* resolved */
} DefineSpec;

#define DEFINE_SPEC_INIT { .display = -1 }

void define_spec_done(DefineSpec *s);

/* A machine's name: 1..64 bytes of [A-Za-z0-9._+-], not starting with '.' or '-'. */
bool machine_name_is_valid(const char *s);

/* What the host allows (the hypervisor's node info). */
typedef struct DefineLimits {
        uint32_t cpus;
        uint64_t memory_kib;
        bool forwards;          /* user-mode port forwards can be given (libvirt's passt backend) */
} DefineLimits;

/* Checks every key of spec and fills in the defaults. -EINVAL with a message that names the key
 * ("disks[1].bus: …"), -AIM_EUNSUPP for forwards the host cannot do. Touches nothing outside. */
int define_spec_validate(DefineSpec *s, const DefineLimits *limits, char **reterr_message);

/* How the names of a spec are found on this host; each returns -AIM_ENOTFOUND (with a message)
 * when there is no such thing. */
typedef struct DefineResolver {
        /* A datastore image: its path and format from its content. */
        int (*image)(const char *name, void *userdata, char **ret_path, const char **ret_format,
                     char **reterr_message);
        /* A block device under /dev. */
        int (*device)(const char *path, void *userdata, char **reterr_message);
        /* A Linux bridge. */
        int (*bridge)(const char *name, void *userdata, char **reterr_message);
} DefineResolver;

/* Resolves images, devices and bridges of a validated spec; errors name the key as validation does. */
int define_spec_resolve(DefineSpec *s, const DefineResolver *resolver, void *userdata, char **reterr_message);

/* The domain XML of a validated, resolved spec for a host with these capabilities
 * (virConnectGetCapabilities): the hvm guest of the host's arch, its first domain type (kvm
 * preferred), emulator and machine type. -AIM_EUNSUPP when the host runs no hvm guest. */
int define_build_xml(const DefineSpec *s, const char *name, const char *capabilities, char **ret_xml,
                     char **reterr_message);
