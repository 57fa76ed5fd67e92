/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress.h — xz and zstd streams decoded within a memory bound (libarchive's own filters have
 * none for xz and too small a window for zstd --long) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "images/archive.h"

/* The most memory one decoder may use: xz's memory limit (its dictionary must be smaller), and
 * zstd's window (2^30: what `zstd --long=30` writes). A worker maps at most WORKER_MEMORY_MAX. */
#define DECOMPRESS_MEMORY_MAX (UINT64_C(1) << 30)
#define DECOMPRESS_ZSTD_WINDOW_LOG_MAX 30

typedef struct Decompressor Decompressor;

/* -EOPNOTSUPP for a kind that is not xz or zstd (gzip and bzip2 need little memory by design and
 * are left to libarchive). */
int decompressor_new(ArchiveKind kind, Decompressor **ret);
Decompressor *decompressor_free(Decompressor *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Decompressor *, decompressor_free);

/* Decodes from in[*in_pos..in_size) into out (at most out_size bytes), advancing *in_pos; *ret_n
 * is what was produced. input_end says no input follows in; *ret_end is set once the stream (all
 * of its concatenated streams or frames) is complete. Corrupt, truncated or too demanding input
 * fails with -EPROTO, -ENOMEM (over the bound) and a sentence. */
int decompressor_step(Decompressor *d, const uint8_t *in, size_t in_size, size_t *in_pos, bool input_end,
                      uint8_t *out, size_t out_size, size_t *ret_n, bool *ret_end, char **reterr_message);
