# SPDX-License-Identifier: GPL-2.0
"""The exit path's cost in instructions, counted (make bench; a short
run in make check).  Runs under scripts/vmtest.sh with the TCG plugin
tests/tcg/kq_insn.c loaded (KQ_PLUGIN), one guest CPU: QEMU counts every
instruction and logs the count at each marker kq-testvmm --mark executes
around its vCPU's run.  This script only runs the storms, in a known
order, and writes the plan that scripts/bench_report.py pairs with the
plugin's log after the boot:

  KQ_OUT/insncost-plan.json  one entry per kq-testvmm run, in order:
                             mode (bare: module not loaded; observe;
                             enforce), exits, vcpus, rep, markers it
                             executed, kallsyms file (module loaded)
  KQ_OUT/kallsyms-N.txt      the guest's text symbols while loaded

Each run is a CPUID storm (cpuid:N, every exit handled in the kernel)
of one VM whose vCPUs share the storm's exits equally, pinned to CPU 0,
after an unmarked warm-up run of the same kind.
With one vCPU it is alone there, so enforce has nobody to yield to
(single_task_running(): no yields); with several, enforce may yield.
  KQ_INSN_EXITS="38400 76800"  storm lengths, all vCPUs together (the slope
                               cancels fixed costs); divisible by each count.
                               The shorter storm outlasts the first window
                               (about 115 ms of guest time, one CPUID about
                               3,000 instructions, icount 1 ns each): enforce
                               acts on a vCPU from its first window on, so the
                               slope counts the exit path as enforce runs it
  KQ_INSN_REPS=3               repetitions
  KQ_INSN_VCPUS="1"            vCPU counts
  KQ_INSN_KNOWN=""             other VMs known to the module while one more
                               set of 1-vCPU storms runs: idle 1-vCPU VMs
                               that made one exit each and are held open
                               (for the "bare" storms too, the module
                               unloaded); "1000" shows the exit path does
                               not grow with the VMs the module tracks
                               (in the first repetition only)

Then the module's cost at scale: N idle vCPUs (VMs of up to 64 vCPUs that
made one exit each and are held open) are tracked in observe; kq-mark
(KQ_INSN_MARK) brackets KQ_INSN_WINDOWS sampling windows of guest time
with the module loaded and again after rmmod, with the same VMs (entries
"idle" in the plan: the difference is the sampler's and the module's
periodic work).  The slab memory the module holds for them (after rmmod
against loaded, minus the same without VMs) goes to KQ_OUT/insncost-mem.json.
  KQ_INSN_SCALE="64 256 1024"  vCPU counts ("" skips it)
  KQ_INSN_WINDOWS=20           windows (of 100 ms) per measurement
"""
import json
import os
import subprocess
import time

import kqtest as t
from kqtest import SYSFS, check

EXITS = [int(x) for x in os.environ.get("KQ_INSN_EXITS", "38400 76800").split()]
REPS = int(os.environ.get("KQ_INSN_REPS", "3"))
VCPUS = [int(x) for x in os.environ.get("KQ_INSN_VCPUS", "1").split()]
KNOWN = [int(x) for x in os.environ.get("KQ_INSN_KNOWN", "").split()]
SCALE = [int(x) for x in os.environ.get("KQ_INSN_SCALE", "").split()]
WINDOWS = int(os.environ.get("KQ_INSN_WINDOWS", "20"))
MARK = os.environ.get("KQ_INSN_MARK", "")
IDLE_BATCH = 8  # idle VMs per kq-testvmm: the module's pools take 16 first exits per CPU
PLAN = os.path.join(t.OUT, "insncost-plan.json")
MEM = os.path.join(t.OUT, "insncost-mem.json")
INTERVAL_MS = 100


