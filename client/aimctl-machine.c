/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-machine.c — aimctl machine list|start|shutdown|…, and aimctl monitor */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/bus-names.h"
#include "aimctl.h"
#include "shared/bus-util.h"
#include "util/strv.h"


typedef struct MachineRow {
        const char *uuid, *name, *state, *path;
} MachineRow;

static int row_compare(const void *a, const void *b) {
        const MachineRow *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        return c != 0 ? c : strcmp(x->uuid, y->uuid);
}

static int verb_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ MachineRow *rows = NULL;
        size_t n = 0, allocated = 0;
        MachineRow row;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "ListMachines", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list machines");
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the machine list");
        while ((r = sd_bus_message_read(reply, "(ssso)", &row.uuid, &row.name, &row.state, &row.path)) > 0) {
                if (n == allocated) {
                        MachineRow *p = realloc(rows, (allocated = allocated ? allocated * 2 : 16) * sizeof(MachineRow));
                        if (!p)
                                return log_bus_error(-ENOMEM, NULL, "Failed to list machines");
                        rows = p;
                }
                rows[n++] = row;
        }
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the machine list");
        if (n > 0)
                qsort(rows, n, sizeof(MachineRow), row_compare);

        t = table_new("name", "uuid", "state", NULL);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (table_add_string(t, rows[i].name) < 0 || table_add_string(t, rows[i].uuid) < 0 ||
                    table_add_string(t, rows[i].state) < 0)
                        return log_bus_error(-ENOMEM, NULL, "Failed to list machines");
        return table_print(t, arg_json);
}

int machine_path(sd_bus *bus, const char *id, sd_bus_message **ret_reply, const char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "GetMachine", &error, ret_reply,
                               "s", id);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to find the machine");
        r = sd_bus_message_read(*ret_reply, "o", ret_path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        return 0;
}

/* "start" → "Start": the verb names the method. */
static int verb_action(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char method[16];
        const char *path = NULL;
        int r;

        r = machine_path(bus, argv[1], &reply, &path);
        if (r < 0)
                return r;

        snprintf(method, sizeof(method), "%s", argv[0]);
        method[0] = (char) (method[0] - 'a' + 'A');
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, method, &error, NULL, NULL);
        if (r < 0)
                return log_bus_error(r, &error, argv[0]);
        return 0;
}

/* "512M", "2G", "1048576K"; a bare number is MiB (as virt-install's --memory). In KiB. */
static int parse_size_kib(const char *s, uint64_t *ret) {
        uint64_t v, shift;
        char *end;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || s[0] == '-')
                return -EINVAL;
        if (streq(end, "K") || streq(end, "KiB"))
                shift = 0;
        else if (streq(end, "") || streq(end, "M") || streq(end, "MiB"))
                shift = 10;
        else if (streq(end, "G") || streq(end, "GiB"))
                shift = 20;
        else if (streq(end, "T") || streq(end, "TiB"))
                shift = 30;
        else
                return -EINVAL;
        if (v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

static int parse_uint32(const char *s, uint32_t *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int usage_error(const char *option, const char *value, const char *why) {
        fprintf(stderr, "aimctl: %s%s%s: %s\n", option, value ? "=" : "", strempty(value), why);
        return -EINVAL;
}

/* The options more than one machine verb takes (--json is 'j'); a verb's own codes start at ARG_OWN. */
enum { ARG_VCPUS = 0x100, ARG_MEMORY, ARG_OWN };

/* --vcpus N and --memory SIZE, as define and set read them; memory 0 means "the default" where
 * memory_zero_ok. */
typedef struct Resources {
        uint32_t vcpus;
        uint64_t memory_kib;
        bool memory_zero_ok;
} Resources;

static int parse_resource(int c, const char *arg, Resources *res) {
        if (c == ARG_VCPUS) {
                if (parse_uint32(arg, &res->vcpus) < 0 || res->vcpus == 0)
                        return usage_error("--vcpus", arg, "must be a positive number");
                return 0;
        }
        if (parse_size_kib(arg, &res->memory_kib) < 0 || (res->memory_kib == 0 && !res->memory_zero_ok))
                return usage_error("--memory", arg, "must be a size: 512M, 2G, 1048576K (a bare number is MiB)");
        return 0;
}

/* getopt_long() over a machine verb's arguments, --json, and --vcpus and --memory (into res, when
 * not NULL) handled here: the next other option, -1 at the end, or -EINVAL after a mistake, said. */
/* The options vcpus and memory_kib of what res holds. */
static int append_resources(sd_bus_message *call, const Resources *res) {
        int r = 0;

        if (res->vcpus)
                r = sd_bus_message_append(call, "{sv}", "vcpus", "u", res->vcpus);
        if (r >= 0 && res->memory_kib)
                r = sd_bus_message_append(call, "{sv}", "memory_kib", "t", res->memory_kib);
        return r;
}

static int next_option(int argc, char *argv[], const struct option *options, Resources *res) {
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'j')
                        arg_json = true;
                else if ((c == ARG_VCPUS || c == ARG_MEMORY) && res) {
                        if (parse_resource(c, optarg, res) < 0)
                                return -EINVAL;
                } else
                        break;
        }
        return c == '?' ? -EINVAL : c;
}

