/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandbox.h — how aimd-worker confines itself before it touches untrusted bytes */
#pragma once

#include <stdbool.h>

/* The address space a worker may map: the decoders' bound (ARCHIVE_DECODER_MEMORY_MAX) and room
 * for the rest (libraries, copy buffers, thread stacks). */
#define WORKER_MEMORY_MAX (2ULL * 1024 * 1024 * 1024)
/* Bound of a worker's CPU time: a hostile archive cannot spin forever. */
#define WORKER_CPU_SECONDS (2 * 3600)
/* The fds it may hold: its own few, a reopened source, the new file. */
#define WORKER_FILES_MAX 32

/* No new privileges, resource limits, and a seccomp allow-list of what copying needs (no sockets
 * but the channel it has, no exec, no ptrace, no mounts). With network, a pull's too: IPv4 and IPv6
 * sockets (and local ones, for the resolver), never netlink or any other family. Irreversible;
 * call once, after reading the request. */
int sandbox_enter(bool network, char **reterr_message);
