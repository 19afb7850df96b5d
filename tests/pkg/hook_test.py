# SPDX-License-Identifier: GPL-2.0
"""Tests of the libvirt migration hook (contrib/libvirt/kvm-quanta-hook) and
the profile stamping (contrib/libvirt/kq-libvirt-profile-sync), run against
fake `quantactl` and `virsh` commands on PATH.

The fake virsh stores `metadata --set` the way libvirt does: the fragment's
root element, renamed into the --key prefix and --uri namespace, inside the
domain's <metadata>, beside the metadata other tools keep there.  The
stamped XML is then fed to the hook as libvirt feeds it on the destination
("NAME migrate begin -", XML on stdin).  Prints KQTEST lines (pkg-hook:NAME).
"""
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOOK = os.path.join(REPO, "contrib", "libvirt", "kvm-quanta-hook")
SYNC = os.path.join(REPO, "contrib", "libvirt", "kq-libvirt-profile-sync")
NS = "urn:kvm-quanta:profile:1"

FAKE_QUANTACTL = r"""#!/usr/bin/python3
import os, sys
d = os.environ["FAKE_DIR"]
a = sys.argv[1:]
if a[:2] == ["profile", "export"] and len(a) == 3:
    p = os.path.join(d, "profile-" + a[2] + ".json")
    if not os.path.exists(p):
        print("quantactl: no profile for VM " + a[2], file=sys.stderr)
        sys.exit(1)
    sys.stdout.write(open(p).read())
    sys.exit(0)
if a == ["profile", "import", "-"]:
    data = sys.stdin.read()
    n = len([f for f in os.listdir(d) if f.startswith("imported-")])
    open(os.path.join(d, "imported-%d.json" % n), "w").write(data)
    rc = int(open(os.path.join(d, "import-rc")).read()) if os.path.exists(os.path.join(d, "import-rc")) else 0
    if rc:
        print("quantactl: profile rejected", file=sys.stderr)
    sys.exit(rc)
print("fake quantactl: unexpected arguments %r" % a, file=sys.stderr)
sys.exit(64)
"""

FAKE_VIRSH = r"""#!/usr/bin/python3
import os, sys
import xml.etree.ElementTree as ET
d = os.environ["FAKE_DIR"]
a = sys.argv[1:]
open(os.path.join(d, "virsh-calls"), "a").write(repr(a) + "\n")
if a and a[0] == "-q":
    a = a[1:]
if a[:1] == ["--connect"]:
    a = a[2:]
if a[:3] == ["list", "--name", "--state-running"]:
    p = os.path.join(d, "running")
    sys.stdout.write(open(p).read() if os.path.exists(p) else "")
    sys.exit(0)
if a[:1] == ["metadata"]:
    if os.path.exists(os.path.join(d, "virsh-fail")):
        print("error: failed to get domain '%s'" % a[1], file=sys.stderr)
        sys.exit(1)
    dom = a[1]
    rest = [x for x in a[2:] if x != "--live"]
    opt = dict(zip(rest[::2], rest[1::2]))
    frag = ET.fromstring(opt["--set"])
    ET.register_namespace(opt["--key"], opt["--uri"])
    frag.tag = "{%s}%s" % (opt["--uri"], frag.tag)
    path = os.path.join(d, "domain-%s.xml" % dom)
    root = ET.parse(path).getroot()
    md = root.find("metadata")
    if md is None:
        md = ET.SubElement(root, "metadata")
    for old in md.findall("{%s}*" % opt["--uri"]):
        md.remove(old)
    md.append(frag)
    ET.ElementTree(root).write(path, encoding="unicode")
    sys.exit(0)
print("fake virsh: unexpected arguments %r" % a, file=sys.stderr)
sys.exit(64)
"""

DOMAIN_XML = """<domain type='kvm' id='7'>
  <name>{name}</name>
  <uuid>6b7d8d4c-3f0e-4a55-9a2e-0c1f5a4b9e21</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
</domain>
"""

# Characters that XML and JSON both escape, and a non-ASCII name.
PROFILE = {"name": "web1", "version": 1, "windows": 123456, "exits_per_ms": 12.5,
           "mean_quantum_ns": 2100000, "note": "a<b & c>d \"quoted\" \u00e9t\u00e9"}

failures = 0


def result(name, ok, why=""):
    global failures
    if ok:
        print(f"KQTEST ok pkg-hook:{name}", flush=True)
    else:
        failures += 1
        print(f"KQTEST not ok pkg-hook:{name} - {why}", flush=True)


class Env:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kq-hooktest-")
        self.dir = self.tmp.name
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        for name, text in (("quantactl", FAKE_QUANTACTL), ("virsh", FAKE_VIRSH)):
            p = os.path.join(self.bin, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)
        self.env = dict(os.environ, FAKE_DIR=self.dir,
                        PATH=self.bin + ":/usr/bin:/bin")

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)

    def imported(self):
        out = []
        for f in sorted(os.listdir(self.dir)):
            if f.startswith("imported-"):
                with open(self.path(f)) as fh:
                    out.append(fh.read())
        return out

    def domain(self, name, profile=None):
        self.write(f"domain-{name}.xml", DOMAIN_XML.format(name=name))
        if profile is not None:
            self.write(f"profile-{name}.json", json.dumps(profile, indent=2) + "\n")

    def run(self, cmd, stdin=b"", env=None):
        return subprocess.run(cmd, input=stdin, capture_output=True, env=env or self.env,
                              timeout=60)

    def hook(self, guest, op="migrate", sub="begin", xml=b"", env=None):
        return self.run([HOOK, guest, op, sub, "-"], xml, env)