def storm(exits, vcpus, mark=True, keep=0):
    """One kq-testvmm run, exits shared by the vCPUs, beside keep VMs held
    open; returns an error or ''."""
    if exits % vcpus:
        return f"{exits} exits do not divide among {vcpus} vCPUs"
    prog = ",".join([f"cpuid:{exits // vcpus}"] * vcpus)
    p = subprocess.run([t.VMM, *(["--mark"] if mark else []), "--pin", "0", "--timeout", "600",
                        "--vm", prog], capture_output=True, text=True, timeout=660)
    quiesce(keep)
    # The guest ends its program (N CPUIDs, each an exit KVM handles) with a
    # write to its done port: rc 0 means every vCPU ran its N exits.
    if p.returncode != 0:
        return f"rc {p.returncode}: {p.stderr.strip()[-200:]}"
    return ""


def quiesce(keep=0, timeout=10):
    """Let the teardown of the VMs just gone (the module's reaper, sysfs
    removal, RCU callbacks) finish before the next run is counted; keep
    VMs stay."""
    if t.module_loaded():
        t.wait_for(lambda: len(os.listdir(os.path.join(SYSFS, "vms"))) <= keep, timeout)
    time.sleep(0.5)


def save_kallsyms(n):
    """The guest's text symbols, module ones included, for the profile."""
    path = os.path.join(t.OUT, f"kallsyms-{n}.txt")
    with open("/proc/kallsyms") as src, open(path, "w") as dst:
        for ln in src:
            f = ln.split()
            if len(f) >= 3 and f[1] in "tT":
                dst.write(ln)
    return os.path.basename(path)


def slab_bytes():
    """Bytes in use in every slab cache (/proc/slabinfo: active objects x size)."""
    total = 0
    with open("/proc/slabinfo") as f:
        for ln in f:
            p = ln.split()
            if len(p) > 3 and p[1].isdigit() and p[3].isdigit():
                total += int(p[1]) * int(p[3])
    return total


def settle():
    """Caches and RCU callbacks settle before memory is read."""
    time.sleep(1.0)
    subprocess.run(["sync"])
    t.write("/proc/sys/vm/drop_caches", "2")
    time.sleep(0.5)


def bracket(tag):
    """kq-mark, WINDOWS windows of guest time, kq-mark; returns (error or '',
    markers executed), so that the plan stays in step with the log."""
    for i in (0, 1):
        p = subprocess.run([MARK], capture_output=True, text=True)
        if p.returncode != 0:
            return f"{tag}: kq-mark rc {p.returncode}: {p.stderr.strip()}", i
        if i == 0:
            time.sleep(WINDOWS * INTERVAL_MS / 1000.0)
    return "", 2


def scale(plan, errors):
    """Sampler cost per window and slab memory per vCPU at each count."""
    mem = []
    for n in SCALE:
        vms = [min(64, n - i) for i in range(0, n, 64)]
        if t.module_loaded():
            t.unload_module()
        settle()
        base_off = slab_bytes()
        p = t.load_module()
        if not check(f"scale-load-{n}", p.returncode == 0, p.stderr.strip()):
            return
        settle()
        base_on = slab_bytes()
        vmm = t.Vmm(f"insncost-idle{n}", [",".join(["io:1"] * k) for k in vms], hold=True,
                    timeout=1200)
        rep = vmm.wait_report(600)

        def tracked():
            return sum(len(os.listdir(os.path.join(t.SYSFS, "vms", vm, "vcpus")))
                       for vm in t.vms_of(vmm.pid))
        up, _ = t.wait_for(lambda: tracked() == n, 120)
        if not (rep and up):
            errors.append(f"idle {n}: report {bool(rep)}, tracked {tracked()} of {n}")
            vmm.kill()
            continue
        time.sleep(0.5)  # the VMs stay: only registration settles
        for mode in ("observe", "bare"):
            if mode == "bare":
                settle()
                on = slab_bytes()
                t.unload_module()
                settle()
                off = slab_bytes()
                mem.append({"vcpus": n, "bytes_per_vcpu": ((on - off) - (base_on - base_off)) / n,
                            "module_base_bytes": base_on - base_off})
            err, marks = bracket(f"idle {n} {mode}")
            plan.append({"mode": mode, "kind": "idle", "vcpus": n, "windows": WINDOWS,
                         "markers": marks, "kallsyms": save_kallsyms(f"idle{n}-{mode}"),
                         "error": err})
            if err:
                errors.append(err)
        vmm.release()
        vmm.wait(120)
    with open(MEM, "w") as f:
        json.dump(mem, f, indent=1)


