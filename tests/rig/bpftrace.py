# SPDX-License-Identifier: GPL-2.0
"""Rig test for scripts/kvm_quanta.bt: with kvm_quanta loaded and three VMs
(I/O storm, CPUID storm, compute) running, `bpftrace scripts/kvm_quanta.bt
SECONDS` ends by itself and prints per-VM quantum histograms (from
kvm_quanta:sample and from sched_switch), decisions by reason, and the VM
exits by exact SVM reason with IOIO and CPUID counted for the VMM."""
import os
import re
import subprocess

import kqtest as t
from kqtest import check, result

SCRIPT = os.path.join(t.REPO, "scripts", "kvm_quanta.bt")
SECONDS = 8
PROG_MS = 200000


def main():
    p = t.load_module()
    if not result("load-module", p.returncode == 0, p.stderr.strip()):
        return
    vmm = t.Vmm("bpftrace", [f"iostorm:{PROG_MS}", f"cpuidstorm:{PROG_MS}",
                             f"compute:{PROG_MS}"], pin=0, timeout=600)
    try:
        vms, _ = t.wait_for(lambda: len(t.vms_of(vmm.pid)) == 3 and t.vms_of(vmm.pid), 60, 0.1)
        if not result("vms-tracked", vms, f"sysfs VMs of {vmm.pid}: {t.vms_of(vmm.pid)}"):
            return
        try:
            p = subprocess.run(["bpftrace", SCRIPT, str(SECONDS)], capture_output=True,
                               text=True, timeout=400)
        except subprocess.TimeoutExpired:
            result("bpftrace-ends", False, "no exit within 400 s")
            return
        with open(os.path.join(t.OUT, "bpftrace.out"), "w") as f:
            f.write(p.stdout + "\n--- stderr\n" + p.stderr)
        if not result("bpftrace-ends", p.returncode == 0,
                      f"rc {p.returncode}: {p.stderr.strip()[-500:]}"):
            return
        out = p.stdout
        pid = vmm.pid
        vm_ids = sorted(int(v.split("-")[1]) for v in vms)
        for m in ("quantum_us", "switch_quantum_us", "target_us"):
            got = {int(x) for x in re.findall(rf"^@{m}\[{pid}, (\d+)\]:", out, re.M)}
            check(f"hist-{m}", got == set(vm_ids), f"@{m} VMs {sorted(got)}, want {vm_ids}")
        check("hist-buckets", re.search(r"^\[\d+[KM]?, \d+[KM]?\)\s+\d+ \|@+", out, re.M),
              "no histogram bucket lines")
        exits = {name: int(n) for name, n in
                 re.findall(rf"^@exits\[{pid}, SVM, (\w+)\]: (\d+)$", out, re.M)}
        print(f"# exits of {pid}: {exits}", flush=True)
        check("exits-ioio", exits.get("IOIO", 0) > 1000, f"exits {exits}")
        check("exits-cpuid", exits.get("CPUID", 0) > 1000, f"exits {exits}")
        check("exits-intr", exits.get("INTR", 0) > 0, f"exits {exits}")
        decisions = re.findall(rf"^@decisions\[{pid}, (\d+), (\w+), (window|early)\]: (\d+)$",
                               out, re.M)
        check("decisions", {int(d[0]) for d in decisions} == set(vm_ids) and
              all(int(d[3]) > 0 for d in decisions), f"decisions {decisions}")
        check("helpers-cleared", "@vcpu_pid" not in out and "@on_cpu" not in out and
              "@elapsed_s" not in out, "helper maps printed")
    finally:
        vmm.kill()
        t.wait_for(lambda: not t.vms_of(vmm.pid), 10, 0.1)
        t.unload_module()


main()
t.finish()
