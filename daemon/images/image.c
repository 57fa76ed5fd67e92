/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image.c — datastore images: safe opening, format detection, atomic copies in and out */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "images/archive.h"
#include "shared/errors.h"
#include "images/image.h"
#include "util/message.h"
#include "util/valid.h"

const char *image_format_from_header(const uint8_t *h, size_t n) {
        static const struct { const char *format; size_t offset; const char *magic; size_t size; } magics[] = {
                { "qcow2", 0, "QFI\xfb", 4 },
                { "vmdk", 0, "KDMV", 4 },                       /* hosted sparse extent */
                { "vmdk", 0, "COWD", 4 },                       /* ESX sparse extent */
                { "vmdk", 0, "# Disk DescriptorFile", 21 },     /* descriptor (monolithic flat) */
                { "vdi", 0x40, "\x7f\x10\xda\xbe", 4 },         /* 0xbeda107f, little endian */
                { "vhdx", 0, "vhdxfile", 8 },
                { "vpc", 0, "conectix", 8 },
                { "iso", 0x8001, "CD001", 5 },                  /* ISO 9660 primary volume descriptor */
        };

        for (size_t i = 0; i < ELEMENTSOF(magics); i++)
                if (n >= magics[i].offset + magics[i].size &&
                    memcmp(h + magics[i].offset, magics[i].magic, magics[i].size) == 0)
                        return magics[i].format;
        return "raw";
}

int image_detect_format(int fd, const char **ret) {
        _cleanup_free_ uint8_t *h = malloc(IMAGE_HEADER_SIZE);
        ssize_t k;

        if (!h)
                return -ENOMEM;
        k = pread(fd, h, IMAGE_HEADER_SIZE, 0);
        if (k < 0)
                return negative_errno();
        *ret = image_format_from_header(h, (size_t) k);
        return 0;
}

/* Without openat2() (kernels before 5.6, valgrind): open, then check where the file really is.
 * Weaker — the open itself may have followed a symlink out (O_NONBLOCK keeps that from hanging,
 * O_EXCL from creating) — but nothing is read or written through an fd that fails the check. */
static int open_beneath_fallback(int dirfd, const char *path, int flags, mode_t mode) {
        _cleanup_close_ int fd = -EBADF;
        char proc[64], base[PATH_MAX], real[PATH_MAX];
        ssize_t n, k;

        if (path[0] == '/')
                return -EXDEV;
        fd = openat(dirfd, path, flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY), mode);
        if (fd < 0)
                return negative_errno();
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", dirfd);
        n = readlink(proc, base, sizeof(base) - 1);
        snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        k = readlink(proc, real, sizeof(real) - 1);
        if (n < 0 || k < 0)
                return negative_errno();
        base[n] = real[k] = 0;
        if (flags & O_TMPFILE)
                real[MIN((size_t) k, strlen(base))] = 0;       /* "/dir/#123 (deleted)" */
        if (!streq(base, "/") && (strncmp(real, base, n) != 0 || (real[n] != 0 && real[n] != '/')))
                return -EXDEV;
        return TAKE_FD(fd);
}

int open_beneath(int dirfd, const char *path, int flags, mode_t mode) {
        struct open_how how = {
                /* openat2() refuses O_NOCTTY beside O_PATH, where it means nothing anyway. */
                .flags = (uint64_t) flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        do
                fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);     /* a concurrent rename raced the lookup: retry */
        if (fd < 0 && errno == ENOSYS)
                return open_beneath_fallback(dirfd, path, flags, mode);
        return fd < 0 ? negative_errno() : (int) fd;
}

static int open_root(const char *root) {
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

/* What an error of open_beneath() means for the caller's path: the errno to return (-EINVAL for
 * a path that can never work) and why, for "Invalid WHAT 'PATH': why". */
static int path_error(int r, const char **ret_why) {
        switch (r) {
        case -EXDEV:
                *ret_why = "leads outside its directory";
                return -EINVAL;
        case -ELOOP:
                *ret_why = "has too many or forbidden symbolic links";
                return -EINVAL;
        case -ENOTDIR:
                *ret_why = "has a component that is not a directory";
                return -EINVAL;
        case -ENAMETOOLONG:
                *ret_why = "has a component longer than 255 bytes";
                return -EINVAL;
        case -ENOENT:
                *ret_why = "does not exist";
                return -ENOENT;
        default:
                *ret_why = "cannot be opened";
                return r;
        }
}

static const char *file_type_name(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        default:
                return "not a regular file";
        }
}

