#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# test-deploy.sh — aimctl deploy on erp5.recipe.kvm's own example sections (the seed's README),
# against libvirt's test driver: a gzip'd image from the repository with md5_download and
# md5_image, an image already in the datastore, a partition (a loop device) as `file = /dev/…`,
# and the remote example on the test HTTP server (pulled; both checksums are Images.Pull's);
# then every kind of mistake, each named by file, section and line.
. "$(dirname "$0")/lib.sh"
aim_enter_mount_ns "$@"
require_cmd losetup gzip md5sum python3
aim_setup
aim_activate
wait_for 30 bash -c '[ "$(busctl --system get-property org.abiquo.Node1 /org/abiquo/Node1 org.abiquo.Node1 HypervisorConnected)" = "b true" ]' \
        || fail "the daemon did not connect to test:///default"
R=$AIM_TMP/repository D=$AIM_TMP/datastore

# The images of the examples: a small "qcow2" (its bytes are all that matters here), gzip'd in the
# repository; a copy already in the datastore; a loop device for the partition.
head -c 1M /dev/urandom > "$AIM_TMP/public.img"
gzip -c "$AIM_TMP/public.img" > "$R/public.mdv2010.0_x86_64.qcow2.img.gz"
cp "$AIM_TMP/public.img" "$D/local.qcow2.img"
md5_image=$(md5sum < "$AIM_TMP/public.img" | cut -d' ' -f1)
md5_download=$(md5sum < "$R/public.mdv2010.0_x86_64.qcow2.img.gz" | cut -d' ' -f1)
truncate -s 16M "$AIM_TMP/partition.img"
loop=$(losetup --find --show "$AIM_TMP/partition.img") || skip "no loop device"
aim_on_teardown losetup -d "$loop"

# The seed's four examples, with its "### The Rest Same configuration as previous ###" written out
# and URLs and paths made real.
common='kvm_vnc = 127.0.0.1:7
kvm_graphic = std
kvm_redir =
  tcp:13480::80
kvm_net =
  user,hostname=publicmandriva
  nic,model=ne2k_pci
ssh_port = 13456
ssh_key_path = /path/to/mykey.key'
cat > "$AIM_TMP/buildout.cfg" <<EOT
[kvm-testing-with-remote-gzip-image]
image = http://127.0.0.1:9/public.mdv2010.0_x86_64.qcow2.img.gz

# md5 checks are optional
md5_download = $md5_download
md5_image = $md5_image

gzip = true

# Use -hda instead -drive arg
image_type = hda

### Common Configuration below. ###
$common

[kvm-testing-with-local-gzip-image]
recipe = erp5.recipe.kvm
image = public.mdv2010.0_x86_64.qcow2.img.gz
md5_download = $md5_download
md5_image = $md5_image
gzip = true
image_type = hda
$common

[kvm-testing-with-local-image]

file = $D/local.qcow2.img
md5_image = $md5_image
$(echo "$common" | sed 's/13480/13481/; s/13456/13457/; s/127.0.0.1:7/127.0.0.1:8/')

[kvm-testing-a-linux-partition]

file = $loop
kvm_snapshot = true
kvm_net =
  user
EOT

# deploy SECTION: aimctl deploy on the file above; its output in $out.
deploy() { out=$("$AIMCTL" deploy "$AIM_TMP/buildout.cfg" "$@" 2>&1) || fail "aimctl deploy $* failed: $out"; }
# deploy_fails FILE [SECTION]: must fail; its output in $out.
deploy_fails() { if out=$("$AIMCTL" deploy "$@" 2>&1); then fail "aimctl deploy $* succeeded: $out"; fi; }
machine_path() { gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine "$1" | sed -n "s/^(objectpath '\(.*\)',)$/\1/p"; }
xml_of() { gdbus_call "$(machine_path "$1")" org.abiquo.Node1.Machine.GetXML; }
state_of() { prop org.abiquo.Node1.Machine State "$(machine_path "$1")"; }
line_of() { grep -n -m 1 -- "$2" "$1" | cut -d: -f1; }

