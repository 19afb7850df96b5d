# SPDX-License-Identifier: GPL-2.0
"""Rig test with a real VMM: the host's own qemu-system-x86_64 -accel kvm
(shared into the rig over 9p) runs small guests under the module, named
the ways operators name VMs, and quantad names them, applies their policy
from its TOML and serves their metrics.

Guests are 32-bit multiboot ELF images of a few instructions, assembled
here with the host's binutils: "io" (an OUT storm to port 0x80, which QEMU
handles in userspace: exit-heavy), "compute" (a register loop: no exits of
its own) and "cpuid" (a CPUID storm, handled inside KVM).  The VMs:

  web1     -name guest=web1,debug-threads=on (what libvirt passes), in a
           libvirt machine scope too; io guest
  db1      -name db1,process=qemu-db1 (the legacy form); compute guest
  batch-7  no -name, only libvirt's scope machine-qemu\\x2d3\\x2dbatch\\x2d7
           .scope (named from the cgroup); cpuid guest

With --record SECONDS the test also scrapes quantad's /metrics
every second for that long, in mode "enforce", into KQ_OUT/metrics.jsonl
(one {"t": unix time, "text": exposition} per line): the recording the
dashboard picture in Documentation/fleet.rst is drawn from.
Runs inside the QEMU guest:
  scripts/vmtest.sh SUITE tests/rig/realqemu.sh [--record SECONDS] [QUANTAD]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import kqtest as t
from kqtest import SYSFS, check

# Arguments: [--record SECONDS] [QUANTAD] (default build/userspace/quantad/quantad).
ARGS = sys.argv[1:]
RECORD_S = 0
if ARGS[:1] == ["--record"] and len(ARGS) >= 2:
    RECORD_S = int(ARGS[1])
    ARGS = ARGS[2:]
QUANTAD = ARGS[0] if ARGS and ARGS[0] else os.path.join(t.REPO, "build", "userspace",
                                                        "quantad", "quantad")
QEMU = shutil.which("qemu-system-x86_64")
WORK = "/tmp/realqemu"
PORT = 19478
CONF = os.path.join(WORK, "quantad.toml")
LOG = os.path.join(t.OUT, "quantad.log")
CGROOT = os.path.join(WORK, "cgroup")

# A multiboot header (magic, flags 0, checksum) and the guest's loop.
GUESTS = {
    "io": "1: outb %al, $0x80\n jmp 1b",
    "compute": "1: incl %eax\n addl %eax, %ebx\n jmp 1b",
    "cpuid": "1: xorl %eax, %eax\n cpuid\n jmp 1b",
}
ASM = """
.text
.globl _start
.align 4
.long 0x1BADB002, 0, -0x1BADB002
_start:
 cli
{loop}
"""

# name, -name argument (None: none), libvirt scope (None: none), guest
VMS = [
    ("web1", "guest=web1,debug-threads=on", "machine-qemu\\x2d1\\x2dweb1.scope", "io"),
    ("db1", "db1,process=qemu-db1", None, "compute"),
    ("batch-7", None, "machine-qemu\\x2d3\\x2dbatch\\x2d7.scope", "cpuid"),
]

CONF_TEXT = f"""
[daemon]
metrics_listen = "127.0.0.1:{PORT}"
database = "{WORK}/profiles.db"
mode = "{'enforce' if RECORD_S else 'observe'}"
summary_interval_s = 5
persist_interval_s = 5
history_max_pct = 0

[defaults]
weight = 150

[[vm]]
name = "web*"
min_quantum_us = 500
base_quantum_us = 2000
max_quantum_us = 5000
weight = 300