/* Reopens an O_PATH fd for reading: the same inode, no second lookup of the path. */
static int reopen_for_reading(int fd) {
        char path[64];
        int k;

        snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);
        k = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        return k < 0 ? negative_errno() : k;
}

int image_open_source(const char *root, const char *path, const char *what, int *ret_fd, char **reterr_message) {
        _cleanup_close_ int dirfd = -EBADF, pathfd = -EBADF, fd = -EBADF;
        const char *why;
        struct stat st;
        int r;

        assert_return(root && path && what && ret_fd, -EINVAL);
        if (!relative_path_is_valid(path))
                return message_set(reterr_message, -EINVAL, "Invalid %s '%s': must be a relative path without '..' "
                                   "components", what, path);
        dirfd = open_root(root);
        if (dirfd < 0)
                return message_set(reterr_message, dirfd, "Cannot reach %s '%s': the directory %s is not accessible: %s",
                                   what, path, root, strerror(-dirfd));
        /* O_PATH first: a FIFO, socket or device planted in the repository is looked at, never
         * opened (opening a FIFO hangs, a device may act). */
        pathfd = open_beneath(dirfd, path, O_PATH, 0);
        if (pathfd < 0) {
                r = path_error(pathfd, &why);
                return message_set(reterr_message, r, "Invalid %s '%s': %s", what, path, why);
        }
        if (fstat(pathfd, &st) < 0)
                return message_set(reterr_message, negative_errno(), "Cannot examine %s '%s': %m", what, path);
        if (!S_ISREG(st.st_mode))
                return message_set(reterr_message, -EINVAL, "Invalid %s '%s': is %s", what, path,
                                   file_type_name(st.st_mode));
        fd = reopen_for_reading(pathfd);
        if (fd < 0)
                return message_set(reterr_message, fd, "Cannot open %s '%s': %s", what, path, strerror(-fd));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int image_open_target(const char *root, const char *path, const char *what, int *ret_dirfd, char **ret_name,
                      char **reterr_message) {
        _cleanup_close_ int rootfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *dir = NULL, *name = NULL;
        const char *slash, *why;
        struct stat st;
        int r;

        assert_return(root && path && what && ret_dirfd && ret_name, -EINVAL);
        if (!relative_path_is_valid(path))
                return message_set(reterr_message, -EINVAL, "Invalid %s '%s': must be a relative path without '..' "
                                   "components", what, path);
        slash = strrchr(path, '/');
        name = strdup(slash ? slash + 1 : path);
        dir = slash ? strndup(path, slash - path) : strdup(".");
        if (!name || !dir)
                return -ENOMEM;
        if (!image_name_is_valid(name))
                return message_set(reterr_message, -EINVAL, "Invalid %s '%s': must end in a file name of "
                                   "[A-Za-z0-9._+-], not starting with '.'", what, path);
        rootfd = open_root(root);
        if (rootfd < 0)
                return message_set(reterr_message, rootfd, "Cannot reach %s '%s': the directory %s is not accessible: %s",
                                   what, path, root, strerror(-rootfd));
        fd = open_beneath(rootfd, dir[0] ? dir : ".", O_PATH | O_DIRECTORY, 0);
        if (fd < 0) {
                r = path_error(fd, &why);
                return message_set(reterr_message, r, "The folder of %s '%s' %s", what, path, why);
        }
        /* Only a file is ever replaced: refused now, not after the whole copy. */
        if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && !S_ISREG(st.st_mode))
                return message_set(reterr_message, -EINVAL, "Invalid %s '%s': is %s, which is never replaced",
                                   what, path, file_type_name(st.st_mode));
        *ret_dirfd = TAKE_FD(fd);
        *ret_name = TAKE_PTR(name);
        return 0;
}

void image_copy_init(ImageCopy *c) {
        *c = (ImageCopy) {
                .source_fd = -EBADF,
                .dir_fd = -EBADF,
                .tmp_fd = -EBADF,
                .decompress = true,
                .sync = true,
        };
}

void image_copy_done(ImageCopy *c) {
        if (c->tmp_name)
                (void) unlinkat(c->dir_fd, c->tmp_name, 0);
        free(c->tmp_name);
        safe_close(c->tmp_fd);
        safe_close(c->source_fd);
        safe_close(c->dir_fd);
        free(c->name);
        free(c->member);
        hasher_free(c->copy.hasher);
        image_copy_init(c);
}

