/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt.c — the hypervisor: libvirt connection on the event loop, reconnects, machines and their events
 *
 * Threads: libvirt's events are dispatched by the daemon's sd-event loop (virt-event.c) and every
 * Machine is touched only there. Calls that can take long go to a small worker pool: opening the
 * connection (a remote URI may wait for a TCP timeout) and the lifecycle calls (starting a QEMU
 * domain takes seconds). What the loop itself asks libvirt — the state of one domain after its
 * event, a resync after a (re)connect — are short RPCs to a daemon that has just answered us; the
 * keepalive set on the connection turns a hung peer into a lost connection. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "shared/errors.h"
#include "shared/log.h"
#include "machines/define.h"
#include "machines/virt-event.h"
#include "machines/virt-names.h"
#include "machines/virt.h"
#include "machines/thread-pool.h"

#define RECONNECT_BASE_USEC (250 * 1000ULL)
#define RECONNECT_CAP_USEC (8 * 1000 * 1000ULL)
#define KEEPALIVE_INTERVAL_S 5
#define KEEPALIVE_COUNT 3
#define WORKERS_MAX 4
/* libvirt 9.0 brought <backend type='passt'/>, which forwards ports of user-mode networking; QEMU
 * then runs this binary. */
#define PASST_LIBVIRT_VERSION 9000000UL
#define PASST_PATH "/usr/bin/passt"

enum {
        CALLBACK_LIFECYCLE,
        CALLBACK_REBOOT,
        CALLBACK_DEVICE_ADDED,
        CALLBACK_DEVICE_REMOVED,
        _CALLBACK_MAX,
};

struct Virt {
        sd_event *event;
        char *uri;
        const VirtOps *ops;
        Manager *manager;
        WorkerPool *workers;

        virConnectPtr conn;
        int callback_ids[_CALLBACK_MAX];
        bool close_registered;
        bool connecting;
        bool synced_once;
        unsigned attempt;
        sd_event_source *reconnect_source;
        int lost_fd;            /* the close callback may run in any thread: it writes here */
        sd_event_source *lost_source;

        VirtHost host;
        bool can_forward;       /* libvirt has the passt backend of user-mode networking */
        char *capabilities;     /* of this connection, once a definition needed them */
        Hashmap *machines;      /* uuid → Machine */
};

/* libvirt prints every error to stderr unless told otherwise; ours are reported where handled. */
static void error_silence(void *userdata, virErrorPtr e) {
        log_debug("libvirt: %s", e && e->message ? e->message : "unknown error");
}

/* libvirt's last error in this thread as a negative errno, and its message. */
int virt_last_error(char **reterr_message) {
        virErrorPtr e = virGetLastError();
        int r;

        if (!e)
                return -EIO;
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN:
                r = -AIM_ENOTFOUND;
                break;
        case VIR_ERR_OPERATION_INVALID:
                r = -AIM_ECONFLICT;     /* e.g. "domain is already running" */
                break;
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_OPERATION_UNSUPPORTED:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
                r = -AIM_EUNSUPP;
                break;
        case VIR_ERR_NO_CONNECT:
        case VIR_ERR_INVALID_CONN:
        case VIR_ERR_RPC:
        case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_AUTH_UNAVAILABLE:
                r = -AIM_ENOTCONN;
                break;
        case VIR_ERR_SYSTEM_ERROR:
                r = e->int1 > 0 ? -e->int1 : -EIO;
                break;
        case VIR_ERR_OPERATION_TIMEOUT:
        case VIR_ERR_AGENT_UNRESPONSIVE:
                r = -ETIMEDOUT;
                break;
        case VIR_ERR_OPERATION_DENIED:
        case VIR_ERR_ACCESS_DENIED:
                r = -EACCES;
                break;
        case VIR_ERR_NO_MEMORY:
                r = -ENOMEM;
                break;
        default:
                r = -EIO;
        }
        if (reterr_message)
                *reterr_message = e->message ? strdup(e->message) : NULL;
        virResetLastError();
        return r;
}

/* --- machines -------------------------------------------------------------------------------- */

static Machine *machine_free(Machine *m) {
        if (!m)
                return NULL;
        free(m->name);
        free(m->path);
        domain_devices_done(&m->devices);
        free(m);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Machine *, machine_free);

