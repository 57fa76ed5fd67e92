/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-image.c — aimctl image import|export|pull|list|delete and job list|cancel */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared/bus-names.h"
#include "aimctl.h"
#include "shared/bus-util.h"


typedef struct Wait {
        uint32_t id;
        const char *path;
        bool done, tty;
        char *result, *message;
        double progress;
        uint64_t bytes_done, bytes_total;       /* total 0: unknown (a server without Content-Length) */
        double started;                 /* monotonic seconds at the first report */
        uint64_t started_bytes;         /* BytesDone then */
        int last_step;                  /* plain output: the last 10 % step printed */
        char method[32];
} Wait;

static double now_seconds(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* "512 B", "1.5 KiB", "64.0 MiB": buf holds at least 16 bytes. */
static const char *format_bytes(char *buf, size_t size, double bytes) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        size_t u = 0;

        while (bytes >= 1024 && u + 1 < ELEMENTSOF(units)) {
                bytes /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%.0f B", bytes);
        else
                snprintf(buf, size, "%.1f %s", bytes, units[u]);
        return buf;
}

static void wait_done(Wait *w) {
        free(w->result);
        free(w->message);
}

static void show_progress(Wait *w) {
        if (w->tty) {
                int width = 30, filled = (int) (w->progress * width + 0.5);
                char done[16], total[16], rate[24] = "-", eta[24] = "";
                double elapsed = w->started > 0 ? now_seconds() - w->started : 0;

                if (elapsed > 0.05 && w->bytes_done > w->started_bytes) {
                        double bps = (double) (w->bytes_done - w->started_bytes) / elapsed;

                        format_bytes(rate, sizeof(rate), bps);
                        if (w->bytes_total > w->bytes_done) {
                                unsigned left = (unsigned) ((double) (w->bytes_total - w->bytes_done) / bps + 0.5);

                                snprintf(eta, sizeof(eta), " ETA %u:%02u", left / 60, left % 60);
                        }
                }
                format_bytes(done, sizeof(done), (double) w->bytes_done);
                if (w->bytes_total > 0)
                        fprintf(stderr, "\r[%.*s%*s] %3d%% %s/%s %s/s%s %s\033[K", filled,
                                "##############################", width - filled, "",
                                (int) (w->progress * 100 + 0.5), done,
                                format_bytes(total, sizeof(total), (double) w->bytes_total), rate, eta, w->method);
                else
                        fprintf(stderr, "\r%s %s/s %s\033[K", done, rate, w->method);
                return;
        }
        if ((int) (w->progress * 10) > w->last_step) {
                w->last_step = (int) (w->progress * 10);
                printf("Job %" PRIu32 ": %d%%%s%s\n", w->id, w->last_step * 10, w->method[0] ? " by " : "", w->method);
                fflush(stdout);
        }
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Wait *w = userdata;
        const char *interface, *key, *s;
        int r;

        if (!w->path || !streq_ptr(sd_bus_message_get_path(m), w->path))
                return 0;
        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0)
                return 0;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0 && streq(key, "Progress"))
                        r = sd_bus_message_read(m, "v", "d", &w->progress);
                else if (r >= 0 && streq(key, "BytesDone"))
                        r = sd_bus_message_read(m, "v", "t", &w->bytes_done);
                else if (r >= 0 && streq(key, "BytesTotal"))
                        r = sd_bus_message_read(m, "v", "t", &w->bytes_total);
                else if (r >= 0 && streq(key, "Method") && sd_bus_message_read(m, "v", "s", &s) >= 0)
                        snprintf(w->method, sizeof(w->method), "%s", s);
                else if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r < 0 || sd_bus_message_exit_container(m) < 0)
                        break;
        }
        /* The rate counts from the first report, not from the call (a job may wait in the queue). */
        if (w->started == 0) {
                w->started = now_seconds();
                w->started_bytes = w->bytes_done;
        }
        show_progress(w);
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Wait *w = userdata;
        const char *path, *result, *message;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &result, &message) < 0 || id != w->id)
                return 0;
        w->result = strdup(result);
        w->message = strdup(message);
        w->done = true;
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Wait *w = userdata;
        const char *name, *old, *new;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || new[0])
                return 0;
        /* The daemon is gone, and with it the job's worker. */
        w->result = strdup("failed");
        w->message = strdup("aimd exited before the job ended");
        w->done = true;
        return 0;
}

