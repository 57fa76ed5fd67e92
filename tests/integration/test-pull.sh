#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-pull.sh — pulling images over http and https from the test server (http-server.py) on
# loopback: the transfer engine on its own (pull-probe), then Images.Pull through the daemon.
source "$AIM_SRCDIR/tests/integration/lib.sh"

require_cmd python3 openssl
aim_setup
W=$AIM_TMP/www
mkdir -p "$W"
# An image with data, holes and a zero run: 6 MiB.
python3 - "$W/disk.img" <<'PY'
import os, sys
with open(sys.argv[1], 'wb') as f:
    f.write(os.urandom(1 << 20))
    f.seek(3 << 20)
    f.write(os.urandom(2 << 20))
    f.truncate(6 << 20)
PY
aim_start_http www "$W"
H="http://127.0.0.1:$AIM_HTTP_PORT"
aim_make_ca "$AIM_TMP/tls"
aim_start_http tls "$W" "$AIM_TMP/tls/server.pem" "$AIM_TMP/tls/server.key"
S="https://127.0.0.1:$AIM_HTTP_PORT"

# probe_ok URL [ARGS…]: pull-probe fetches URL byte-identical to disk.img; prints its summary.
probe_ok() {
        local url=$1 out; shift
        out=$("$PULL_PROBE" "$@" "$url" "$AIM_TMP/probe.out" 2>&1) || fail "pull-probe $url: $out"
        cmp -s "$AIM_TMP/probe.out" "$W/disk.img" || fail "pull-probe $url: the body differs"
        echo "$out"
}
# probe_fails URL MESSAGE [ARGS…]: pull-probe fails on URL saying MESSAGE.
probe_fails() {
        local url=$1 want=$2 out; shift 2
        if out=$("$PULL_PROBE" "$@" "$url" "$AIM_TMP/probe.out" 2>&1); then fail "pull-probe $url succeeded: $out"; fi
        assert_contains "$out" "$want" "pull-probe $url"
}

# ---- the engine alone ----
out=$(probe_ok "$H/disk.img")
assert_contains "$out" "size=6291456 done=6291456 resumes=0 restarts=0"
ok "engine: a plain download is byte-identical"

out=$(probe_ok "$H/disk.img?drop=1000000")
assert_contains "$out" "resumes=1 restarts=0"
grep -q "GET /disk.img?drop=1000000 range=bytes=[1-9][0-9]*- if-range=\"" "$AIM_TMP/www.log" \
        || fail "no Range + If-Range (ETag) request after the drop: $(cat "$AIM_TMP/www.log")"
ok "engine: a dropped connection is resumed with Range and If-Range on the ETag"

out=$(probe_ok "$H/disk.img?drop=1000000&validator=lastmod")
assert_contains "$out" "resumes=1 restarts=0"
grep -q "GET /disk.img?drop=1000000&validator=lastmod range=bytes=[1-9][0-9]*- if-range=[A-Z][a-z][a-z], " "$AIM_TMP/www.log" \
        || fail "no If-Range on Last-Modified: $(cat "$AIM_TMP/www.log")"
ok "engine: without an ETag, If-Range carries Last-Modified"

out=$(probe_ok "$H/disk.img?drop=1000000&norange=1")
assert_contains "$out" "resumes=1 restarts=1"
out=$(probe_ok "$H/disk.img?drop=1000000&validator=none")
assert_contains "$out" "resumes=1 restarts=1"
ok "engine: a server that ignores Range, or gives no validator, restarts the body from zero"

probe_fails "$H/disk.img?drop=100000&times=99" "The connection dropped 6 times; gave up at"
probe_fails "$H/disk.img?status=404" "HTTP 404 Not Found"
probe_fails "$H/disk.img?status=500" "HTTP 500 Internal Server Error"
probe_fails "$H/nonexistent.img" "HTTP 404 Not Found"
probe_fails "$H/disk.img?redirect=file:///etc/passwd" "Redirected to 'file:///etc/passwd', which is not http or https"
probe_fails "$H/disk.img?redirect=ftp://127.0.0.1/disk.img" "Redirected to 'ftp://127.0.0.1/disk.img', which is not http or https"
probe_fails "$H/disk.img?loop=1" "More than 5 redirects (a redirect loop?)"
probe_fails "$H/disk.img?length=short" "The body is shorter than its Content-Length (6291456 of 6292456 bytes)"
probe_fails "$H/disk.img?length=long" "The body is longer than its Content-Length (6290456 bytes)"
probe_fails "$H/disk.img" "more than max_size" --max-size=1000000
probe_fails "$H/disk.img?stall=2000000" "The transfer stalled for 2 s at 1.9 MiB" --stall=2
out=$(probe_ok "$H/disk.img?redirect=$H/disk.img")
ok "engine: hostile servers fail with a message naming what happened; a redirect to http is followed"

probe_fails "$S/disk.img" "certificate verify failed: SSL certificate problem: unable to get local issuer certificate"
out=$(probe_ok "$S/disk.img?drop=3000000" --ca="$AIM_TMP/tls/ca.pem")
assert_contains "$out" "resumes=1"
probe_fails "$S/disk.img" "Cannot read the CA file /nonexistent" --ca=/nonexistent
ok "engine: https is verified: with the test CA it passes (and resumes), without it it fails"