static int machine_new(Virt *v, virDomainPtr dom, Machine **ret) {
        _cleanup_(machine_freep) Machine *m = NULL;
        const char *name;

        m = calloc(1, sizeof(Machine));
        if (!m)
                return -ENOMEM;
        m->virt = v;
        m->manager = v->manager;
        m->state = VIR_DOMAIN_NOSTATE;
        if (virDomainGetUUIDString(dom, m->uuid) < 0)
                return virt_last_error(NULL);
        name = virDomainGetName(dom);   /* held by the handle: no RPC */
        m->name = strdup(name ?: "");
        if (!m->name)
                return -ENOMEM;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Reads sizes, the state when asked and, when full, the configuration (persistent, autostart,
 * devices). Returns -AIM_ENOTFOUND when the domain is gone (a transient one after it stopped, or
 * undefined), 1 when what Graphics shows changed, else 0. */
static int machine_refresh(Machine *m, virDomainPtr dom, bool state, bool full) {
        virDomainInfo info;
        const char *name;
        int r;

        if (state && virDomainGetState(dom, &m->state, &m->reason, 0) < 0)
                return virt_last_error(NULL);
        if (virDomainGetInfo(dom, &info) < 0)
                return virt_last_error(NULL);
        m->vcpus = info.nrVirtCpu;
        m->memory_kib = info.memory;
        m->max_memory_kib = info.maxMem;
        if (!full)
                return 0;

        name = virDomainGetName(dom);
        if (name && !streq(name, m->name)) {
                char *n = strdup(name);
                if (!n)
                        return -ENOMEM;
                free(m->name);
                m->name = n;
        }
        r = virDomainIsPersistent(dom);
        if (r < 0)
                return virt_last_error(NULL);
        m->persistent = r > 0;
        if (virDomainGetAutostart(dom, &r) < 0)
                return virt_last_error(NULL);
        m->autostart = r != 0;

        _cleanup_free_ char *xml = virDomainGetXMLDesc(dom, 0);
        DomainDevices devices;
        if (!xml)
                return virt_last_error(NULL);
        r = domain_devices_parse(xml, strlen(xml), &devices);
        if (r < 0)
                return r;
        r = !domain_graphics_equal(&m->devices, &devices);
        domain_devices_done(&m->devices);
        m->devices = devices;
        return r;
}

static int machine_publish(Virt *v, Machine *m) {
        int r;

        r = hashmap_put(v->machines, m->uuid, m);
        if (r < 0)
                return r;
        v->ops->machine_new(v, m, v->manager);
        return 0;
}

static void machine_drop(Virt *v, Machine *m) {
        hashmap_remove(v->machines, m->uuid);
        v->ops->machine_gone(v, m, v->manager);
        machine_free(m);
}

static void machine_emit(Virt *v, Machine *m, const char *event, const char *detail, int old_state) {
        log_debug("Machine %s (%s): %s/%s", m->name, m->uuid, event, detail);
        v->ops->machine_event(v, m, event, detail, v->manager);
        if (m->state != old_state)
                v->ops->machine_changed(v, m, "State", v->manager);
}

/* A domain libvirt told us about: updates, creates or drops its Machine and emits what happened. */
static void domain_changed(Virt *v, virDomainPtr dom, int event, int detail) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        const char *event_name, *detail_name;
        Machine *m;
        bool known, gone, graphics;
        int old_state, implied, r;

        if (virDomainGetUUIDString(dom, uuid) < 0) {
                (void) virt_last_error(NULL);
                return;
        }
        m = hashmap_get(v->machines, uuid);
        known = m;
        if (!m) {
                r = machine_new(v, dom, &m);
                if (r < 0 || !m) {
                        log_debug_errno(r, "Failed to track domain %s: %m", uuid);
                        return;
                }
        }
        if (known && m->announced && event == VIR_DOMAIN_EVENT_DEFINED) {
                /* DefineMachine read it all a moment ago and said so: no news, nothing to read. */
                m->announced = false;
                return;
        }
        old_state = m->state;
        /* A new domain or a new definition: read everything. The state is the one the event leads
         * to, not libvirt's current one: when events queue up (two calls in quick succession), each
         * PropertiesChanged still matches its MachineEvent, in order. */
        implied = machine_state_after_event(event);
        /* Starting and stopping choose and release the graphics port. */
        r = machine_refresh(m, dom, !known || implied < 0,
                            !known || event == VIR_DOMAIN_EVENT_DEFINED || event == VIR_DOMAIN_EVENT_STARTED ||
                            event == VIR_DOMAIN_EVENT_STOPPED);
        graphics = known && r > 0;
        gone = r == -AIM_ENOTFOUND;
        if (gone)
                m->state = event == VIR_DOMAIN_EVENT_UNDEFINED ? old_state : VIR_DOMAIN_SHUTOFF;
        else if (r < 0)
                log_debug_errno(r, "Failed to read domain %s, keeping what we knew: %m", uuid);
        if (!gone && implied >= 0)
                m->state = implied;

        if (!known && !gone && machine_publish(v, m) < 0) {
                log_debug("Failed to track domain %s", uuid);
                machine_free(m);
                return;
        }

        event_name = machine_event_to_string(event);
        detail_name = machine_event_detail_to_string(event, detail);
        if (event_name)
                machine_emit(v, m, event_name, detail_name, known ? old_state : m->state);
        if (graphics && !gone)
                v->ops->machine_changed(v, m, "Graphics", v->manager);

        if (gone) {
                if (known)
                        machine_drop(v, m);
                else
                        machine_free(m);
        }
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        domain_changed(opaque, dom, event, detail);
        return 0;
}

/* Events that are not lifecycle events but change what the object shows: no MachineEvent. */
static void refresh_quietly(Virt *v, virDomainPtr dom, bool full) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        Machine *m;
        int old_state;

        if (virDomainGetUUIDString(dom, uuid) < 0)
                return (void) virt_last_error(NULL);
        m = hashmap_get(v->machines, uuid);
        if (!m)
                return;
        old_state = m->state;
        if (machine_refresh(m, dom, true, full) >= 0 && m->state != old_state)
                v->ops->machine_changed(v, m, "State", v->manager);
}