# The example as the seed has it forwards ports (kvm_redir, ssh_port): libvirt's passt backend
# does that, and where libvirt has none (Debian 12's) DefineMachine says so; the deploy then leaves
# no image behind, and the same section without its forwards goes through.
forwards=yes
if ! out=$("$AIMCTL" deploy "$AIM_TMP/buildout.cfg" kvm-testing-with-local-gzip-image 2>&1); then
        assert_contains "$out" "DefineMachine: forwards: this hypervisor cannot forward ports" "deploy without passt"
        assert_contains "$out" "deleted image public.mdv2010.0_x86_64.qcow2.img again (the machine could not be defined)" "cleanup"
        [ ! -e "$D/public.mdv2010.0_x86_64.qcow2.img" ] || fail "a failed deploy left its image behind"
        echo "# this libvirt cannot forward ports (no passt): the example's kvm_redir and ssh_port are refused; deploying it without them"
        sed -i '/^\[kvm-testing-with-local-gzip-image\]/,/^\[kvm-testing-with-local-image\]/{/^kvm_redir =/,/^  tcp:/d; /^ssh_port/d}' "$AIM_TMP/buildout.cfg"
        forwards=no
        deploy kvm-testing-with-local-gzip-image
fi
assert_contains "$out" "notice: recipe is buildout's, not aimd's; ignored" "recipe notice"
assert_contains "$out" "notice: ssh_key_path is buildout's, not aimd's; ignored" "ssh_key_path notice"
assert_contains "$out" "notice: kvm_net: user option hostname is not supported by libvirt; ignored" "hostname notice"
assert_contains "$out" "Importing public.mdv2010.0_x86_64.qcow2.img.gz as image public.mdv2010.0_x86_64.qcow2.img" "import"
assert_contains "$out" "md5_image: $D/public.mdv2010.0_x86_64.qcow2.img matches (md5:$md5_image)" "md5_image"
assert_contains "$out" "VNC: 127.0.0.1:5907 (display 7)" "VNC line"
cmp -s "$D/public.mdv2010.0_x86_64.qcow2.img" "$AIM_TMP/public.img" || fail "the imported image is not the unpacked one"
assert_eq "$(state_of kvm-testing-with-local-gzip-image)" 's "running"' "State"
xml=$(xml_of kvm-testing-with-local-gzip-image)
assert_contains "$xml" "bus='ide'" "image_type = hda"
assert_contains "$xml" "<model type='ne2k_pci'/>" "nic,model=ne2k_pci"
assert_contains "$xml" "port='5907'" "kvm_vnc display 7"
assert_contains "$xml" "listen='127.0.0.1'" "kvm_vnc address"
assert_contains "$xml" "<interface type='user'>" "kvm_net = user"
if [ $forwards = yes ]; then
        assert_contains "$out" "Forwarded: tcp:13456:22 → guest port 22 (ssh -p 13456 localhost)" "ssh line"
        assert_contains "$out" "Forwarded: tcp:13480:80 → guest port 80" "redirection line"
        assert_contains "$xml" "<portForward proto='tcp'" "kvm_redir/ssh_port"
fi
ok "the seed's gzip'd image example (from the repository): imported and unpacked, md5_download and md5_image checked, defined as asked (ide, ne2k_pci, user-mode, VNC display 7), started, how to reach it printed (forwards: $forwards)"

[ $forwards = yes ] || sed -i '/^\[kvm-testing-with-local-image\]/,/^\[kvm-testing-a-linux-partition\]/{/^kvm_redir =/,/^  tcp:/d; /^ssh_port/d}' "$AIM_TMP/buildout.cfg"
deploy kvm-testing-with-local-image
assert_not_contains "$out" "Importing" "file = an image in the datastore"
assert_contains "$out" "md5_image: $D/local.qcow2.img matches" "md5_image of a datastore image"
assert_contains "$(xml_of kvm-testing-with-local-image)" "local.qcow2.img" "disk"
assert_eq "$(state_of kvm-testing-with-local-image)" 's "running"' "State"
ok "the seed's local-image example: the datastore image used in place (nothing copied), md5_image checked"

deploy kvm-testing-a-linux-partition
xml=$(xml_of kvm-testing-a-linux-partition)
assert_contains "$xml" "dev='$loop'" "file = /dev/…"
assert_contains "$xml" "<transient/>" "kvm_snapshot = true"
assert_eq "$(state_of kvm-testing-a-linux-partition)" 's "running"' "State"
ok "the seed's partition example: file = $loop (a loop device) as the machine's disk, snapshot"

