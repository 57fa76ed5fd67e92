/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* define-dbus.c — Machines.DefineMachine: the a{sv} spec read into a DefineSpec, names resolved on
 * this host, the shared-disk check, polkit, then the definition in a worker */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "images/image.h"
#include "machines/define-dbus.h"
#include "machines/define.h"
#include "machines/virt.h"
#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "util/strv.h"

#define MANAGE_MACHINES "org.abiquo.node1.manage-machines"
/* Before the validators count them: a caller cannot make us allocate for a million disks. */
#define ARRAY_READ_MAX 64

/* --- reading the spec ------------------------------------------------------------------------ */

static int read_value(sd_bus_message *message, const BusField *f, const char *key, void *base, sd_bus_error *error) {
        void *p = (uint8_t *) base + f->offset;
        const char *s;
        int b, r;

        switch (f->signature[0]) {
        case 's':
                r = sd_bus_message_read_basic(message, 's', &s);
                if (r < 0)
                        return r;
                return free_and_strdup(p, s) < 0 ? -ENOMEM : 0;
        case 'u':
                return sd_bus_message_read_basic(message, 'u', p);
        case 't':
                return sd_bus_message_read_basic(message, 't', p);
        case 'i':
                return sd_bus_message_read_basic(message, 'i', p);
        case 'b':
                r = sd_bus_message_read_basic(message, 'b', &b);
                if (r >= 0)
                        *(bool *) p = b;
                return r;
        default:
                if (f->read)
                        return f->read(message, key, base, error);
                strv_free(*(char ***) p);
                *(char ***) p = NULL;
                r = sd_bus_message_read_strv(message, (char ***) p);
                if (r >= 0 && strv_length(*(char ***) p) > ARRAY_READ_MAX)
                        return aim_error(error, -EINVAL, "Key '%s': at most %d entries.", key, ARRAY_READ_MAX);
                return r;
        }
}

typedef struct DictReader {
        const char *prefix;
        const BusField *fields;
        void *base;
        sd_bus_error *error;
} DictReader;

