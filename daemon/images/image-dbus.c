/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-dbus.c — org.abiquo.Node1.Images on the root object, and one org.abiquo.Node1.Image per image */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/bus-names.h"
#include "shared/bus-util.h"
#include "shared/errors.h"
#include "images/image-dbus.h"
#include "images/image.h"
#include "images/job-dbus.h"
#include "shared/log.h"
#include "util/strv.h"
#include "util/valid.h"

typedef struct CopyRequest {
        const char *checksum;
        const char *decompress;
        const char *member;
        int overwrite;
        int sync;
        const char *download_checksum;  /* the options only Pull has */
        uint64_t max_size;
} CopyRequest;

static int open_datastore(Manager *m, sd_bus_error *error) {
        int fd = open(m->config.datastore, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return aim_error(error, negative_errno(), "Failed to open the datastore %s", m->config.datastore);
        return fd;
}

/* What a job writes, for Busy: the folder by inode (whatever the spelling of the path) and the name. */
static int destination_key(int dirfd, const char *name, char **ret) {
        struct stat st;

        if (fstat(dirfd, &st) < 0)
                return negative_errno();
        if (asprintf(ret, "%llx:%llx/%s", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino, name) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- org.abiquo.Node1.Images ---- */

typedef struct OptionsReader {
        CopyRequest request;
        bool pull;
        sd_bus_error *error;
} OptionsReader;

static int read_option(sd_bus_message *message, const char *key, void *userdata) {
        OptionsReader *reader = userdata;
        CopyRequest *o = &reader->request;
        bool pull = reader->pull;
        int r;

        if (streq(key, "checksum"))
                r = sd_bus_message_read(message, "v", "s", &o->checksum);
        else if (streq(key, "decompress"))
                r = sd_bus_message_read(message, "v", "s", &o->decompress);
        else if (streq(key, "member"))
                r = sd_bus_message_read(message, "v", "s", &o->member);
        else if (streq(key, "overwrite"))
                r = sd_bus_message_read(message, "v", "b", &o->overwrite);
        else if (streq(key, "sync"))
                r = sd_bus_message_read(message, "v", "b", &o->sync);
        else if (pull && streq(key, "download_checksum"))
                r = sd_bus_message_read(message, "v", "s", &o->download_checksum);
        else if (pull && streq(key, "max_size"))
                r = sd_bus_message_read(message, "v", "t", &o->max_size);
        else
                return aim_error(reader->error, -EINVAL, "Unknown option '%s' (known: checksum, overwrite, decompress, "
                                 "member, sync%s)", key, pull ? ", download_checksum, max_size" : "");
        if (r < 0)
                return aim_error(reader->error, -EINVAL, "Option '%s' has the wrong type (checksum, decompress, "
                                 "member%s: s; overwrite, sync: b%s)", key, pull ? ", download_checksum" : "",
                                 pull ? "; max_size: t" : "");
        return 0;
}

static int read_options(sd_bus_message *message, JobType type, CopyRequest *ret, sd_bus_error *error) {
        OptionsReader reader = {
                .request = { .decompress = "auto", .sync = true },
                .pull = type == JOB_PULL,
                .error = error,
        };
        const CopyRequest *o = &reader.request;
        int r;

        r = bus_message_read_dict(message, read_option, &reader);
        if (r < 0)
                return r;

        if (!streq(o->decompress, "auto") && !streq(o->decompress, "none"))
                return aim_error(error, -EINVAL, "Invalid option decompress '%s': must be 'auto' or 'none'", o->decompress);
        /* A tar member's name is a relative path: nothing else can ever match, so say so now. */
        if (o->member && !relative_path_is_valid(o->member))
                return aim_error(error, -EINVAL, "Invalid option member: must be the relative path of a file "
                                 "inside the archive (no '..', no control characters)");
        *ret = *o;
        return 0;
}

/* The worker's request (worker/protocol.h) for the options; type= is job_submit()'s. */
/* A pull's keys: where from, and the [rimp] settings, which the worker does not read itself. */
static int add_pull_fields(WorkerRecord *req, const Config *config, const char *url, const CopyRequest *o) {
        int r;

        r = worker_record_add(req, "url", url);
        if (r >= 0 && o->download_checksum)
                r = worker_record_add(req, "download_checksum", o->download_checksum);
        if (r >= 0 && o->max_size > 0)
                r = worker_record_addf(req, "max_size", "%" PRIu64, o->max_size);
        if (r >= 0 && config->ca_file)
                r = worker_record_add(req, "ca_file", config->ca_file);
        if (r >= 0)
                r = worker_record_addf(req, "stall_seconds", "%u", config->pull_stall_seconds);
        return r;
}

static int build_request(const Config *config, JobType type, const char *source, const CopyRequest *o,
                         const char *name, WorkerRecord *ret) {
        _cleanup_(worker_record_done) WorkerRecord req = {};
        int r;

        r = worker_record_add(&req, "name", name);
        if (r >= 0)
                r = worker_record_add(&req, "overwrite", yes_no(o->overwrite));
        if (r >= 0)
                r = worker_record_add(&req, "decompress", o->decompress);
        if (r >= 0 && o->member)
                r = worker_record_add(&req, "member", o->member);
        if (r >= 0 && o->checksum)
                r = worker_record_add(&req, "checksum", o->checksum);
        if (r >= 0 && !o->sync)
                r = worker_record_add(&req, "sync", "no");
        if (r >= 0 && type == JOB_PULL)
                r = add_pull_fields(&req, config, source, o);
        if (r < 0)
                return r;
        *ret = req;
        req = (WorkerRecord) {};
        return 0;
}

static int submit(Manager *m, sd_bus_message *message, JobType type, const char *source, const char *target,
                  const CopyRequest *o, sd_bus_error *error) {
        Images *im = m->images;
        const char *source_root = type == JOB_IMPORT ? m->config.repository : m->config.datastore;
        const char *target_root = type == JOB_EXPORT ? m->config.repository : m->config.datastore;
        const char *source_arg = type == JOB_IMPORT ? "source" : "name";
        const char *target_arg = type == JOB_EXPORT ? "target" : "name";
        _cleanup_(worker_record_done) WorkerRecord request = {};
        _cleanup_close_ int source_fd = -EBADF, dir_fd = -EBADF;
        _cleanup_free_ char *destination = NULL, *name = NULL, *why = NULL;
        struct stat st;
        Job *j, *other;
        int r;

        /* A pull's source is its url, which the worker opens. */
        r = type == JOB_PULL ? 0 : image_open_source(source_root, source, source_arg, &source_fd, &why);
        if (r < 0)
                return aim_error(error, r, "%s", why ?: "Failed to open the source");
        free(why);
        why = NULL;
        r = image_open_target(target_root, target, target_arg, &dir_fd, &name, &why);
        if (r < 0)
                return aim_error(error, r, "%s", why ?: "Failed to open the target");

        r = destination_key(dir_fd, name, &destination);
        if (r < 0)
                return aim_error(error, r, "Failed to examine the folder of %s '%s'", target_arg, target);
        other = job_queue_busy(im->queue, destination);
        if (other)
                return aim_error(error, -AIM_EBUSY, "Job %u is writing '%s' already", other->id, target);
        if (!o->overwrite && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return aim_error(error, -AIM_EEXIST, "The %s '%s' exists; pass overwrite to replace it", target_arg, target);

        r = build_request(&m->config, type, source, o, name, &request);
        if (r < 0)
                return aim_error(error, r, "Failed to create the job");
        /* Checked now for a clear error; the job opens both again when it starts. */
        source_fd = safe_close(source_fd);
        dir_fd = safe_close(dir_fd);
        r = job_submit(im->queue, type, type == JOB_PULL ? NULL : source_root, source, target_root, target, destination,
                       &request, &j);
        if (r == -ENOBUFS)
                return aim_error(error, -AIM_EBUSY, "%u jobs wait for a worker already, the most there may be; "
                                 "submit again when one has started", JOB_QUEUED_MAX);
        if (r < 0)
                return aim_error(error, r, "Failed to create the job");
        j->images = im;
        r = sd_bus_path_encode(JOB_PATH_PREFIX, j->id_string, &j->object_path);
        if (r < 0) {
                job_cancel(j);
                return aim_error(error, r, "Failed to name the job");
        }
        log_info("Job %u: %s %s → %s.", j->id, job_type_to_string(type), source, target);

        r = sd_bus_reply_method_return(message, "uo", j->id, j->object_path);
        (void) sd_bus_emit_interfaces_added(m->bus, j->object_path, JOB_INTERFACE, NULL);
        (void) sd_bus_emit_signal(m->bus, NODE_OBJECT_PATH, IMAGES_INTERFACE, "JobNew", "uo", j->id, j->object_path);
        job_queue_run(im->queue);
        return r;
}

static int method_copy(sd_bus_message *message, Manager *m, JobType type, sd_bus_error *error) {
        const char *a, *b, *source, *target, *name;
        CopyRequest o = {};
        Checksum ignored;
        int r;

        r = sd_bus_message_read(message, "ss", &a, &b);
        if (r < 0)
                return r;
        r = read_options(message, type, &o, error);
        if (r < 0)
                return r;
        source = a;
        target = b;
        name = type == JOB_EXPORT ? a : b;

        if (!image_name_is_valid(name))
                return aim_error(error, -EINVAL, "Invalid name '%s': must be 1..255 bytes of [A-Za-z0-9._+-], "
                                 "not starting with '.'", name);
        if (type == JOB_IMPORT && !relative_path_is_valid(source))
                return aim_error(error, -EINVAL, "Invalid source '%s': must be a relative path inside the repository, "
                                 "without '..'", source);
        if (type == JOB_EXPORT && !relative_path_is_valid(target))
                return aim_error(error, -EINVAL, "Invalid target '%s': must be a relative path inside the repository, "
                                 "without '..'", target);
        if (type == JOB_PULL && !http_url_is_valid(source))
                return aim_error(error, -EINVAL, "Invalid url '%s': must be http:// or https://, a host and a path of at "
                                 "most %u bytes without spaces or control characters", source, HTTP_URL_MAX);
        if (o.checksum && checksum_parse(o.checksum, &ignored) < 0)
                return aim_error(error, -EINVAL, "Invalid option checksum '%s': must be sha256:<64 hex digits> or "
                                 "md5:<32 hex digits>", o.checksum);
        if (o.download_checksum && checksum_parse(o.download_checksum, &ignored) < 0)
                return aim_error(error, -EINVAL, "Invalid option download_checksum '%s': must be sha256:<64 hex digits> "
                                 "or md5:<32 hex digits>", o.download_checksum);

        r = polkit_check_async(m->polkit, message, IMAGES_ACTION,
                               type == JOB_IMPORT ? (const char *[]) { "source", source, "name", name, NULL } :
                               type == JOB_PULL ? (const char *[]) { "url", source, "name", name, NULL }
                                                : (const char *[]) { "name", name, "target", target, NULL },
                               error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        return submit(m, message, type, source, target, &o, error);
}

static int method_import(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, JOB_IMPORT, error);
}

static int method_export(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, JOB_EXPORT, error);
}

static int method_pull(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return method_copy(message, userdata, JOB_PULL, error);
}

static int delete_image(sd_bus_message *message, Manager *m, const char *name, sd_bus_error *error) {
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_free_ char *path = NULL, *destination = NULL;
        Job *j;
        int r;

        if (!image_name_is_valid(name))
                return aim_error(error, -EINVAL, "Invalid name '%s': must be 1..255 bytes of [A-Za-z0-9._+-], "
                                 "not starting with '.'", name);
        r = polkit_check_async(m->polkit, message, IMAGES_ACTION, (const char *[]) { "name", name, NULL }, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        dirfd = open_datastore(m, error);
        if (dirfd < 0)
                return dirfd;
        r = destination_key(dirfd, name, &destination);
        if (r < 0)
                return aim_error(error, r, "Failed to examine the datastore");
        j = job_queue_busy(m->images->queue, destination);
        if (j)
                return aim_error(error, -AIM_EBUSY, "Job %u is writing image '%s'", j->id, name);
        r = image_delete(dirfd, name);
        image_forget(m->images, name);
        if (r == -ENOENT)
                return aim_error(error, -AIM_ENOTFOUND, "No image '%s' in the datastore", name);
        if (r < 0)
                return aim_error(error, r, "Failed to delete image '%s'", name);
        log_info("Deleted image %s.", name);
        if (sd_bus_path_encode(IMAGE_PATH_PREFIX, name, &path) >= 0)
                (void) sd_bus_emit_interfaces_removed(m->bus, path, IMAGE_INTERFACE, NULL);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_delete_by_name(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        return delete_image(message, userdata, name, error);
}

static int list_one(const char *name, const ImageInfo *info, void *userdata) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(IMAGE_PATH_PREFIX, name, &path);
        if (r < 0)
                return r;
        return sd_bus_message_append(userdata, "(stto)", name, info->size, info->allocated, path);
}

static int append_images(sd_bus_message *reply, void *userdata) {
        return image_foreach(*(int *) userdata, list_one, reply);
}

static int method_list_images(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_close_ int dirfd = -EBADF;
        int r;

        dirfd = open_datastore(userdata, error);
        if (dirfd < 0)
                return dirfd;
        r = bus_reply_array(message, "(stto)", append_images, &dirfd);
        if (r < 0)
                return aim_error(error, r, "Failed to list the datastore");
        return r;
}

static const sd_bus_vtable images_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Import", SD_BUS_ARGS("s", source, "s", name, "a{sv}", options),
                                SD_BUS_RESULT("u", id, "o", job), method_import, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Export", SD_BUS_ARGS("s", name, "s", target, "a{sv}", options),
                                SD_BUS_RESULT("u", id, "o", job), method_export, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Pull", SD_BUS_ARGS("s", url, "s", name, "a{sv}", options),
                                SD_BUS_RESULT("u", id, "o", job), method_pull, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_delete_by_name,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListImages", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(stto)", images), method_list_images,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("JobNew", SD_BUS_ARGS("u", id, "o", job), 0),
        SD_BUS_SIGNAL_WITH_ARGS("JobRemoved", SD_BUS_ARGS("u", id, "o", job, "s", result, "s", message), 0),
        SD_BUS_VTABLE_END
};

/* ---- org.abiquo.Node1.Image ---- */

static Image *image_free(Image *image) {
        if (!image)
                return NULL;
        free(image->name);
        free(image);
        return NULL;
}

void image_forget(Images *im, const char *name) {
        assert(im);
        image_free(hashmap_remove(im->cache, name));
}

/* The cached image of name, refreshed if a stat says it changed; -ENOENT if there is none (not a
 * regular file, or gone). One fstatat() by path: an unauthenticated read costs no open and no
 * read of the image, nor of the datastore directory (issue 10, D5). */
static int image_lookup(Images *im, const char *name, Image **ret) {
        _cleanup_free_ char *path = NULL;
        Image *image;
        struct stat st;
        int r;

        if (!image_name_is_valid(name))
                return -ENOENT;
        if (asprintf(&path, "%s/%s", im->manager->config.datastore, name) < 0)
                return -ENOMEM;
        if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
                image_forget(im, name);
                return -ENOENT;
        }
        image = hashmap_get(im->cache, name);
        if (!image) {
                image = calloc(1, sizeof(Image));
                if (!image)
                        return -ENOMEM;
                image->name = strdup(name);
                if (!image->name)
                        return image_free(image), -ENOMEM;
                r = hashmap_put(im->cache, image->name, image);
                if (r < 0)
                        return image_free(image), r;
                image->images = im;
        }
        if (image->ino != st.st_ino || image->dev != st.st_dev || image->size != (uint64_t) st.st_size ||
            image->mtime.tv_sec != st.st_mtim.tv_sec || image->mtime.tv_nsec != st.st_mtim.tv_nsec ||
            image->ctime.tv_sec != st.st_ctim.tv_sec || image->ctime.tv_nsec != st.st_ctim.tv_nsec)
                image->format = NULL;   /* changed: read its header again when asked */
        image->dev = st.st_dev;
        image->ino = st.st_ino;
        image->mtime = st.st_mtim;
        image->ctime = st.st_ctim;
        image->size = (uint64_t) st.st_size;
        image->allocated = (uint64_t) st.st_blocks * 512;
        *ret = image;
        return 0;
}

static int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                             sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Image *image;

        if (sd_bus_path_decode(path, IMAGE_PATH_PREFIX, &name) <= 0 || image_lookup(userdata, name, &image) < 0)
                return 0;
        *found = image;
        return 1;
}

