#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# network-scenario.py START_SECONDS — test-network.sh's checks, in one client process: under
# User-Mode Linux a process start costs 50-700 ms of the guest's only CPU, and the bash version of
# this scenario started about 3300 of them (a gdbus, a busctl, an ip | jq | awk per check). The
# calls here go through libdbus (dbus-python) on one connection; the kernel's view is one
# `ip -d -j link` per look; aimctl, the non-root callers (gdbus under setpriv) and a `gdbus monitor`
# for the signals are the only other processes. START_SECONDS: the script's time so far.
#
# test-network.sh sets the scene (private bus, real polkitd with its rules, dummy links d0 and d1,
# the daemon activated) and exports AIM_TMP, AIMCTL and AIM_SRCDIR. Prints one "ok N - ..." line a
# check, like lib.sh's ok; exits non-zero on the first failure.
import importlib.util
import json
import os
import pwd
import signal
import subprocess
import sys
import time

import dbus

DEST = 'org.abiquo.Node1'
ROOT = '/org/abiquo/Node1'
N = 'org.abiquo.Node1.Network'
INVALID = 'org.freedesktop.DBus.Error.InvalidArgs'
DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
CONFLICT = DEST + '.Error.Conflict'
NOTFOUND = DEST + '.Error.NotFound'
BUSY = DEST + '.Error.Busy'
EXISTS = DEST + '.Error.Exists'

TMP = os.environ['AIM_TMP']
AIMCTL = os.environ['AIMCTL']
SRC = os.environ['AIM_SRCDIR']
STATE = os.path.join(TMP, 'state', 'network')
MONITOR = os.path.join(TMP, 'monitor.log')
# As lib.sh's wait_for: caps are generous, scaled by AIM_WAIT_SCALE (default 4).
WAIT_SCALE = int(os.environ.get('AIM_WAIT_SCALE', '4'))
START = time.monotonic() - int(sys.argv[1])
CHECKS = 0

sys.dont_write_bytecode = True     # no __pycache__ in the source tree (hostfs under UML)
_spec = importlib.util.spec_from_file_location(
    'compare_introspection', os.path.join(SRC, 'tests', 'integration', 'compare-introspection.py'))
compare_introspection = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_introspection)


def fail(what):
    print('FAIL: ' + what, file=sys.stderr, flush=True)
    sys.exit(1)


def ok(what):
    global CHECKS
    CHECKS += 1
    print(f'ok {CHECKS} - {what} (at {int(time.monotonic() - START)} s)', flush=True)


def eq(got, want, what):
    if got != want:
        fail(f'{what}: expected {want!r}, got {got!r}')


def contains(text, part, what):
    if part not in text:
        fail(f'{what}: expected to contain {part!r}, got {text!r}')


def not_contains(text, part, what):
    if part in text:
        fail(f'{what}: expected not to contain {part!r}, got {text!r}')


def wait_for(cap, predicate):
    deadline = time.monotonic() + cap * WAIT_SCALE
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- the bus -------------------------------------------------------------------------------------
BUS = dbus.SystemBus()          # DBUS_SYSTEM_BUS_ADDRESS: the test's bus


def call(path, iface, method, sig='', *args, timeout=120):
    return BUS.call_blocking(DEST, path, iface, method, sig, args, timeout=timeout)


def error(name, fn, *args):
    """fn(*args) must fail with D-Bus error NAME: its message."""
    try:
        out = fn(*args)
    except dbus.exceptions.DBusException as e:
        if e.get_dbus_name() != name:
            fail(f'expected {name} from {fn.__name__}{args}, got {e.get_dbus_name()}: {e.get_dbus_message()}')
        return e.get_dbus_message()
    fail(f'expected {name} from {fn.__name__}{args}, got success: {out!r}')


def prop(path, iface, name):
    return call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', iface, name)


def opts(**kw):
    return dbus.Dictionary(kw, signature='sv')


def create(parent, tag, bridge, options=None):
    return str(call(ROOT, N, 'CreateVlan', 'sqsa{sv}', parent, tag, bridge, options or opts()))


def delete(parent, tag, bridge):
    return call(ROOT, N, 'DeleteVlan', 'sqs', parent, tag, bridge)


def list_vlans():
    return [(str(p), int(t), str(b), str(o)) for p, t, b, o in call(ROOT, N, 'ListVlans')]


def change(spec):
    """ACTION:PARENT:TAG:BRIDGE as one of Apply's changes."""
    a, p, t, b = spec.split(':')
    return opts(action=a, parent=p, tag=dbus.UInt16(int(t)), bridge=b)