static void reboot_cb(virConnectPtr conn, virDomainPtr dom, void *opaque) {
        refresh_quietly(opaque, dom, false);
}

static void device_cb(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        refresh_quietly(opaque, dom, true);
}

/* After a (re)connect: brings every Machine in line with libvirt. After the first sync the
 * differences are what happened while we were not listening: each is emitted as the event that
 * leads there, with the state's reason as its detail. */
static int virt_resync(Virt *v) {
        virDomainPtr *doms = NULL;
        Machine *m;
        int n, r;

        n = virConnectListAllDomains(v->conn, &doms, 0);
        if (n < 0)
                return virt_last_error(NULL);

        HASHMAP_FOREACH(m, v->machines)
                m->seen = false;

        for (int i = 0; i < n; i++) {
                char uuid[VIR_UUID_STRING_BUFLEN];
                const char *event, *detail;
                int old_state;
                bool known;

                if (virDomainGetUUIDString(doms[i], uuid) < 0) {
                        (void) virt_last_error(NULL);
                        continue;
                }
                m = hashmap_get(v->machines, uuid);
                known = m;
                if (!m && (machine_new(v, doms[i], &m) < 0 || !m))
                        continue;
                m->seen = true;
                old_state = m->state;
                r = machine_refresh(m, doms[i], true, true);
                if (r < 0) {
                        /* Gone between the listing and now: the next resync or its event says so. */
                        log_debug_errno(r, "Failed to read domain %s: %m", uuid);
                        if (!known)
                                machine_free(m);
                        continue;
                }
                if (!known) {
                        if (machine_publish(v, m) < 0) {
                                machine_free(m);
                                continue;
                        }
                        if (v->synced_once)
                                machine_emit(v, m, "defined", "added", m->state);
                        old_state = VIR_DOMAIN_SHUTOFF;
                        if (!v->synced_once)
                                continue;
                }
                if (m->state != old_state && machine_event_for_state(m->state, m->reason, &event, &detail) >= 0)
                        machine_emit(v, m, event, detail, old_state);
                else if (m->state != old_state)
                        v->ops->machine_changed(v, m, "State", v->manager);
        }
        for (int i = 0; i < n; i++)
                virDomainFree(doms[i]);
        free(doms);

        HASHMAP_FOREACH(m, v->machines)
                if (!m->seen) {
                        machine_emit(v, m, "undefined", "removed", m->state);
                        machine_drop(v, m);
                }
        v->synced_once = true;
        /* A resync parses every domain's XML: hand the scratch memory back rather than keep it. */
        (void) malloc_trim(0);
        return 0;
}

/* --- the connection -------------------------------------------------------------------------- */

static void virt_host_done(VirtHost *h) {
        free(h->type);
        free(h->cpu_model);
        *h = (VirtHost) {};
}

static int virt_read_host(Virt *v) {
        unsigned long version;
        virNodeInfo info;
        const char *type;

        type = virConnectGetType(v->conn);
        if (!type || virNodeGetInfo(v->conn, &info) < 0)
                return virt_last_error(NULL);
        virt_host_done(&v->host);
        v->host.type = strdup(type);
        v->host.cpu_model = strndup(info.model, sizeof(info.model));
        if (!v->host.type || !v->host.cpu_model)
                return -ENOMEM;
        v->host.cpus = info.cpus;
        v->host.memory_kib = info.memory;
        v->can_forward = virConnectGetLibVersion(v->conn, &version) >= 0 && version >= PASST_LIBVIRT_VERSION &&
                         (!streq(type, "QEMU") || access(PASST_PATH, X_OK) >= 0);
        virResetLastError();
        return 0;
}

static void close_cb(virConnectPtr conn, int reason, void *opaque) {
        Virt *v = opaque;
        uint64_t one = 1;

        /* Any thread (whichever noticed the socket die): only wake the loop. */
        (void) !write(v->lost_fd, &one, sizeof(one));
}

/* Closes the connection (ours: jobs still running hold their own references) after taking our
 * callbacks off it, so that none runs into a Virt that no longer listens. */
static void virt_close(Virt *v) {
        for (size_t i = 0; i < _CALLBACK_MAX; i++)
                if (v->callback_ids[i] >= 0) {
                        /* Fails on a dead connection; the callbacks die with it anyway. */
                        if (virConnectDomainEventDeregisterAny(v->conn, v->callback_ids[i]) < 0)
                                (void) virt_last_error(NULL);
                        v->callback_ids[i] = -1;
                }
        if (v->close_registered) {
                /* After this returns libvirt runs close_cb no more. */
                if (virConnectUnregisterCloseCallback(v->conn, close_cb) < 0)
                        (void) virt_last_error(NULL);
                v->close_registered = false;
        }
        virConnectClose(v->conn);
        v->conn = NULL;
        /* A reconnect may reach another hypervisor (an upgraded one): ask again. */
        free(v->capabilities);
        v->capabilities = NULL;
}

