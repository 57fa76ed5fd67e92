#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# authz-sweep.py — every method of dbus/*.xml through a real polkitd, and a generated table of
# hostile arguments for every method and argument, each checked against the daemon's state.
#
# Usage (as root, on the test bus; test-authz.sh sets the scene):
#   authz-sweep.py run DBUS_XML_DIR DATASTORE REPOSITORY
#   authz-sweep.py batch            (internal: runs the JSON calls on stdin as the calling user)
import json
import os
import pwd
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import dbus

DEST = 'org.abiquo.Node1'
ROOT = '/org/abiquo/Node1'
N = 'org.abiquo.Node1.'
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
INTERACTIVE = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired'
INVALID = 'org.freedesktop.DBus.Error.InvalidArgs'
NOTFOUND = N + 'Error.NotFound'

# The methods that change nothing: open to every peer, so outside the sweep. Nothing else may be.
READ_ONLY = {'Network.ListVlans', 'Images.ListImages', 'Machines.ListMachines', 'Machines.GetMachine',
             'Node1.GetCapabilities'}


def short(iface, method):
    return iface.rsplit('.', 1)[1] + '.' + method        # org.abiquo.Node1.Vlan -> Vlan.Delete


def methods_from_xml(xml_dir):
    """[(interface, method, [(arg, type)])] for every org.abiquo method in the contract."""
    out = []
    for f in sorted(os.listdir(xml_dir)):
        if not f.endswith('.xml'):
            continue
        for iface in ET.parse(os.path.join(xml_dir, f)).getroot().iter('interface'):
            name = iface.get('name')
            if not name.startswith('org.abiquo.'):
                continue
            for m in iface.findall('method'):
                args = [(a.get('name'), a.get('type')) for a in m.findall('arg')
                        if a.get('direction', 'in') == 'in']
                out.append((name, m.get('name'), args))
    return out


def typed(v, key=None):
    """JSON-able arguments to D-Bus ones: a dict is an a{sv}, ['u', 2] in it a variant of that type
    (the calls cross to as_user() as JSON, which knows no D-Bus integer types); a list of dicts is
    an aa{sv}; a bare number in a dict is a u (a q under 'tag')."""
    # Numbers and lists are converted only when they are plain JSON values: D-Bus values (hostile
    # ones of a deliberately wrong type among them; dbus.UInt32 is an int) pass as they are.
    if isinstance(v, dict):
        return dbus.Dictionary({k: typed(x, k) for k, x in v.items()}, signature='sv')
    if type(v) is list and len(v) == 2 and v[0] in ('u', 't', 'i', 'q'):
        return {'u': dbus.UInt32, 't': dbus.UInt64, 'i': dbus.Int32, 'q': dbus.UInt16}[v[0]](v[1], variant_level=1)
    if type(v) is list and v and all(type(x) is dict for x in v):
        return dbus.Array([typed(x) for x in v], signature='a{sv}')       # Apply's changes
    if key is not None and type(v) is int:
        return dbus.UInt16(v) if key == 'tag' else dbus.UInt32(v)        # a bare number in an a{sv}
    return v


def call(bus, path, iface, method, sig, args, dest=DEST):
    """(error name or None, message or reply)."""
    try:
        return None, bus.call_blocking(dest, path, iface, method, sig, [typed(a) for a in args], timeout=60)
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name(), e.get_dbus_message() or ''


def batch():
    bus = dbus.SystemBus()
    res = []
    for c in json.load(sys.stdin):
        err, msg = call(bus, c['path'], c['iface'], c['method'], c['sig'], c['args'])
        res.append({'error': err, 'message': msg if err else ''})
    json.dump(res, sys.stdout)