def changes(*specs):
    return dbus.Array([change(s) for s in specs], signature='a{sv}')


def apply(chs, options=None, timeout=120):
    return str(call(ROOT, N, 'Apply', 'aa{sv}a{sv}', chs, options or opts(), timeout=timeout))


def vpath(name):
    """A VLAN's object path: its name with every character but [A-Za-z0-9] as _XX (hex)."""
    return ROOT + '/vlan/' + ''.join(c if c.isascii() and c.isalnum() else '_%02x' % ord(c) for c in name)


def vlan(name):
    return call(vpath(name), 'org.freedesktop.DBus.Properties', 'GetAll', 's', DEST + '.Vlan')


def cpath(cp_id):
    return f'{ROOT}/checkpoint/{cp_id}'


def check_introspection(path):
    xml = call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect')
    diffs = compare_introspection.differences(str(xml), os.path.join(SRC, 'dbus'))
    if diffs:
        fail(f'live introspection of {path} differs from dbus/*.xml: ' + '; '.join(diffs))


def name_has_owner():
    return bool(BUS.call_blocking('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                  'NameHasOwner', 's', (DEST,)))


def daemon_pid():
    return int(BUS.call_blocking('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                                 'GetConnectionUnixProcessID', 's', (DEST,)))


def activate():
    """As lib.sh's aim_activate: the first call bus-activates the daemon."""
    prop(ROOT, DEST, 'Version')
    wait_for(60, name_has_owner) or fail('the daemon did not take its name')


def exited(pid):
    """Gone, or a zombie its parent (the bus) has not reaped yet."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except (FileNotFoundError, ProcessLookupError):
        return True


def stop_daemon(sig):
    pid = daemon_pid()
    os.kill(pid, sig)
    wait_for(20, lambda: exited(pid) and not name_has_owner()) or fail(f'the daemon (pid {pid}) did not go')


# --- other processes -------------------------------------------------------------------------------
def run(*argv, want_rc=0, stdin=None):
    """ARGV's output (stdout and stderr); its exit status must be WANT_RC."""
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != want_rc:
        fail(f'{" ".join(argv)}: exit status {p.returncode} (expected {want_rc}): {p.stdout}')
    return p.stdout.strip()


def ip(*lines):
    """`ip` commands, one process for all of them."""
    run('ip', '-batch', '-', stdin='\n'.join(lines) + '\n')


def aimctl(*args, want_rc=0, stdin=None):
    return run(AIMCTL, *args, want_rc=want_rc, stdin=stdin)


def gv_changes(*specs):
    """Apply's changes as gdbus takes them (GVariant text), for the callers that are gdbus."""
    out = []
    for s in specs:
        a, p, t, b = s.split(':')
        out.append(f"{{'action': <'{a}'>, 'parent': <'{p}'>, 'tag': <uint16 {t}>, 'bridge': <'{b}'>}}")
    return '[' + ', '.join(out) + ']'


def gdbus_argv(method, *args, timeout=120):
    return ['gdbus', 'call', '--system', '--dest', DEST, '--object-path', ROOT, '--method', f'{N}.{method}',
            '--timeout', str(timeout), *args]


def ucall(user, method, *args, want_error=None):
    """METHOD called by USER (not root) with gdbus: its output, or with WANT_ERROR its message."""
    p = subprocess.run(['setpriv', f'--reuid={user}', f'--regid={pwd.getpwnam(user).pw_gid}', '--clear-groups',
                        *gdbus_argv(method, *args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.strip()
    marker = f'GDBus.Error:{want_error}:'
    if want_error and (p.returncode == 0 or marker not in out):
        fail(f'expected {want_error} from {method} as {user}, got: {out}')
    if not want_error and p.returncode != 0:
        fail(f'{method} as {user}: {out}')
    return out.split(marker, 1)[1].strip() if want_error else out


# --- the kernel's view ---------------------------------------------------------------------------------
def kernel():
    """Every link: name -> (ifindex, "kind parent tag master mtu up")."""
    out = {}
    for link in json.loads(run('ip', '-d', '-j', 'link')):
        info = link.get('linkinfo', {})
        desc = [info.get('info_kind') or '-', link.get('link') or '-', (info.get('info_data') or {}).get('id', '-'),
                link.get('master') or '-', link['mtu'], 'UP' in link['flags']]
        out[link['ifname']] = (link['ifindex'], ' '.join(map(str, desc)))
    return out


def link(name, k=None):
    """One link without its ifindex, or "absent"."""
    k = k or kernel()
    return k[name][1] if name in k else 'absent'


def links(k=None):
    """The kernel with ifindexes: a link made again has a new one."""
    return sorted((k or kernel()).items())


def state(k=None):
    """The kernel without ifindexes."""
    return sorted((name, desc) for name, (_, desc) in (k or kernel()).items())


def records():
    return sorted(os.listdir(STATE))


def record(name):
    return os.path.join(STATE, 'vlan-' + name)


def read(path):
    with open(path) as f:
        return f.read()


def seen(*parts):
    """A line of the signal monitor with every one of PARTS."""
    return any(all(p in line for p in parts) for line in read(MONITOR).splitlines())


def wait_seen(*parts, cap=10):
    wait_for(cap, lambda: seen(*parts)) or fail(f'no signal with {parts} in the monitor')


# --- the scenario ----------------------------------------------------------------------------------------
def create_and_again():
    eq(create('d0', 100, 'br100'), vpath('d0.100'), 'CreateVlan')
    k = kernel()
    eq(link('d0.100', k), 'vlan d0 100 br100 1500 True', 'kernel: d0.100')
    eq(link('br100', k), 'bridge - - - 1500 True', 'kernel: br100')
    eq(dict(vlan('d0.100')), {'Interface': 'd0.100', 'Parent': 'd0', 'Tag': 100, 'Bridge': 'br100',
                              'MTU': 1500, 'OperState': 'up', 'Conflict': ''}, 'the Vlan properties')
    contains(read(record('d0.100')), 'parent=d0', 'record')
    wait_seen('InterfacesAdded', vpath('d0.100'))
    ok('CreateVlan makes an 802.1Q link and a bridge, enslaved and up; object, record and InterfacesAdded')

    before = links()
    eq(create('d0', 100, 'br100'), vpath('d0.100'), 'CreateVlan again')
    eq(links(), before, 'kernel after the second CreateVlan')
    ok('CreateVlan again: the same path, nothing changed in the kernel')

    check_introspection(ROOT)
    check_introspection(vpath('d0.100'))
    eq(list_vlans(), [('d0', 100, 'br100', vpath('d0.100'))], 'ListVlans')
    ok('introspection equals dbus/*.xml; ListVlans')


def conflicts():
    ip('link add d0.200 type dummy', 'link add link d1 name d0.201 type vlan id 201',
       'link add link d0 name d0.202 type vlan id 2020', 'link add brX type bridge',
       'link add link d0 name d0.203 type vlan id 203', 'link set d0.203 master brX',
       'link add link d0 name v205 type vlan id 205')
    before = links()
    for args, why in [(('d0', 200, 'br200'), 'is a dummy, not a VLAN'),
                      (('d0', 201, 'br201'), "on parent 'd1', not on 'd0'"),
                      (('d0', 202, 'br202'), 'tag 2020, not 202'),
                      (('d0', 203, 'br203'), "port of 'brX', not of bridge 'br203'"),
                      (('d0', 204, 'd1'), "'d1' exists and is a dummy, not a bridge"),
                      (('d0', 205, 'br205'), "has tag 205 already, as link 'v205'"),
                      (('d0', 100, 'br999'), "managed already on bridge 'br100'"),
                      (('d0', 100, 'br100', opts(name='v100')), "managed already as link 'd0.100'")]:
        contains(error(CONFLICT, create, *args), why, f'CreateVlan{args}')
    eq(links(), before, 'kernel after the conflicts')
    ok('conflicts (kind, parent, tag, port of another bridge, bridge kind, tag in use, managed) change nothing')

    # br300 is free as a name in our table but taken in the kernel as an alternative name of d1.
    ip('link property add dev d1 altname br300')
    before = links()
    contains(error(EXISTS, create, 'd0', 300, 'br300'), "Failed to create bridge 'br300'", 'rollback message')
    k = kernel()
    eq(links(k), before, 'kernel after the rollback')
    eq(link('d0.300', k), 'absent', 'd0.300 after the rollback')
    if os.path.exists(record('d0.300')):
        fail('a record was written for a failed CreateVlan')
    not_contains(repr(list_vlans()), 'd0_2e300', 'ListVlans after the rollback')
    ok('a failing bridge step rolls the VLAN link back: kernel, records and objects as before')


def mtu_and_changes_by_others():
    create('d0', 400, 'br400', opts(mtu=dbus.UInt32(1400)))
    k = kernel()
    eq(link('d0.400', k), 'vlan d0 400 br400 1400 True', 'kernel: d0.400')
    eq(link('br400', k), 'bridge - - - 1400 True', 'kernel: br400')
    eq(vlan('d0.400')['MTU'], 1400, 'MTU')
    ok('option mtu is set on the VLAN link and the bridge')

    p = vpath('d0.400')
    ip('link set d0.400 mtu 1300')
    wait_seen(p, "'MTU': <uint32 1300>")
    eq(vlan('d0.400')['MTU'], 1300, 'MTU after ip link set mtu')
    ip('link set d0.400 down')
    wait_seen(p, "'OperState': <'down'>")
    eq(vlan('d0.400')['OperState'], 'down', 'OperState after ip link set down')
    ip('link set d0.400 up')
    wait_seen(p, "'OperState': <'up'>")
    ok('ip link set mtu/down/up by someone else: MTU and OperState PropertiesChanged seen by a subscriber')


def deletes():
    delete('d0', 100, 'br100')
    k = kernel()
    eq(link('d0.100', k), 'absent', 'd0.100 after DeleteVlan')
    eq(link('br100', k), 'absent', 'br100 after DeleteVlan')
    if os.path.exists(record('d0.100')):
        fail('the record of d0.100 is still there')
    wait_seen('InterfacesRemoved', vpath('d0.100'))
    ok('DeleteVlan removes the VLAN link and its bridge, the record and the object')

    create('d0', 500, 'br500')
    ip('link add vethA type veth peer name vethB', 'link set vethA master br500')
    delete('d0', 500, 'br500')
    k = kernel()
    eq(link('d0.500', k), 'absent', 'd0.500 after DeleteVlan')
    eq(link('br500', k), 'bridge - - - 1500 True', 'br500 with another port')
    eq(link('vethA', k).split()[3], 'br500', "vethA's master")
    ok('DeleteVlan keeps a bridge that still has other ports')

    ip('link add brpre type bridge', 'link add link d0 name d0.502 type vlan id 502')
    create('d0', 501, 'brpre')
    create('d0', 502, 'br502')
    eq(link('d0.502'), 'vlan d0 502 br502 1500 True', 'adopted d0.502')
    delete('d0', 501, 'brpre')
    delete('d0', 502, 'br502')
    k = kernel()
    eq(link('brpre', k), 'bridge - - - 1500 True', 'brpre, which the daemon did not create (but set up)')
    eq(link('d0.502', k), 'vlan d0 502 - 1500 True', 'd0.502, which the daemon did not create')
    eq(link('br502', k), 'absent', 'br502, which the daemon created')
    ok('links the daemon did not create are never deleted (an adopted VLAN just leaves the bridge)')

    create('d0', 503, 'br503')
    call(vpath('d0.503'), DEST + '.Vlan', 'Delete')
    eq(link('d0.503'), 'absent', 'd0.503 after Vlan.Delete')
    error(NOTFOUND, delete, 'd0', 503, 'br503')
    contains(error(NOTFOUND, delete, 'd0', 400, 'br999'), "is on bridge 'br400'", 'wrong bridge')
    ok('Vlan.Delete(); DeleteVlan of an unknown VLAN or the wrong bridge is NotFound')


def invalid_input():
    before = links()
    u32 = dbus.UInt32
    for word, fn, args in [
            ('parent', create, ('', 10, 'br10')), ('parent', create, ('a/b', 10, 'br10')),
            ('parent', create, ('a:b', 10, 'br10')), ('parent', create, ('a b', 10, 'br10')),
            ('parent', create, ('a\tb', 10, 'br10')), ('parent', create, ('a\x01b', 10, 'br10')),
            ('parent', create, ('.', 10, 'br10')), ('parent', create, ('..', 10, 'br10')),
            ('parent', create, ('0123456789abcdef', 10, 'br10')),
            ('would be 17 bytes', create, ('abcdefghijkl', 4094, 'br10')),
            ('tag', create, ('d0', 0, 'br10')), ('tag', create, ('d0', 4095, 'br10')),
            ('tag', create, ('d0', 65535, 'br10')),
            ('bridge', create, ('d0', 10, '')), ('bridge', create, ('d0', 10, 'b/r')),
            ('bridge', create, ('d0', 10, '0123456789abcdef')), ('bridge', create, ('d0', 10, 'd0')),
            ('bridge', create, ('d0', 10, 'd0.10')),
            ('option name', create, ('d0', 10, 'br10', opts(name='x y'))),
            ('option name', create, ('d0', 10, 'br10', opts(name=u32(5)))),
            ('option name', create, ('d0', 10, 'br10', opts(name='d0'))),
            ('option mtu', create, ('d0', 10, 'br10', opts(mtu='big'))),
            ('option mtu', create, ('d0', 10, 'br10', opts(mtu=u32(0)))),
            ('option mtu', create, ('d0', 10, 'br10', opts(mtu=u32(67)))),
            ('option mtu', create, ('d0', 10, 'br10', opts(mtu=u32(65536)))),
            ('option mtu', create, ('d0', 10, 'br10', opts(mtu=u32(9000)))),
            ("Unknown option 'colour'", create, ('d0', 10, 'br10', opts(colour='blue'))),
            ('parent', delete, ('a/b', 10, 'br10')), ('tag', delete, ('d0', 0, 'br10')),
            ('bridge', delete, ('d0', 10, ''))]:
        contains(error(INVALID, fn, *args), word, f'InvalidArgs for {fn.__name__}{args}')
    eq(links(), before, 'kernel after invalid calls')
    ok('invalid input of every kind: InvalidArgs naming the argument, kernel unchanged')

    contains(error(NOTFOUND, create, 'nosuch', 10, 'br10'), "'nosuch' does not exist", 'parent missing')
    eq(links(), before, 'kernel after NotFound')
    ok('CreateVlan on a parent that does not exist: NotFound')
    return before


def polkit(before):
    ucall('nobody', 'CreateVlan', 'd0', '800', 'br800', '{}', want_error=DENIED)
    ucall('daemon', 'CreateVlan', 'd0', '801', 'brnope', '{}', want_error=DENIED)
    ucall('nobody', 'DeleteVlan', 'd0', '400', 'br400', want_error=DENIED)
    eq(links(), before, 'kernel after denied calls')
    ucall('daemon', 'CreateVlan', 'd0', '802', 'br802', '{}')
    eq(link('d0.802'), 'vlan d0 802 br802 1500 True', 'd0.802 created by an authorized non-root caller')
    ucall('daemon', 'CreateVlan', 'd1', '803', 'br803', '{}', want_error=DENIED)
    ucall('daemon', 'DeleteVlan', 'd0', '802', 'br802')
    eq(link('d0.802'), 'absent', 'd0.802 deleted by an authorized non-root caller')
    ok('polkit: denied callers get AccessDenied and change nothing; rules see parent/tag/bridge')


def cli():
    eq(aimctl('vlan', 'create', 'd0', '900', 'br900', '--mtu=1400'), vpath('d0.900'), 'aimctl vlan create')
    eq(link('d0.900'), 'vlan d0 900 br900 1400 True', 'kernel: d0.900')
    out = aimctl('vlan', 'list')
    contains(out, 'INTERFACE', 'aimctl vlan list')
    contains(''.join(l for l in out.splitlines() if 'd0.900' in l), 'br900', 'aimctl vlan list')
    eq([(v['interface'], v['tag'], v['bridge']) for v in json.loads(aimctl('--json', 'vlan', 'list'))
        if v['tag'] == 900], [('d0.900', 900, 'br900')], 'aimctl --json vlan list')
    contains(aimctl('vlan', 'create', 'd0', '5000', 'br', want_rc=1), 'Invalid tag 5000', 'aimctl error')
    aimctl('vlan', 'delete', 'd0', '900', 'br900')
    eq(link('d0.900'), 'absent', 'd0.900 after aimctl vlan delete')
    ok('aimctl vlan create/list (table and --json)/delete')


def apply_all_or_nothing():
    ip('link add d0.1036 type dummy')
    before, before_records, before_list = state(), records(), list_vlans()
    msg = error(CONFLICT, apply, changes(*[f'create:d0:{1000 + i}:br{1000 + i}' for i in range(50)]))
    contains(msg, 'changes[36]', 'the failing index')
    contains(msg, 'is a dummy, not a VLAN', "the failing change's conflict")
    eq(state(), before, 'kernel after the failed batch')
    eq(records(), before_records, 'records after the failed batch')
    eq(list_vlans(), before_list, 'ListVlans after the failed batch')
    ip('link del d0.1036')
    ok('Apply of 50 creates whose 37th conflicts: error names changes[36]; kernel, records and objects as before')

    create('d0', 1210, 'br1210')
    mixed = changes('create:d0:1200:br1200', 'create:d0:1201:br1200', 'delete:d0:1210:br1210')
    eq(apply(mixed), '/', 'Apply without rollback_timeout')
    k = kernel()
    eq(link('d0.1200', k), 'vlan d0 1200 br1200 1500 True', 'd0.1200')
    eq(link('d0.1201', k), 'vlan d0 1201 br1200 1500 True', 'd0.1201')
    eq(link('d0.1210', k), 'absent', 'd0.1210 after the delete')
    eq(link('br1210', k), 'absent', 'br1210 after the delete')
    if not os.path.exists(record('d0.1201')) or os.path.exists(record('d0.1210')):
        fail('records after the mixed batch')
    wait_seen('InterfacesAdded', vpath('d0.1201'))
    wait_seen('InterfacesRemoved', vpath('d0.1210'))
    before, before_records = links(), records()
    eq(apply(mixed), '/', 'the same batch again')
    eq(links(), before, 'kernel after the same batch again')
    eq(records(), before_records, 'records after the same batch again')
    ok('a mixed batch of creates and deletes applied, and applied again: the same result, nothing changed')

    before = state()
    raw = lambda **kw: dbus.Array([opts(**kw)], signature='a{sv}')
    for word, args in [
            ('changes[1].tag 5000', (changes('create:d0:1220:br1220', 'create:d0:5000:br1221'),)),
            ('changes[0].tag: must be a uint16', (raw(action='create', parent='d0', tag='x', bridge='b'),)),
            ('changes[0]: bridge is missing', (raw(action='create', parent='d0', tag=dbus.UInt16(5)),)),
            ('Unknown key changes[0].colour', (raw(colour='blue'),)),
            ("changes[1].action 'explode'", (changes('create:d0:1220:br1220', 'explode:d0:1221:br1221'),)),
            ('is in changes[0] already', (changes('create:d0:1220:br1220', 'delete:d0:1220:br1220'),)),
            ('rollback_timeout', (changes('create:d0:1220:br1220'), opts(rollback_timeout='soon')))]:
        contains(error(INVALID, apply, *args), word, f'InvalidArgs for Apply ({word})')
    eq(state(), before, 'kernel after invalid Apply calls')
    ok('Apply: invalid changes and options are InvalidArgs naming changes[i].key, nothing changed')


def checkpoints():
    before, before_records = state(), records()
    cp = apply(changes('create:d0:1300:br1300', 'delete:d0:1200:br1200'), opts(rollback_timeout=dbus.UInt32(5)))
    if not cp.startswith(ROOT + '/checkpoint/'):
        fail(f"Apply with rollback_timeout returned '{cp}'")
    # What it changed while pending is checked on the next one (a loaded machine may take longer than
    # the 5 s to get here): this one only has to expire.
    wait_seen('CheckpointRemoved', f"'{cp}', 'expired'", cap=300)
    eq(state(), before, 'kernel after the expiry')
    eq(records(), before_records, 'records after the expiry')
    not_contains(aimctl('checkpoint', 'list'), cp, 'aimctl checkpoint list after the expiry')
    ok('a checkpoint nobody confirms expires: links and records as before, CheckpointRemoved says expired')

    before, before_records = state(), records()
    cp = aimctl('vlan', 'apply', '--rollback-timeout=600', '--create', 'd0:1400:br1400', '--delete', 'd0:1201:br1200')
    cp_id = cp.rsplit('/', 1)[1]
    k = kernel()
    eq(link('d0.1400', k), 'vlan d0 1400 br1400 1500 True', 'd0.1400 while pending')
    eq(link('d0.1201', k), 'absent', 'd0.1201 while pending')
    eq(prop(cp, DEST + '.Checkpoint', 'Changes'), 2, 'Checkpoint.Changes')
    check_introspection(cp)
    contains(aimctl('checkpoint', 'list'), cp, 'aimctl checkpoint list')
    contains(error(BUSY, create, 'd0', 1401, 'br1400'), f'checkpoint {cp_id}', 'Busy names the checkpoint')
    error(BUSY, apply, changes('delete:d0:1400:br1400'))
    eq(link('d0.1401'), 'absent', 'd0.1401 after Busy')
    aimctl('checkpoint', 'rollback', cp_id)
    wait_seen('CheckpointRemoved', f"'{cp}', 'rolled-back'")
    eq(state(), before, 'kernel after the rollback')
    eq(records(), before_records, 'records after the rollback')
    create('d0', 1401, 'br1400')
    delete('d0', 1401, 'br1400')
    ok('aimctl vlan apply --rollback-timeout, checkpoint list/rollback; Busy for the links it holds until then')

    path = os.path.join(TMP, 'changes.json')
    with open(path, 'w') as f:
        json.dump([{'action': 'create', 'parent': 'd0', 'tag': 1500, 'bridge': 'br1500', 'mtu': 1400},
                   {'action': 'create', 'parent': 'd0', 'tag': 1501, 'bridge': 'br1501', 'name': 'v1501'}], f)
    cp = aimctl('vlan', 'apply', '--rollback-timeout=600', path)
    aimctl('checkpoint', 'confirm', cp.rsplit('/', 1)[1])
    wait_seen('CheckpointRemoved', f"'{cp}', 'confirmed'")
    k = kernel()
    eq(link('d0.1500', k), 'vlan d0 1500 br1500 1400 True', 'd0.1500 after confirm')
    eq(link('v1501', k), 'vlan d0 1501 br1501 1500 True', 'v1501 after confirm')
    if any('checkpoint' in r for r in records()):
        fail('a checkpoint file is left after confirm')
    eq(aimctl('vlan', 'apply', '-', stdin='[]'), '/', 'aimctl vlan apply of an empty list')
    ok('aimctl vlan apply FILE (JSON) with a checkpoint, confirmed: kept, no checkpoint left')


def non_root_apply():
    checks = os.path.join(TMP, 'polkit-checks')
    open(checks, 'w').close()
    eq(ucall('daemon', 'Apply', gv_changes(*[f'create:d0:{1700 + i}:br{1700 + i}' for i in range(50)]), '{}'),
       "(objectpath '/',)", 'Apply as daemon')
    eq(link('d0.1749'), 'vlan d0 1749 br1749 1500 True', 'd0.1749 made by a non-root Apply')
    eq(read(checks).split(), ['50'], 'polkit checks for one Apply of 50 changes')
    ucall('nobody', 'Apply', gv_changes('delete:d0:1700:br1700'), '{}', want_error=DENIED)
    eq(link('d0.1700'), 'vlan d0 1700 br1700 1500 True', 'd0.1700 after a denied Apply')
    ucall('daemon', 'Apply', gv_changes(*[f'delete:d0:{1700 + i}:br{1700 + i}' for i in range(50)]), '{}')
    eq(link('br1725'), 'absent', 'br1725 after the non-root delete batch')
    ok('non-root through the real polkitd: one authorization per Apply of 50 changes; denied callers change nothing')


def big_apply():
    # 100 creates (tags 3000-3099: the conflicts' d0.202 holds tag 2020): a slice is at most 64 changes
    # or 10 ms, and a change takes longer than that under UML, so a slice each. The probes start at its first VLAN's InterfacesAdded: a Busy, or
    # ListVlans answering with part of the batch, proves they were served in its middle.
    count = 100
    tags = range(3000, 3000 + count)
    ours = lambda names: sum(1 for n in names if n.startswith('d0.') and int(n[3:]) in tags)
    out = open(os.path.join(TMP, 'big-apply.out'), 'w+')
    applier = subprocess.Popen(gdbus_argv('Apply', gv_changes(*[f'create:d0:{t}:br{t}' for t in tags]), '{}',
                                          timeout=3600), stdout=out, stderr=subprocess.STDOUT, text=True)
    wait_seen('InterfacesAdded', vpath('d0.3000'), cap=120)
    try:
        busy = 'created ' + create('d0', 3999, 'br3999')
    except dbus.exceptions.DBusException as e:
        busy = f'{e.get_dbus_name()}: {e.get_dbus_message()}'
    made = ours(p + '.' + str(t) for p, t, _, _ in list_vlans())
    contains(str(prop(ROOT, DEST, 'Version')), '.', 'Version during the Apply')
    if busy.startswith(BUSY):
        contains(busy, f'An Apply of {count} changes', 'Busy names the Apply')
        in_flight = 'CreateVlan was Busy'
        if made < count:
            in_flight += f', then ListVlans answered with {made} of the {count}'
    elif made < count or not busy.startswith('created'):
        applier.wait()
        out.seek(0)
        fail(f'CreateVlan during the Apply (ListVlans saw {made} of {count}): {busy}; the Apply: {out.read()}')
    else:
        # The machine outran the probes: nothing is proven about the middle of the batch, say so.
        delete('d0', 3999, 'br3999')
        in_flight = 'the Apply ended before the probes (a fast machine): in-flight service NOT checked'
    rc = applier.wait()
    out.seek(0)
    eq((rc, out.read().strip()), (0, "(objectpath '/',)"), f'the Apply of {count}')
    k = kernel()
    eq(ours(n for n in k if link(n, k).startswith('vlan ')), count, 'VLANs of the batch in the kernel')
    eq(link(f'd0.{tags[-1]}', k), f'vlan d0 {tags[-1]} br{tags[-1]} 1500 True', f'd0.{tags[-1]}')
    eq(link('d0.3999', k), 'absent', 'd0.3999 after Busy')
    eq(ours(p + '.' + str(t) for p, t, _, _ in list_vlans()), count, 'ListVlans after')
    eq(apply(changes(*[f'delete:d0:{t}:br{t}' for t in tags]), timeout=3600), '/', f'the Apply of {count} deletes')
    k = kernel()
    eq(ours(k), 0, 'VLANs of the batch after the deletes')
    eq(link('br3050', k), 'absent', 'br3050 after the deletes')
    print(f'# in flight: {in_flight}')
    ok(f'an Apply of {count} creates runs in slices, other clients served, mutations Busy; all made, then deleted')


def restart():
    create('d0', 700, 'br700')
    create('d0', 701, 'br701', opts(mtu=dbus.UInt32(1400)))
    create('d0', 702, 'br702')
    stop_daemon(signal.SIGTERM)
    ip(*[f'link del {n}' for n in ['d0.700', 'br700', 'd0.701', 'br701', 'd0.702', 'br702', 'd0.1500', 'br1500']],
       'link add d0.702 type dummy')
    activate()
    k = kernel()
    eq(link('d0.700', k), 'vlan d0 700 br700 1500 True', 'd0.700 after restart')
    eq(link('br700', k), 'bridge - - - 1500 True', 'br700 after restart')
    eq(link('d0.701', k), 'vlan d0 701 br701 1400 True', 'd0.701 after restart')
    eq(link('d0.702', k), 'dummy - - - 1500 False', 'the conflicting dummy d0.702')
    eq(link('d0.400', k), 'vlan d0 400 br400 1400 True', 'd0.400: its recorded MTU re-applied')
    eq(link('d0.1500', k), 'vlan d0 1500 br1500 1400 True', 'd0.1500, confirmed in a checkpoint, re-applied')
    v = vlan('d0.702')
    contains(v['Conflict'], 'is a dummy, not a VLAN', 'Conflict of d0.702')
    eq(v['OperState'], 'down', "OperState of d0.702 (the dummy's)")
    eq(vlan('d0.700')['Conflict'], '', 'Conflict of d0.700')
    contains(read(os.path.join(TMP, 'bus.log')), 'VLAN d0.702 (tag 702 on d0, bridge br702) was not re-applied', 'log')
    delete('d0', 702, 'br702')
    eq(link('d0.702'), 'dummy - - - 1500 False', 'the dummy after DeleteVlan of the conflicting VLAN')
    ok('restart: VLANs deleted behind the daemon\'s back are re-applied; a conflict is logged and marked')


def kill_with_checkpoint():
    before, before_records = state(), records()
    cp = apply(changes('create:d0:1600:br1600', 'delete:d0:1500:br1500', 'create:d0:1601:br1601'),
               opts(rollback_timeout=dbus.UInt32(600)))
    contains(cp, ROOT + '/checkpoint/', 'Apply with a checkpoint')
    k = kernel()
    eq(link('d0.1600', k), 'vlan d0 1600 br1600 1500 True', 'd0.1600 while pending')
    eq(link('d0.1500', k), 'absent', 'd0.1500 while pending')
    if not any(r.startswith('checkpoint-') for r in records()):
        fail('no checkpoint file while pending')
    stop_daemon(signal.SIGKILL)
    activate()
    k = kernel()
    eq(state(k), before, 'kernel after the restart')
    eq(records(), before_records, 'records after the restart')
    eq(link('d0.1500', k), 'vlan d0 1500 br1500 1400 True', 'd0.1500 made again')
    paths = [o for _, _, _, o in list_vlans()]
    eq((vpath('d0.1600') in paths, vpath('d0.1500') in paths), (False, True), 'ListVlans after the restart')
    contains(read(os.path.join(TMP, 'bus.log')), 'pending when the daemon last stopped', 'log')
    ok('kill -9 with a checkpoint pending: the next start rolls it back, records and kernel agree')


def main():
    monitor = subprocess.Popen(['gdbus', 'monitor', '--system', '--dest', DEST], stdout=open(MONITOR, 'w'),
                               stderr=subprocess.STDOUT)
    try:
        wait_for(10, lambda: 'is owned by' in read(MONITOR)) or fail('the signal monitor did not start')
        create_and_again()
        conflicts()
        mtu_and_changes_by_others()
        deletes()
        polkit(invalid_input())
        cli()
        apply_all_or_nothing()
        checkpoints()
        non_root_apply()
        big_apply()
        restart()
        kill_with_checkpoint()
    finally:
        monitor.kill()
        monitor.wait()


main()