static void virt_disconnect(Virt *v) {
        if (!v->conn)
                return;
        virt_close(v);
        virt_host_done(&v->host);
        v->ops->connected(v, false, v->manager);
}

static int reconnect_fire(sd_event_source *s, uint64_t usec, void *userdata);

static void virt_schedule_reconnect(Virt *v) {
        uint64_t delay = reconnect_backoff_usec(v->attempt++, RECONNECT_BASE_USEC, RECONNECT_CAP_USEC);
        int r;

        v->reconnect_source = sd_event_source_disable_unref(v->reconnect_source);
        r = sd_event_add_time_relative(v->event, &v->reconnect_source, CLOCK_MONOTONIC, delay, 0,
                                       reconnect_fire, v);
        if (r < 0)
                log_error_errno(r, "Failed to schedule a reconnect to %s, staying disconnected: %m", v->uri);
}

/* An attempt to connect failed; virt_schedule_reconnect() makes the next. Said once at warning
 * level; every retry after that only at debug, until a connection succeeds. message may be NULL. */
static void virt_connect_failed(Virt *v, int error, const char *message) {
        int level = v->attempt == 0 ? LOG_WARNING : LOG_DEBUG;

        if (message)
                log_full_errno(level, error, "Failed to connect to %s, retrying: %s", v->uri, message);
        else
                log_full_errno(level, error, "Failed to connect to %s, retrying: %m", v->uri);
}

static int virt_setup(Virt *v) {
        static const struct {
                int id;
                virConnectDomainEventGenericCallback cb;
        } callbacks[_CALLBACK_MAX] = {
                [CALLBACK_LIFECYCLE] = { VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb) },
                [CALLBACK_REBOOT] = { VIR_DOMAIN_EVENT_ID_REBOOT, VIR_DOMAIN_EVENT_CALLBACK(reboot_cb) },
                [CALLBACK_DEVICE_ADDED] = { VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(device_cb) },
                [CALLBACK_DEVICE_REMOVED] = { VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(device_cb) },
        };
        int r;

        if (virConnectRegisterCloseCallback(v->conn, close_cb, v, NULL) < 0)
                (void) virt_last_error(NULL);   /* drivers without a close (test://) never lose it */
        else
                v->close_registered = true;
        /* Remote only; the local drivers have nothing to keep alive and say so. */
        if (virConnectSetKeepAlive(v->conn, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) < 0)
                (void) virt_last_error(NULL);

        /* Callbacks first, then the listing: a change in between is seen twice, never missed. */
        for (size_t i = 0; i < _CALLBACK_MAX; i++) {
                v->callback_ids[i] = virConnectDomainEventRegisterAny(v->conn, NULL, callbacks[i].id,
                                                                      callbacks[i].cb, v, NULL);
                if (v->callback_ids[i] < 0)
                        return virt_last_error(NULL);
        }
        r = virt_read_host(v);
        if (r < 0)
                return r;
        return virt_resync(v);
}

typedef struct ConnectJob {
        Virt *v;
        char *uri;
        virConnectPtr conn;
        int r;
        char *message;
} ConnectJob;

static void connect_job_free(ConnectJob *j) {
        if (j->conn)
                virConnectClose(j->conn);
        free(j->uri);
        free(j->message);
        free(j);
}

static void connect_work(void *data) {
        ConnectJob *j = data;

        j->conn = virConnectOpen(j->uri);
        j->r = j->conn ? 0 : virt_last_error(&j->message);
}

static void connect_abandon(void *data) {
        connect_job_free(data);
}

static void connect_done(void *data) {
        ConnectJob *j = data;
        Virt *v = j->v;
        int r;

        v->connecting = false;
        if (j->r < 0) {
                virt_connect_failed(v, j->r, j->message);
                connect_job_free(j);
                virt_schedule_reconnect(v);
                return;
        }
        v->conn = TAKE_PTR(j->conn);
        connect_job_free(j);

        r = virt_setup(v);
        if (r < 0) {
                virt_connect_failed(v, r, "the connection could not be set up");
                virt_close(v);
                virt_host_done(&v->host);
                virt_schedule_reconnect(v);
                return;
        }
        v->host.connected = true;
        v->attempt = 0;
        v->ops->connected(v, true, v->manager);
}

static int virt_connect(Virt *v) {
        ConnectJob *j;
        int r;

        j = calloc(1, sizeof(ConnectJob));
        if (!j)
                return -ENOMEM;
        j->v = v;
        j->uri = strdup(v->uri);
        if (!j->uri) {
                free(j);
                return -ENOMEM;
        }
        r = worker_pool_submit(v->workers, connect_work, connect_done, connect_abandon, j);
        if (r < 0) {
                connect_job_free(j);
                return r;
        }
        v->connecting = true;
        return 0;
}

static int reconnect_fire(sd_event_source *s, uint64_t usec, void *userdata) {
        Virt *v = userdata;
        int r;

        v->reconnect_source = sd_event_source_disable_unref(v->reconnect_source);
        r = virt_connect(v);
        if (r < 0) {
                virt_connect_failed(v, r, NULL);
                virt_schedule_reconnect(v);
        }
        return 0;
}

