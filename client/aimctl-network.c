/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-network.c — aimctl vlan create|delete|list|apply and checkpoint list|confirm|rollback
 * (org.abiquo.Node1.Network, org.abiquo.Node1.Checkpoint) */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/bus-names.h"
#include "aimctl.h"
#include "shared/bus-util.h"


/* A tag as the daemon takes it (q); the range is the daemon's to judge and explain. */
static int parse_tag(const char *s, uint16_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || v > UINT16_MAX || s[0] == '-') {
                fprintf(stderr, "aimctl: invalid tag '%s': a VLAN tag is a number 1..4094.\n", s);
                return -EINVAL;
        }
        *ret = (uint16_t) v;
        return 0;
}

static int verb_vlan_create(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = {
                { "mtu",  required_argument, NULL, 'm' },
                { "name", required_argument, NULL, 'n' },
                {}
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        const char *name = NULL, *path;
        uint32_t mtu = 0;
        bool has_mtu = false;
        uint16_t tag;
        char *end;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        errno = 0;
                        mtu = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-') {
                                fprintf(stderr, "aimctl: invalid --mtu '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        has_mtu = true;
                        break;
                case 'n':
                        name = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (argc - optind != 3) {
                fprintf(stderr, "aimctl: usage: vlan create PARENT TAG BRIDGE [--mtu=N] [--name=NAME]\n");
                return -EINVAL;
        }
        r = parse_tag(argv[optind + 1], &tag);
        if (r < 0)
                return r;

        r = call_begin(bus, NETWORK_INTERFACE, "CreateVlan", &call, "sqs", argv[optind], tag, argv[optind + 2]);
        if (r < 0)
                return r;
        if (name)
                r = sd_bus_message_append(call, "{sv}", "name", "s", name);
        if (r >= 0 && has_mtu)
                r = sd_bus_message_append(call, "{sv}", "mtu", "u", mtu);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = call_end(bus, call, "Failed to create the VLAN", &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        printf("%s\n", path);
        return 0;
}

static int verb_vlan_delete(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint16_t tag;
        int r;

        r = parse_tag(argv[2], &tag);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, NETWORK_INTERFACE, "DeleteVlan", &error, NULL,
                               "sqs", argv[1], tag, argv[3]);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to delete the VLAN");
        return 0;
}

static int verb_vlan_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        const char *parent, *bridge, *path;
        uint16_t tag;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, NETWORK_INTERFACE, "ListVlans", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list the VLANs");
        t = table_new("interface", "parent", "tag", "bridge", "path", NULL);
        if (!t)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(sqso)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sqso)", &parent, &tag, &bridge, &path)) > 0) {
                _cleanup_free_ char *name = NULL;

                r = sd_bus_path_decode(path, NODE_OBJECT_PATH "/vlan", &name);
                if (r >= 0)
                        r = table_add_string(t, strempty(name));
                if (r >= 0)
                        r = table_add_string(t, parent);
                if (r >= 0)
                        r = table_add_uint(t, tag);
                if (r >= 0)
                        r = table_add_string(t, bridge);
                if (r >= 0)
                        r = table_add_string(t, path);
        }
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the VLAN list");
        return table_print(t, arg_json);
}

/* A JSON list of flat objects whose values are strings or non-negative integers, as Apply's changes:
 * "tag" and "mtu" go as q and u, other numbers as u, strings as s; the daemon judges the rest. Only
 * what a change needs is understood: no floats, nesting, true/false/null. */
typedef struct JsonReader {
        const char *start, *p, *end;
        const char *what;       /* the input's name, for errors */
} JsonReader;

static int json_fail(JsonReader *j, const char *why) {
        fprintf(stderr, "aimctl: %s: %s at offset %zu.\n", j->what, why, (size_t) (j->p - j->start));
        return -EINVAL;
}

static void json_skip_space(JsonReader *j) {
        while (j->p < j->end && isspace((unsigned char) *j->p))
                j->p++;
}

static bool json_take(JsonReader *j, char c) {
        json_skip_space(j);
        if (j->p < j->end && *j->p == c) {
                j->p++;
                return true;
        }
        return false;
}

