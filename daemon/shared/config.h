/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.h — aim.ini (AIM-compatible) configuration with built-in defaults */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#define CONFIG_FILE_DEFAULT "/etc/aim/aim.ini"

typedef struct Config {
        char *uri;              /* [monitor] uri: libvirt connection URI */
        char *redis_host;       /* [monitor] redisHost: where AIM relayed events; kept for the orchestrator */
        unsigned redis_port;    /* [monitor] redisPort */
        char *repository;       /* [rimp] repository: the shared (NFS) image repository */
        char *datastore;        /* [rimp] datastore: the local directory of VM disks */
        unsigned max_jobs;      /* [rimp] maxJobs: copies that may run at once */
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

/* Opens and parses path. A missing file is fine when missing_ok (the defaults stand). */
int config_load(Config *c, const char *path, bool missing_ok, char **reterr_message);

/* SIGHUP: takes from next, a configuration loaded anew, the values of the keys that may change in a
 * running daemon ([rimp] maxJobs) and its notices. *ret_pending lists ("[section] key") the other
 * keys whose value differs: they take effect at the next start. */
int config_reload(Config *c, Config *next, char ***ret_pending);
