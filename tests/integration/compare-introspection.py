#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# compare-introspection.py LIVE.xml DBUS_DIR — every org.abiquo.* interface in the live introspection
# must equal the one in DBUS_DIR/<interface>.xml: methods and their arguments (names, types,
# directions), signals, properties (type, access, EmitsChangedSignal). Prints the differences.
# network-scenario.py imports it (differences()).
import os
import sys
import xml.etree.ElementTree as ET

EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def describe(iface):
    d = {}
    for m in iface.findall("method"):
        d["method " + m.get("name")] = [(a.get("name"), a.get("type"), a.get("direction", "in"))
                                        for a in m.findall("arg")]
    for s in iface.findall("signal"):
        d["signal " + s.get("name")] = [(a.get("name"), a.get("type")) for a in s.findall("arg")]
    for p in iface.findall("property"):
        emits = "true"
        for a in p.findall("annotation"):
            if a.get("name") == EMITS:
                emits = a.get("value")
        d["property " + p.get("name")] = (p.get("type"), p.get("access"), emits)
    return d


def differences(live_xml, dbus_dir):
    """What differs between the org.abiquo.* interfaces of LIVE_XML (a string) and DBUS_DIR."""
    live = ET.fromstring(live_xml)
    found, out = 0, []
    for iface in live.findall("interface"):
        name = iface.get("name")
        if not name.startswith("org.abiquo."):
            continue
        found += 1
        path = os.path.join(dbus_dir, name + ".xml")
        if not os.path.exists(path):
            out.append(f"{name}: published but no {path}")
            continue
        want = [i for i in ET.parse(path).getroot().findall("interface") if i.get("name") == name]
        a, b = describe(iface), describe(want[0])
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                out.append(f"{name}: {k}: live {a.get(k)} != file {b.get(k)}")
    if found == 0:
        out.append("no org.abiquo.* interface in the live introspection")
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        diffs = differences(f.read(), sys.argv[2])
    for d in diffs:
        print(d)
    sys.exit(1 if diffs else 0)
