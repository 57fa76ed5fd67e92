/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl.c — command-line client of aimd (org.abiquo.Node1) */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aimctl.h"
#include "shared/bus-util.h"
#include "shared/errors.h"

bool arg_json = false;
static const char *arg_bus = "system";

int log_bus_error(int r, const sd_bus_error *error, const char *what) {
        if (error && sd_bus_error_is_set(error))
                fprintf(stderr, "aimctl: %s: %s\n", what, error->message ?: error->name);
        else
                fprintf(stderr, "aimctl: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return r < 0 ? r : -EIO;
}

int call_begin(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, NODE_BUS_NAME, NODE_OBJECT_PATH, interface, method);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(call, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        *ret = TAKE_PTR(call);
        return 0;
}

int call_end(sd_bus *bus, sd_bus_message *call, const char *what, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_close_container(call);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = sd_bus_call(bus, call, 0, &error, ret_reply);
        if (r < 0)
                return log_bus_error(r, &error, what);
        return 0;
}

int call_open_entry(sd_bus_message *m, const char *key, const char *type) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', type);
        return r;
}

int call_close_n(sd_bus_message *m, int n, int r) {
        for (int i = 0; i < n && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        return r;
}

int call_append_string(sd_bus_message *call, const char *key, const char *value) {
        return value ? sd_bus_message_append(call, "{sv}", key, "s", value) : 0;
}

static int table_add_variant(Table *t, sd_bus_message *m, char type) {
        union {
                const char *s;
                int b;
                uint8_t y;
                uint16_t q;
                uint32_t u;
                uint64_t t;
                int16_t n;
                int32_t i;
                int64_t x;
                double d;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case 's': case 'o': case 'g':
                return table_add_string(t, v.s);
        case 'b':
                return table_add_bool(t, v.b);
        case 'y':
                return table_add_uint(t, v.y);
        case 'q':
                return table_add_uint(t, v.q);
        case 'u':
                return table_add_uint(t, v.u);
        case 't':
                return table_add_uint(t, v.t);
        case 'n':
                return table_add_int(t, v.n);
        case 'i':
                return table_add_int(t, v.i);
        case 'x':
                return table_add_int(t, v.x);
        case 'd':
                return table_add_double(t, v.d);
        default:
                return table_add_string(t, "?");
        }
}

int table_add_properties(Table *t, sd_bus_message *reply) {
        return table_add_properties_except(t, reply, NULL);
}

typedef struct PropertiesReader {
        Table *table;
        const char * const *skip;
} PropertiesReader;

static int table_add_property(sd_bus_message *reply, const char *name, void *userdata) {
        PropertiesReader *p = userdata;
        const char *contents;
        bool skipped = false;
        int r;

        r = sd_bus_message_peek_type(reply, NULL, &contents);
        if (r < 0)
                return r;
        for (const char * const *k = p->skip; k && *k && !skipped; k++)
                skipped = streq(*k, name);
        /* Containers are shown by their own verbs. */
        if (skipped || contents[1] != 0)
                return sd_bus_message_skip(reply, "v");
        r = table_add_column(p->table, name);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'v', contents);
        if (r >= 0)
                r = table_add_variant(p->table, reply, contents[0]);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        return r;
}

int table_add_properties_except(Table *t, sd_bus_message *reply, const char * const *skip) {
        return bus_message_read_dict(reply, table_add_property, &(PropertiesReader) { .table = t, .skip = skip });
}

int for_each_managed_object(sd_bus *bus, const char *interface, managed_object_t object, void *userdata,
                            const char *what_call, const char *what_parse) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path, *name;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, what_call);
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                r = sd_bus_message_read(reply, "o", &path);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        r = sd_bus_message_read(reply, "s", &name);
                        if (r >= 0 && streq(name, interface))
                                r = object(reply, path, userdata);
                        else if (r >= 0)
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return log_bus_error(r, NULL, what_parse);
        return 0;
}

/* Prints an interface's properties on the node's object, less those in except (NULL: none), with
 * one more row note_column: note if note is set. */
int print_properties(sd_bus *bus, const char *interface, const char *whose, const char * const *except,
                     const char *note_column, const char *note) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *what = NULL;
        int r;

        if (asprintf(&what, "Failed to read the %s properties", whose) < 0)
                return -ENOMEM;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", interface);
        if (r < 0)
                return log_bus_error(r, &error, what);
        t = table_new(NULL);
        if (!t)
                return -ENOMEM;
        table_set_vertical(t, true);
        r = table_add_properties_except(t, reply, except);
        if (r >= 0 && note) {
                r = table_add_column(t, note_column);
                if (r >= 0)
                        r = table_add_string(t, note);
        }
        if (r < 0)
                return log_bus_error(r, NULL, what);
        return table_print(t, arg_json);
}