# The remote example, its URL on the test HTTP server (another file name: the local
# example's image is in the datastore already) and its own ports and display.
W=$AIM_TMP/www
mkdir -p "$W"
cp "$R/public.mdv2010.0_x86_64.qcow2.img.gz" "$W/remote.mdv2010.0_x86_64.qcow2.img.gz"
aim_start_http www "$W"
url="http://127.0.0.1:$AIM_HTTP_PORT/remote.mdv2010.0_x86_64.qcow2.img.gz"
sed -i "/^\[kvm-testing-with-remote-gzip-image\]/,/^\[kvm-testing-with-local-gzip-image\]/{s|^image = .*|image = $url|; s/^  tcp:13480::80$/  tcp:13482::80/; s/^ssh_port = 13456$/ssh_port = 13458/; s/^kvm_vnc = 127.0.0.1:7$/kvm_vnc = 127.0.0.1:9/}" "$AIM_TMP/buildout.cfg"
[ $forwards = yes ] || sed -i '/^\[kvm-testing-with-remote-gzip-image\]/,/^\[kvm-testing-with-local-gzip-image\]/{/^kvm_redir =/,/^  tcp:/d; /^ssh_port/d}' "$AIM_TMP/buildout.cfg"
deploy kvm-testing-with-remote-gzip-image
assert_contains "$out" "Pulling $url as image remote.mdv2010.0_x86_64.qcow2.img" "pull"
grep -q "GET /remote.mdv2010.0_x86_64.qcow2.img.gz" "$AIM_TMP/www.log" || fail "the server saw no GET: $(cat "$AIM_TMP/www.log")"
cmp -s "$D/remote.mdv2010.0_x86_64.qcow2.img" "$AIM_TMP/public.img" || fail "the pulled image is not the unpacked one"
xml=$(xml_of kvm-testing-with-remote-gzip-image)
assert_contains "$xml" "remote.mdv2010.0_x86_64.qcow2.img" "disk"
assert_contains "$xml" "bus='ide'" "image_type = hda"
assert_contains "$xml" "port='5909'" "kvm_vnc display 9"
assert_eq "$(state_of kvm-testing-with-remote-gzip-image)" 's "running"' "State"
ok "the seed's remote example: pulled over http and unpacked, md5_download and md5_image passed to Pull, defined and started"

# Each checksum is Pull's: a wrong one fails the pull, naming it, and nothing is published.
cp "$W/remote.mdv2010.0_x86_64.qcow2.img.gz" "$W/other.img.gz"
printf '[kvm-bad]\nimage = %s\ngzip = true\nmd5_download = %s\nmd5_image = %s\n' \
        "${url%/*}/other.img.gz?from=a/b#c/d" "${md5_download//?/0}" "$md5_image" > "$AIM_TMP/bad.cfg"
deploy_fails "$AIM_TMP/bad.cfg"
assert_contains "$out" "as image other.img" "a URL's query and fragment are not its file name"
assert_contains "$out" "Download checksum mismatch: expected md5:${md5_download//?/0}" "md5_download mismatch"
[ ! -e "$D/other.img" ] || fail "the image that failed md5_download is in the datastore"
printf '[kvm-bad]\nimage = %s\ngzip = true\nmd5_download = %s\nmd5_image = %s\n' \
        "${url%/*}/other.img.gz" "$md5_download" "${md5_image//?/0}" > "$AIM_TMP/bad.cfg"
deploy_fails "$AIM_TMP/bad.cfg"
assert_contains "$out" "Checksum mismatch: expected md5:${md5_image//?/0}" "md5_image mismatch"
[ ! -e "$D/other.img" ] || fail "the image that failed md5_image is in the datastore"
[ -z "$(find "$D" -name '*other*')" ] || fail "a failed pull left files behind: $(ls -a "$D")"
assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine kvm-bad >/dev/null
ok "a wrong md5_download or md5_image: the pull fails naming the checksum, nothing in the datastore, no machine"