static int read_field(sd_bus_message *message, const char *key, void *userdata) {
        DictReader *d = userdata;
        _cleanup_free_ char *full = NULL;
        const char *contents;
        const BusField *f;
        int r;

        if (asprintf(&full, "%s%s", d->prefix, key) < 0)
                return -ENOMEM;
        for (f = d->fields; f->key && !streq(f->key, key); f++)
                ;
        if (!f->key)
                return aim_error(d->error, -EINVAL, "Key '%s' is not a known option.", full);
        r = sd_bus_message_peek_type(message, NULL, &contents);
        if (r < 0)
                return r;
        if (!streq(contents, f->signature))
                return aim_error(d->error, -EINVAL, "Key '%s' must be of type '%s', not '%s'.", full, f->signature,
                                 contents);
        r = sd_bus_message_enter_container(message, 'v', contents);
        if (r < 0)
                return r;
        r = read_value(message, f, full, d->base, d->error);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

int bus_read_dict(sd_bus_message *message, const char *prefix, const BusField *fields, void *base,
                     sd_bus_error *error) {
        return bus_message_read_dict(message, read_field,
                                     &(DictReader) { .prefix = prefix, .fields = fields, .base = base, .error = error });
}

static const BusField disk_fields[] = {
        { "image", "s", offsetof(DefineDisk, image) },
        { "device", "s", offsetof(DefineDisk, device) },
        { "bus", "s", offsetof(DefineDisk, bus) },
        { "readonly", "b", offsetof(DefineDisk, readonly) },
        { "snapshot", "b", offsetof(DefineDisk, snapshot) },
        { "cache", "s", offsetof(DefineDisk, cache) },
        { "boot_order", "u", offsetof(DefineDisk, boot_order) },
        {}
};

static const BusField nic_fields[] = {
        { "bridge", "s", offsetof(DefineNic, bridge) },
        { "network", "s", offsetof(DefineNic, network) },
        { "user", "b", offsetof(DefineNic, user) },
        { "model", "s", offsetof(DefineNic, model) },
        { "mac", "s", offsetof(DefineNic, mac) },
        { "forwards", "as", offsetof(DefineNic, forwards) },
        {}
};

/* disks and nics: arrays of dictionaries, each read by its own table. */
static int read_dicts(sd_bus_message *message, const char *key, const BusField *fields, size_t size, void **items,
                      size_t *n, sd_bus_error *error) {
        char prefix[64];
        int r;

        if (*n > 0)
                return aim_error(error, -EINVAL, "Key '%s' is given twice.", key);
        r = sd_bus_message_enter_container(message, 'a', "a{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_at_end(message, false)) == 0) {
                void *p;

                if (*n >= ARRAY_READ_MAX)
                        return aim_error(error, -EINVAL, "Key '%s': at most %d entries.", key, ARRAY_READ_MAX);
                p = realloc(*items, (*n + 1) * size);
                if (!p)
                        return -ENOMEM;
                *items = p;
                memset((uint8_t *) p + *n * size, 0, size);
                snprintf(prefix, sizeof(prefix), "%s[%zu].", key, *n);
                (*n)++;
                r = bus_read_dict(message, prefix, fields, (uint8_t *) p + (*n - 1) * size, error);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

static int read_disks(sd_bus_message *message, const char *key, void *base, sd_bus_error *error) {
        DefineSpec *s = base;
        return read_dicts(message, key, disk_fields, sizeof(DefineDisk), (void **) &s->disks, &s->n_disks, error);
}

static int read_nics(sd_bus_message *message, const char *key, void *base, sd_bus_error *error) {
        DefineSpec *s = base;
        return read_dicts(message, key, nic_fields, sizeof(DefineNic), (void **) &s->nics, &s->n_nics, error);
}

static const BusField spec_fields[] = {
        { "uuid", "s", offsetof(DefineSpec, uuid) },
        { "vcpus", "u", offsetof(DefineSpec, vcpus) },
        { "memory_kib", "t", offsetof(DefineSpec, memory_kib) },
        { "max_memory_kib", "t", offsetof(DefineSpec, max_memory_kib) },
        { "autostart", "b", offsetof(DefineSpec, autostart) },
        { "start", "b", offsetof(DefineSpec, start) },
        { "disks", "aa{sv}", 0, read_disks },
        { "nics", "aa{sv}", 0, read_nics },
        { "graphics", "s", offsetof(DefineSpec, graphics) },
        { "listen", "s", offsetof(DefineSpec, listen) },
        { "display", "i", offsetof(DefineSpec, display) },
        { "vga", "s", offsetof(DefineSpec, vga) },
        { "kernel", "s", offsetof(DefineSpec, kernel) },
        { "initrd", "s", offsetof(DefineSpec, initrd) },
        { "cmdline", "s", offsetof(DefineSpec, cmdline) },
        {}
};

/* --- names on this host ---------------------------------------------------------------------- */

static int resolve_image(const char *name, void *userdata, char **ret_path, const char **ret_format,
                         char **reterr_message) {
        Manager *m = userdata;
        _cleanup_close_ int dirfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *path = NULL;
        const char *format;
        struct stat st;
        int r;

        dirfd = open(m->config.datastore, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return negative_errno();
        /* Beneath the datastore, never blocking on a FIFO, as Import opens its sources. */
        fd = open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK, 0);
        if (fd == -ENOENT || (fd >= 0 && fstat(fd, &st) >= 0 && !S_ISREG(st.st_mode))) {
                (void) asprintf(reterr_message, "No image '%s' in the datastore.", name);
                return -AIM_ENOTFOUND;
        }
        if (fd == -EXDEV || fd == -ELOOP) {
                (void) asprintf(reterr_message, "Image '%s' leads outside the datastore.", name);
                return -EINVAL;
        }
        if (fd < 0)
                return fd;
        r = image_detect_format(fd, &format);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", m->config.datastore, name) < 0)
                return -ENOMEM;
        /* An ISO 9660 image is raw data to the hypervisor. */
        *ret_format = !format || streq(format, "iso") ? "raw" : format;
        *ret_path = TAKE_PTR(path);
        return 0;
}

static int resolve_device(const char *path, void *userdata, char **reterr_message) {
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                (void) asprintf(reterr_message, "No device %s.", path);
                return -AIM_ENOTFOUND;
        }
        if (!S_ISBLK(st.st_mode)) {
                (void) asprintf(reterr_message, "%s is not a block device.", path);
                return -EINVAL;
        }
        return 0;
}

static int resolve_bridge(const char *name, void *userdata, char **reterr_message) {
        char path[64];

        snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
        if (access(path, F_OK) < 0) {
                if (errno != ENOENT)
                        return negative_errno();
                (void) asprintf(reterr_message, "No Linux bridge named %s.", name);
                return -AIM_ENOTFOUND;
        }
        return 0;
}

static const DefineResolver resolver = {
        .image = resolve_image,
        .device = resolve_device,
        .bridge = resolve_bridge,
};

/* A disk written by two machines corrupts it: refuse unless one side only reads (or writes to a
 * throw-away overlay). */
static int check_shared_disks(Manager *m, const DefineSpec *s, sd_bus_error *error) {
        for (size_t i = 0; i < s->n_disks; i++) {
                const DefineDisk *d = &s->disks[i];
                Machine *other;

                if (d->readonly || d->snapshot)
                        continue;
                for (size_t k = 0; k < i; k++)
                        if (streq(s->disks[k].path, d->path))
                                return aim_error(error, -EINVAL, "disks[%zu]: the same disk as disks[%zu].", i, k);
                HASHMAP_FOREACH(other, virt_machines(m->virt))
                        for (size_t k = 0; k < other->devices.n_disks; k++)
                                if (other->devices.disks[k].writable && streq(other->devices.disks[k].b, d->path))
                                        return aim_error(error, -AIM_ECONFLICT,
                                                         "disks[%zu]: %s is used writable by machine %s.", i, d->path,
                                                         other->name);
        }
        return 0;
}

/* Appends v to the comma-separated list *l. */
static int list_append(char **l, const char *v) {
        char *n;

        if (!v)
                return 0;
        if (asprintf(&n, "%s%s%s", *l, **l ? "," : "", v) < 0)
                return -ENOMEM;
        free(*l);
        *l = n;
        return 0;
}

/* The comma-separated lists polkit's rules see. */
static int details_join(const DefineSpec *s, char **ret_images, char **ret_devices, char **ret_bridges) {
        _cleanup_free_ char *images = strdup(""), *devices = strdup(""), *bridges = strdup("");

        if (!images || !devices || !bridges)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_disks; i++)
                if (list_append(&images, s->disks[i].image) < 0 || list_append(&devices, s->disks[i].device) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < s->n_nics; i++)
                if (list_append(&bridges, s->nics[i].bridge) < 0)
                        return -ENOMEM;
        if (list_append(&images, s->kernel) < 0 || list_append(&images, s->initrd) < 0)
                return -ENOMEM;
        *ret_images = TAKE_PTR(images);
        *ret_devices = TAKE_PTR(devices);
        *ret_bridges = TAKE_PTR(bridges);
        return 0;
}

/* --- the method ------------------------------------------------------------------------------ */

typedef struct DefineCall {
        Manager *manager;
        sd_bus_message *message;
        bool start;
        char *uuid;
        char *name;
} DefineCall;

static void define_call_free(DefineCall *c) {
        sd_bus_message_unref(c->message);
        free(c->uuid);
        free(c->name);
        free(c);
}

static void reply_error(sd_bus_message *message, int r, const char *text) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        (void) aim_error(&error, r, "%s", text);
        r = sd_bus_reply_method_error(message, &error);
        if (r < 0)
                log_debug_errno(r, "Failed to reply to %s(): %m", sd_bus_message_get_member(message));
}