static int verb_status(sd_bus *bus, int argc, char *argv[]) {
        /* What the node says of its hypervisor while not connected: empty strings and zeros, which
         * read as a broken host. People are told the state instead; programs (--json) get it all. */
        static const char * const not_connected[] = {
                "HypervisorConnected", "HypervisorType", "CPUs", "CPUModel", "MemoryKiB", NULL
        };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *uri = NULL, *state = NULL;
        int connected = true, r;

        if (!arg_json) {
                r = sd_bus_get_property_trivial(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, NODE_INTERFACE,
                                                "HypervisorConnected", &error, 'b', &connected);
                if (r >= 0 && !connected)
                        r = sd_bus_get_property_string(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, NODE_INTERFACE,
                                                       "HypervisorURI", &error, &uri);
                if (r < 0)
                        return log_bus_error(r, &error, "Failed to read the node's properties");
                if (!connected &&
                    asprintf(&state, "disconnected; aimd is connecting to %s and retries until it answers", uri) < 0)
                        return -ENOMEM;
        }
        return print_properties(bus, NODE_INTERFACE, "node's", connected ? NULL : not_connected, "Hypervisor", state);
}

static const Verb verbs[] = {
        { "status",  0, 0,  verb_status,  "status" },
        { "vlan",    1, 2 * 8192 + 2, verb_vlan, "vlan create|delete|list|apply ..." },
        { "checkpoint", 1, 2, verb_checkpoint, "checkpoint list|confirm|rollback [ID]" },
        { "image",   1, 12, verb_image,   "image import|export|pull|list|delete ..." },
        { "job",     1, 2,  verb_job,     "job list|cancel ..." },
        { "machine", 1, 65, verb_machine, "machine list|start|shutdown|reboot|reset|destroy|suspend|resume|define|undefine|show|xml|set|addresses ..." },
        { "monitor", 0, 1,  verb_monitor, "monitor [--json]" },
        { "broker",  0, 0,  verb_broker,  "broker" },
        { "events",  0, 8,  verb_events,  "events [--broker=HOST[:PORT]|PATH] [--stream=KEY] [--node=NAME] [--since=ID|-N] "
                                          "[--follow] [--json] [--user=NAME --password-file=PATH]", true },
        { "deploy",  1, 2,  verb_deploy,  "deploy FILE [SECTION]" },
        {}
};

/* The verb argv[0] names, if its argument count fits; else says what is wrong and returns NULL. */
static const Verb *verb_find(const Verb *table, int argc, char *argv[]) {
        if (argc < 1) {
                fprintf(stderr, "aimctl: missing verb; see --help.\n");
                return NULL;
        }
        for (const Verb *v = table; v->name; v++) {
                if (!streq(v->name, argv[0]))
                        continue;
                if (argc - 1 < v->min_args || argc - 1 > v->max_args) {
                        fprintf(stderr, "aimctl: wrong number of arguments; usage: %s\n", v->usage);
                        return NULL;
                }
                return v;
        }
        fprintf(stderr, "aimctl: unknown verb '%s'; see --help.\n", argv[0]);
        return NULL;
}

int dispatch_verb(sd_bus *bus, const Verb *table, int argc, char *argv[]) {
        const Verb *v = verb_find(table, argc, argv);

        return v ? v->run(bus, argc, argv) : -EINVAL;
}