static int lost_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Virt *v = userdata;
        uint64_t n;

        (void) read(fd, &n, sizeof(n));
        if (!v->conn || virConnectIsAlive(v->conn) == 1)
                return 0;
        virt_disconnect(v);
        v->attempt = 0;
        virt_schedule_reconnect(v);
        return 0;
}

int virt_new(sd_event *e, const char *uri, const VirtOps *ops, Manager *manager, Virt **ret) {
        _cleanup_(virt_freep) Virt *v = NULL;
        static bool initialized = false;
        int r;

        assert_return(e, -EINVAL);
        assert_return(uri, -EINVAL);
        assert_return(ops, -EINVAL);
        assert_return(ret, -EINVAL);

        if (!initialized) {
                if (virInitialize() < 0)
                        return virt_last_error(NULL);
                virSetErrorFunc(NULL, error_silence);
                /* Before any connection is opened: libvirt binds its event loop at the first open. */
                r = virt_event_register(e);
                if (r < 0)
                        return r;
                initialized = true;
        }

        v = calloc(1, sizeof(Virt));
        if (!v)
                return -ENOMEM;
        v->event = sd_event_ref(e);
        v->ops = ops;
        v->manager = manager;
        v->lost_fd = -EBADF;
        for (size_t i = 0; i < _CALLBACK_MAX; i++)
                v->callback_ids[i] = -1;
        v->uri = strdup(uri);
        v->machines = hashmap_new();
        if (!v->uri || !v->machines)
                return -ENOMEM;
        v->lost_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (v->lost_fd < 0)
                return negative_errno();
        r = sd_event_add_io(e, &v->lost_source, v->lost_fd, EPOLLIN, lost_dispatch, v);
        if (r < 0)
                return r;
        r = worker_pool_new(e, WORKERS_MAX, &v->workers);
        if (r < 0)
                return r;
        r = virt_connect(v);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

Virt *virt_free(Virt *v) {
        Machine *m;

        if (!v)
                return NULL;
        /* First, so that no connect finishes into a half-freed Virt. */
        v->workers = worker_pool_free(v->workers);
        if (v->conn)
                virt_close(v);
        HASHMAP_FOREACH(m, v->machines)
                machine_free(m);
        hashmap_free(v->machines);
        free(v->capabilities);
        virt_host_done(&v->host);
        sd_event_source_disable_unref(v->reconnect_source);
        sd_event_source_disable_unref(v->lost_source);
        safe_close(v->lost_fd);
        sd_event_unref(v->event);
        free(v->uri);
        free(v);
        return NULL;
}

bool virt_is_connected(const Virt *v) {
        return v && v->conn;
}

bool virt_is_synced(const Virt *v) {
        return v && v->synced_once;
}

bool virt_can_forward_ports(const Virt *v) {
        return v && v->conn && v->can_forward;
}

const VirtHost *virt_host(const Virt *v) {
        return &v->host;
}

Hashmap *virt_machines(const Virt *v) {
        return v->machines;
}

Machine *virt_machine_find(const Virt *v, const char *uuid_or_name) {
        Machine *m;

        assert_return(v, NULL);
        assert_return(uuid_or_name, NULL);

        m = hashmap_get(v->machines, uuid_or_name);

        if (m)
                return m;
        HASHMAP_FOREACH(m, v->machines)
                if (streq(m->name, uuid_or_name))
                        return m;
        return NULL;
}

/* --- calls in the workers -------------------------------------------------------------------- */

typedef struct CallJob CallJob;
struct CallJob {
        Virt *v;                /* for post() only: the loop's side */
        virConnectPtr conn;
        char uuid[VIR_UUID_STRING_BUFLEN];
        /* In the worker: d is the domain of uuid (NULL for calls on the connection). Returns < 0
         * with r and message set through virt_last_error(), or sets result. */
        int (*work)(CallJob *j, virDomainPtr d);
        /* Then in the loop's thread, before the reply, on success only. */
        void (*post)(CallJob *j);
        VirtReplyFn reply;
        void *userdata;

        MachineAction action;
        bool flag;
        uint32_t vcpus;
        uint64_t memory_kib;
        char *name;
        DefineSpec spec;
        char *capabilities;     /* the connection's, when the loop knew them already */

        int r;
        char *message;
        char *result;
};

static void call_job_free(CallJob *j) {
        virConnectClose(j->conn);
        define_spec_done(&j->spec);
        free(j->capabilities);
        free(j->name);
        free(j->message);
        free(j->result);
        free(j);
}

static int call_fail(CallJob *j) {
        j->r = virt_last_error(&j->message);
        return j->r;
}

static int domain_action(virDomainPtr d, MachineAction a) {
        switch (a) {
        case MACHINE_START:
                return virDomainCreate(d);
        case MACHINE_SHUTDOWN:
                return virDomainShutdown(d);
        case MACHINE_REBOOT:
                return virDomainReboot(d, 0);
        case MACHINE_RESET:
                return virDomainReset(d, 0);
        case MACHINE_DESTROY:
                return virDomainDestroy(d);
        case MACHINE_SUSPEND:
                return virDomainSuspend(d);
        case MACHINE_RESUME:
                return virDomainResume(d);
        default:
                assert(false);
                return -1;
        }
}

/* Whether action a makes sense in a domain's state: when it does not, every driver refuses, but
 * each in its own words and codes (the test driver's "internal error", QEMU's "operation
 * invalid"); this gives them one meaning. */
static bool action_fits_state(MachineAction a, int state) {
        bool active = state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED && state != VIR_DOMAIN_NOSTATE;

        switch (a) {
        case MACHINE_START:
                return !active;
        case MACHINE_SUSPEND:
                return state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED;
        case MACHINE_RESUME:
                return state == VIR_DOMAIN_PAUSED || state == VIR_DOMAIN_PMSUSPENDED;
        default:
                return active;
        }
}

static int action_work(CallJob *j, virDomainPtr d) {
        static const char *const verbs[_MACHINE_ACTION_MAX] = {
                [MACHINE_START] = "start", [MACHINE_SHUTDOWN] = "shut down", [MACHINE_REBOOT] = "reboot",
                [MACHINE_RESET] = "reset", [MACHINE_DESTROY] = "destroy", [MACHINE_SUSPEND] = "suspend",
                [MACHINE_RESUME] = "resume",
        };
        int state, reason, r;

        if (domain_action(d, j->action) >= 0)
                return 0;
        r = call_fail(j);
        /* The state after the refusal: the call's own error stays when it fits the state. */
        if (r == -AIM_ENOTCONN || virDomainGetState(d, &state, &reason, 0) < 0) {
                virResetLastError();
                return r;
        }
        if (action_fits_state(j->action, state))
                return r;
        free(j->message);
        j->message = NULL;
        j->r = -AIM_ECONFLICT;
        (void) asprintf(&j->message, "Cannot %s machine %s: it is %s.", verbs[j->action], virDomainGetName(d),
                        machine_state_to_string(state) ?: "in an unknown state");
        return j->r;
}

static int capabilities_work(CallJob *j, virDomainPtr d) {
        j->result = virConnectGetCapabilities(j->conn);
        return j->result ? 0 : call_fail(j);
}

static void call_work(void *data) {
        CallJob *j = data;
        virDomainPtr d = NULL;

        if (j->uuid[0]) {
                d = virDomainLookupByUUIDString(j->conn, j->uuid);
                if (!d) {
                        (void) call_fail(j);
                        return;
                }
        }
        (void) j->work(j, d);
        if (d)
                virDomainFree(d);
}

static void call_done(void *data) {
        CallJob *j = data;

        if (j->r >= 0 && j->post)
                j->post(j);
        j->reply(j->r, j->message, j->result, j->userdata);
        call_job_free(j);
}

static void call_abandon(void *data) {
        /* The daemon is exiting: the caller's userdata belongs to the loop, which is going away. */
        call_job_free(data);
}

static int call_new(Virt *v, const Machine *m, int (*work)(CallJob *j, virDomainPtr d), VirtReplyFn reply,
                    void *userdata, CallJob **ret) {
        CallJob *j;

        if (!v->conn)
                return -AIM_ENOTCONN;
        j = calloc(1, sizeof(CallJob));
        if (!j)
                return -ENOMEM;
        *j = (CallJob) { .v = v, .conn = v->conn, .work = work, .reply = reply, .userdata = userdata,
                         .spec = (DefineSpec) DEFINE_SPEC_INIT };
        if (m)
                memcpy(j->uuid, m->uuid, sizeof(j->uuid));
        virConnectRef(j->conn);
        *ret = j;
        return 0;
}

static int call_submit(Virt *v, CallJob *j) {
        int r = worker_pool_submit(v->workers, call_work, call_done, call_abandon, j);

        if (r < 0)
                call_job_free(j);
        return r;
}

int virt_machine_action(Virt *v, Machine *m, MachineAction a, VirtReplyFn reply, void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(m, -EINVAL);
        assert_return(a >= 0 && a < _MACHINE_ACTION_MAX, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, m, action_work, reply, userdata, &j);
        if (r < 0)
                return r;
        j->action = a;
        return call_submit(v, j);
}

int virt_get_capabilities(Virt *v, VirtReplyFn reply, void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, NULL, capabilities_work, reply, userdata, &j);
        if (r < 0)
                return r;
        return call_submit(v, j);
}

