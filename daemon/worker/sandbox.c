/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandbox.c — how aimd-worker confines itself before it touches untrusted bytes */
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "util/message.h"
#include "worker/sandbox.h"

/* Sanitizers reserve terabytes of shadow memory and stop the world with ptrace for their leak
 * check: under them the address-space limit and the syscall filter would only break the tool. */
#if defined(__SANITIZE_ADDRESS__)
#  define SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define SANITIZED 1
#  endif
#endif
#ifndef SANITIZED
#  define SANITIZED 0
#endif

/* What copying, hashing and unpacking call, with glibc's and OpenSSL's own needs (threads for the
 * pipelined copy, memory, time, signals for cancel). Anything else fails with EPERM. */
static const int allowed[] = {
        SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(readv),
        SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fcntl), SCMP_SYS(dup),
        SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(statfs),
        SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
        SCMP_SYS(linkat), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlinkat), SCMP_SYS(ftruncate), SCMP_SYS(fallocate),
        SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ioctl), SCMP_SYS(copy_file_range), SCMP_SYS(sendfile),
        SCMP_SYS(fadvise64), SCMP_SYS(getdents64),
        SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
        SCMP_SYS(brk),
        SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
        SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(futex),
        SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(gettid), SCMP_SYS(getpid),
        SCMP_SYS(getppid), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
        SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
        SCMP_SYS(tgkill), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
        SCMP_SYS(getrandom), SCMP_SYS(uname),
};

/* A pull's: libcurl's connections and its wakeup pair, OpenSSL, and glibc's resolver (which reads
 * its files and asks the name servers over UDP). socket() is allowed for these families only. */
static const int allowed_network[] = {
        SCMP_SYS(connect), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
        SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(bind), SCMP_SYS(shutdown), SCMP_SYS(sendmmsg),
        SCMP_SYS(socketpair), SCMP_SYS(pipe2), SCMP_SYS(eventfd2), SCMP_SYS(sysinfo), SCMP_SYS(getuid),
        SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
        SCMP_SYS(access), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
        SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
};
static const int socket_families[] = { AF_INET, AF_INET6, AF_UNIX };

static int install_filter(bool network) {
        scmp_filter_ctx ctx;
        int r = 0;

        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(allowed) && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
        for (size_t i = 0; network && i < ELEMENTSOF(allowed_network) && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_network[i], 0);
        for (size_t i = 0; network && i < ELEMENTSOF(socket_families) && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t) socket_families[i]));
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

static int set_limit(int resource, rlim_t soft, rlim_t hard) {
        struct rlimit l = { soft, hard };

        return setrlimit(resource, &l) < 0 ? negative_errno() : 0;
}

int sandbox_enter(bool network, char **reterr_message) {
        int r;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = set_limit(RLIMIT_CPU, WORKER_CPU_SECONDS, WORKER_CPU_SECONDS + 10);
        if (r >= 0)
                r = set_limit(RLIMIT_NOFILE, WORKER_FILES_MAX, WORKER_FILES_MAX);
        if (r >= 0)
                r = set_limit(RLIMIT_CORE, 0, 0);       /* a core would hold image data */
        if (r >= 0 && !SANITIZED)
                r = set_limit(RLIMIT_AS, WORKER_MEMORY_MAX, WORKER_MEMORY_MAX);
        if (r >= 0 && !SANITIZED)
                r = set_limit(RLIMIT_DATA, WORKER_MEMORY_MAX, WORKER_MEMORY_MAX);
        if (r >= 0 && !SANITIZED)
                r = install_filter(network);
        if (r >= 0)
                return 0;
fail:
        return message_set(reterr_message, r, "The copy worker cannot confine itself: %s", strerror(-r));
}