static void reply_path(sd_bus_message *message, const char *uuid) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(MACHINE_PATH_PREFIX, uuid, &path);
        if (r >= 0)
                r = sd_bus_reply_method_return(message, "o", path);
        if (r < 0)
                log_debug_errno(r, "Failed to reply to DefineMachine(): %m");
}

static void reply_started(int r, const char *message, const char *result, void *userdata) {
        DefineCall *c = userdata;
        _cleanup_free_ char *text = NULL;

        if (r < 0) {
                /* The definition stays: the caller may fix what kept it from starting, and start it. */
                (void) asprintf(&text, "Machine %s was defined but did not start: %s", c->name,
                                message ?: strerror(-r));
                reply_error(c->message, r, text ?: "The machine was defined but did not start.");
        } else
                reply_path(c->message, c->uuid);
        define_call_free(c);
}

static void reply_defined(int r, const char *message, const char *result, void *userdata) {
        DefineCall *c = userdata;
        _cleanup_free_ char *text = NULL;
        Machine *machine;

        if (r < 0) {
                reply_error(c->message, r, message ?: "The hypervisor refused the definition.");
                define_call_free(c);
                return;
        }
        machine = c->start ? hashmap_get(virt_machines(c->manager->virt), result) : NULL;
        if (machine) {
                /* Started in a second step: the events come as defined, then started. The
                 * reply waits for the start, so that a failure to start is the caller's to see. */
                c->uuid = strdup(result);
                if (!c->uuid)
                        r = -ENOMEM;
                else
                        r = virt_machine_action(c->manager->virt, machine, MACHINE_START, reply_started, c);
                if (r >= 0)
                        return;
                (void) asprintf(&text, "Machine %s was defined but did not start: %s", machine->name, strerror(-r));
                reply_error(c->message, r, text ?: "The machine was defined but did not start.");
                define_call_free(c);
                return;
        }
        reply_path(c->message, result);
        define_call_free(c);
}