/* --- definitions ----------------------------------------------------------------------------- */

static bool spec_forwards_ports(const DefineSpec *s) {
        for (size_t i = 0; i < s->n_nics; i++)
                if (s->nics[i].forwards && s->nics[i].forwards[0])
                        return true;
        return false;
}

/* A libvirt of passt's version may still be built without it (Debian 12's 9.0.0 is): its parser
 * then refuses the backend, which is this hypervisor's way of saying it cannot forward. */
static int define_failed(CallJob *j) {
        const char *text = virGetLastErrorMessage();

        if (!spec_forwards_ports(&j->spec) || !strstr(text, "passt"))
                return call_fail(j);
        j->r = -AIM_EUNSUPP;
        (void) asprintf(&j->message, "forwards: this hypervisor cannot forward ports of user-mode networking (%s).", text);
        virResetLastError();
        return j->r;
}

static int define_work(CallJob *j, virDomainPtr unused) {
        _cleanup_free_ char *xml = NULL;
        char uuid[VIR_UUID_STRING_BUFLEN];
        virDomainPtr d;
        int r;

        /* Taken meanwhile by someone else than us (virsh): libvirt would update that one. */
        d = virDomainLookupByName(j->conn, j->name);
        if (!d && j->spec.uuid)
                d = virDomainLookupByUUIDString(j->conn, j->spec.uuid);
        if (d) {
                j->r = -AIM_EEXIST;
                (void) asprintf(&j->message, "A machine named %s or with UUID %s exists already.",
                                virDomainGetName(d), j->spec.uuid ?: "-");
                virDomainFree(d);
                return j->r;
        }
        virResetLastError();

        /* The hypervisor builds its capabilities anew for every call (QEMU's probe them): once per
         * connection is enough, the loop keeps them. */
        if (!j->capabilities) {
                j->capabilities = virConnectGetCapabilities(j->conn);
                if (!j->capabilities)
                        return call_fail(j);
        }
        r = define_build_xml(&j->spec, j->name, j->capabilities, &xml, &j->message);
        if (r < 0)
                return (j->r = r);
        d = virDomainDefineXML(j->conn, xml);
        if (!d)
                return define_failed(j);
        if (virDomainGetUUIDString(d, uuid) < 0 || (j->spec.autostart && virDomainSetAutostart(d, 1) < 0)) {
                (void) call_fail(j);
                /* Half a definition helps nobody: take it back. */
                if (virDomainUndefine(d) < 0)
                        virResetLastError();
                virDomainFree(d);
                return j->r;
        }
        virDomainFree(d);
        j->result = strdup(uuid);
        return j->result ? 0 : (j->r = -ENOMEM);
}

