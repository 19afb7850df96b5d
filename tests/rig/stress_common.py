# SPDX-License-Identifier: GPL-2.0
"""Shared pieces of the stress suites (tests/rig/stress_*.py), run inside the
rig guest by tests/rig/stress.sh.

Counts: each suite has a short count (make check, stock kernels) and a long
one (make stress, debug kernel: KQ_STRESS_LONG=1); KQ_STRESS_<NAME>=N
overrides either.  After each suite, check_clean() proves the module left
nothing behind: no VM directories in sysfs, the module unloadable, and no
kernel report (KASAN, lockdep, RCU, BUG/WARNING, sleep-in-atomic,
debug-objects, kmemleak after a scan) in the part of dmesg the suite
produced.
"""
import os
import re
import subprocess
import time

import kqtest as t

LONG = os.environ.get("KQ_STRESS_LONG") == "1"

# Lines of a kernel report.  The suites look at their own slice of dmesg, so
# a report is blamed on the suite that caused it.
BAD = re.compile(r"WARNING:|BUG:|Oops|general protection|Call Trace|kernel BUG|KASAN|"
                 r"refcount_t:|list_(add|del) corruption|scheduling while atomic|"
                 r"sleeping function called from invalid context|ODEBUG:|UBSAN:|"
                 r"possible circular locking|possible recursive locking|inconsistent lock state|"
                 r"suspicious RCU usage|self-detected stall|rcu: INFO:|blocked for more than|"
                 r"kmemleak: .*suspected memory leak")
IGNORE = re.compile(r"hw-vuln|RETBleed: WARNING|Speculative Return Stack Overflow: WARNING")
KMEMLEAK = "/sys/kernel/debug/kmemleak"
# The module's own object counters: "NAME VALUE" lines (vms, vcpus,
# pooled, task_works).  Every count but the pool's (the per-CPU reserve is
# full when idle) must return to 0 once no VM exists.
OBJECTS = "/sys/kernel/kvm_quanta/objects"


def live_objects():
    """{name: value} of the counters not back at 0 ({} without the file)."""
    out = {}
    text = t.read(OBJECTS) if os.path.exists(OBJECTS) else ""
    for ln in text.splitlines():
        parts = ln.split()
        if len(parts) == 2 and not parts[0].startswith("pool") and parts[1] != "0":
            out[parts[0]] = parts[1]
    return out


def count(name, short, long):
    """The count for NAME: KQ_STRESS_NAME, else the long or short default."""
    v = os.environ.get(f"KQ_STRESS_{name.upper()}")
    if v:
        return int(v)
    return long if LONG else short


def dmesg_lines():
    p = subprocess.run(["dmesg"], capture_output=True, text=True)
    return p.stdout.splitlines()


class Suite:
    """One stress suite: its dmesg slice, its name prefix, its end check."""

    def __init__(self, name):
        self.name = name
        self.mark = len(dmesg_lines())
        self.start = time.monotonic()
        kmemleak_clear()

    def tag(self, what):
        return f"stress-{self.name}-{what}"

    def check(self, what, cond, reason):
        return t.check(self.tag(what), cond, reason)

    def reports(self):
        """Report lines the kernel printed since the suite began (first 6)."""
        new = dmesg_lines()[self.mark:]
        bad = [ln for ln in new if BAD.search(ln) and not IGNORE.search(ln)]
        return bad[:6]

    def finish(self, unload=True):
        """Object counts back to zero, module unloads, kernel silent."""
        if t.module_loaded():
            t.wait_for(lambda: not vm_dirs(), 60)
            left = vm_dirs()
            self.check("objects-zero", not left, f"VMs left in sysfs: {left[:8]}")
            if os.path.exists(OBJECTS):
                busy, _ = t.wait_for(lambda: not live_objects(), 60)
                self.check("counters-zero", not live_objects(), f"live: {live_objects()}")
            if unload:
                p = t.unload_module()
                self.check("unload", p.returncode == 0, f"rmmod: {p.stderr.strip()}")
        leaks = kmemleak_scan()
        self.check("kmemleak", not leaks, " | ".join(leaks[:3]))
        bad = self.reports()
        self.check("kernel-reports", not bad, " | ".join(bad))
        print(f"# stress {self.name}: {time.monotonic() - self.start:.1f}s", flush=True)


class Vmm(t.Vmm):
    """kqtest.Vmm with extra kq-testvmm arguments (--switch-thread, ...)."""

    def __init__(self, tag, vms, extra, pin=None, hold=True, timeout=300):
        self.report_path = os.path.join(t.OUT, f"{tag}.json")
        self.hold_path = os.path.join(t.OUT, f"{tag}.release")
        for p in (self.report_path, self.hold_path):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [t.VMM, "--report", self.report_path, "--timeout", str(timeout), *extra]
        for vm in vms:
            cmd += ["--vm", vm]
        if pin is not None:
            cmd += ["--pin", str(pin)]
        if hold:
            cmd += ["--hold-file", self.hold_path]
        self.log = open(os.path.join(t.OUT, f"{tag}.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid


def vm_dirs():
    try:
        return os.listdir(os.path.join(t.SYSFS, "vms"))
    except OSError:
        return []  # the module is going away


def kmemleak_clear():
    if os.path.exists(KMEMLEAK):
        t.write(KMEMLEAK, "clear")


def kmemleak_scan():
    """Suspected leaks after a scan: the first line of each report ([] if no kmemleak)."""
    if not os.path.exists(KMEMLEAK):
        return []
    # Two scans: an object freed by RCU or a worker right after the suite is
    # not a leak; kmemleak reports only what stayed unreferenced in both.
    for _ in range(2):
        if t.write(KMEMLEAK, "scan") is not None:
            return ["kmemleak scan failed"]
    text = t.read(KMEMLEAK)
    out = []
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("unreferenced object"):
            # The first backtrace line that names a function says who allocated it.
            who = next((x.strip() for x in lines[i + 1:i + 12] if "[<" in x), "")
            out.append(f"{ln.strip()} {who}")
    return out


def load():
    p = t.load_module()
    return p.returncode == 0 and t.module_loaded(), p.stderr.strip()


def sysfs_writable():
    """Every writable file under /sys/kernel/kvm_quanta (global, policy/, per-VM)."""
    out = []
    for root, _dirs, files in os.walk(t.SYSFS):
        for f in files:
            p = os.path.join(root, f)
            try:
                if os.stat(p).st_mode & 0o200:
                    out.append(p)
            except OSError:
                pass  # a VM went away
    return sorted(out)


def write_bytes(path, data):
    """One write(2) of exactly data; None or the errno."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return e.errno
    try:
        n = os.write(fd, data)
        return None if n == len(data) else -1
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def read_or_none(path):
    try:
        return t.read(path)
    except OSError:
        return None
