/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.h — aim.ini (AIM-compatible) configuration with built-in defaults */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#define CONFIG_FILE_DEFAULT "/etc/aim/aim.ini"

typedef struct Config {
        char *uri;              /* [monitor] uri: libvirt connection URI */
        char *redis_host;       /* [monitor] redisHost: host, address or absolute socket path; NULL: no broker */
        unsigned redis_port;    /* [monitor] redisPort */
        char *redis_user;       /* [monitor] redisUser: the ACL user (Redis 6+); NULL: AUTH with the password alone */
        char *redis_password_file; /* [monitor] redisPasswordFile: holds the password; NULL: no AUTH */
        char *redis_stream;     /* [monitor] redisStream: the stream key */
        unsigned redis_max_len; /* [monitor] redisMaxLen: XADD MAXLEN ~ */
        unsigned redis_backlog; /* [monitor] redisBacklog: events kept while Redis is unreachable */
        char *node_name;        /* [monitor] nodeName: NULL: the host name */
        char *repository;       /* [rimp] repository: the shared (NFS) image repository */
        char *datastore;        /* [rimp] datastore: the local directory of VM disks */
        unsigned max_jobs;      /* [rimp] maxJobs: copies that may run at once */
        char *ca_file;          /* [rimp] caFile: the CAs pulls trust instead of the system's; NULL: those */
        unsigned pull_stall_seconds; /* [rimp] pullStallSeconds: a pull below 1 KiB/s this long fails */
        char *state_dir;        /* --state-dir: persisted daemon state */
        char **notices;         /* what the parser wants said once (obsolete keys) */
} Config;

/* Fills in the built-in defaults. */
int config_init(Config *c);
void config_done(Config *c);

/* Parses an aim.ini stream over the current values (a UTF-8 byte order mark at its start is
 * skipped). On a malformed line or unknown key returns -EINVAL with *reterr_message set to
 * "FILE:LINE: what is wrong"; c may then hold some of the file's values. */
int config_parse(Config *c, FILE *f, const char *filename, char **reterr_message);

/* [monitor] nodeName: 1..64 bytes of [A-Za-z0-9._-] (it names the node in every stream entry). */
bool valid_node_name(const char *s);

/* Opens and parses path. A missing file is fine when missing_ok (the defaults stand). */
int config_load(Config *c, const char *path, bool missing_ok, char **reterr_message);

/* SIGHUP: takes from next, a configuration loaded anew, the values of the keys that may change in a
 * running daemon ([rimp] maxJobs) and its notices. *ret_pending lists ("[section] key") the other
 * keys whose value differs: they take effect at the next start. */
int config_reload(Config *c, Config *next, char ***ret_pending);