/* Publishes the new machine before the caller hears of it, so that the path in the reply names an
 * object; libvirt's own event for it then finds it known. */
static void define_post(CallJob *j) {
        virDomainPtr d;
        Machine *m;

        /* Still the connection the capabilities came from. */
        if (!j->v->conn || j->v->conn != j->conn)
                return;
        if (!j->v->capabilities)
                j->v->capabilities = TAKE_PTR(j->capabilities);
        d = virDomainLookupByUUIDString(j->v->conn, j->result);
        if (!d) {
                (void) virt_last_error(NULL);
                return;
        }
        m = hashmap_get(j->v->machines, j->result);
        if (m)
                /* libvirt's event came first, before autostart was set: read it again. */
                refresh_quietly(j->v, d, true);
        else {
                domain_changed(j->v, d, VIR_DOMAIN_EVENT_DEFINED, VIR_DOMAIN_EVENT_DEFINED_ADDED);
                m = hashmap_get(j->v->machines, j->result);
                if (m)
                        m->announced = true;
        }
        virDomainFree(d);
}

int virt_define(Virt *v, const char *name, DefineSpec *spec, VirtReplyFn reply, void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(machine_name_is_valid(name), -EINVAL);
        assert_return(spec, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, NULL, define_work, reply, userdata, &j);
        if (r < 0)
                return r;
        j->post = define_post;
        j->name = strdup(name);
        if (!j->name) {
                call_job_free(j);
                return -ENOMEM;
        }
        if (v->capabilities) {
                j->capabilities = strdup(v->capabilities);
                if (!j->capabilities) {
                        call_job_free(j);
                        return -ENOMEM;
                }
        }
        j->spec = *spec;
        *spec = (DefineSpec) DEFINE_SPEC_INIT;
        return call_submit(v, j);
}

static int undefine_work(CallJob *j, virDomainPtr d) {
        /* What "virsh undefine" removes beside the definition. */
        unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                         VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM;
        int active = virDomainIsActive(d);

        if (active < 0)
                return call_fail(j);
        if (active && !j->flag) {
                j->r = -AIM_EBUSY;
                (void) asprintf(&j->message, "Machine %s is running; stop it first or undefine it with 'force'.",
                                virDomainGetName(d));
                return j->r;
        }
        if (active && virDomainDestroy(d) < 0)
                return call_fail(j);
        if (virDomainUndefineFlags(d, flags) >= 0)
                return 0;
        /* Drivers without NVRAM or checkpoints (the test driver) refuse the flags they lack. */
        if (virGetLastErrorCode() != VIR_ERR_INVALID_ARG && virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
                return call_fail(j);
        virResetLastError();
        return virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) < 0
                ? call_fail(j) : 0;
}

int virt_machine_undefine(Virt *v, Machine *m, bool force, VirtReplyFn reply, void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(m, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, m, undefine_work, reply, userdata, &j);
        if (r < 0)
                return r;
        j->flag = force;
        return call_submit(v, j);
}

static int get_xml_work(CallJob *j, virDomainPtr d) {
        j->result = virDomainGetXMLDesc(d, 0);
        return j->result ? 0 : call_fail(j);
}

