#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# broker-stream.py SOCKET KEY FIELD… — the entries of stream KEY (XRANGE - +) on the Redis at SOCKET,
# one line each with the named fields' values (a field missing prints as "-"; "id" is the entry ID).
# Speaks RESP itself, so that the tests read the stream without going through our own client.
import socket
import sys


def read_reply(f):
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind in (b"+", b":"):
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise RuntimeError("unexpected reply %r" % line)


def command(f, s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    return read_reply(f)


def main():
    path, key, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rb")
    start = "-"
    while True:
        batch = command(f, s, "XRANGE", key, start, "+", "COUNT", "5000")
        for entry_id, kv in batch:
            d = dict(zip(kv[0::2], kv[1::2]))
            d["id"] = entry_id
            print(" ".join(d.get(k, "-") for k in fields))
        if len(batch) < 5000:
            break
        start = "(" + batch[-1][0]


main()