static void help(void) {
        printf("Usage: aimctl [OPTIONS] VERB [ARGS...]\n"
               "Query and control aimd, the node agent (org.abiquo.Node1).\n"
               "\nNode:\n"
               "  status                               Show the node's properties\n"
               "\nVLANs and bridges:\n"
               "  vlan create PARENT TAG BRIDGE [--mtu=N] [--name=NAME]\n"
               "                                       Create VLAN PARENT.TAG as a port of BRIDGE\n"
               "  vlan delete PARENT TAG BRIDGE        Delete it (and BRIDGE once it has no port)\n"
               "  vlan list                            List the managed VLANs\n"
               "\nImages:\n"
               "  image import SRC NAME [COPY-OPTIONS] Copy repository file SRC into the datastore\n"
               "  image export NAME TARGET [COPY-OPTIONS]\n"
               "                                       Copy datastore image NAME to the repository\n"
               "  image pull URL NAME [COPY-OPTIONS] [--download-checksum=ALG:HEX]\n"
               "                                       Download an http(s) URL into the datastore\n"
               "  image list                           List the datastore's images\n"
               "  image delete NAME                    Delete an image\n"
               "  job list                             Show running and queued copies\n"
               "  job cancel ID                        Cancel a copy\n"
               "    COPY-OPTIONS: --checksum=sha256:HEX|md5:HEX --overwrite --decompress=auto|none\n"
               "                  --member=FILE --no-sync (done without waiting for the disk)\n"
               "\nMachines:\n"
               "  machine list                         List the virtual machines\n"
               "  machine start|shutdown|reboot|reset|destroy|suspend|resume NAME|UUID\n"
               "                                       Control a virtual machine\n"
               "  machine define NAME [--vcpus N] [--memory SIZE] [--disk DISK]... [--nic NIC]...\n"
               "                 [--vnc[=ADDR[:DISPLAY]] | --spice[=…]] [--vga MODEL] [--kernel IMG\n"
               "                 [--initrd IMG] [--cmdline TEXT]] [--uuid UUID] [--autostart] [--start]\n"
               "                                       Define a machine from datastore images\n"
               "    DISK: image=IMG[,bus=virtio|sata|scsi|ide][,cache=…][,boot=N][,snapshot][,readonly]\n"
               "          or device=/dev/…[,…]\n"
               "    NIC:  bridge=BR|network=NET|user[,model=virtio|e1000|rtl8139|ne2k_pci][,mac=MAC]\n"
               "          [,forward=tcp:HOSTPORT:GUESTPORT]…\n"
               "    SIZE: 512M, 2G, 1048576K (a bare number is MiB)\n"
               "  machine undefine NAME [--force] [--remove-images]\n"
               "                                       Remove a definition (and images only it used)\n"
               "  machine show NAME                    Everything about one machine\n"
               "  machine xml NAME                     Its libvirt domain XML\n"
               "  machine set NAME [--vcpus N] [--memory SIZE] [--autostart=yes|no]\n"
               "                                       Change its resources or autostart\n"
               "  machine addresses NAME|UUID [--source=lease|agent|arp|dns|any]\n"
               "                                       Its IP addresses (default: any source that has one)\n"
               "  monitor [--json]                     Print machine events as they come, until ^C\n"
               "  broker                               Show where this node's events go (Redis) and how it goes\n"
               "  events [--broker=HOST[:PORT]|PATH] [--stream=KEY] [--node=NAME] [--since=ID|-N] [--follow]\n"
               "                                       Print the fleet's events from the Redis stream (default:\n"
               "                                       where this node publishes, stream aim:events, all of it),\n"
               "                                       saying where a node's seq has a gap; --user and\n"
               "                                       --password-file for a Redis with ACLs\n"
               "  deploy FILE [SECTION]                Import the image of an erp5.recipe.kvm section,\n"
               "                                       define and start its machine, say how to reach it\n"
               "\nOptions:\n"
               "  -h --help                            Show this help\n"
               "     --version                         Show the version\n"
               "     --json                            Print JSON instead of tables\n"
               "     --bus=system|session|ADDRESS      Where aimd is (default: the system bus)\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_BUS };
        static const struct option options[] = {
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, ARG_VERSION },
                { "json",    no_argument,       NULL, ARG_JSON },
                { "bus",     required_argument, NULL, ARG_BUS },
                {}
        };
        int c;

        /* "+": options end at the verb, so verbs may have options of their own. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("aimctl %s\n", AIMD_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_BUS:
                        arg_bus = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

static int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r;

        if (streq(arg_bus, "system"))
                return sd_bus_open_system(ret);
        if (streq(arg_bus, "session"))
                return sd_bus_open_user(ret);
        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, arg_bus);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        (void) errors_register();

        /* Command-line mistakes are told before anything is asked of the bus. */
        verb = verb_find(verbs, argc - optind, argv + optind);
        if (!verb)
                return EXIT_FAILURE;
        r = bus_connect(&bus);
        if (r < 0 && !verb->bus_optional) {
                log_bus_error(r, NULL, "Failed to connect to the bus");
                return EXIT_FAILURE;
        }
        /* Let polkit ask the person at the terminal when it needs to. */
        if (bus)
                (void) sd_bus_set_allow_interactive_authorization(bus, isatty(STDIN_FILENO) > 0);

        r = verb->run(bus, argc - optind, argv + optind);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
