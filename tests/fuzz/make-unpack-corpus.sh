#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-unpack-corpus.sh — regenerates the small seed corpus of fuzz-unpack (committed; re-run only to
# change it): each compressed stream and tar/OVA layout the daemon accepts, plus disk headers.
# Usage: tests/fuzz/make-unpack-corpus.sh  (needs gzip xz zstd bzip2 tar)
set -euo pipefail
out=$(dirname "$0")/corpus/unpack
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -f "$out"/*
mkdir -p "$out"
cd "$work"

# A tiny "disk": a qcow2 magic, some data, a zero block (a hole when unpacked), a tail.
{ printf 'QFI\xfb\0\0\0\3'; head -c 500 /dev/zero | tr '\0' 'a'; head -c 4096 /dev/zero; printf 'end'; } >disk.img
printf 'KDMV\1\0\0\0' >disk.vmdk; head -c 600 /dev/zero >>disk.vmdk
printf '<?xml version="1.0"?><Envelope/>' >pkg.ovf
printf 'SHA256(disk.vmdk)= 00\n' >pkg.mf

cp disk.img "$out/raw"
gzip -9 -n -c disk.img >"$out/disk.gz"
xz -9 -c disk.img >"$out/disk.xz"
zstd -q -19 -c disk.img >"$out/disk.zst"
bzip2 -9 -c disk.img >"$out/disk.bz2"
tar --format=ustar --owner=0 --group=0 --mtime=@0 -cf "$out/disk.tar" disk.img
tar --format=gnu --owner=0 --group=0 --mtime=@0 -cf "$out/pkg.ova" pkg.ovf disk.vmdk pkg.mf
tar --format=ustar --owner=0 --group=0 --mtime=@0 -cf - pkg.ovf pkg.mf >"$out/no-disk.tar"
tar --format=ustar --owner=0 --group=0 --mtime=@0 -cf - disk.img | gzip -9 -n >"$out/disk.tar.gz"
tar --format=ustar --owner=0 --group=0 --mtime=@0 -cf - pkg.ovf disk.vmdk | zstd -q -19 >"$out/pkg.ova.zst"
# Truncated streams: the corrupt-input paths from the start.
head -c 40 "$out/disk.xz" >"$out/truncated.xz"
head -c 700 "$out/disk.tar" >"$out/truncated.tar"
ls -l "$out"