def as_user(user, calls):
    """Runs calls (JSON-able) in one process as user: its own bus connection, its own uid."""
    with open(__file__) as f:
        me = f.read()     # the user may not be able to read the source tree
    out = subprocess.run(['setpriv', '--reuid=' + user, '--regid=%d' % pwd.getpwnam(user).pw_gid, '--clear-groups',
                          sys.executable, '-c', me, 'batch'],
                         input=json.dumps(calls), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError('the calls as %s failed: %s' % (user, out.stderr))
    return json.loads(out.stdout)


def worker_pid():
    """The pid of the one aimd-worker (maxJobs = 1), once it is there."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for p in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open('/proc/%s/comm' % p) as f:
                    if f.read().strip() == 'aimd-worker':
                        return int(p)
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError('the slow job has no aimd-worker')


class Sweep:
    def __init__(self, xml_dir, datastore, repository):
        self.bus = dbus.SystemBus()
        self.datastore, self.repository = datastore, repository
        self.methods = methods_from_xml(xml_dir)
        self.failures = []
        self.tried = 0

    def root(self, path, iface, method, sig='', args=(), dest=DEST):
        err, reply = call(self.bus, path, iface, method, sig, list(args), dest)
        if err:
            raise RuntimeError('%s.%s as root: %s: %s' % (iface, method, err, reply))
        return reply

    def fail(self, what):
        print('not ok - ' + what, flush=True)
        self.failures.append(what)

    # ---- the state a user would check --------------------------------------------------------
    def state(self):
        s = {}
        s['vlans'] = sorted(tuple(str(x) for x in v) for v in self.root(ROOT, N + 'Network', 'ListVlans'))
        s['images'] = sorted((str(i[0]), int(i[1])) for i in self.root(ROOT, N + 'Images', 'ListImages'))
        s['machines'] = sorted(tuple(str(x) for x in v) for v in self.root(ROOT, N + 'Machines', 'ListMachines'))
        objs = self.root(ROOT, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects')
        s['jobs'] = sorted((str(p), str(i[N + 'Job']['State'])) for p, i in objs.items() if N + 'Job' in i)
        links = []
        for l in sorted(os.listdir('/sys/class/net')):
            d = '/sys/class/net/' + l
            master = os.path.basename(os.readlink(d + '/master')) if os.path.exists(d + '/master') else '-'
            with open(d + '/mtu') as f, open(d + '/flags') as g:
                links.append((l, master, f.read().strip(), int(g.read(), 16) & 1))
        s['links'] = links
        s['datastore'] = sorted((f, os.lstat(os.path.join(self.datastore, f)).st_size)
                                for f in os.listdir(self.datastore))
        s['repository'] = sorted(os.listdir(self.repository))
        s['pid'] = int(self.root('/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionUnixProcessID',
                                 's', [DEST], 'org.freedesktop.DBus'))
        return s

    def compare(self, before, what):
        after = self.state()
        if after != before:
            diff = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            self.fail('%s changed the state: %s' % (what, str(diff)[:2000]))
        return after

    # ---- the objects every mutating method acts on (made by root) ----------------------------
    def setup(self):
        net, img = N + 'Network', N + 'Images'
        self.root(ROOT, net, 'CreateVlan', 'sqsa{sv}', ['d0', 100, 'br100', {}])
        vlan101 = str(self.root(ROOT, net, 'CreateVlan', 'sqsa{sv}', ['d0', 101, 'br101', {}]))
        # Two pending checkpoints, long enough not to expire during the test: one to confirm, one
        # to roll back.
        cps = [str(self.root(ROOT, net, 'Apply', 'aa{sv}a{sv}',
                             [[self.change('create', 'd0', tag, 'br%d' % tag)],
                              {'rollback_timeout': dbus.UInt32(3600, variant_level=1)}]))
               for tag in (300, 301)]
        # maxJobs = 1: the endless slow job keeps the next one queued, for Cancel to act on.
        self.slow = str(self.root(ROOT, img, 'Import', 'ssa{sv}',
                                  ['slow.img', 'slow', {'checksum': 'sha256:' + '0' * 64}])[1])
        # Its worker is stopped: the job stays running without taking UML's only CPU for the test.
        self.slow_worker = worker_pid()
        os.kill(self.slow_worker, signal.SIGSTOP)
        queued = str(self.root(ROOT, img, 'Import', 'ssa{sv}', ['a.img', 'queued', {}])[1])
        images = {str(i[0]): str(i[3]) for i in self.root(ROOT, img, 'ListImages')}
        for name in ('a', 'b', 'c'):
            if name not in images:
                raise RuntimeError('test-authz.sh did not put image %s in the datastore' % name)
        machine = {n: str(self.root(ROOT, N + 'Machines', 'GetMachine', 's', [n]))
                   for n in ('m-start', 'm-shutdown', 'm-reboot', 'm-reset', 'm-destroy', 'm-suspend', 'm-resume',
                             'm-undefine')}
        # Valid arguments, on their real objects, for every method but the read-only ones: a method
        # missing here fails the sweep (a new method must come with its polkit check and an entry).
        self.valid = {
            'Network.CreateVlan': (ROOT, ['d0', 200, 'br200', {}]),
            'Network.DeleteVlan': (ROOT, ['d0', 100, 'br100']),
            'Vlan.Delete': (vlan101, []),
            'Network.Apply': (ROOT, [[self.change('create', 'd0', 202, 'br202')], {}]),
            'Checkpoint.Confirm': (cps[0], []),
            'Checkpoint.Rollback': (cps[1], []),
            'Images.Import': (ROOT, ['a.img', 'imported', {}]),
            'Images.Export': (ROOT, ['a', 'exported.img', {}]),
            # Queued behind the endless job like the others: nothing is fetched during the sweep.
            'Images.Pull': (ROOT, ['http://127.0.0.1:1/a.img', 'pulled', {}]),
            'Images.Delete': (ROOT, ['b']),
            'Image.Delete': (images['c'], []),
            'Job.Cancel': (queued, []),
            'Machine.Start': (machine['m-start'], []),
            'Machine.Shutdown': (machine['m-shutdown'], []),
            'Machine.Reboot': (machine['m-reboot'], []),
            'Machine.Reset': (machine['m-reset'], []),
            'Machine.Destroy': (machine['m-destroy'], []),
            'Machine.Suspend': (machine['m-suspend'], []),
            'Machine.Resume': (machine['m-resume'], []),
            'Machines.DefineMachine': (ROOT, ['m-new', {'vcpus': ['u', 1], 'memory_kib': ['t', 65536],
                                                        'graphics': 'vnc', 'display': ['i', 3]}]),
            'Machine.Undefine': (machine['m-undefine'], [{}]),
            'Machine.GetXML': (machine['m-start'], []),
            'Machine.SetAutostart': (machine['m-start'], [True]),
            'Machine.SetResources': (machine['m-start'], [{'vcpus': ['u', 2]}]),
            'Machine.GetAddresses': (machine['m-reset'], ['lease']),   # running after Reset
            # Read-only methods with arguments: the hostile table needs valid ones too.
            'Machines.GetMachine': (ROOT, ['m-start']),
        }

    @staticmethod
    def change(action, parent, tag, bridge, **extra):
        d = {'action': dbus.String(action, variant_level=1), 'parent': dbus.String(parent, variant_level=1),
             'tag': dbus.UInt16(tag, variant_level=1), 'bridge': dbus.String(bridge, variant_level=1)}
        d.update(extra)
        return dbus.Dictionary(d, signature='sv')

    # ---- authorization -----------------------------------------------------------------------
    def sweep(self):
        calls, names = [], []
        for iface, method, args in self.methods:
            key = short(iface, method)
            if key in READ_ONLY:
                continue
            if key not in self.valid:
                self.fail('%s: no valid arguments known to the sweep (add it, with its polkit check)' % key)
                continue
            path, vargs = self.valid[key]
            names.append(key)
            calls.append({'path': path, 'iface': iface, 'method': method,
                          'sig': ''.join(t for _, t in args), 'args': vargs})
        for user, expect, what in (('nobody', ACCESS_DENIED, 'denied by the rules'),
                                   ('bin', INTERACTIVE, 'AUTH_ADMIN without allow-interactive')):
            before, nfail = self.state(), len(self.failures)
            res = as_user(user, calls)
            for key, r in zip(names, res):
                if r['error'] != expect:
                    self.fail('%s as %s (%s): expected %s, got %s %s' % (key, user, what, expect, r['error'],
                                                                         r['message']))
            self.compare(before, 'the calls of %s (%s)' % (user, what))
            if len(self.failures) == nfail:
                print('ok - %d mutating methods as %s (%s): all %s, state unchanged' % (len(calls), user, what, expect),
                      flush=True)
        nfail = len(self.failures)
        res = as_user('daemon', calls)
        for key, r in zip(names, res):
            if r['error'] in (ACCESS_DENIED, INTERACTIVE):
                self.fail('%s as daemon (allowed by the rules): %s %s' % (key, r['error'], r['message']))
            elif r['error']:
                # Allowed and valid: each call must also have done its job.
                self.fail('%s as daemon (allowed, valid arguments) failed: %s %s' % (key, r['error'], r['message']))
        if len(self.failures) == nfail:
            print('ok - %d mutating methods as daemon (allowed by the rules): none refused, all succeeded'
                  % len(calls), flush=True)
        return names

    # ---- hostile input -----------------------------------------------------------------------
    STRINGS = [('empty', ''), ('64KiB', 'x' * 65536), ('control \\x01', 'a\x01b'), ('newline', 'a\nb'),
               ('tab', 'a\tb'), ('DEL', 'a\x7fb'), ('dot-dot', '..'), ('../', '../x'),
               ('deep ../', 'a/../../etc/passwd'), ('absolute', '/etc/passwd'), ('root', '/'),
               ('slash', 'a/b'), ('space', 'a b'), ('256 bytes', 'y' * 256)]
    # Paths that are well-formed text but lead out of the repository through symlinks made by
    # test-authz.sh: the daemon must resolve them, not trust them.
    SYMLINKS = [('symlink out', 'out-file'), ('symlink dir out', 'out-dir/passwd'), ('dangling', 'dangling')]
    OPTIONS = {
        'Network.CreateVlan': {'name': 's', 'mtu': 'u'},
        'Network.Apply': {'rollback_timeout': 'u'},
        'Images.Import': {'checksum': 's', 'overwrite': 'b', 'decompress': 's', 'member': 's', 'sync': 'b'},
        'Images.Export': {'checksum': 's', 'overwrite': 'b', 'decompress': 's', 'member': 's', 'sync': 'b'},
        'Images.Pull': {'checksum': 's', 'download_checksum': 's', 'overwrite': 'b', 'decompress': 's', 'member': 's',
                        'max_size': 't', 'sync': 'b'},
        'Machines.DefineMachine': {'uuid': 's', 'vcpus': 'u', 'memory_kib': 't', 'max_memory_kib': 't', 'autostart': 'b',
                                   'start': 'b', 'disks': 'aa{sv}', 'nics': 'aa{sv}', 'graphics': 's', 'listen': 's',
                                   'display': 'i', 'vga': 's', 'kernel': 's', 'initrd': 's', 'cmdline': 's'},
        'Machine.Undefine': {'force': 'b', 'remove_images': 'b'},
        'Machine.SetResources': {'vcpus': 'u', 'memory_kib': 't'},
    }
    WRONG = {'s': dbus.UInt32(7, variant_level=1), 'u': dbus.String('1500', variant_level=1),
             'b': dbus.String('yes', variant_level=1), 't': dbus.UInt32(7, variant_level=1),
             'i': dbus.UInt32(7, variant_level=1), 'aa{sv}': dbus.Array(['x'], signature='s', variant_level=1)}
    # Option values that are the right type but out of range or malformed.
    BAD_OPTION_VALUES = {
        'name': STRINGS[:7] + [('16 bytes', 'n' * 16)],
        'mtu': [('0', dbus.UInt32(0)), ('67', dbus.UInt32(67)), ('huge', dbus.UInt32(0xffffffff)),
                ('65536', dbus.UInt32(65536))],
        'rollback_timeout': [('a day and a second', dbus.UInt32(86401)), ('huge', dbus.UInt32(0xffffffff))],
        'checksum': [('empty', ''), ('no algorithm', '0' * 64), ('bad hex', 'sha256:' + 'z' * 64),
                     ('short', 'md5:' + '0' * 31), ('unknown algorithm', 'sha1:' + '0' * 40),
                     ('64KiB', 'sha256:' + '0' * 65536)],
        'download_checksum': [('empty', ''), ('no algorithm', '0' * 64), ('bad hex', 'sha256:' + 'z' * 64),
                              ('unknown algorithm', 'sha1:' + '0' * 40), ('64KiB', 'md5:' + '0' * 65536)],
        'decompress': [('empty', ''), ('unknown', 'lzma'), ('64KiB', 'z' * 65536), ('control', 'auto\x01')],
        'member': [('empty', ''), ('../', '../x'), ('absolute', '/etc/passwd'), ('64KiB', 'm' * 65536),
                   ('control', 'a\x01b')],
        'uuid': STRINGS[:7] + [('not hex', 'g' * 8 + '-0000-0000-0000-' + '0' * 12)],
        'graphics': [('empty', ''), ('unknown', 'rdp'), ('64KiB', 'v' * 65536)],
        'vga': [('empty', ''), ('unknown', 'hercules'), ('control', 'std\x01')],
        'kernel': STRINGS,
        'initrd': STRINGS,
        'cmdline': [('64KiB', 'c' * 65536), ('control', 'a\x01b'), ('newline', 'a\nb')],
        'vcpus': [('huge', dbus.UInt32(0xffffffff))],
    }

    def hostile_inputs(self):
        """(label, path, iface, method, sig, args, expected error names, words the message must name)."""
        for iface, method, args in self.methods:
            key = short(iface, method)
            sig = ''.join(t for _, t in args)
            path, vargs = self.valid.get(key, (ROOT, None if args else []))
            if vargs is None:
                self.fail('%s: no valid arguments to vary in the hostile table' % key)
                continue
            # A wrong signature: sd-bus itself refuses it, before any handler runs.
            yield (key + ' with an extra argument', path, iface, method, sig + 's', vargs + ['extra'],
                   {INVALID}, [])
            for i, (arg, t) in enumerate(args):
                def with_(v):
                    a = list(vargs)
                    a[i] = v
                    return a
                if t == 's':
                    values = list(self.STRINGS)
                    if arg in ('source', 'target'):
                        values += self.SYMLINKS
                    for label, v in values:
                        expected = {INVALID}
                        if key == 'Machines.GetMachine' and '/' not in v and v:
                            expected = {NOTFOUND}     # libvirt names may hold any of these
                        if key.startswith('Images.') and (arg, label) in (
                                ('source', 'slash'), ('source', 'space'), ('source', 'dangling'), ('target', 'slash')):
                            expected = {NOTFOUND}     # well-formed and inside, but nothing there
                        # Export onto a symlink (out of the tree, or dangling): the entry is not a
                        # regular file, which is never replaced nor written through: InvalidArgs.
                        yield ('%s %s: %s' % (key, arg, label), path, iface, method, sig, with_(v), expected, [arg])
                elif t == 'q':
                    for v in (0, 4095, 65535):
                        yield ('%s %s: %d' % (key, arg, v), path, iface, method, sig, with_(dbus.UInt16(v)),
                               {INVALID}, [arg])
                elif t == 'a{sv}':
                    known = self.OPTIONS[key]
                    for k in ('bogus', '', 'x' * 300, 'Name'):
                        yield ('%s %s: unknown key %r' % (key, arg, k[:8]), path, iface, method, sig,
                               with_(dbus.Dictionary({k: dbus.String('v', variant_level=1)}, signature='sv')),
                               {INVALID}, [k] if k else ['option'])
                    for k, kt in known.items():
                        yield ('%s %s: %s of the wrong type' % (key, arg, k), path, iface, method, sig,
                               with_(dbus.Dictionary({k: self.WRONG[kt]}, signature='sv')), {INVALID}, [k])
                        for label, v in self.BAD_OPTION_VALUES.get(k, []):
                            if kt == 's':
                                v = dbus.String(v, variant_level=1)
                            else:
                                v = dbus.UInt32(v, variant_level=1)
                            yield ('%s %s: %s %s' % (key, arg, k, label), path, iface, method, sig,
                                   with_(dbus.Dictionary({k: v}, signature='sv')), {INVALID}, [k])
                elif t == 'aa{sv}':
                    for label, v, words in self.hostile_changes():
                        yield ('%s %s: %s' % (key, arg, label), path, iface, method, sig,
                               with_(dbus.Array(v, signature='a{sv}')), {INVALID}, words)
                elif t == 'b':
                    continue        # no value of a boolean is hostile; the wrong signature is tried above
                else:
                    self.fail('%s: argument %s of type %s has no hostile values in the table' % (key, arg, t))

    def hostile_changes(self):
        """Apply's changes: (label, list of dicts, words the message must name)."""
        ok = lambda tag=210, **kw: self.change('create', 'd0', tag, 'br%d' % tag, **kw)
        s = lambda v: dbus.String(v, variant_level=1)
        u = lambda v: dbus.UInt32(v, variant_level=1)
        yield '10 000 changes', [ok(1 + i % 4000) for i in range(10000)], ['changes', '8192']
        yield 'an empty change', [ok(), dbus.Dictionary({}, signature='sv')], ['changes[1]', 'action']
        every_key_wrong = dbus.Dictionary({'action': u(1), 'parent': u(2), 'tag': s('3'), 'bridge': u(4),
                                           'name': u(5), 'mtu': s('6')}, signature='sv')
        yield 'a change with every key wrong', [every_key_wrong], ['changes[0].']
        for k, v in (('action', u(1)), ('parent', u(1)), ('tag', s('7')), ('tag', u(7)), ('bridge', u(1)),
                     ('name', u(1)), ('mtu', s('1500'))):
            d = ok()
            d[k] = v
            yield 'changes[1].%s of the wrong type' % k, [ok(211), d], ['changes[1].' + k]
        for k in ('bogus', '', 'x' * 300, 'Tag'):
            d = ok()
            d[k] = s('v')
            yield 'unknown key %r' % k[:8], [d], ['changes[0]']
        for missing in ('action', 'parent', 'tag', 'bridge'):
            d = ok()
            del d[missing]
            yield 'no %s' % missing, [d], ['changes[0]', missing]
        yield 'action explode', [self.change('explode', 'd0', 5, 'br5')], ['changes[0].action']
        yield 'a delete with mtu', [self.change('delete', 'd0', 5, 'br5', mtu=u(1500))], ['changes[0].mtu']
        for label, v in self.STRINGS[:10]:
            yield 'changes[2].parent %s' % label, [ok(212), ok(213), self.change('create', v, 5, 'br5')], \
                ['changes[2].parent']
            yield 'changes[0].bridge %s' % label, [self.change('delete', 'd0', 5, v)], ['changes[0].bridge']
            yield 'changes[0].name %s' % label, [ok(name=s(v))], ['changes[0].name']
        for tag in (0, 4095, 65535):
            yield 'changes[7].tag %d' % tag, [ok(220 + i) for i in range(7)] + [ok(tag)], ['changes[7].tag']
        for label, v in (('0', 0), ('67', 67), ('65536', 65536)):
            yield 'changes[0].mtu %s' % label, [ok(mtu=u(v))], ['changes[0].mtu']
        yield 'the same VLAN twice', [ok(230), ok(231), ok(230)], ['changes[2]', 'changes[0]']

    def hostile_objects(self):
        """Per-object methods on paths that name no object, some hostile once decoded (sd-bus's
        encoding: anything but [A-Za-z0-9] is _xx): no object, so no method runs."""
        def encode(prefix, s):
            return prefix + '/' + (''.join(c if c.isascii() and c.isalnum() else '_%02x' % ord(c) for c in s) or '_')
        bogus = ['', '..', '../datastore', '/etc/passwd', 'a/b', 'zzz', '\x01', 'x' * 300]
        for iface, method, kind in ((N + 'Image', 'Delete', 'image'), (N + 'Vlan', 'Delete', 'vlan'),
                                    (N + 'Checkpoint', 'Confirm', 'checkpoint'),
                                    (N + 'Checkpoint', 'Rollback', 'checkpoint'),
                                    (N + 'Job', 'Cancel', 'job'), (N + 'Machine', 'Start', 'machine')):
            for b in bogus + (['0', '4294967295', '-1'] if kind in ('job', 'checkpoint') else []):
                yield ('%s.%s on %s/%r' % (iface, method, kind, b[:12]), encode(ROOT + '/' + kind, b), iface, method,
                       '', [], {'org.freedesktop.DBus.Error.UnknownObject', 'org.freedesktop.DBus.Error.UnknownMethod',
                                NOTFOUND}, [])

    def hostile(self):
        before = self.state()
        n = bad = 0
        for label, path, iface, method, sig, args, expected, words in \
                list(self.hostile_inputs()) + list(self.hostile_objects()):
            n += 1
            err, msg = call(self.bus, path, iface, method, sig, args)
            problem = None
            if err not in expected:
                problem = 'expected %s, got %s' % ('/'.join(sorted(expected)), err)
            elif not all(w.lower() in msg.lower() for w in words):
                problem = 'the message does not name %s' % ', '.join(words)
            elif len(msg.encode()) > 1100 or any(ord(c) < 0x20 or ord(c) == 0x7f for c in msg):
                problem = 'the message echoes control characters or is over 1 KiB (%d bytes)' % len(msg.encode())
            if os.environ.get('AIM_AUTHZ_VERBOSE'):
                print('# %s -> %s: %s' % (label, err, str(msg)[:160].replace('\n', '\\n')))
            if problem:
                bad += 1
                self.fail('%s: %s: %s' % (label, problem, str(msg)[:300]))
            state = self.compare(before, label)
            before = state
        self.tried = n
        print('%s - %d hostile inputs: %d answered as expected, daemon alive and state unchanged after each'
              % ('not ok' if bad else 'ok', n, n - bad), flush=True)


def main():
    if sys.argv[1] == 'batch':
        return batch()
    s = Sweep(*sys.argv[2:5])
    s.setup()
    s.hostile()
    covered = s.sweep()
    os.kill(s.slow_worker, signal.SIGCONT)
    s.root(s.slow, N + 'Job', 'Cancel')
    print('# methods in dbus/*.xml: %d; swept (mutating): %d; read-only: %d; hostile inputs tried: %d'
          % (len(s.methods), len(covered), len(READ_ONLY), s.tried))
    if s.failures:
        print('%d failures' % len(s.failures))
        sys.exit(1)


if __name__ == '__main__':
    main()