def test_roundtrip():
    e = Env()
    e.domain("web1", PROFILE)
    p = e.run([SYNC, "web1"])
    result("sync-stamps", p.returncode == 0 and b"web1: profile stamped" in p.stdout,
           f"rc {p.returncode}: {p.stderr.decode()}")
    with open(e.path("domain-web1.xml"), "rb") as f:
        xml = f.read()
    root = ET.fromstring(xml)
    stamped = root.findall(f"./metadata/{{{NS}}}profile")
    others = root.findall("./metadata/{http://libosinfo.org/xmlns/libvirt/domain/1.0}libosinfo")
    result("sync-metadata-element", len(stamped) == 1 and len(others) == 1,
           f"{len(stamped)} profile and {len(others)} libosinfo elements in {xml[:400]!r}")
    p = e.hook("web1", xml=xml)
    got = e.imported()
    result("hook-imports-stamped-profile",
           p.returncode == 0 and len(got) == 1 and json.loads(got[0]) == PROFILE,
           f"rc {p.returncode}, imported {got}, stderr {p.stderr.decode()}")
    result("hook-xml-unchanged", p.stdout == xml, f"stdout differs from stdin: {p.stdout[:200]!r}")
    # Stamping again replaces the element rather than adding one.
    e.run([SYNC, "web1"])
    with open(e.path("domain-web1.xml"), "rb") as f:
        n = len(ET.fromstring(f.read()).findall(f"./metadata/{{{NS}}}profile"))
    result("sync-replaces", n == 1, f"{n} profile elements after a second stamp")


def test_sync_all_and_failures():
    e = Env()
    e.domain("web1", PROFILE)
    e.domain("db1")  # quantad has no profile for it yet
    e.write("running", "web1\ndb1\n")
    p = e.run([SYNC])
    err = p.stderr.decode()
    result("sync-all-running", p.returncode == 0 and b"web1: profile stamped" in p.stdout and
           "db1: no profile exported" in err, f"rc {p.returncode}: {p.stdout!r} {err!r}")
    e.write("virsh-fail", "1")
    p = e.run([SYNC, "web1"])
    result("sync-virsh-failure-exit-1", p.returncode == 1 and b"virsh metadata failed" in p.stderr,
           f"rc {p.returncode}: {p.stderr!r}")
    e.write("profile-web1.json", "not json\n")
    os.unlink(e.path("virsh-fail"))
    calls0 = open(e.path("virsh-calls")).read().count("metadata")
    p = e.run([SYNC, "web1"])
    calls1 = open(e.path("virsh-calls")).read().count("metadata")
    result("sync-refuses-non-json", p.returncode == 0 and calls1 == calls0 and
           b"printed no JSON" in p.stderr, f"rc {p.returncode}, metadata calls {calls0}->{calls1}")
    p = e.run([SYNC, "--bogus"])
    result("sync-usage-exit-2", p.returncode == 2, f"rc {p.returncode}")


def stamped_xml(profile_text, name="web1", extra=""):
    body = profile_text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return DOMAIN_XML.format(name=name).replace(
        "  </metadata>",
        f'    <kq:profile xmlns:kq="{NS}">{body}</kq:profile>\n{extra}  </metadata>').encode()


def test_hook_never_fails_migration():
    good = json.dumps(PROFILE)
    cases = [
        ("no-metadata", DOMAIN_XML.format(name="web1").encode(), "no kvm-quanta profile"),
        ("not-json", stamped_xml("{not json"), "not JSON"),
        ("not-object", stamped_xml("[1, 2]"), "not a JSON object"),
        ("empty", stamped_xml(""), "empty kvm-quanta profile"),
        ("other-vm", stamped_xml(json.dumps(dict(PROFILE, name="db1"))), "is for VM 'db1'"),
        ("two-elements", stamped_xml(good, extra=f'    <kq:profile xmlns:kq="{NS}">{{}}</kq:profile>\n'),
         "2 kvm-quanta profile elements"),
        ("oversize", stamped_xml(json.dumps(dict(PROFILE, pad="x" * (1 << 20)))), "exceeds"),
        ("bad-xml", b"<domain><name>web1</name><metadata>", "does not parse"),
    ]
    for name, xml, want in cases:
        e = Env()
        p = e.hook("web1", xml=xml)
        err = p.stderr.decode()
        result(f"hook-{name}", p.returncode == 0 and not e.imported() and p.stdout == xml and
               want in err, f"rc {p.returncode}, imported {len(e.imported())}, "
               f"echoed {p.stdout == xml}, stderr {err!r} (want {want!r})")

    e = Env()
    e.write("import-rc", "3")
    xml = stamped_xml(good)
    p = e.hook("web1", xml=xml)
    result("hook-import-fails", p.returncode == 0 and p.stdout == xml and
           "import failed (exit 3)" in p.stderr.decode(), f"rc {p.returncode}: {p.stderr!r}")

    e = Env()
    p = e.hook("web1", xml=xml, env=dict(e.env, PATH="/nonexistent"))
    result("hook-no-quantactl", p.returncode == 0 and p.stdout == xml and
           b"quantactl not found" in p.stderr, f"rc {p.returncode}: {p.stderr!r}")

    # Other calls: nothing read, nothing printed, nothing imported.
    for op, sub in (("prepare", "begin"), ("start", "begin"), ("started", "begin"),
                    ("stopped", "end"), ("release", "end"), ("restore", "begin")):
        e = Env()
        p = e.hook("web1", op, sub, xml=xml)
        result(f"hook-ignores-{op}-{sub}", p.returncode == 0 and p.stdout == b"" and
               not e.imported(), f"rc {p.returncode}, stdout {p.stdout[:80]!r}, "
               f"imported {len(e.imported())}")


def main():
    test_roundtrip()
    test_sync_all_and_failures()
    test_hook_never_fails_migration()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
