/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decompress.c — xz and zstd streams decoded within a memory bound (libarchive's own filters have
 * none for xz and too small a window for zstd --long) */
#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "images/decompress.h"
#include "util/message.h"

#define MiB (UINT64_C(1) << 20)

struct Decompressor {
        ArchiveKind kind;
        lzma_stream xz;
        ZSTD_DStream *zstd;
        bool zstd_in_frame;             /* the last call that moved anything left a frame unfinished */
};

int decompressor_new(ArchiveKind kind, Decompressor **ret) {
        _cleanup_(decompressor_freep) Decompressor *d = NULL;

        assert_return(ret, -EINVAL);
        if (kind != ARCHIVE_XZ && kind != ARCHIVE_ZSTD)
                return -EOPNOTSUPP;
        d = calloc(1, sizeof(Decompressor));
        if (!d)
                return -ENOMEM;
        d->kind = kind;
        d->xz = (lzma_stream) LZMA_STREAM_INIT;
        if (kind == ARCHIVE_XZ) {
                if (lzma_stream_decoder(&d->xz, DECOMPRESS_MEMORY_MAX, LZMA_CONCATENATED) != LZMA_OK)
                        return -ENOMEM;
        } else {
                d->zstd = ZSTD_createDStream();
                if (!d->zstd)
                        return -ENOMEM;
                if (ZSTD_isError(ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax, DECOMPRESS_ZSTD_WINDOW_LOG_MAX)))
                        return -EOPNOTSUPP;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

Decompressor *decompressor_free(Decompressor *d) {
        if (!d)
                return NULL;
        lzma_end(&d->xz);
        ZSTD_freeDStream(d->zstd);
        free(d);
        return NULL;
}

static int step_xz(Decompressor *d, const uint8_t *in, size_t in_size, size_t *in_pos, bool input_end,
                   uint8_t *out, size_t out_size, size_t *ret_n, bool *ret_end, char **reterr_message) {
        lzma_ret k;

        d->xz.next_in = in + *in_pos;
        d->xz.avail_in = in_size - *in_pos;
        d->xz.next_out = out;
        d->xz.avail_out = out_size;
        k = lzma_code(&d->xz, input_end ? LZMA_FINISH : LZMA_RUN);
        *in_pos = in_size - d->xz.avail_in;
        *ret_n = out_size - d->xz.avail_out;
        *ret_end = k == LZMA_STREAM_END;
        switch (k) {
        case LZMA_OK:
        case LZMA_STREAM_END:
                return 0;
        case LZMA_MEMLIMIT_ERROR:
                return message_set(reterr_message, -ENOMEM, "The xz stream needs %" PRIu64 " MiB to decompress, "
                                   "more than the bound of %" PRIu64 " MiB (its dictionary is too large)",
                                   lzma_memusage(&d->xz) / MiB, DECOMPRESS_MEMORY_MAX / MiB);
        case LZMA_MEM_ERROR:
                return message_set(reterr_message, -ENOMEM, "Out of memory decompressing the xz stream");
        case LZMA_BUF_ERROR:
                return message_set(reterr_message, -EPROTO, "Corrupt archive: the xz stream is truncated");
        default:
                return message_set(reterr_message, -EPROTO, "Corrupt archive: xz data error (%i)", (int) k);
        }
}

static int step_zstd(Decompressor *d, const uint8_t *in, size_t in_size, size_t *in_pos, bool input_end,
                     uint8_t *out, size_t out_size, size_t *ret_n, bool *ret_end, char **reterr_message) {
        ZSTD_inBuffer i = { in, in_size, *in_pos };
        ZSTD_outBuffer o = { out, out_size, 0 };
        size_t k;

        k = ZSTD_decompressStream(d->zstd, &o, &i);
        *ret_n = o.pos;
        *ret_end = false;
        if (ZSTD_isError(k)) {
                if (ZSTD_getErrorCode(k) == ZSTD_error_frameParameter_windowTooLarge)
                        return message_set(reterr_message, -ENOMEM, "The zstd stream needs a window larger than the "
                                           "bound of %" PRIu64 " MiB (zstd --long=%i at most)",
                                           DECOMPRESS_MEMORY_MAX / MiB, DECOMPRESS_ZSTD_WINDOW_LOG_MAX);
                return message_set(reterr_message, -EPROTO, "Corrupt archive: %s", ZSTD_getErrorName(k));
        }
        /* k is 0 at the end of a frame (later calls without input ask for the next frame's header).
         * Done when the input is, at the end of a frame, and nothing more comes out. */
        if (i.pos > *in_pos || o.pos > 0)
                d->zstd_in_frame = k != 0;
        *in_pos = i.pos;
        if (input_end && i.pos == i.size && o.pos < o.size) {
                if (d->zstd_in_frame)
                        return message_set(reterr_message, -EPROTO, "Corrupt archive: the zstd stream is truncated");
                *ret_end = true;
        }
        return 0;
}

int decompressor_step(Decompressor *d, const uint8_t *in, size_t in_size, size_t *in_pos, bool input_end,
                      uint8_t *out, size_t out_size, size_t *ret_n, bool *ret_end, char **reterr_message) {
        assert_return(d && in_pos && *in_pos <= in_size && out && out_size > 0 && ret_n && ret_end, -EINVAL);
        assert_return(in || in_size == 0, -EINVAL);
        if (d->kind == ARCHIVE_XZ)
                return step_xz(d, in, in_size, in_pos, input_end, out, out_size, ret_n, ret_end, reterr_message);
        return step_zstd(d, in, in_size, in_pos, input_end, out, out_size, ret_n, ret_end, reterr_message);
}