[[vm]]
name = "db1"
base_quantum_us = 6000
max_quantum_us = 12000
weight = 200
"""

EXPECTED = {
    "web1": {"enabled": 1, "min_quantum_us": 500, "base_quantum_us": 2000,
             "max_quantum_us": 5000, "weight": 300},
    "db1": {"enabled": 1, "min_quantum_us": 1000, "base_quantum_us": 6000,
            "max_quantum_us": 12000, "weight": 200},
    "batch-7": {"enabled": 1, "min_quantum_us": 1000, "base_quantum_us": 4000,
                "max_quantum_us": 8000, "weight": 150},
}


def metrics():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def series(text, name):
    out = []
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, val = line.rpartition(" ")
        if head == name:
            labels = {}
        elif head.startswith(name + "{") and head.endswith("}"):
            labels = {}
            for item in head[len(name) + 1:-1].split('",'):
                k, _, v = item.partition('="')
                labels[k] = v.rstrip('"')
        else:
            continue
        out.append((labels, float(val)))
    return out


def build_guests():
    out = {}
    for name, loop in GUESTS.items():
        src = os.path.join(WORK, f"{name}.S")
        obj = os.path.join(WORK, f"{name}.o")
        elf = os.path.join(WORK, f"{name}.elf")
        with open(src, "w") as f:
            f.write(ASM.format(loop=loop))
        p = t.sh("as", "--32", "-o", obj, src)
        if p.returncode == 0:
            p = t.sh("ld", "-m", "elf_i386", "-Ttext", "0x100000", "-e", "_start", "-o", elf, obj)
        if p.returncode != 0:
            return None, f"{name}: {p.stderr.strip()}"
        out[name] = elf
    return out, ""


def setup_cgroup():
    os.makedirs(CGROOT, exist_ok=True)
    p = t.sh("mount", "-t", "cgroup2", "none", CGROOT)
    if p.returncode != 0:
        return f"cgroup2 mount: {p.stderr.strip()}"
    return ""


class Qemu:
    def __init__(self, name, name_arg, scope, elf):
        self.name = name
        cmd = [QEMU, "-accel", "kvm", "-machine", "pc", "-m", "32", "-smp", "1",
               "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none",
               "-monitor", "none", "-kernel", elf]
        if name_arg:
            cmd += ["-name", name_arg]
        procs = None
        if scope:
            d = os.path.join(CGROOT, "machine.slice", scope)
            os.makedirs(d, exist_ok=True)
            procs = os.path.join(d, "cgroup.procs")
        self.log = open(os.path.join(t.OUT, f"qemu-{name}.log"), "w")

        def enter_scope():  # the VMM is in its scope from exec on, as under libvirt
            if procs:
                with open(procs, "w") as f:
                    f.write(str(os.getpid()))
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=enter_scope)
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def sysfs_policy(vm):
    d = os.path.join(SYSFS, "vms", vm, "policy")
    if not os.path.isdir(d):
        return None
    return {k: int(t.read(os.path.join(d, k))) for k in
            ("enabled", "min_quantum_us", "base_quantum_us", "max_quantum_us", "weight")}


def vcpu_exits(vm):
    base = os.path.join(SYSFS, "vms", vm, "vcpus")
    total = {}
    for idx in os.listdir(base):
        for k, v in t.exit_reasons(vm, int(idx)).items():
            total[k] = total.get(k, 0) + v
    return total


def record(path, seconds):
    with open(path, "w") as f:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            text = metrics()
            if text:
                f.write(json.dumps({"t": time.time(), "text": text}) + "\n")
            time.sleep(1)


def main():
    if not check("qemu-present", QEMU, "no qemu-system-x86_64 on PATH (the host's, over 9p)"):
        t.finish()
    if not check("quantad-built", os.access(QUANTAD, os.X_OK), f"{QUANTAD} missing"):
        t.finish()
    os.makedirs(WORK, exist_ok=True)
    t.sh("ip", "link", "set", "lo", "up")
    elfs, why = build_guests()
    if not check("guests-assembled", elfs, why):
        t.finish()
    why = setup_cgroup()
    if not check("cgroup2", not why, why):
        t.finish()
    p = t.load_module()
    if not check("load", p.returncode == 0 and t.module_loaded(), f"insmod: {p.stderr.strip()}"):
        t.finish()
    with open(CONF, "w") as f:
        f.write(CONF_TEXT)
    log = open(LOG, "w")
    qd = subprocess.Popen([QUANTAD, "--config", CONF], stdout=log, stderr=subprocess.STDOUT)
    up, _ = t.wait_for(lambda: any(v == 1 for _, v in series(metrics(), "quantad_module_present")),
                       30, 0.2)
    check("quantad-up", up, "quantad_module_present never 1")

    vms = [Qemu(name, arg, scope, elfs[g]) for name, arg, scope, g in VMS]
    try:
        run(vms, qd)
    finally:
        for v in vms:
            v.stop()
        if qd.poll() is None:
            qd.send_signal(signal.SIGTERM)
            try:
                qd.wait(20)
            except subprocess.TimeoutExpired:
                qd.kill()
        t.sh("umount", CGROOT)
        t.unload_module()
    t.finish()


def run(vms, qd):
    # The module tracks each QEMU as a VM with a vCPU that runs windows.
    def tracked():
        for v in vms:
            if v.proc.poll() is not None:
                return None
            vs = t.vms_of(v.pid)
            if not vs or not os.listdir(os.path.join(SYSFS, "vms", vs[0], "vcpus")):
                return None
        return True
    ok, waited = t.wait_for(tracked, 120, 0.2)
    dead = {v.name: v.proc.poll() for v in vms if v.proc.poll() is not None}
    if not check("module-tracks-qemu", ok, f"after {waited:.1f}s; exited: {dead}"):
        for v in vms:
            v.log.flush()
            print(f"# qemu {v.name}: {t.read(v.log.name)[-400:]!r}", flush=True)
        return
    sysvm = {v.name: t.vms_of(v.pid)[0] for v in vms}
    print(f"# sysfs: {sysvm}", flush=True)

    # Exits by kind, seen by the module, fit each guest's loop: web1's OUT
    # storm is I/O exits, db1's register loop has none of its own.  Counted
    # over an interval after the guests have booted (SeaBIOS does port I/O).
    def io(name):
        return vcpu_exits(sysvm[name]).get("io", 0)
    base, _ = t.wait_for(lambda: io("web1") >= 20000, 120, 0.5)
    a = {n: io(n) for n in sysvm}
    t.wait_for(lambda: io("web1") >= a["web1"] + 10000, 120, 0.5)
    d = {n: io(n) - a[n] for n in sysvm}
    print(f"# io exits in the interval: {d}; all kinds: "
          f"{ {n: vcpu_exits(vm) for n, vm in sysvm.items()} }", flush=True)
    check("module-io-exits-web1", d["web1"] >= 10000 and d["db1"] * 10 < d["web1"],
          f"io exits in the interval: {d}")

    # quantad names each VM as operators know it, with its VMM pid.
    def named():
        info = series(metrics(), "quantad_vm_info")
        got = {lab.get("vm"): lab.get("pid") for lab, _ in info}
        return got if all(got.get(v.name) == str(v.pid) for v in vms) else None
    got, waited = t.wait_for(named, 30, 0.5)
    check("quantad-names-qemu", got, f"after {waited:.1f}s: vm_info "
          f"{[lab for lab, _ in series(metrics(), 'quantad_vm_info')]}, want "
          f"{ {v.name: v.pid for v in vms} }")

    # Its policy from the TOML, in the module's sysfs knobs.
    def applied():
        have = {n: sysfs_policy(vm) for n, vm in sysvm.items()}
        return have if all(have[n] == EXPECTED[n] for n in have) else None
    have, waited = t.wait_for(applied, 30, 0.5)
    check("quantad-applies-policy", have, f"after {waited:.1f}s: "
          f"{ {n: sysfs_policy(vm) for n, vm in sysvm.items()} }")

    # Its metrics, per named VM and vCPU.
    def served():
        text = metrics()
        wins = {lab.get("vm") for lab, v in series(text, "quantad_vcpu_windows_total") if v > 0}
        io = {lab.get("vm"): v for lab, v in series(text, "quantad_vcpu_exits_total")
              if lab.get("kind") == "io"}
        return text if wins >= set(sysvm) and io.get("web1", 0) > 0 else None
    text, waited = t.wait_for(served, 30, 0.5)
    check("quantad-serves-metrics", text, f"after {waited:.1f}s: windows "
          f"{series(metrics(), 'quantad_vcpu_windows_total')}")
    if text:
        print("# " + "\n# ".join(l for l in text.splitlines() if l.startswith(
            ("quantad_vm_info", "quantad_vcpu_quantum_ns", "quantad_vcpu_target"))), flush=True)

    if RECORD_S:
        record(os.path.join(t.OUT, "metrics.jsonl"), RECORD_S)
        print(f"# recorded {RECORD_S}s of /metrics into metrics.jsonl", flush=True)

    # A VM that goes away leaves the module and quantad.
    web = vms[0]
    web.stop()
    gone, waited = t.wait_for(lambda: not t.vms_of(web.pid) and
                              "web1" not in {lab.get("vm") for lab, _ in
                                             series(metrics(), "quantad_vm_info")}, 30, 0.2)
    check("qemu-exit-forgotten", gone, f"after {waited:.1f}s web1 still listed")
    check("quantad-alive", qd.poll() is None, f"quantad exited {qd.poll()}")


if __name__ == "__main__":
    main()