/* Fails with r and the sentence: the formatted text, then the errno's (a mismatch says it all). */
static int say(int r, char **reterr_message, const char *format, ...) _printf_(3, 4);
static int say(int r, char **reterr_message, const char *format, ...) {
        _cleanup_free_ char *text = NULL;

        if (!reterr_message)
                return r;
        if (VA_FORMAT_ALLOC(&text, format) < 0)
                return message_set(reterr_message, r, "%s", strerror(-r));
        if (r == -AIM_ECHECKSUM)
                return message_set(reterr_message, r, "%s", text);
        return message_set(reterr_message, r, "%s: %s", text, strerror(-r));
}

static int random_name(char *buf, size_t n) {
        uint64_t v;

        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                return negative_errno();
        snprintf(buf, n, IMAGE_TEMP_PREFIX "%016llx", (unsigned long long) v);
        return 0;
}

/* A new file in the destination folder that nobody can see: O_TMPFILE where the file system has
 * it (nothing is left behind whatever happens), else a hidden name removed on failure. */
int image_copy_make_temporary(ImageCopy *c) {
        char name[sizeof(IMAGE_TEMP_PREFIX) + 17];
        int fd, r;

        fd = open_beneath(c->dir_fd, ".", O_TMPFILE | O_RDWR, 0644);
        if (fd >= 0) {
                c->tmp_fd = fd;
                return 0;
        }
        if (fd != -EOPNOTSUPP && fd != -EISDIR && fd != -EINVAL)
                return fd;
        r = random_name(name, sizeof(name));
        if (r < 0)
                return r;
        fd = open_beneath(c->dir_fd, name, O_CREAT | O_EXCL | O_RDWR, 0644);
        if (fd < 0)
                return fd;
        c->tmp_name = strdup(name);
        if (!c->tmp_name) {
                (void) unlinkat(c->dir_fd, name, 0);
                safe_close(fd);
                return -ENOMEM;
        }
        c->tmp_fd = fd;
        return 0;
}

/* An archive may unpack to no more than the destination has free now: a bomb stops at its bound
 * before it has taken the last block a running VM's disk may need (issue 10, D6). */
static uint64_t unpack_bound(int dirfd) {
        struct statvfs sv;

        if (fstatvfs(dirfd, &sv) < 0)
                return 0;
        return (uint64_t) sv.f_bavail * sv.f_frsize;
}

int image_copy_data(ImageCopy *c, CopyMethod *ret_method, char **reterr_message) {
        uint8_t header[ARCHIVE_PROBE_SIZE];
        ArchiveKind kind = ARCHIVE_NONE;
        CopyMethod method;
        Checksum got;
        ssize_t k;
        int r;

        if (c->checksum.algorithm[0]) {
                r = hasher_new(c->checksum.algorithm, &c->copy.hasher);
                if (r < 0)
                        return say(r, reterr_message, "Failed to set up the %s digest", c->checksum.algorithm);
        }
        if (c->decompress) {
                k = pread(c->source_fd, header, sizeof(header), 0);
                if (k < 0)
                        return say(negative_errno(), reterr_message, "Failed to read the source");
                kind = archive_probe(header, (size_t) k);
        }
        r = image_copy_make_temporary(c);
        if (r < 0)
                return say(r, reterr_message, "Failed to create the new file");

        if (kind != ARCHIVE_NONE) {
                ArchiveOptions o = {
                        .member = c->member,
                        .max_size = unpack_bound(c->dir_fd),
                        .hasher = c->copy.hasher,
                        .progress = c->copy.progress,
                        .userdata = c->copy.userdata,
                };

                r = archive_unpack(c->source_fd, c->tmp_fd, &o, reterr_message);
                if (r < 0)
                        return r;
                method = COPY_METHOD_ARCHIVE;
        } else {
                r = copy_file(c->source_fd, c->tmp_fd, &c->copy, &method);
                if (r == -ECANCELED)
                        return say(r, reterr_message, "Cancelled");
                if (r < 0)
                        return say(r, reterr_message, "Failed to copy");
        }

        if (c->copy.hasher) {
                char want[2 * CHECKSUM_MAX_SIZE + 16], have[2 * CHECKSUM_MAX_SIZE + 16];

                r = hasher_final(c->copy.hasher, &got);
                if (r < 0)
                        return say(r, reterr_message, "Failed to finish the digest");
                if (got.size != c->checksum.size || memcmp(got.digest, c->checksum.digest, got.size) != 0) {
                        checksum_format(&c->checksum, want, sizeof(want));
                        checksum_format(&got, have, sizeof(have));
                        return say(-AIM_ECHECKSUM, reterr_message, "Checksum mismatch: expected %s, got %s", want, have);
                }
                c->digest = got;
        }
        *ret_method = method;
        return 0;
}

