/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job-dbus.c — org.abiquo.Node1.Job objects: one per copy job, and the signals of their progress */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "broker/broker.h"
#include "images/image-dbus.h"
#include "images/job-dbus.h"
#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "util/strv.h"

static int job_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                           sd_bus_error *error) {
        Images *im = userdata;

        return bus_hashmap_object_find(im->queue->jobs, JOB_PATH_PREFIX, true, path, found);
}

static int job_path_of(const void *j, char **ret) {
        *ret = strdup(((const Job *) j)->object_path);
        return *ret ? 0 : -ENOMEM;
}

static int job_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Images *im = userdata;

        return bus_hashmap_node_enumerate(im->queue->jobs, job_path_of, nodes);
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", job_type_to_string(((Job *) userdata)->type));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", job_state_to_string(((Job *) userdata)->state));
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "d", job_progress(userdata));
}

static int property_get_method(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", copy_method_to_string(((Job *) userdata)->method));
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        Manager *m = j->images->manager;
        char id[12];
        int r;

        snprintf(id, sizeof(id), "%u", j->id);
        r = polkit_check_async(m->polkit, message, IMAGES_ACTION,
                               (const char *[]) { "job", id, "source", j->source, "target", j->target, NULL }, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        r = job_cancel(j);      /* may free j */
        if (r < 0)
                return aim_error(error, r, "Failed to cancel job %s", id);
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Job, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Source", "s", NULL, offsetof(Job, source), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Target", "s", NULL, offsetof(Job, target), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Progress", "d", property_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BytesDone", "t", NULL, offsetof(Job, bytes_done), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BytesTotal", "t", NULL, offsetof(Job, bytes_total), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Method", "s", property_get_method, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static void on_job_changed(Job *j, void *userdata) {
        Manager *m = j->images->manager;
        int r;

        r = sd_bus_emit_properties_changed(m->bus, j->object_path, JOB_INTERFACE,
                                           "State", "Progress", "BytesDone", "BytesTotal", "Method", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to signal the progress of job %u: %m", j->id);
}

static void on_job_method_changed(Job *j, void *userdata) {
        Manager *m = j->images->manager;
        int r;

        r = sd_bus_emit_properties_changed(m->bus, j->object_path, JOB_INTERFACE, "Method", "BytesTotal", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to signal the method of job %u: %m", j->id);
}

static void on_job_finished(Job *j, void *userdata) {
        Manager *m = j->images->manager;
        const char *result = j->state == JOB_DONE ? "done" : j->state == JOB_CANCELLED ? "cancelled" : "failed";
        _cleanup_free_ char *image = NULL;
        int r;

        if (j->state == JOB_DONE)
                log_info("Job %u (%s %s → %s) done by %s%s%s.", j->id, job_type_to_string(j->type), j->source,
                         j->target, strempty(copy_method_to_string(j->method)), j->checksum ? ", " : "",
                         strempty(j->checksum));
        else
                log_notice("Job %u (%s %s → %s) %s: %s", j->id, job_type_to_string(j->type), j->source, j->target,
                           result, strempty(j->message));

        if (j->type == JOB_IMPORT || j->type == JOB_PULL)
                image_forget(j->images, j->target);     /* whatever it was, it may be new now */
        if (j->state == JOB_DONE && (j->type == JOB_IMPORT || j->type == JOB_PULL) &&
            sd_bus_path_encode(IMAGE_PATH_PREFIX, j->target, &image) >= 0)
                (void) sd_bus_emit_interfaces_added(m->bus, image, IMAGE_INTERFACE, NULL);
        (void) sd_bus_emit_interfaces_removed(m->bus, j->object_path, JOB_INTERFACE, NULL);
        r = sd_bus_emit_signal(m->bus, NODE_OBJECT_PATH, IMAGES_INTERFACE, "JobRemoved", "uoss", j->id,
                               j->object_path, result, j->state == JOB_DONE ? "" : strempty(j->message));
        if (r < 0)
                log_warning_errno(r, "Failed to signal the end of job %u: %m", j->id);
        broker_publish_job(m->broker, j->id, job_type_to_string(j->type), result,
                           j->state == JOB_DONE ? "" : strempty(j->message), j->source, j->target);
}

const JobCallbacks job_bus_callbacks = {
        .changed = on_job_changed,
        .method_changed = on_job_method_changed,
        .finished = on_job_finished,
};

int job_bus_publish(Images *im) {
        assert_return(im, -EINVAL);
        return bus_add_object_kind(im->manager->bus, JOB_PATH_PREFIX, JOB_INTERFACE, job_vtable, job_object_find,
                                   job_node_enumerator, im);
}