/* A string into a malloc'd UTF-8 buffer; \uXXXX is taken for the Basic Multilingual Plane. */
static int json_string(JsonReader *j, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        if (!json_take(j, '"'))
                return json_fail(j, "expected a string");
        buf = malloc(j->end - j->p + 1);
        if (!buf)
                return -ENOMEM;
        while (j->p < j->end && *j->p != '"') {
                unsigned char c = (unsigned char) *j->p++;
                unsigned u;

                if (c < 0x20)
                        return json_fail(j, "control character in a string");
                if (c != '\\') {
                        buf[n++] = (char) c;
                        continue;
                }
                if (j->p >= j->end)
                        break;
                c = (unsigned char) *j->p++;
                switch (c) {
                case '"': case '\\': case '/': buf[n++] = (char) c; break;
                case 'n': buf[n++] = '\n'; break;
                case 't': buf[n++] = '\t'; break;
                case 'r': buf[n++] = '\r'; break;
                case 'b': buf[n++] = '\b'; break;
                case 'f': buf[n++] = '\f'; break;
                case 'u':
                        u = 0;
                        for (int k = 0; k < 4; k++, j->p++) {
                                int d = j->p < j->end && isxdigit((unsigned char) *j->p) ?
                                        (isdigit((unsigned char) *j->p) ? *j->p - '0' : (*j->p | 0x20) - 'a' + 10) : -1;

                                if (d < 0)
                                        return json_fail(j, "bad \\u escape");
                                u = u * 16 + (unsigned) d;
                        }
                        if (u == 0)
                                return json_fail(j, "bad \\u escape");
                        if (u < 0x80)
                                buf[n++] = (char) u;
                        else if (u < 0x800) {
                                buf[n++] = (char) (0xc0 | (u >> 6));
                                buf[n++] = (char) (0x80 | (u & 0x3f));
                        } else {
                                buf[n++] = (char) (0xe0 | (u >> 12));
                                buf[n++] = (char) (0x80 | ((u >> 6) & 0x3f));
                                buf[n++] = (char) (0x80 | (u & 0x3f));
                        }
                        break;
                default:
                        return json_fail(j, "bad escape");
                }
        }
        if (j->p >= j->end)
                return json_fail(j, "unterminated string");
        j->p++;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int json_append_pair(JsonReader *j, sd_bus_message *call) {
        _cleanup_free_ char *key = NULL, *value = NULL;
        unsigned long long u = 0;
        int r;

        r = json_string(j, &key);
        if (r < 0)
                return r;
        if (!json_take(j, ':'))
                return json_fail(j, "expected ':'");
        json_skip_space(j);
        if (j->p < j->end && *j->p == '"') {
                r = json_string(j, &value);
                if (r < 0)
                        return r;
                return sd_bus_message_append(call, "{sv}", key, "s", value);
        }
        if (j->p >= j->end || !isdigit((unsigned char) *j->p))
                return json_fail(j, "expected a string or a number");
        while (j->p < j->end && isdigit((unsigned char) *j->p)) {
                u = u * 10 + (unsigned) (*j->p++ - '0');
                if (u > UINT32_MAX)
                        return json_fail(j, "number too large");
        }
        if (streq(key, "tag")) {
                if (u > UINT16_MAX)
                        return json_fail(j, "tag too large");
                return sd_bus_message_append(call, "{sv}", key, "q", (uint16_t) u);
        }
        return sd_bus_message_append(call, "{sv}", key, "u", (uint32_t) u);
}

static int json_append_changes(JsonReader *j, sd_bus_message *call) {
        int r;

        if (!json_take(j, '['))
                return json_fail(j, "expected a list of changes");
        if (json_take(j, ']'))
                goto end;
        do {
                if (!json_take(j, '{'))
                        return json_fail(j, "expected a change (an object)");
                r = sd_bus_message_open_container(call, 'a', "{sv}");
                if (r < 0)
                        return r;
                if (!json_take(j, '}')) {
                        do {
                                r = json_append_pair(j, call);
                                if (r < 0)
                                        return r;
                        } while (json_take(j, ','));
                        if (!json_take(j, '}'))
                                return json_fail(j, "expected ',' or '}'");
                }
                r = sd_bus_message_close_container(call);
                if (r < 0)
                        return r;
        } while (json_take(j, ','));
        if (!json_take(j, ']'))
                return json_fail(j, "expected ',' or ']'");
end:
        json_skip_space(j);
        return j->p == j->end ? 0 : json_fail(j, "trailing data");
}

/* The whole of FILE or standard input ("-"), at most 16 MiB (8192 changes take far less). */
static int read_input(const char *name, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, max = 16 * 1024 * 1024;
        FILE *f = streq(name, "-") ? stdin : fopen(name, "re");

        if (!f) {
                int r = negative_errno();

                fprintf(stderr, "aimctl: cannot open %s: %s\n", name, strerror(-r));
                return r;
        }
        buf = malloc(max + 1);
        if (buf)
                n = fread(buf, 1, max + 1, f);
        if (f != stdin)
                fclose(f);
        if (!buf)
                return -ENOMEM;
        if (n > max) {
                fprintf(stderr, "aimctl: %s is larger than 16 MiB.\n", name);
                return -EFBIG;
        }
        if (memchr(buf, 0, n)) {
                fprintf(stderr, "aimctl: %s has a NUL byte.\n", name);
                return -EINVAL;
        }
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = n;
        return 0;
}

/* --create/--delete PARENT:TAG:BRIDGE as one change. */
static int append_spec_change(sd_bus_message *call, const char *action, const char *spec) {
        _cleanup_free_ char *copy = strdup(spec);
        char *parent, *tag, *bridge;
        uint16_t t;
        int r;

        if (!copy)
                return -ENOMEM;
        parent = copy;
        tag = strchr(parent, ':');
        bridge = tag ? strchr(tag + 1, ':') : NULL;
        if (!bridge) {
                fprintf(stderr, "aimctl: invalid --%s '%s': expected PARENT:TAG:BRIDGE.\n", action, spec);
                return -EINVAL;
        }
        *tag++ = 0;
        *bridge++ = 0;
        r = parse_tag(tag, &t);
        if (r < 0)
                return r;
        return sd_bus_message_append(call, "a{sv}", 4, "action", "s", action, "parent", "s", parent, "tag", "q", t,
                                     "bridge", "s", bridge);
}

static int verb_vlan_apply(sd_bus *bus, int argc, char *argv[]) {
        static const struct option options[] = {
                { "rollback-timeout", required_argument, NULL, 't' },
                { "create",           required_argument, NULL, 'c' },
                { "delete",           required_argument, NULL, 'd' },
                {}
        };
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_free_ char *input = NULL;
        unsigned long timeout = 0;
        bool specs = false;
        const char *path;
        char *end;
        int c, r;

        r = sd_bus_message_new_method_call(bus, &call, NODE_BUS_NAME, NODE_OBJECT_PATH, NETWORK_INTERFACE, "Apply");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "a{sv}");
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        errno = 0;
                        timeout = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || timeout > UINT32_MAX) {
                                fprintf(stderr, "aimctl: invalid --rollback-timeout '%s': seconds.\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'c':
                case 'd':
                        r = append_spec_change(call, c == 'c' ? "create" : "delete", optarg);
                        if (r < 0)
                                return r == -EINVAL ? r : log_bus_error(r, NULL, "Failed to build the call");
                        specs = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (argc - optind > 1 || (argc - optind == 1 && specs) || (argc == optind && !specs)) {
                fprintf(stderr, "aimctl: usage: vlan apply [--rollback-timeout=SECONDS] FILE|-  or  "
                        "vlan apply [--rollback-timeout=SECONDS] --create|--delete PARENT:TAG:BRIDGE ...\n");
                return -EINVAL;
        }
        if (!specs) {
                JsonReader j = { .what = argv[optind] };
                size_t size = 0;

                r = read_input(argv[optind], &input, &size);
                if (r < 0)
                        return r;
                j.start = j.p = input;
                j.end = input + size;
                r = json_append_changes(&j, call);
                if (r == -EINVAL)
                        return r;
                if (r < 0)
                        return log_bus_error(r, NULL, "Failed to build the call");
        }
        r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = timeout > 0 ? sd_bus_message_append(call, "a{sv}", 1, "rollback_timeout", "u", (uint32_t) timeout) :
                                  sd_bus_message_append(call, "a{sv}", 0);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = sd_bus_call(bus, call, CALL_LONG_USEC, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to apply the changes");
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        printf("%s\n", path);
        return 0;
}

static const Verb vlan_verbs[] = {
        { "create", 3, 7, verb_vlan_create, "vlan create PARENT TAG BRIDGE [--mtu=N] [--name=NAME]" },
        { "delete", 3, 3, verb_vlan_delete, "vlan delete PARENT TAG BRIDGE" },
        { "list",   0, 0, verb_vlan_list,   "vlan list" },
        { "apply",  1, 2 * 8192 + 1, verb_vlan_apply,
          "vlan apply [--rollback-timeout=SECONDS] FILE|-|--create PARENT:TAG:BRIDGE|--delete PARENT:TAG:BRIDGE ..." },
        {}
};

int verb_vlan(sd_bus *bus, int argc, char *argv[]) {
        return dispatch_verb(bus, vlan_verbs, argc - 1, argv + 1);
}

typedef struct CheckpointRow {
        uint32_t id, changes;
        uint64_t expires;
} CheckpointRow;

static int read_checkpoint_property(sd_bus_message *reply, const char *name, void *userdata) {
        CheckpointRow *c = userdata;

        if (streq(name, "Id"))
                return sd_bus_message_read(reply, "v", "u", &c->id);
        if (streq(name, "Expires"))
                return sd_bus_message_read(reply, "v", "t", &c->expires);
        if (streq(name, "Changes"))
                return sd_bus_message_read(reply, "v", "u", &c->changes);
        return sd_bus_message_skip(reply, "v");
}

static int add_checkpoint_row(sd_bus_message *reply, const char *path, void *userdata) {
        Table *t = userdata;
        CheckpointRow c = {};
        char when[32];
        time_t s;
        struct tm tm;
        int r;

        r = bus_message_read_dict(reply, read_checkpoint_property, &c);
        if (r < 0)
                return r;
        s = (time_t) (c.expires / 1000000);
        if (!gmtime_r(&s, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(when, sizeof(when), "%" PRIu64, c.expires);
        if (table_add_uint(t, c.id) < 0 || table_add_string(t, when) < 0 || table_add_uint(t, c.changes) < 0 ||
            table_add_string(t, path) < 0)
                return -ENOMEM;
        return 0;
}

static int verb_checkpoint_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        t = table_new("id", "expires", "changes", "path", NULL);
        if (!t)
                return -ENOMEM;
        r = for_each_managed_object(bus, CHECKPOINT_INTERFACE, add_checkpoint_row, t, "Failed to list the checkpoints",
                                    "Failed to parse the checkpoint list");
        if (r < 0)
                return r;
        return table_print(t, arg_json);
}

static int checkpoint_call(sd_bus *bus, const char *id, const char *method, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (!*id || strspn(id, "0123456789") != strlen(id)) {
                fprintf(stderr, "aimctl: invalid checkpoint id '%s': a number.\n", id);
                return -EINVAL;
        }
        if (asprintf(&path, CHECKPOINT_PATH_PREFIX "/%s", id) < 0)
                return log_bus_error(-ENOMEM, NULL, "Failed to build the call");
        r = sd_bus_message_new_method_call(bus, &call, NODE_BUS_NAME, path, CHECKPOINT_INTERFACE, method);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = sd_bus_call(bus, call, CALL_LONG_USEC, &error, NULL);
        if (r < 0)
                return log_bus_error(r, &error, what);
        return 0;
}

static int verb_checkpoint_confirm(sd_bus *bus, int argc, char *argv[]) {
        return checkpoint_call(bus, argv[1], "Confirm", "Failed to confirm the checkpoint");
}

static int verb_checkpoint_rollback(sd_bus *bus, int argc, char *argv[]) {
        return checkpoint_call(bus, argv[1], "Rollback", "Failed to roll back the checkpoint");
}

static const Verb checkpoint_verbs[] = {
        { "list",     0, 0, verb_checkpoint_list,     "checkpoint list" },
        { "confirm",  1, 1, verb_checkpoint_confirm,  "checkpoint confirm ID" },
        { "rollback", 1, 1, verb_checkpoint_rollback, "checkpoint rollback ID" },
        {}
};

int verb_checkpoint(sd_bus *bus, int argc, char *argv[]) {
        return dispatch_verb(bus, checkpoint_verbs, argc - 1, argv + 1);
}