/* Calls Import, Export or Pull and follows the job to its end. */
int copy_and_wait(sd_bus *bus, const char *method, const char *a, const char *b, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *s1 = NULL, *s2 = NULL, *s3 = NULL;
        _cleanup_(wait_done) Wait w = { .tty = isatty(STDERR_FILENO) > 0, .last_step = -1 };
        enum { ARG_CHECKSUM = 0x100, ARG_OVERWRITE, ARG_DECOMPRESS, ARG_MEMBER, ARG_DOWNLOAD_CHECKSUM, ARG_NO_SYNC };
        static const struct option options[] = {
                { "checksum",   required_argument, NULL, ARG_CHECKSUM },
                { "overwrite",  no_argument,       NULL, ARG_OVERWRITE },
                { "decompress", required_argument, NULL, ARG_DECOMPRESS },
                { "member",     required_argument, NULL, ARG_MEMBER },
                { "download-checksum", required_argument, NULL, ARG_DOWNLOAD_CHECKSUM },
                { "no-sync",    no_argument,       NULL, ARG_NO_SYNC },
                {}
        };
        const char *checksum = NULL, *decompress = NULL, *member = NULL, *download_checksum = NULL;
        bool overwrite = false, no_sync = false;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_CHECKSUM:
                        checksum = optarg;
                        break;
                case ARG_OVERWRITE:
                        overwrite = true;
                        break;
                case ARG_DECOMPRESS:
                        decompress = optarg;
                        break;
                case ARG_MEMBER:
                        member = optarg;
                        break;
                case ARG_DOWNLOAD_CHECKSUM:
                        if (!streq(method, "Pull")) {
                                fprintf(stderr, "aimctl: --download-checksum is for image pull\n");
                                return -EINVAL;
                        }
                        download_checksum = optarg;
                        break;
                case ARG_NO_SYNC:
                        no_sync = true;
                        break;
                default:
                        return -EINVAL;
                }

        /* Listen before calling: a reflink is over before the reply is read. */
        r = sd_bus_match_signal(bus, &s1, NODE_BUS_NAME, NODE_OBJECT_PATH, IMAGES_INTERFACE, "JobRemoved", on_job_removed, &w);
        if (r >= 0)
                r = sd_bus_add_match(bus, &s2,
                                     "type='signal',sender='" NODE_BUS_NAME "',interface='org.freedesktop.DBus.Properties',"
                                     "member='PropertiesChanged',path_namespace='" JOB_PATH_PREFIX "'",
                                     on_properties_changed, &w);
        if (r >= 0)
                r = sd_bus_add_match(bus, &s3,
                                     "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                                     "arg0='" NODE_BUS_NAME "'",
                                     on_owner_changed, &w);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to subscribe to job signals");

        r = call_begin(bus, IMAGES_INTERFACE, method, &call, "ss", a, b);
        if (r < 0)
                return r;
        r = call_append_string(call, "checksum", checksum);
        if (r >= 0 && overwrite)
                r = sd_bus_message_append(call, "{sv}", "overwrite", "b", 1);
        if (r >= 0)
                r = call_append_string(call, "decompress", decompress);
        if (r >= 0)
                r = call_append_string(call, "member", member);
        if (r >= 0)
                r = call_append_string(call, "download_checksum", download_checksum);
        if (r >= 0 && no_sync)
                r = sd_bus_message_append(call, "{sv}", "sync", "b", 0);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = call_end(bus, call, method, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "uo", &w.id, &w.path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        if (!w.tty) {
                printf("Job %" PRIu32 " started: %s\n", w.id, w.path);
                fflush(stdout);
        }

        while (!w.done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_bus_error(r, NULL, "Lost the bus");
                if (r == 0) {
                        r = sd_bus_wait(bus, UINT64_MAX);
                        if (r < 0)
                                return log_bus_error(r, NULL, "Lost the bus");
                }
        }
        if (w.tty)
                fputs("\r\033[K", stderr);
        if (!streq_ptr(w.result, "done")) {
                fprintf(stderr, "aimctl: job %" PRIu32 " %s: %s\n", w.id, strempty(w.result), strempty(w.message));
                return -EIO;
        }
        printf("Job %" PRIu32 ": done%s%s%s\n", w.id, w.method[0] ? " (" : "", w.method, w.method[0] ? ")" : "");
        return 0;
}

static int verb_import(sd_bus *bus, int argc, char *argv[]) {
        const char *pos[2];
        int n = 0;

        /* Positional arguments may be mixed with options: getopt permutes them to the end. */
        for (int i = 1; i < argc; i++)
                if (argv[i][0] != '-' && !(i > 1 && (streq(argv[i - 1], "--checksum") ||
                                                     streq(argv[i - 1], "--download-checksum") ||
                                                     streq(argv[i - 1], "--decompress") ||
                                                     streq(argv[i - 1], "--member")))) {
                        if (n == 2) {
                                fprintf(stderr, "aimctl: too many arguments\n");
                                return -EINVAL;
                        }
                        pos[n++] = argv[i];
                }
        if (n != 2) {
                fprintf(stderr, "aimctl: %s needs two arguments\n", argv[0]);
                return -EINVAL;
        }
        return copy_and_wait(bus, streq(argv[0], "import") ? "Import" : streq(argv[0], "pull") ? "Pull" : "Export",
                             pos[0], pos[1], argc, argv);
}

