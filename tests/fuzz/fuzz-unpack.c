/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-unpack.c — libFuzzer harness: format detection and archive unpacking of arbitrary bytes */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/copy.h"
#include "images/image.h"
#include "images/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Output is bounded: a bomb must stop here with -EFBIG, not fill the memory file. */
#define MAX_OUTPUT (256U * 1024)

static int write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k <= 0)
                        return -1;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static int cancel_late(uint64_t done, uint64_t total, CopyMethod method, void *userdata) {
        (void) total;
        (void) method;
        (void) userdata;
        /* Cancelling once the source is read past the bound exercises that path. */
        return done > MAX_OUTPUT ? -ECANCELED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hasher_freep) Hasher *hasher = NULL;
        const char *format = NULL;
        _cleanup_free_ char *message = NULL;
        ArchiveKind kind;
        struct stat st;
        int fdin, fdout, r;

        /* The daemon's first look: the magic of compressed streams and of disk formats. */
        kind = archive_probe(data, size);
        assert(kind >= 0 && kind < _ARCHIVE_KIND_MAX);
        assert(archive_kind_to_string(kind)[0] != 0);
        assert(image_format_from_header(data, size));

        fdin = memfd_create("fuzz-in", MFD_CLOEXEC);
        fdout = memfd_create("fuzz-out", MFD_CLOEXEC);
        assert(fdin >= 0 && fdout >= 0);
        assert(write_all(fdin, data, size) == 0);
        assert(image_detect_format(fdin, &format) == 0 && format);
        assert(lseek(fdin, 0, SEEK_SET) == 0);

        /* Hash the first half of the inputs, so that draining the rest of the source runs too. */
        if (size > 0 && (data[0] & 1))
                assert(hasher_new("sha256", &hasher) == 0);
        /* An OVA member asked for by name half the time, else the first disk image. */
        ArchiveOptions o = {
                .member = size > 1 && (data[size - 1] & 1) ? "disk.vmdk" : NULL,
                .max_size = MAX_OUTPUT,
                .hasher = hasher,
                .progress = cancel_late,
        };
        r = archive_unpack(fdin, fdout, &o, &message);
        /* Every failure says why; success leaves no more than the bound. */
        if (r < 0)
                assert(message && message[0] != 0);
        assert(fstat(fdout, &st) == 0);
        assert(r < 0 || (uint64_t) st.st_size <= MAX_OUTPUT);
        close(fdin);
        close(fdout);
        return 0;
}