static int link_tmpfile(int fd, int dirfd, const char *name) {
        char path[64];

        if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) >= 0)
                return 0;
        if (errno != ENOENT && errno != EPERM)
                return negative_errno();
        /* AT_EMPTY_PATH wants CAP_DAC_READ_SEARCH; the /proc link works without it. */
        snprintf(path, sizeof(path), "/proc/self/fd/%i", fd);
        return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? negative_errno() : 0;
}

/* The folder's entries on stable storage: fsync() wants an fd opened for reading, not O_PATH. */
static int sync_folder(int dirfd) {
        _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int image_copy_publish(ImageCopy *c, char **reterr_message) {
        char name[sizeof(IMAGE_TEMP_PREFIX) + 17];
        int r;

        /* The data first: a name must never reach the disk before what it names. */
        if (c->sync && fdatasync(c->tmp_fd) < 0)
                return say(negative_errno(), reterr_message, "Failed to write '%s' to stable storage", c->name);

        if (!c->tmp_name && !c->overwrite) {
                /* linkat() never replaces: an image that appeared meanwhile stays as it is. */
                r = link_tmpfile(c->tmp_fd, c->dir_fd, c->name);
                goto finish;
        }
        if (!c->tmp_name) {
                r = random_name(name, sizeof(name));
                if (r < 0)
                        return say(r, reterr_message, "Failed to name the new file");
                r = link_tmpfile(c->tmp_fd, c->dir_fd, name);
                if (r < 0)
                        return say(r, reterr_message, "Failed to link the new file");
                c->tmp_name = strdup(name);
                if (!c->tmp_name) {
                        (void) unlinkat(c->dir_fd, name, 0);
                        return say(-ENOMEM, reterr_message, "Failed to publish");
                }
        }
        r = renameat2(c->dir_fd, c->tmp_name, c->dir_fd, c->name, c->overwrite ? 0 : RENAME_NOREPLACE);
        if (r < 0 && errno == EINVAL && !c->overwrite) {
                /* No RENAME_NOREPLACE here (NFS): a hard link refuses to replace just as well. */
                r = linkat(c->dir_fd, c->tmp_name, c->dir_fd, c->name, 0);
                if (r >= 0)
                        (void) unlinkat(c->dir_fd, c->tmp_name, 0);
        }
        r = r < 0 ? negative_errno() : 0;
        if (r >= 0)
                c->tmp_name = (free(c->tmp_name), NULL);
finish:
        if (r == -EEXIST)
                return say(r, reterr_message, "Image '%s' appeared meanwhile; not replaced (overwrite is false)", c->name);
        if (r < 0)
                return say(r, reterr_message, "Failed to publish '%s'", c->name);
        if (c->sync) {
                r = sync_folder(c->dir_fd);
                if (r < 0)
                        return say(r, reterr_message, "Published '%s', but failed to write its folder to stable storage",
                                   c->name);
        }
        return 0;
}

/* A directory stream of its own on dirfd's directory (readdir() needs its own offset); NULL with
 * errno set on failure. */
static DIR *opendir_at(int dirfd) {
        int fd;
        DIR *d;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d)
                safe_close(fd);
        return d;
}

int image_remove_temporaries(int dirfd) {
        struct dirent *de;
        DIR *d;
        int n = 0;

        d = opendir_at(dirfd);
        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (strncmp(de->d_name, IMAGE_TEMP_PREFIX, strlen(IMAGE_TEMP_PREFIX)) == 0 &&
                    unlinkat(dirfd, de->d_name, 0) >= 0)
                        n++;
        closedir(d);
        return n;
}

int image_stat(int dirfd, const char *name, ImageInfo *ret) {
        struct stat st;

        if (!image_name_is_valid(name))
                return -EINVAL;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -ENOENT;
        *ret = (ImageInfo) {
                .size = (uint64_t) st.st_size,
                .allocated = (uint64_t) st.st_blocks * 512,
        };
        return 0;
}

int image_foreach(int dirfd, int (*f)(const char *name, const ImageInfo *info, void *userdata), void *userdata) {
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = opendir_at(dirfd);
        if (!d)
                return negative_errno();
        while (r >= 0 && (de = readdir(d))) {
                ImageInfo info;

                if (!image_name_is_valid(de->d_name) || image_stat(dirfd, de->d_name, &info) < 0)
                        continue;
                r = f(de->d_name, &info, userdata);
        }
        closedir(d);
        return r;
}

int image_delete(int dirfd, const char *name) {
        ImageInfo info;
        int r;

        r = image_stat(dirfd, name, &info);
        if (r < 0)
                return r;
        return unlinkat(dirfd, name, 0) < 0 ? negative_errno() : 0;
}