static int verb_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        const char *name, *path;
        uint64_t size, allocated;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, IMAGES_INTERFACE, "ListImages", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list images");
        t = table_new("name", "size", "allocated", "path", NULL);
        if (!t)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "(stto)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(stto)", &name, &size, &allocated, &path)) > 0)
                if (table_add_string(t, name) < 0 || table_add_uint(t, size) < 0 ||
                    table_add_uint(t, allocated) < 0 || table_add_string(t, path) < 0)
                        return -ENOMEM;
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the image list");
        return table_print(t, arg_json);
}

static int verb_delete(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, IMAGES_INTERFACE, "Delete", &error, NULL, "s", argv[1]);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to delete the image");
        return 0;
}

int verb_image(sd_bus *bus, int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "import", 2, 10, verb_import, "image import SRC NAME [--checksum=ALG:HEX] [--overwrite] [--decompress=auto|none] [--member=FILE]" },
                { "export", 2, 10, verb_import, "image export NAME TARGET [options as import]" },
                { "pull",   2, 12, verb_import, "image pull URL NAME [--download-checksum=ALG:HEX] [options as import]" },
                { "list",   0, 0,  verb_list,   "image list" },
                { "delete", 1, 1,  verb_delete, "image delete NAME" },
                {}
        };
        return dispatch_verb(bus, verbs, argc - 1, argv + 1);
}

typedef struct JobRow {
        uint32_t id;
        const char *type, *source, *target, *state, *method;
        double progress;
} JobRow;

static int read_job_property(sd_bus_message *m, const char *key, void *userdata) {
        JobRow *j = userdata;

        if (streq(key, "Id"))
                return sd_bus_message_read(m, "v", "u", &j->id);
        if (streq(key, "Progress"))
                return sd_bus_message_read(m, "v", "d", &j->progress);
        if (streq(key, "Type"))
                return sd_bus_message_read(m, "v", "s", &j->type);
        if (streq(key, "Source"))
                return sd_bus_message_read(m, "v", "s", &j->source);
        if (streq(key, "Target"))
                return sd_bus_message_read(m, "v", "s", &j->target);
        if (streq(key, "State"))
                return sd_bus_message_read(m, "v", "s", &j->state);
        if (streq(key, "Method"))
                return sd_bus_message_read(m, "v", "s", &j->method);
        return sd_bus_message_skip(m, "v");
}

static int add_job_row(sd_bus_message *m, const char *path, void *userdata) {
        Table *t = userdata;
        JobRow j = { .type = "", .source = "", .target = "", .state = "", .method = "" };
        int r;

        r = bus_message_read_dict(m, read_job_property, &j);
        if (r < 0)
                return r;
        if (table_add_uint(t, j.id) < 0 || table_add_string(t, j.type) < 0 || table_add_string(t, j.source) < 0 ||
            table_add_string(t, j.target) < 0 || table_add_string(t, j.state) < 0 ||
            table_add_double(t, j.progress) < 0 || table_add_string(t, j.method) < 0)
                return -ENOMEM;
        return 0;
}

static int verb_job_list(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        t = table_new("id", "type", "source", "target", "state", "progress", "method", NULL);
        if (!t)
                return -ENOMEM;
        r = for_each_managed_object(bus, JOB_INTERFACE, add_job_row, t, "Failed to list jobs",
                                    "Failed to parse the job list");
        if (r < 0)
                return r;
        return table_print(t, arg_json);
}

static int verb_job_cancel(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        char *end;
        int r;

        errno = 0;
        (void) strtoul(argv[1], &end, 10);
        if (errno != 0 || end == argv[1] || *end) {
                fprintf(stderr, "aimctl: '%s' is not a job id\n", argv[1]);
                return -EINVAL;
        }
        r = sd_bus_path_encode(JOB_PATH_PREFIX, argv[1], &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, NODE_BUS_NAME, path, JOB_INTERFACE, "Cancel", &error, NULL, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to cancel the job");
        return 0;
}

int verb_job(sd_bus *bus, int argc, char *argv[]) {
        static const Verb verbs[] = {
                { "list",   0, 0, verb_job_list,   "job list" },
                { "cancel", 1, 1, verb_job_cancel, "job cancel ID" },
                {}
        };
        return dispatch_verb(bus, verbs, argc - 1, argv + 1);
}
