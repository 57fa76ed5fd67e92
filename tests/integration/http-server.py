#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# http-server.py — the image server of the pull tests: files of one directory over HTTP or HTTPS on
# a loopback port, with Range/If-Range, ETag and Last-Modified, and hostile behaviour on request.
#
# Usage: http-server.py --root DIR --port-file F --log F [--cert PEM --key PEM]
# The chosen port is written to --port-file once the socket listens. Every request is logged as one
# line "METHOD PATH?QUERY range=… if-range=…" to --log (the tests read the Range headers there).
#
# The fault modes are query parameters of the URL (several may be combined):
#   drop=N       close the connection after N bytes of the body, the first `times` requests (1)
#   norange=1    ignore Range: always the whole file with 200
#   length=short announce a Content-Length 1000 bytes larger than what is sent
#   length=long  announce a Content-Length 1000 bytes smaller than what is sent
#   stall=N      send N bytes of the body, then nothing (until the client goes)
#   rate=B       send at most B bytes per second (for cancelling and killing mid-transfer)
#   status=C     answer with HTTP status C (404, 500, …) and a short body
#   redirect=U   answer 302 with Location U (http://…, file:///etc/passwd, ftp://…)
#   loop=1       answer 302 with Location: the same URL (a redirect loop)
#   validator=none|lastmod  send no ETag (and no Last-Modified with none)
import argparse
import email.utils
import http.server
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse

CHUNK = 256 * 1024
fired = {}                      # (path, query) → how many times drop= has fired
fired_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'aimd-test-http'

    def log_message(self, fmt, *args):
        pass                    # our own log is log_request_line()

    def log_request_line(self):
        line = '%s %s range=%s if-range=%s\n' % (self.command, self.path,
                                                  self.headers.get('Range', '-'),
                                                  self.headers.get('If-Range', '-'))
        with fired_lock, open(self.server.log, 'a') as f:
            f.write(line)

    def do_HEAD(self):
        self.do_GET()

    def fail(self, code, body=None):
        body = (body or '%d %s\n' % (code, self.responses.get(code, ('',))[0])).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
        self.close_connection = True

    def redirect(self, location):
        self.send_response(302)
        self.send_header('Location', location)
        self.send_header('Content-Length', '0')
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True

    def do_GET(self):
        self.log_request_line()
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if 'status' in q:
            return self.fail(int(q['status']))
        if 'redirect' in q:
            return self.redirect(q['redirect'])
        if q.get('loop'):
            return self.redirect(self.path)

        rel = urllib.parse.unquote(url.path).lstrip('/')
        path = os.path.realpath(os.path.join(self.server.root, rel))
        if not path.startswith(self.server.root + os.sep) or not os.path.isfile(path):
            return self.fail(404)
        st = os.stat(path)
        size = st.st_size
        etag = '"%x-%x"' % (st.st_size, st.st_mtime_ns)
        lastmod = email.utils.formatdate(st.st_mtime, usegmt=True)
        validator = q.get('validator', 'etag')

        start, end, partial = 0, size, False
        want = self.headers.get('Range')
        if want and not q.get('norange'):
            cond = self.headers.get('If-Range')
            if cond is None or cond in (etag if validator == 'etag' else None,
                                        lastmod if validator != 'none' else None):
                m = re.fullmatch(r'bytes=(\d+)-(\d*)', want.strip())
                if not m:
                    return self.fail(416)
                start = int(m.group(1))
                end = min(size, int(m.group(2)) + 1) if m.group(2) else size
                if start >= size or start >= end:
                    self.send_response(416)
                    self.send_header('Content-Range', 'bytes */%d' % size)
                    self.send_header('Content-Length', '0')
                    self.send_header('Connection', 'close')
                    self.end_headers()
                    self.close_connection = True
                    return
                partial = True

        announced = end - start
        if q.get('length') == 'short':
            announced += 1000
        elif q.get('length') == 'long':
            announced = max(0, announced - 1000)
        self.send_response(206 if partial else 200)
        self.send_header('Content-Type', 'application/octet-stream')
        self.send_header('Content-Length', str(announced))
        self.send_header('Accept-Ranges', 'none' if q.get('norange') else 'bytes')
        if partial:
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end - 1, size))
        if validator == 'etag':
            self.send_header('ETag', etag)
        if validator != 'none':
            self.send_header('Last-Modified', lastmod)
        self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True
        if self.command == 'HEAD':
            return

        limit = end - start
        if 'drop' in q:
            key = (url.path, url.query)
            with fired_lock:
                n = fired.get(key, 0)
                if n < int(q.get('times', '1')):
                    fired[key] = n + 1
                    limit = min(limit, int(q['drop']))
        stall = int(q['stall']) if 'stall' in q else None
        if stall is not None:
            limit = min(limit, stall)
        rate = int(q['rate']) if 'rate' in q else None

        with open(path, 'rb') as f:
            self.send_body(f, start, limit, rate)
        if stall is not None:
            self.hold()
        elif limit < end - start:
            # Dropped: a reset, not an orderly end, as a broken connection looks.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\0\0\0\0\0\0\0')

    def send_body(self, f, start, n, rate):
        self.wfile.flush()
        if rate is None and not self.server.tls:
            self.connection.sendfile(f, start, n)
            return
        f.seek(start)
        begun = time.monotonic()
        sent = 0
        while sent < n:
            block = f.read(min(CHUNK if rate is None else max(1, rate // 10), n - sent))
            if not block:
                break
            self.wfile.write(block)
            sent += len(block)
            if rate is not None:
                ahead = sent / rate - (time.monotonic() - begun)
                if ahead > 0:
                    time.sleep(ahead)
        self.wfile.flush()

    def hold(self):
        # Until the client gives up: it closes, and a read sees the end.
        self.connection.settimeout(600)
        try:
            while self.connection.recv(4096):
                pass
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass                    # clients that hang up mid-body are the point of some tests


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--root', required=True)
    p.add_argument('--port-file', required=True)
    p.add_argument('--log', required=True)
    p.add_argument('--cert')
    p.add_argument('--key')
    a = p.parse_args()

    httpd = Server(('127.0.0.1', 0), Handler)
    httpd.root = os.path.realpath(a.root)
    httpd.log = a.log
    httpd.tls = bool(a.cert)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    open(a.log, 'a').close()
    tmp = a.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % httpd.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
