/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-network.c — aimctl vlan create|delete|list (org.abiquo.Node1.Network) */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/bus-names.h"
#include "aimctl.h"


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

static const Verb vlan_verbs[] = {
        { "create", 3, 7, verb_vlan_create, "vlan create PARENT TAG BRIDGE [--mtu=N] [--name=NAME]" },
        { "delete", 3, 3, verb_vlan_delete, "vlan delete PARENT TAG BRIDGE" },
        { "list",   0, 0, verb_vlan_list,   "vlan list" },
        {}
};

int verb_vlan(sd_bus *bus, int argc, char *argv[]) {
        return dispatch_verb(bus, vlan_verbs, argc - 1, argv + 1);
}