def hold_idle(n, tag):
    """n idle 1-vCPU VMs held open, each after one exit, known to the module
    if it is loaded; returns ([Vmm], error or '').  Started a batch at a
    time: the module takes a burst of new VMs' first exits from small
    per-CPU pools and parks the rest, and counts in lost_exits a first exit
    it had no room for; such a VM is found at its next exit, which these
    never make."""
    vmms = []
    for first in range(0, n, IDLE_BATCH):
        k = min(IDLE_BATCH, n - first)
        vmm = t.Vmm(f"{tag}-{first}", ["io:1"] * k, hold=True, timeout=1800)
        vmms.append(vmm)
        ok = vmm.wait_report(300) is not None
        if ok and t.module_loaded():
            ok, _ = t.wait_for(lambda: len(t.vms_of(vmm.pid)) == k, 60)
        if not ok:
            for v in vmms:
                v.kill()
            return [], f"{tag}: batch {first}: no report, or not known to the module"
    time.sleep(1.0)  # registration (sysfs directories, first windows) settles
    return vmms, ""


def storms(plan, errors, mode, rep, syms, vcpu_counts, known):
    """The storms of one mode at each vCPU count, with known idle VMs."""
    for vcpus in vcpu_counts:
        # Unmarked and uncounted: the first run after a change pays
        # for page cache and allocations the others do not.
        storm(EXITS[0], vcpus, mark=False, keep=known)
        for exits in EXITS:
            err = storm(exits, vcpus, keep=known)
            # Markers were executed even by a run that failed late: keep the
            # plan in step with the log, and mark the run bad.
            plan.append({"mode": mode, "kind": "storm", "exits": exits,
                         "vcpus": vcpus, "known": known, "rep": rep,
                         "markers": 2 * vcpus, "kallsyms": syms, "error": err})
            if err:
                errors.append(f"{mode} {exits}x{vcpus} +{known}: {err}")


def main():
    plan, errors = [], []
    for rep in range(REPS):
        syms = None
        for mode in ("bare", "observe", "enforce"):
            if mode == "bare":
                if t.module_loaded():
                    t.unload_module()
                syms = save_kallsyms(f"{rep}-bare")
            else:
                if not t.module_loaded():
                    p = t.load_module()
                    if not check(f"load-{rep}", p.returncode == 0, p.stderr.strip()):
                        t.finish()
                    syms = save_kallsyms(rep)
                t.write(f"{SYSFS}/mode", mode)
            storms(plan, errors, mode, rep, syms, VCPUS, 0)
            # Once: the exit path's functions count the same every time
            # (the repetitions of the storms alone agree to the instruction).
            for n in KNOWN if rep == 0 else []:
                idle, err = hold_idle(n, f"insncost-known{n}-{mode}-{rep}")
                if err:
                    errors.append(err)
                    continue
                storms(plan, errors, mode, rep, syms, [1], n)
                for vmm in idle:
                    vmm.release()
                for vmm in idle:
                    vmm.wait(300)
                quiesce(timeout=300)
        if t.module_loaded():
            t.write(f"{SYSFS}/mode", "observe")
    if SCALE:
        if check("kq-mark", MARK and os.access(MARK, os.X_OK), f"KQ_INSN_MARK={MARK!r}"):
            scale(plan, errors)
    if t.module_loaded():
        t.unload_module()
    with open(PLAN, "w") as f:
        json.dump({"kernel": os.uname().release, "runs": plan}, f, indent=1)
    check("insncost-storms", not errors, f"{len(errors)} runs failed: {errors[:2]}")
    t.finish()


if __name__ == "__main__":
    main()
