/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* valid.h — validators for names, paths and URLs that callers hand us */
#pragma once

#include <stdbool.h>

/* A Linux interface name: 1..15 bytes; no '/', ':', whitespace or control characters; not "." or "..". */
bool ifname_is_valid(const char *s);

/* An image name: one path component of [A-Za-z0-9._+-], 1..255 bytes, not starting with '.'. */
bool image_name_is_valid(const char *s);

/* A path relative to a base directory: non-empty, not absolute, no ".." component, no control
 * characters, at most PATH_MAX bytes. Symlinks are the opener's business (RESOLVE_BENEATH). */
bool relative_path_is_valid(const char *s);

/* Parses s as a decimal number in 0..max: digits only (no sign, space or "0x"), else -EINVAL;
 * past max -ERANGE. */
int safe_atou_bounded(const char *s, unsigned max, unsigned *ret);

#define HTTP_URL_MAX 4096
/* A URL a pull may fetch: http:// or https://, a host, at most HTTP_URL_MAX bytes, no spaces and
 * no control characters (curl would take some of them as separators). */
bool http_url_is_valid(const char *s);
