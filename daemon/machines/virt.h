/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt.h — the hypervisor: libvirt connection on the event loop, reconnects, machines and their events */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "machines/define.h"
#include "machines/domain-xml.h"
#include "util/hashmap.h"
#include "util/macro.h"

typedef struct Virt Virt;
typedef struct Manager Manager;         /* the owner: opaque here, handed back to the ops */

/* What we know of one domain, kept current from libvirt's events. */
typedef struct Machine {
        Virt *virt;
        Manager *manager;       /* the owner's back-pointer, for the D-Bus layer */
        char uuid[VIR_UUID_STRING_BUFLEN];
        char *name;
        char *path;             /* the D-Bus layer's: its object path */
        int state, reason;      /* virDomainState and its reason */
        uint32_t vcpus;
        uint64_t memory_kib, max_memory_kib;
        bool persistent, autostart;
        DomainDevices devices;
        bool seen;              /* resync: still there */
        bool announced;         /* published by DefineMachine: libvirt's own defined event is no news */
} Machine;

/* What the hypervisor says about the host (the node's Hypervisor* properties); all zero while it is
 * not connected. */
typedef struct VirtHost {
        bool connected;         /* and the first listing of the machines is done */
        char *type;
        char *cpu_model;
        uint32_t cpus;
        uint64_t memory_kib;
} VirtHost;

/* How the D-Bus layer hears of changes; all run in the loop's thread. It logs what it hears:
 * virt.c logs at debug only. */
typedef struct VirtOps {
        /* Connected (and synced), or the connection was lost (a reconnect follows by itself; virt.c
         * logs the attempts that fail). */
        void (*connected)(Virt *v, bool connected, Manager *manager);
        void (*machine_new)(Virt *v, Machine *m, Manager *manager);
        void (*machine_event)(Virt *v, Machine *m, const char *event, const char *detail, Manager *manager);
        void (*machine_gone)(Virt *v, Machine *m, Manager *manager);     /* m is freed after it */
        /* A property changed: "State", "Autostart" or "Graphics". */
        void (*machine_changed)(Virt *v, Machine *m, const char *property, Manager *manager);
} VirtOps;

typedef enum MachineAction {
        MACHINE_START,
        MACHINE_SHUTDOWN,
        MACHINE_REBOOT,
        MACHINE_RESET,
        MACHINE_DESTROY,
        MACHINE_SUSPEND,
        MACHINE_RESUME,
        _MACHINE_ACTION_MAX,
        _MACHINE_ACTION_INVALID = -EINVAL,
} MachineAction;

/* The answer to an asynchronous call: r < 0 with message set on failure; result (may be NULL) on
 * success. Runs in the loop's thread. */
typedef void (*VirtReplyFn)(int r, const char *message, const char *result, void *userdata);

/* Sets libvirt up on the loop e (once per process) and starts connecting to uri in the background;
 * the connection comes and goes by itself from then on. */
int virt_new(sd_event *e, const char *uri, const VirtOps *ops, Manager *manager, Virt **ret);
Virt *virt_free(Virt *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(Virt *, virt_free);

bool virt_is_connected(const Virt *v);
/* The machines are known: the first listing after the first connect is done. */
bool virt_is_synced(const Virt *v);
/* User-mode networking can forward ports (libvirt's passt backend is there). */
bool virt_can_forward_ports(const Virt *v);
/* Stays at the same address for the life of v (the node's properties point into it). */
const VirtHost *virt_host(const Virt *v);
Hashmap *virt_machines(const Virt *v);
Machine *virt_machine_find(const Virt *v, const char *uuid_or_name);

/* Run in a worker thread (libvirt calls can take seconds); reply is called exactly once when these
 * return >= 0. -AIM_ENOTCONN while disconnected. */
int virt_machine_action(Virt *v, Machine *m, MachineAction a, VirtReplyFn reply, void *userdata);
int virt_get_capabilities(Virt *v, VirtReplyFn reply, void *userdata);

/* Defines the machine name from a validated and resolved spec (taken over, *spec is emptied): the
 * XML is built in the worker from the hypervisor's capabilities. -AIM_EEXIST when the name or the
 * UUID is taken. The Machine is known before reply runs, whose result is its UUID. */
int virt_define(Virt *v, const char *name, DefineSpec *spec, VirtReplyFn reply, void *userdata);
/* Removes the definition with its managed save, snapshot and checkpoint metadata and NVRAM;
 * -AIM_EBUSY for a running machine unless force (it is destroyed first). */
int virt_machine_undefine(Virt *v, Machine *m, bool force, VirtReplyFn reply, void *userdata);
/* result: the domain's XML (the live one while it runs). */
int virt_machine_get_xml(Virt *v, Machine *m, VirtReplyFn reply, void *userdata);
int virt_machine_set_autostart(Virt *v, Machine *m, bool enabled, VirtReplyFn reply, void *userdata);
/* vcpus and memory_kib (0: unchanged) into the persistent definition, and live where the hypervisor
 * allows it; the Machine's sizes are read again before reply. */
int virt_machine_set_resources(Virt *v, Machine *m, uint32_t vcpus, uint64_t memory_kib, VirtReplyFn reply,
                               void *userdata);

/* libvirt's last error in this thread as a negative errno, and its message (may be NULL). */
int virt_last_error(char **reterr_message);

/* Runs work(conn, data) in a worker thread, holding its own reference on the connection, then
 * done(data) in the loop's thread; if the daemon exits first, abandon(data) instead, in any thread.
 * -AIM_ENOTCONN while disconnected. For calls that live in their own files (addresses.c). */
typedef void (*VirtWorkFn)(virConnectPtr conn, void *data);
int virt_submit(Virt *v, VirtWorkFn work, void (*done)(void *data), void (*abandon)(void *data), void *data);
const char *virt_uri(const Virt *v);
