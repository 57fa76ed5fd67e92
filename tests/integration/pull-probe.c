/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pull-probe.c — images/pull.c alone against the test HTTP server: the body into a file, or the
 * failure's sentence. Usage: pull-probe [--ca FILE] [--stall S] [--max-size N] URL OUT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/pull.h"
#include "util/valid.h"

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "ca", required_argument, NULL, 'c' },
                { "stall", required_argument, NULL, 's' },
                { "max-size", required_argument, NULL, 'm' },
                {}
        };
        PullOptions o = { .backoff_msec = 50 };
        _cleanup_(pull_freep) Pull *p = NULL;
        _cleanup_free_ char *message = NULL;
        _cleanup_close_ int fd = -EBADF;
        unsigned restarts = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o.ca_file = optarg;
                        break;
                case 's':
                        o.stall_seconds = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'm':
                        o.max_size = strtoull(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        if (argc - optind != 2)
                return 2;
        if (!http_url_is_valid(argv[optind])) {
                fprintf(stderr, "error: invalid URL\n");
                return 1;
        }
        fd = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || pull_new(argv[optind], &o, &p) < 0)
                return 2;
        for (;;) {
                const void *data;
                ssize_t k = pull_read(p, &data, &message);

                if (k == 0)
                        break;
                if (k == PULL_RESTARTED) {
                        restarts++;
                        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                                return 2;
                        continue;
                }
                if (k < 0) {
                        fprintf(stderr, "error: %s\n", message ?: strerror((int) -k));
                        return 1;
                }
                r = (int) write(fd, data, (size_t) k);
                if (r != k)
                        return 2;
        }
        printf("size=%" PRIu64 " done=%" PRIu64 " resumes=%u restarts=%u\n", pull_size(p), pull_done(p),
               pull_resumes(p), restarts);
        return 0;
}
