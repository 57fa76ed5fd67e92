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
        char *ca_file;          /* [rimp] caFile: the CAs pulls trust instead of the system's; NULL: those */
        unsigned pull_stall_seconds; /* [rimp] pullStallSeconds: a pull below 1 KiB/s this long fails */
        char *state_dir;        /* --state-dir: persisted daemon state */
        char **notices;         /* what the parser wants said once (obsolete keys) */
} Config;

/* Fills in the built-in defaults. */
int config_init(Config *c);
void config_done(Config *c);

/* Parses an aim.ini stream over the current values. On a malformed line or unknown key returns
 * -EINVAL and sets *ret_error to "FILE:LINE: what is wrong". */
int config_parse(Config *c, FILE *f, const char *filename, char **ret_error);

/* Opens and parses path. A missing file is fine when missing_ok (the defaults stand). */
int config_load(Config *c, const char *path, bool missing_ok, char **ret_error);