int method_define_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(define_spec_done) DefineSpec spec = DEFINE_SPEC_INIT;
        _cleanup_free_ char *why = NULL, *images = NULL, *devices = NULL, *bridges = NULL;
        Manager *m = userdata;
        const VirtHost *host;
        DefineLimits limits;
        DefineCall *c;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!machine_name_is_valid(name))
                return aim_error(error, -EINVAL, "Argument 'name' must be 1..64 bytes of [A-Za-z0-9._+-], not starting with '.' or '-'.");
        r = bus_read_dict(message, "", spec_fields, &spec, error);
        if (r < 0)
                return r == -ENXIO || r == -EBADMSG ? aim_error(error, -EINVAL, "Argument 'spec' is malformed.") : r;

        if (!virt_is_connected(m->virt))
                return aim_error(error, -AIM_ENOTCONN, "The hypervisor %s is not connected.", m->config.uri);
        host = virt_host(m->virt);
        limits = (DefineLimits) {
                .cpus = host->cpus,
                .memory_kib = host->memory_kib,
                .forwards = virt_can_forward_ports(m->virt),
        };
        r = define_spec_validate(&spec, &limits, &why);
        if (r < 0)
                return aim_error(error, r, "%s", why ?: "The spec is not valid.");
        if (virt_machine_find(m->virt, name))
                return aim_error(error, -AIM_EEXIST, "A machine named %s exists already.", name);
        if (spec.uuid && virt_machine_find(m->virt, spec.uuid))
                return aim_error(error, -AIM_EEXIST, "A machine with UUID %s exists already.", spec.uuid);
        r = define_spec_resolve(&spec, &resolver, m, &why);
        if (r < 0)
                return aim_error(error, r, "%s", why ?: "A name of the spec cannot be found.");
        r = check_shared_disks(m, &spec, error);
        if (r < 0)
                return r;

        r = details_join(&spec, &images, &devices, &bridges);
        if (r < 0)
                return r;
        r = polkit_check_async(m->polkit, message, MANAGE_MACHINES,
                               (const char *[]) { "name", name, "images", images, "devices", devices,
                                                  "bridges", bridges, NULL }, error);
        if (r <= 0)
                return r < 0 ? r : 1;   /* refused, or parked until polkit answers */

        c = calloc(1, sizeof(DefineCall));
        if (!c)
                return -ENOMEM;
        *c = (DefineCall) { .manager = m, .message = sd_bus_message_ref(message), .start = spec.start,
                            .name = strdup(name) };
        if (!c->name) {
                define_call_free(c);
                return -ENOMEM;
        }
        r = virt_define(m->virt, name, &spec, reply_defined, c);
        if (r < 0) {
                define_call_free(c);
                return aim_error(error, r, "Failed to define machine %s", name);
        }
        return 1;
}
