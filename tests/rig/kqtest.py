# SPDX-License-Identifier: GPL-2.0
"""Helpers for rig tests that run inside the QEMU guest.

Results are printed as "KQTEST ok NAME" / "KQTEST not ok NAME - REASON"
lines, which scripts/vmtest.sh collects from the serial console.
"""
import json
import os
import signal
import subprocess
import sys
import time

SYSFS = "/sys/kernel/kvm_quanta"
REPO = os.environ.get("KQ_REPO", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
OUT = os.environ.get("KQ_OUT", "/tmp")
MODULE = os.environ.get("KQ_MODULE", "")
VMM = os.path.join(REPO, "build", "testvmm", "kq-testvmm")

failures = 0


def result(name, ok, reason=""):
    """Print one test result; returns ok."""
    global failures
    if ok:
        print(f"KQTEST ok {name}", flush=True)
    else:
        failures += 1
        print(f"KQTEST not ok {name} - {reason}", flush=True)
    return ok


def check(name, cond, reason):
    return result(name, bool(cond), reason if not cond else "")


# make stress's kernel (scripts/debug-kernel.sh): KASAN, lockdep and friends
# under TCG run several times slower than a stock kernel, and it has no BTF.
DEBUG_KERNEL = "kqdebug" in os.uname().release


def timing(name, cond, reason):
    """A check of speed or timing.  On the debug kernel it is reported but
    not asserted: there the rig looks for kernel reports, not speed."""
    if DEBUG_KERNEL and not cond:
        print(f"KQTEST ok {name} # not asserted on the debug kernel: {reason}", flush=True)
        return False
    return check(name, cond, reason)


def has_btf():
    """BPF CO-RE programs and bpftrace's kernel types need the kernel's BTF."""
    return os.path.exists("/sys/kernel/btf/vmlinux")


def sh(*cmd, check_rc=False):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: rc {p.returncode}: {p.stderr.strip()}")
    return p


def read(path):
    with open(path) as f:
        return f.read()


def write(path, value):
    """Write to a sysfs file; returns None or the OSError's errno."""
    try:
        with open(path, "w") as f:
            f.write(value)
        return None
    except OSError as e:
        return e.errno


def module_loaded():
    return os.path.isdir(SYSFS)


def load_module():
    return sh("insmod", MODULE)


def unload_module(busy_for=10.0):
    """rmmod, retried while it says "in use": in enforce an early yield in
    flight holds a module reference for a moment (src/enforce.c)."""
    end = time.monotonic() + busy_for
    while True:
        p = sh("rmmod", "kvm_quanta")
        busy = "in use" in p.stderr or "temporarily unavailable" in p.stderr
        if p.returncode == 0 or not busy or time.monotonic() > end:
            return p
        time.sleep(0.05)


def vms_of(pid):
    """VM directories (names) in sysfs whose VMM is pid."""
    base = os.path.join(SYSFS, "vms")
    if not os.path.isdir(base):
        return []
    out = []
    for name in sorted(os.listdir(base)):
        try:
            if int(read(os.path.join(base, name, "pid"))) == pid:
                out.append(name)
        except (OSError, ValueError):
            pass  # removed while we looked
    return out


def vcpu_dir(vm, idx):
    return os.path.join(SYSFS, "vms", vm, "vcpus", str(idx))


def exit_reasons(vm, idx):
    kinds = {}
    for line in read(os.path.join(vcpu_dir(vm, idx), "exit_reasons")).splitlines():
        name, count = line.split()
        kinds[name] = int(count)
    return kinds


def wait_for(pred, timeout, step=0.05):
    """Poll pred until true or timeout; returns (value, seconds waited)."""
    start = time.monotonic()
    while True:
        v = pred()
        if v:
            return v, time.monotonic() - start
        if time.monotonic() - start > timeout:
            return v, time.monotonic() - start
        time.sleep(step)


class Vmm:
    """kq-testvmm running in the background, holding its VMs until released."""

    def __init__(self, tag, vms, pin=None, hold=True, timeout=300, extra=()):
        self.report_path = os.path.join(OUT, f"{tag}.json")
        self.hold_path = os.path.join(OUT, f"{tag}.release")
        for p in (self.report_path, self.hold_path):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [VMM, "--report", self.report_path, "--timeout", str(timeout)]
        for vm in vms:
            cmd += ["--vm", vm]
        if pin is not None:
            cmd += ["--pin", str(pin)]
        if hold:
            cmd += ["--hold-file", self.hold_path]
        cmd += list(extra)
        self.log = open(os.path.join(OUT, f"{tag}.log"), "w")
        # The guests run at nice 0 whatever the harness runs at (see raise_priority).
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, 0))
        self.pid = self.proc.pid

    def wait_report(self, timeout):
        ok, _ = wait_for(lambda: os.path.exists(self.report_path) or
                         self.proc.poll() is not None, timeout, 0.1)
        if not os.path.exists(self.report_path):
            return None
        with open(self.report_path) as f:
            return json.load(f)

    def release(self):
        with open(self.hold_path, "w") as f:
            f.write("go\n")

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def raise_priority(nice=-15):
    """Run this harness (and the tools it starts) ahead of busy guests.

    Under TCG, starting a C++ tool costs a few hundred ms of CPU; next to 32
    busy vCPU threads at nice 0 it got 1/33 of the CPUs and took ~9 s, so a
    1 s netlink watch started after the guests' programs had ended."""
    os.setpriority(os.PRIO_PROCESS, 0, nice)


def finish():
    sys.exit(1 if failures else 0)