int virt_machine_get_xml(Virt *v, Machine *m, VirtReplyFn reply, void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(m, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, m, get_xml_work, reply, userdata, &j);
        if (r < 0)
                return r;
        return call_submit(v, j);
}

static int autostart_work(CallJob *j, virDomainPtr d) {
        return virDomainSetAutostart(d, j->flag) < 0 ? call_fail(j) : 0;
}

static void autostart_post(CallJob *j) {
        Machine *m = hashmap_get(j->v->machines, j->uuid);

        if (m && m->autostart != j->flag) {
                m->autostart = j->flag;
                j->v->ops->machine_changed(j->v, m, "Autostart", j->v->manager);
        }
}

int virt_machine_set_autostart(Virt *v, Machine *m, bool enabled, VirtReplyFn reply, void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(m, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, m, autostart_work, reply, userdata, &j);
        if (r < 0)
                return r;
        j->post = autostart_post;
        j->flag = enabled;
        return call_submit(v, j);
}

static int resources_work(CallJob *j, virDomainPtr d) {
        virDomainInfo info;
        int active = virDomainIsActive(d);

        if (active < 0)
                return call_fail(j);
        if (j->vcpus > 0) {
                /* The maximum first: the count may not exceed it. */
                if (virDomainSetVcpusFlags(d, j->vcpus, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_VCPU_MAXIMUM) < 0 ||
                    virDomainSetVcpusFlags(d, j->vcpus, VIR_DOMAIN_AFFECT_CONFIG) < 0)
                        return call_fail(j);
                /* Live only where the hypervisor allows it; the properties say what took effect. */
                if (active && virDomainSetVcpusFlags(d, j->vcpus, VIR_DOMAIN_AFFECT_LIVE) < 0)
                        virResetLastError();
        }
        if (j->memory_kib > 0) {
                if (virDomainGetInfo(d, &info) < 0)
                        return call_fail(j);
                if (j->memory_kib > info.maxMem &&
                    virDomainSetMemoryFlags(d, j->memory_kib, VIR_DOMAIN_AFFECT_CONFIG | VIR_DOMAIN_MEM_MAXIMUM) < 0)
                        return call_fail(j);
                if (virDomainSetMemoryFlags(d, j->memory_kib, VIR_DOMAIN_AFFECT_CONFIG) < 0)
                        return call_fail(j);
                if (active && virDomainSetMemoryFlags(d, j->memory_kib, VIR_DOMAIN_AFFECT_LIVE) < 0)
                        virResetLastError();
        }
        return 0;
}

static void resources_post(CallJob *j) {
        Machine *m = hashmap_get(j->v->machines, j->uuid);
        virDomainPtr d;

        if (!m || !j->v->conn)
                return;
        d = virDomainLookupByUUIDString(j->v->conn, j->uuid);
        if (!d) {
                (void) virt_last_error(NULL);
                return;
        }
        if (machine_refresh(m, d, false, false) < 0)
                log_debug("Failed to read machine %s after changing its resources", m->name);
        virDomainFree(d);
}

int virt_machine_set_resources(Virt *v, Machine *m, uint32_t vcpus, uint64_t memory_kib, VirtReplyFn reply,
                               void *userdata) {
        CallJob *j;
        int r;

        assert_return(v, -EINVAL);
        assert_return(m, -EINVAL);
        assert_return(vcpus > 0 || memory_kib > 0, -EINVAL);
        assert_return(reply, -EINVAL);

        r = call_new(v, m, resources_work, reply, userdata, &j);
        if (r < 0)
                return r;
        j->post = resources_post;
        j->vcpus = vcpus;
        j->memory_kib = memory_kib;
        return call_submit(v, j);
}

typedef struct SubmitJob {
        virConnectPtr conn;
        VirtWorkFn work;
        void (*done)(void *data);
        void (*abandon)(void *data);
        void *data;
} SubmitJob;

static void submit_work(void *data) {
        SubmitJob *j = data;

        j->work(j->conn, j->data);
}

static void submit_done(void *data) {
        SubmitJob *j = data;

        virConnectClose(j->conn);
        j->done(j->data);
        free(j);
}

static void submit_abandon(void *data) {
        SubmitJob *j = data;

        virConnectClose(j->conn);
        j->abandon(j->data);
        free(j);
}

int virt_submit(Virt *v, VirtWorkFn work, void (*done)(void *data), void (*abandon)(void *data), void *data) {
        SubmitJob *j;
        int r;

        assert_return(v && work && done && abandon, -EINVAL);
        if (!v->conn)
                return -AIM_ENOTCONN;
        j = calloc(1, sizeof(SubmitJob));
        if (!j)
                return -ENOMEM;
        *j = (SubmitJob) { .conn = v->conn, .work = work, .done = done, .abandon = abandon, .data = data };
        virConnectRef(j->conn);
        r = worker_pool_submit(v->workers, submit_work, submit_done, submit_abandon, j);
        if (r < 0) {
                virConnectClose(j->conn);
                free(j);
        }
        return r;
}

const char *virt_uri(const Virt *v) {
        return v->uri;
}
