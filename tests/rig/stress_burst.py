# SPDX-License-Identifier: GPL-2.0
"""Stress f: vCPUs arriving in a burst (issue 8, defect 11).  One VMM creates
VMS x 64 vCPUs; every vCPU makes 100 port writes and stops, and the VMs stay
alive (their fds held).  Expected: every vCPU is listed in sysfs, lost_exits
stays 0, and each vCPU's I/O exit count is exactly what the VMM saw.

Then a burst of vCPUs whose threads end before the module's worker can
look at their VMs: 4 x 64 vCPUs making two exits each, run at SCHED_FIFO on
the CPU the unbound workqueues are confined to.  Every VM must still be
listed under its VMM's pid (they were named 0-<id>).

Sizes: KQ_STRESS_BURST_VMS (short 4, long 16), 64 vCPUs each.
"""
import json
import os
import subprocess

import kqtest as t
import stress_common as sc

VMS = sc.count("burst_vms", 4, 16)
PER_VM = 64
WRITES = 100


def listed(pid):
    n = 0
    for vm in t.vms_of(pid):
        try:
            n += len(os.listdir(os.path.join(t.SYSFS, "vms", vm, "vcpus")))
        except OSError:
            pass
    return n


def quick_burst(suite):
    """VMs registered by a scan after all their vCPU threads ended."""
    wq = "/sys/devices/virtual/workqueue"
    mask = f"{wq}/cpumask"
    # 6.7+ keeps what was asked (read-only) apart from what isolation leaves:
    # restore what was asked.
    asked = f"{wq}/cpumask_requested" if os.path.exists(f"{wq}/cpumask_requested") else mask
    if os.cpu_count() < 2 or not os.path.exists(mask):
        print("# stress burst: quick burst needs 2 CPUs and the workqueue cpumask", flush=True)
        return
    report, hold = os.path.join(t.OUT, "quick-burst.json"), os.path.join(t.OUT, "quick-burst.go")
    for f in (report, hold):
        if os.path.exists(f):
            os.unlink(f)
    cmd = [t.VMM, "--pin", "1", "--timeout", "600", "--report", report, "--hold-file", hold]
    for _ in range(4):
        cmd += ["--vm", ",".join(["io:1"] * PER_VM)]
    old = t.read(asked).strip()
    # The module's worker runs on CPU 1 only, behind the SCHED_FIFO vCPU threads.
    err = t.write(mask, "2")
    if not suite.check("quick-burst-confined", err is None, f"writing {mask}: errno {err}"):
        return
    vmm = None
    try:
        vmm = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: os.sched_setscheduler(
                                   0, os.SCHED_FIFO, os.sched_param(10)))
        t.wait_for(lambda: os.path.exists(report) or vmm.poll() is not None, 600, 0.2)
    finally:
        err = t.write(mask, old)
    suite.check("quick-burst-mask-restored", err is None, f"restoring {mask} to {old}: errno {err}")
    try:
        ok = os.path.exists(report)
        if ok:
            with open(report) as f:
                ok = len(json.load(f)["vms"]) == 4
        total = 4 * PER_VM
        _, waited = t.wait_for(lambda: listed(vmm.pid) >= total, 120, 0.2)
        got = listed(vmm.pid)
        names = sorted(os.listdir(os.path.join(t.SYSFS, "vms")))
        suite.check("quick-burst-named-by-vmm", ok and got == total,
                    f"report {ok}; {got} of {total} vCPUs listed under pid "
                    f"{vmm.pid} after {waited:.0f}s; VMs {names}")
    finally:
        with open(hold, "w") as f:
            f.write("go\n")
    try:
        rc = vmm.wait(300)
    except subprocess.TimeoutExpired:
        vmm.kill()
        rc = None
    suite.check("quick-burst-vmm-exit", rc == 0, f"kq-testvmm rc {rc}")
    t.wait_for(lambda: not t.vms_of(vmm.pid), 60)


def main():
    suite = sc.Suite("burst")
    ok, err = sc.load()
    if not suite.check("load", ok, f"insmod: {err}"):
        t.finish()
    lost0 = int(t.read(f"{t.SYSFS}/lost_exits"))
    vmm = t.Vmm("stress-burst", [",".join([f"io:{WRITES}"] * PER_VM)] * VMS, timeout=1800)
    report = vmm.wait_report(1200)
    if not suite.check("vmm-report", report is not None, "kq-testvmm gave no report"):
        vmm.kill()
        suite.finish()
        t.finish()
    total = VMS * PER_VM
    # The vCPUs have all stopped: whatever the module tracks, it has seen by now
    # or is about to list; give a slow machine time, never a fixed wait.
    n, waited = t.wait_for(lambda: listed(vmm.pid) >= total, 120, 0.2)
    got = listed(vmm.pid)
    suite.check("all-vcpus-listed", got == total, f"{got} of {total} vCPUs listed after "
                f"{waited:.0f}s")
    lost = int(t.read(f"{t.SYSFS}/lost_exits")) - lost0
    suite.check("no-lost-exits", lost == 0, f"lost_exits grew by {lost}")
    # sysfs VM directories are <pid>-<id> in creation order; the report is by VM index.
    vms = sorted(t.vms_of(vmm.pid), key=lambda v: int(v.split("-")[1]))
    wrong = []
    if len(vms) == VMS:
        for rvm, vm in zip(report["vms"], vms):
            for rv in rvm["vcpus"]:
                try:
                    io = t.exit_reasons(vm, rv["index"]).get("io", -1)
                except OSError:
                    io = None
                if io != rv["userspace_exits"]["io"]:
                    wrong.append(f"{vm}/{rv['index']}: module {io}, VMM {rv['userspace_exits']['io']}")
    suite.check("exit-counts-exact", len(vms) == VMS and not wrong,
                f"{len(vms)} VMs listed; {len(wrong)} vCPUs differ, e.g. {wrong[:4]}")
    print(f"# stress burst: {VMS}x{PER_VM} vCPUs, {got} listed, lost {lost}", flush=True)
    vmm.release()
    suite.check("vmm-exit", vmm.wait(300) == 0, "kq-testvmm failed")
    t.wait_for(lambda: not t.vms_of(vmm.pid), 60)
    quick_burst(suite)
    suite.finish()
    t.finish()


if __name__ == "__main__":
    main()
