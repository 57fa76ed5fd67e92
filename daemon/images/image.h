/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image.h — datastore images: safe opening, format detection, atomic copies in and out */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "images/copy.h"

/* Named temporary files (where O_TMPFILE is not available) start with this; a valid image name
 * never does (no leading '.'), so they are never listed and are removed at start. */
#define IMAGE_TEMP_PREFIX ".aimd-tmp-"

/* What decides a format: the ISO 9660 volume descriptor is the farthest, at 32 KiB + 1. */
#define IMAGE_HEADER_SIZE (32U * 1024 + 8)

/* "raw", "qcow2", "vmdk", "vdi", "iso", "vhdx" or "vpc", from the first bytes of an image. */
const char *image_format_from_header(const uint8_t *h, size_t n);
int image_detect_format(int fd, const char **ret);

/* openat2() with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: neither "..", an absolute path nor a
 * symlink can lead outside dirfd. An escape attempt gives -EXDEV (or -ELOOP), which callers turn
 * into InvalidArgs. */
int open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/* Opens the regular file path beneath root for reading; what names it in messages ("source").
 * It is looked at through O_PATH first, so that nothing but a regular file is ever opened.
 * -EINVAL for a path that is malformed, leads out of root or to something that is not a regular
 * file; -ENOENT if absent. */
int image_open_source(const char *root, const char *path, const char *what, int *ret_fd, char **reterr_message);
/* Opens the existing folder of path beneath root; *ret_name is its last component, which must be
 * a valid image name and, if it exists, a regular file. Same errors as image_open_source(). */
int image_open_target(const char *root, const char *path, const char *what, int *ret_dirfd, char **ret_name,
                      char **reterr_message);

/* One copy into a folder, done by a worker: the source, where it goes, and how. */
typedef struct ImageCopy {
        int source_fd;
        int dir_fd;                     /* the destination folder */
        char *name;                     /* the final name in it */
        bool overwrite;
        bool decompress;                /* decompress=auto: unpack what archive_probe() recognises */
        bool sync;                      /* published only once data and name are on stable storage */
        char *member;
        Checksum checksum;              /* algorithm "" when none is asked for */
        Checksum digest;                /* what the written bytes gave, once verified */
        CopyOptions copy;               /* progress, disabled methods; the hasher is set here */

        int tmp_fd;                     /* the file being written; invisible until published */
        char *tmp_name;                 /* NULL for an O_TMPFILE file */
} ImageCopy;

void image_copy_init(ImageCopy *c);
void image_copy_done(ImageCopy *c);

/* Opens c->tmp_fd: a new file in c->dir_fd that nobody sees until it is published. */
int image_copy_make_temporary(ImageCopy *c);
/* Writes the source into a new invisible file in the destination folder and verifies it; on
 * success c->digest is the digest of what was written (when a checksum was asked for). */
int image_copy_data(ImageCopy *c, CopyMethod *ret_method, char **reterr_message);
/* Gives the verified file its final name: atomically, and never over an existing image unless
 * overwrite was asked for (-EEXIST). With c->sync, the data is on stable storage before the name
 * and the name before this returns (fdatasync of the file, fsync of the folder). */
int image_copy_publish(ImageCopy *c, char **reterr_message);

/* Removes the temporary files a killed worker left in dirfd. Returns how many. */
int image_remove_temporaries(int dirfd);

typedef struct ImageInfo {
        uint64_t size, allocated;
} ImageInfo;

/* Stats the image name in dirfd: -ENOENT if there is none (or it is not a regular file). */
int image_stat(int dirfd, const char *name, ImageInfo *ret);
/* Calls f for every image (a regular file with a valid image name) in dirfd. */
int image_foreach(int dirfd, int (*f)(const char *name, const ImageInfo *info, void *userdata), void *userdata);
int image_delete(int dirfd, const char *name);