/* After the options (c is next_option()'s last): the one NAME left, or NULL once said that the
 * options were wrong or that there is not exactly one. */
static const char *one_name_left(int c, int argc, char *argv[], const char *verb) {
        if (c != -1)
                return NULL;
        if (optind != argc - 1) {
                (void) usage_error(verb, NULL, "exactly one NAME is needed (see --help)");
                return NULL;
        }
        return argv[optind];
}

/* One --disk or --nic: "key=value,flag,…" into an a{sv}. keys lists the string keys, flags the
 * boolean ones; "boot" is a number; "forward" may come again (forwards as). */
static int append_device(sd_bus_message *m, const char *option, const char *spec, const char * const *keys,
                         const char * const *flags) {
        _cleanup_free_ char *copy = strdup(spec);
        _cleanup_strv_free_ char **forwards = NULL;
        char *item, *save = NULL;
        int r;

        if (!copy)
                return -ENOMEM;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (item = strtok_r(copy, ",", &save); r >= 0 && item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                bool known = false;

                if (eq)
                        *eq = 0;
                for (const char * const *k = keys; !known && *k; k++)
                        if (streq(item, *k)) {
                                if (!eq || !eq[1])
                                        return usage_error(option, spec, "a key needs a value (key=value)");
                                r = sd_bus_message_append(m, "{sv}", *k, "s", eq + 1);
                                known = true;
                        }
                for (const char * const *f = flags; !known && *f; f++)
                        if (streq(item, *f)) {
                                if (eq)
                                        return usage_error(option, spec, "a flag takes no value");
                                r = sd_bus_message_append(m, "{sv}", *f, "b", 1);
                                known = true;
                        }
                if (!known && streq(item, "boot") && eq) {
                        uint32_t order;

                        if (parse_uint32(eq + 1, &order) < 0)
                                return usage_error(option, spec, "boot=N needs a number");
                        r = sd_bus_message_append(m, "{sv}", "boot_order", "u", order);
                        known = true;
                }
                if (!known && streq(item, "forward") && eq) {
                        r = strv_extend(&forwards, eq + 1);
                        known = true;
                }
                if (!known)
                        return usage_error(option, spec, "unknown key (see --help)");
        }
        if (r >= 0 && forwards) {
                r = call_open_entry(m, "forwards", "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, forwards);
                r = call_close_n(m, 2, r);
        }
        return call_close_n(m, 1, r);
}

/* disks or nics: the repeated options as one aa{sv}. */
static int append_devices(sd_bus_message *m, const char *key, const char *option, char **specs,
                          const char * const *keys, const char * const *flags) {
        int r;

        if (!specs)
                return 0;
        r = call_open_entry(m, key, "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
        for (char **s = specs; r >= 0 && *s; s++)
                r = append_device(m, option, *s, keys, flags);
        return call_close_n(m, 3, r);
}

/* --vnc[=ADDR[:DISPLAY]], --spice[=…]: "[::1]:5" for IPv6. */
static int append_graphics(sd_bus_message *m, const char *type, const char *arg) {
        _cleanup_free_ char *addr = NULL;
        const char *colon = NULL;
        uint32_t display;
        int r;

        r = sd_bus_message_append(m, "{sv}", "graphics", "s", type);
        if (r < 0 || !arg || !arg[0])
                return r;
        if (arg[0] == '[') {
                const char *close = strchr(arg, ']');
                if (!close || (close[1] && close[1] != ':'))
                        return usage_error(type, arg, "an IPv6 address is written [ADDR]:DISPLAY");
                addr = strndup(arg + 1, (size_t) (close - arg - 1));
                colon = close[1] ? close + 1 : NULL;
        } else {
                colon = strchr(arg, ':');
                if (colon && strchr(colon + 1, ':'))
                        return usage_error(type, arg, "an IPv6 address is written [ADDR]:DISPLAY");
                addr = colon ? strndup(arg, (size_t) (colon - arg)) : strdup(arg);
        }
        if (!addr)
                return -ENOMEM;
        if (addr[0])
                r = sd_bus_message_append(m, "{sv}", "listen", "s", addr);
        if (r >= 0 && colon) {
                if (parse_uint32(colon + 1, &display) < 0 || display > INT32_MAX)
                        return usage_error(type, arg, "DISPLAY must be a number (0..99: port 5900+N)");
                r = sd_bus_message_append(m, "{sv}", "display", "i", (int32_t) display);
        }
        return r;
}

/* Prints a Define/Undefine outcome: the path for programs, a sentence for people. */
static void print_done(const char *what, const char *name, const char *path) {
        if (arg_json) {
                printf("{\"name\":");
                json_print_string(name);
                if (path) {
                        printf(",\"machine\":");
                        json_print_string(path);
                }
                printf(",\"result\":");
                json_print_string(what);
                printf("}\n");
        } else
                printf("Machine %s %s%s%s.\n", name, what, path ? ": " : "", strempty(path));
}

static int verb_define(sd_bus *bus, int argc, char *argv[]) {
        enum { ARG_DISK = ARG_OWN, ARG_NIC, ARG_VNC, ARG_SPICE, ARG_VGA, ARG_KERNEL,
               ARG_INITRD, ARG_CMDLINE, ARG_AUTOSTART, ARG_START, ARG_UUID };
        static const struct option options[] = {
                { "vcpus",     required_argument, NULL, ARG_VCPUS },
                { "memory",    required_argument, NULL, ARG_MEMORY },
                { "disk",      required_argument, NULL, ARG_DISK },
                { "nic",       required_argument, NULL, ARG_NIC },
                { "vnc",       optional_argument, NULL, ARG_VNC },
                { "spice",     optional_argument, NULL, ARG_SPICE },
                { "vga",       required_argument, NULL, ARG_VGA },
                { "kernel",    required_argument, NULL, ARG_KERNEL },
                { "initrd",    required_argument, NULL, ARG_INITRD },
                { "cmdline",   required_argument, NULL, ARG_CMDLINE },
                { "autostart", no_argument,       NULL, ARG_AUTOSTART },
                { "start",     no_argument,       NULL, ARG_START },
                { "uuid",      required_argument, NULL, ARG_UUID },
                { "json",      no_argument,       NULL, 'j' },
                {}
        };
        static const char * const disk_keys[] = { "image", "device", "bus", "cache", NULL };
        static const char * const disk_flags[] = { "readonly", "snapshot", NULL };
        static const char * const nic_keys[] = { "bridge", "network", "model", "mac", NULL };
        static const char * const nic_flags[] = { "user", NULL };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_strv_free_ char **disks = NULL, **nics = NULL;
        const char *graphics = NULL, *graphics_arg = NULL, *vga = NULL, *kernel = NULL, *initrd = NULL,
                   *cmdline = NULL, *uuid = NULL, *path, *name;
        Resources res = { .memory_zero_ok = true };
        bool autostart = false, start = false;
        int c, r;

        optind = 0;
        while ((c = next_option(argc, argv, options, &res)) >= 0)
                switch (c) {
                case ARG_DISK:
                        if (strv_extend(&disks, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_NIC:
                        if (strv_extend(&nics, optarg) < 0)
                                return -ENOMEM;
                        break;
                case ARG_VNC:
                case ARG_SPICE:
                        graphics = c == ARG_VNC ? "vnc" : "spice";
                        graphics_arg = optarg;
                        break;
                case ARG_VGA:
                        vga = optarg;
                        break;
                case ARG_KERNEL:
                        kernel = optarg;
                        break;
                case ARG_INITRD:
                        initrd = optarg;
                        break;
                case ARG_CMDLINE:
                        cmdline = optarg;
                        break;
                case ARG_AUTOSTART:
                        autostart = true;
                        break;
                case ARG_START:
                        start = true;
                        break;
                case ARG_UUID:
                        uuid = optarg;
                        break;
                }
        name = one_name_left(c, argc, argv, "machine define");
        if (!name)
                return -EINVAL;

        r = call_begin(bus, MACHINES_INTERFACE, "DefineMachine", &call, "s", name);
        if (r < 0)
                return r;
        r = call_append_string(call, "uuid", uuid);
        if (r >= 0)
                r = append_resources(call, &res);
        if (r >= 0 && autostart)
                r = sd_bus_message_append(call, "{sv}", "autostart", "b", 1);
        if (r >= 0 && start)
                r = sd_bus_message_append(call, "{sv}", "start", "b", 1);
        if (r >= 0)
                r = append_devices(call, "disks", "--disk", disks, disk_keys, disk_flags);
        if (r >= 0)
                r = append_devices(call, "nics", "--nic", nics, nic_keys, nic_flags);
        if (r >= 0 && graphics)
                r = append_graphics(call, graphics, graphics_arg);
        if (r >= 0)
                r = call_append_string(call, "vga", vga);
        if (r >= 0)
                r = call_append_string(call, "kernel", kernel);
        if (r >= 0)
                r = call_append_string(call, "initrd", initrd);
        if (r >= 0)
                r = call_append_string(call, "cmdline", cmdline);
        if (r == -EINVAL)
                return r;       /* a command-line mistake, said already */
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = call_end(bus, call, "define", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        print_done(start ? "defined and started" : "defined", name, path);
        return 0;
}

static int verb_undefine(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = {
                { "force",         no_argument, NULL, 'f' },
                { "remove-images", no_argument, NULL, 'r' },
                { "json",          no_argument, NULL, 'j' },
                {}
        };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *found = NULL;
        bool force = false, remove_images = false;
        const char *path = NULL, *name;
        int c, r;

        optind = 0;
        while ((c = next_option(argc, argv, options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'r':
                        remove_images = true;
                        break;
                }
        name = one_name_left(c, argc, argv, "machine undefine");
        if (!name)
                return -EINVAL;
        r = machine_path(bus, name, &found, &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, "Undefine", &error, NULL, "a{sv}", 2,
                               "force", "b", force, "remove_images", "b", remove_images);
        if (r < 0)
                return log_bus_error(r, &error, "undefine");
        print_done("undefined", name, NULL);
        return 0;
}

static int verb_xml(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *found = NULL, *reply = NULL;
        const char *path = NULL, *xml;
        int r;

        r = machine_path(bus, argv[1], &found, &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, "GetXML", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "xml");
        r = sd_bus_message_read(reply, "s", &xml);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        if (arg_json) {
                printf("{\"xml\":");
                json_print_string(xml);
                printf("}\n");
        } else
                fputs(xml, stdout);
        return 0;
}

typedef struct RowsReader {
        const char *signature;
        char *out;
} RowsReader;

static int read_row(sd_bus_message *m, size_t i, void *userdata) {
        RowsReader *rows = userdata;
        const char *a, *b, *c = NULL;
        int32_t port = 0;
        char *n;
        int r;

        r = sd_bus_message_enter_container(m, 'r', rows->signature);
        if (r < 0)
                return r;
        r = streq(rows->signature, "ssi") ? sd_bus_message_read(m, "ssi", &a, &b, &port)
                                          : sd_bus_message_read(m, "sss", &a, &b, &c);
        if (r < 0)
                return r;
        if ((c ? asprintf(&n, "%s%s%s %s %s", rows->out, i > 0 ? ", " : "", a, b, c)
               : asprintf(&n, "%s%s%s %s %" PRIi32, rows->out, i > 0 ? ", " : "", a, b, port)) < 0)
                return -ENOMEM;
        free(rows->out);
        rows->out = n;
        return sd_bus_message_exit_container(m);
}

/* Disks a(sss), Interfaces a(sss), Graphics a(ssi): one "a b c" string each, rows joined by ", ". */
static int read_rows(sd_bus_message *m, const char *signature, char **ret) {
        _cleanup_free_ char *out = strdup("");
        RowsReader rows = { .signature = signature };
        char element[8];
        int r;

        if (!out)
                return -ENOMEM;
        snprintf(element, sizeof(element), "(%s)", signature);
        rows.out = TAKE_PTR(out);
        r = bus_message_read_array(m, element, read_row, &rows);
        out = rows.out;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(out);
        return 0;
}

static int verb_show(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *found = NULL, *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        static const char *const rows[][2] = { { "Disks", "sss" }, { "Interfaces", "sss" }, { "Graphics", "ssi" } };
        _cleanup_free_ char *addresses = NULL;
        const char *path = NULL;
        int r;

        r = machine_path(bus, argv[1], &found, &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error, &reply,
                               "s", MACHINE_INTERFACE);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to read the machine's properties");
        t = table_new(NULL);
        if (!t)
                return -ENOMEM;
        table_set_vertical(t, true);
        r = table_add_properties(t, reply);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the machine's properties");
        /* The device lists, which table_add_properties leaves to us. */
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *value = NULL;
                _cleanup_free_ char *text = NULL;
                char signature[8];

                snprintf(signature, sizeof(signature), "a(%s)", rows[i][1]);
                r = sd_bus_get_property(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, rows[i][0], &error, &value,
                                        signature);
                if (r < 0)
                        return log_bus_error(r, &error, "Failed to read the machine's devices");
                r = read_rows(value, rows[i][1], &text);
                if (r >= 0)
                        r = table_add_column(t, rows[i][0]);
                if (r >= 0)
                        r = table_add_string(t, text);
                if (r < 0)
                        return log_bus_error(r, NULL, "Failed to parse the machine's devices");
        }
        r = table_add_column(t, "Addresses");
        if (r >= 0)
                r = machine_addresses_text(bus, path, &addresses);
        if (r >= 0)
                r = table_add_string(t, addresses);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to show the machine's addresses");
        return table_print(t, arg_json);
}

static int verb_set(sd_bus *bus, int argc, char *argv[]) {
        enum { ARG_AUTOSTART = ARG_OWN };
        static const struct option options[] = {
                { "vcpus",     required_argument, NULL, ARG_VCPUS },
                { "memory",    required_argument, NULL, ARG_MEMORY },
                { "autostart", required_argument, NULL, ARG_AUTOSTART },
                {}
        };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *found = NULL, *call = NULL;
        Resources res = {};
        int autostart = -1, c, r;
        const char *path = NULL, *name;

        optind = 0;
        while ((c = next_option(argc, argv, options, &res)) >= 0)
                switch (c) {
                case ARG_AUTOSTART:
                        if (!streq(optarg, "yes") && !streq(optarg, "no"))
                                return usage_error("--autostart", optarg, "must be yes or no");
                        autostart = streq(optarg, "yes");
                        break;
                }
        name = one_name_left(c, argc, argv, "machine set");
        if (!name)
                return -EINVAL;
        if (!res.vcpus && !res.memory_kib && autostart < 0)
                return usage_error("machine set", NULL, "nothing to set: give --vcpus, --memory or --autostart");
        r = machine_path(bus, name, &found, &path);
        if (r < 0)
                return r;
        if (res.vcpus || res.memory_kib) {
                r = sd_bus_message_new_method_call(bus, &call, NODE_BUS_NAME, path, MACHINE_INTERFACE, "SetResources");
                if (r >= 0)
                        r = sd_bus_message_open_container(call, 'a', "{sv}");
                if (r >= 0)
                        r = append_resources(call, &res);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
                if (r < 0)
                        return log_bus_error(r, NULL, "Failed to build the call");
                r = sd_bus_call(bus, call, 0, &error, NULL);
                if (r < 0)
                        return log_bus_error(r, &error, "set");
        }
        if (autostart >= 0) {
                r = sd_bus_call_method(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, "SetAutostart", &error, NULL, "b",
                                       autostart);
                if (r < 0)
                        return log_bus_error(r, &error, "set");
        }
        return 0;
}

static int on_machine_event(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *path, *uuid, *name, *event, *detail;
        char stamp[32];
        struct timespec ts;
        struct tm tm;
        int r;

        r = sd_bus_message_read(m, "ossss", &path, &uuid, &name, &event, &detail);
        if (r < 0) {
                fprintf(stderr, "aimctl: ignoring a malformed MachineEvent: %s\n", strerror(-r));
                return 0;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime_r(&ts.tv_sec, &tm));
        if (arg_json) {
                printf("{\"time\":\"%s.%06ld\",\"machine\":", stamp, ts.tv_nsec / 1000);
                json_print_string(path);
                printf(",\"uuid\":");
                json_print_string(uuid);
                printf(",\"name\":");
                json_print_string(name);
                printf(",\"event\":");
                json_print_string(event);
                printf(",\"detail\":");
                json_print_string(detail);
                printf("}\n");
        } else
                printf("%s.%06ld %s %s %s %s\n", stamp, ts.tv_nsec / 1000, name, uuid, event, detail);
        /* One line at a time, also into a pipe: whoever reads us wants the event now. */
        fflush(stdout);
        return 0;
}

int verb_monitor(sd_bus *bus, int argc, char *argv[]) {
        int r;

        /* "aimctl monitor --json" reads as naturally as "aimctl --json monitor". */
        if (argc > 1) {
                if (!streq(argv[1], "--json")) {
                        fprintf(stderr, "aimctl: unknown argument '%s'; usage: monitor [--json]\n", argv[1]);
                        return -EINVAL;
                }
                arg_json = true;
        }
        r = sd_bus_match_signal(bus, NULL, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "MachineEvent",
                                on_machine_event, NULL);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to subscribe to machine events");
        fprintf(stderr, "Monitoring machine events; press ^C to stop.\n");
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_bus_error(r, NULL, "Lost the bus");
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return log_bus_error(r, NULL, "Lost the bus");
        }
}

static const Verb machine_verbs[] = {
        { "list",     0, 0, verb_list,   "machine list" },
        { "start",    1, 1, verb_action, "machine start NAME|UUID" },
        { "shutdown", 1, 1, verb_action, "machine shutdown NAME|UUID" },
        { "reboot",   1, 1, verb_action, "machine reboot NAME|UUID" },
        { "reset",    1, 1, verb_action, "machine reset NAME|UUID" },
        { "destroy",  1, 1, verb_action, "machine destroy NAME|UUID" },
        { "suspend",  1, 1, verb_action, "machine suspend NAME|UUID" },
        { "resume",   1, 1, verb_action, "machine resume NAME|UUID" },
        { "define",   1, 64, verb_define, "machine define NAME [OPTIONS] (see --help)" },
        { "undefine", 1, 4, verb_undefine, "machine undefine NAME [--force] [--remove-images]" },
        { "show",     1, 1, verb_show,   "machine show NAME|UUID" },
        { "xml",      1, 1, verb_xml,    "machine xml NAME|UUID" },
        { "set",      2, 8, verb_set,    "machine set NAME [--vcpus N] [--memory SIZE] [--autostart=yes|no]" },
        { "addresses", 1, 3, verb_machine_addresses, "machine addresses NAME|UUID [--source=lease|agent|arp|dns|any]" },
        {}
};

int verb_machine(sd_bus *bus, int argc, char *argv[]) {
        return dispatch_verb(bus, machine_verbs, argc - 1, argv + 1);
}