static int add_node(const char *name, const ImageInfo *info, void *userdata) {
        char *p;
        int r;

        r = sd_bus_path_encode(IMAGE_PATH_PREFIX, name, &p);
        if (r < 0)
                return r;
        return strv_consume(userdata, p);
}

static int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_close_ int dirfd = -EBADF;
        Images *im = userdata;
        int r;

        dirfd = open(im->manager->config.datastore, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return 0;       /* no datastore, no images */
        r = image_foreach(dirfd, add_node, &l);
        if (r < 0)
                return r;
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_format(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *image = userdata;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *why = NULL;
        int r;

        if (!image->format) {
                /* O_PATH first: nothing but a regular file is opened (D11). */
                r = image_open_source(image->images->manager->config.datastore, image->name, "image", &fd, &why);
                if (r < 0)
                        return aim_error(error, r, "%s", why ?: "Failed to open the image");
                r = image_detect_format(fd, &image->format);
                if (r < 0)
                        return aim_error(error, r, "Failed to read image %s", image->name);
        }
        return sd_bus_message_append(reply, "s", image->format);
}

static int method_delete_object(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *image = userdata;
        _cleanup_free_ char *name = strdup(image->name);        /* image may be freed by the delete */

        if (!name)
                return -ENOMEM;
        return delete_image(message, image->images->manager, name, error);
}

static const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Image, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Size", "t", NULL, offsetof(Image, size), 0),
        SD_BUS_PROPERTY("Allocated", "t", NULL, offsetof(Image, allocated), 0),
        SD_BUS_PROPERTY("Format", "s", property_get_format, 0, 0),
        SD_BUS_METHOD("Delete", NULL, NULL, method_delete_object, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* ---- start and stop ---- */

static void remove_temporaries(const char *path, const char *what) {
        _cleanup_close_ int dirfd = -EBADF;
        int r;

        dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                log_warning_errno(negative_errno(), "Cannot open the %s %s: %m", what, path);
                return;
        }
        r = image_remove_temporaries(dirfd);
        if (r > 0)
                log_notice("Removed %i unfinished copies from the %s.", r, what);
}

int images_start(Manager *m) {
        Images *im;
        int r;

        im = calloc(1, sizeof(Images));
        if (!im)
                return log_oom();
        im->manager = m;
        m->images = im;
        im->cache = hashmap_new();
        if (!im->cache)
                return log_oom();
        r = job_queue_new(m->event, m->config.max_jobs, &job_bus_callbacks, im, &im->queue);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the job queue: %m");

        /* A worker killed with the daemon leaves nothing behind on file systems with O_TMPFILE; on
         * others (NFS) its hidden file is removed here — in the datastore and at the top of the
         * repository (exports into its subfolders are not searched: the repository may be huge). */
        remove_temporaries(m->config.datastore, "datastore");
        remove_temporaries(m->config.repository, "repository");

        r = bus_add_node_interface(m->bus, IMAGES_INTERFACE, images_vtable, m);
        if (r >= 0)
                r = job_bus_publish(im);
        if (r >= 0)
                r = bus_add_object_kind(m->bus, IMAGE_PATH_PREFIX, IMAGE_INTERFACE, image_vtable, image_object_find,
                                        image_node_enumerator, im);
        return r;
}

Images *images_free(Images *im) {
        Image *image;

        if (!im)
                return NULL;
        job_queue_free(im->queue);
        HASHMAP_FOREACH(image, im->cache)
                image_free(image);
        hashmap_free(im->cache);
        free(im);
        return NULL;
}