# Mistakes: each one names the file, the section and the line, and nothing is done.
bad=$AIM_TMP/bad.cfg
# expect_error TEXT_IN_FILE MESSAGE: the section in $bad fails on the line holding TEXT_IN_FILE.
expect_error() {
        deploy_fails "$bad"
        assert_contains "$out" "$bad:$(line_of "$bad" "$1"): [kvm-bad] $2" "error for '$1'"
}
bad_section() { printf '[kvm-bad]\nimage = public.mdv2010.0_x86_64.qcow2.img.gz\ngzip = true\n%s\n' "$1" > "$bad"; }
bad_section "kvm_vnc = 127.0.0.1:123";  expect_error "kvm_vnc" "kvm_vnc: display '123' is not 0..99"
bad_section "kvm_vnc = localhost:1";    expect_error "kvm_vnc" "kvm_vnc: 'localhost:1' is not IP-ADDRESS[:DISPLAY]"
bad_section "image_type = hdz";         expect_error "image_type" "image_type must be drive or hda..hdd, not 'hdz'"
bad_section "kvm_graphic = svga";       expect_error "kvm_graphic" "kvm_graphic must be std, cirrus, qxl, virtio, vmvga or none, not 'svga'"
bad_section "kvm_snapshot = maybe";     expect_error "kvm_snapshot" "kvm_snapshot must be true or false, not 'maybe'"
bad_section "md5_image = 1a4e37";       expect_error "md5_image" "md5_image must be 32 hexadecimal digits, not '1a4e37'"
bad_section "kvm_memory = 512";         expect_error "kvm_memory" "unknown key 'kvm_memory'"
bad_section "ssh_port = 70000";         expect_error "ssh_port" "ssh_port: '70000' is not a port (1..65535)"
bad_section "gzip = false";             expect_error "gzip = false" "gzip is set twice (first on line 3)"
bad_section "kvm_redir = tcp:1:2:3:4";  expect_error "kvm_redir" "kvm_redir: 'tcp:1:2:3:4' is not tcp|udp:HOSTPORT::GUESTPORT"
bad_section "kvm_net = tap,ifname=t0";  expect_error "kvm_net" "kvm_net: 'tap' is not supported (nic, user or bridge)"
bad_section 'kvm_vnc = ${vnc:address}'; expect_error "kvm_vnc" 'kvm_vnc: buildout substitutions (${…}) are not supported here'
printf '[kvm-bad]\nfile = /etc/passwd\n' > "$bad"
expect_error "file" "file must be an image in the datastore ($D/NAME) or a block device under /dev, not '/etc/passwd'"
printf '[kvm-bad]\nfile = %s\nmd5_image = %s\n' "$loop" "$md5_image" > "$bad"
expect_error "md5_image" "md5_image cannot check a device (file = $loop)"
printf '[kvm-bad]\nimage = public.mdv2010.0_x86_64.qcow2.img.gz\nkvm_net =\n  bridge,br=br0\n  nic\nssh_port = 2222\n' > "$bad"
expect_error "ssh_port" "port redirections need a user-mode NIC (kvm_net = user)"
printf '[kvm-bad]\nimage = %s\n' "${url%/*}" > "$bad"
expect_error "image" "image '${url%/*}' names no file"
printf '[kvm-bad]\nimage = %s/\n' "${url%/*}" > "$bad"
expect_error "image" "image '${url%/*}/' names no file"
printf '[kvm-bad]\n  indented = 1\n' > "$bad"
expect_error "indented" "an indented line that continues no key"
assert_bus_error org.abiquo.Node1.Error.NotFound gdbus_call /org/abiquo/Node1 org.abiquo.Node1.Machines.GetMachine kvm-bad >/dev/null
ok "wrong keys and values: an error naming file, section and line; no machine defined"

deploy_fails "$AIM_TMP/buildout.cfg"
assert_contains "$out" "4 sections; name the one to deploy: kvm-testing-with-remote-gzip-image kvm-testing-with-local-gzip-image" "no section named"
deploy_fails "$AIM_TMP/buildout.cfg" kvm-nothing
assert_contains "$out" "no section [kvm-nothing]" "a missing section"
printf '[kvm-bad]\nkvm_vnc = 127.0.0.1:1\n' > "$bad"
deploy_fails "$bad"
assert_contains "$out" "[kvm-bad] needs image (a repository path or URL) or file" "neither image nor file"
ok "a file with several sections and no SECTION, a missing section, a section without image or file: errors"

# An md5_image that does not match what the image unpacks to: the imported image goes again.
cp "$R/public.mdv2010.0_x86_64.qcow2.img.gz" "$R/other.img.gz"
printf '[kvm-bad]\nimage = other.img.gz\ngzip = true\nmd5_image = %s\n' "${md5_image//?/0}" > "$bad"
deploy_fails "$bad"
assert_contains "$out" "$bad:4: [kvm-bad] md5_image: $D/other.img has MD5 $md5_image, not ${md5_image//?/0}" "md5_image mismatch"
assert_contains "$out" "deleted image other.img again (md5_image does not match)" "md5_image mismatch"
[ ! -e "$D/other.img" ] || fail "the image that failed md5_image is still in the datastore"
printf '[kvm-bad]\nimage = other.img.gz\ngzip = true\nmd5_download = %s\n' "${md5_download//?/0}" > "$bad"
deploy_fails "$bad"
assert_contains "$out" "Checksum mismatch" "md5_download mismatch"
[ ! -e "$D/other.img" ] || fail "the image that failed md5_download is in the datastore"
ok "md5_image or md5_download that do not match: the deploy fails and leaves no image behind"
