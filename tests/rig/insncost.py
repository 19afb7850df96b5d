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
  KQ_INSN_EXITS="19200 38400"  storm lengths, all vCPUs together (the slope
                               cancels fixed costs); divisible by each count
  KQ_INSN_REPS=3               repetitions
  KQ_INSN_VCPUS="1"            vCPU counts
"""
import json
import os
import subprocess
import time

import kqtest as t
from kqtest import SYSFS, check

EXITS = [int(x) for x in os.environ.get("KQ_INSN_EXITS", "19200 38400").split()]
REPS = int(os.environ.get("KQ_INSN_REPS", "3"))
VCPUS = [int(x) for x in os.environ.get("KQ_INSN_VCPUS", "1").split()]
PLAN = os.path.join(t.OUT, "insncost-plan.json")


def storm(exits, vcpus, mark=True):
    """One kq-testvmm run, exits shared by the vCPUs; returns an error or ''."""
    if exits % vcpus:
        return f"{exits} exits do not divide among {vcpus} vCPUs"
    prog = ",".join([f"cpuid:{exits // vcpus}"] * vcpus)
    p = subprocess.run([t.VMM, *(["--mark"] if mark else []), "--pin", "0", "--timeout", "600",
                        "--vm", prog], capture_output=True, text=True, timeout=660)
    quiesce()
    # The guest ends its program (N CPUIDs, each an exit KVM handles) with a
    # write to its done port: rc 0 means every vCPU ran its N exits.
    if p.returncode != 0:
        return f"rc {p.returncode}: {p.stderr.strip()[-200:]}"
    return ""


def quiesce():
    """Let the teardown of the VM just gone (the module's reaper, sysfs
    removal, RCU callbacks) finish before the next run is counted."""
    if t.module_loaded():
        t.wait_for(lambda: not os.listdir(os.path.join(SYSFS, "vms")), 10)
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
            for vcpus in VCPUS:
                # Unmarked and uncounted: the first run after a change pays
                # for page cache and allocations the others do not.
                storm(EXITS[0], vcpus, mark=False)
                for exits in EXITS:
                    err = storm(exits, vcpus)
                    # Markers were executed even by a run that failed late: keep the
                    # plan in step with the log, and mark the run bad.
                    plan.append({"mode": mode, "exits": exits, "vcpus": vcpus, "rep": rep,
                                 "markers": 2 * vcpus, "kallsyms": syms, "error": err})
                    if err:
                        errors.append(f"{mode} {exits}x{vcpus}: {err}")
        if t.module_loaded():
            t.write(f"{SYSFS}/mode", "observe")
    if t.module_loaded():
        t.unload_module()
    with open(PLAN, "w") as f:
        json.dump({"kernel": os.uname().release, "runs": plan}, f, indent=1)
    check("insncost-storms", not errors, f"{len(errors)} runs failed: {errors[:2]}")
    t.finish()


if __name__ == "__main__":
    main()
