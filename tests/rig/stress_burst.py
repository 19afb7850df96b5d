# SPDX-License-Identifier: GPL-2.0
"""Stress f: vCPUs arriving in a burst (issue 8, defect 11).  One VMM creates
VMS x 64 vCPUs; every vCPU makes 100 port writes and stops, and the VMs stay
alive (their fds held).  Expected: every vCPU is listed in sysfs, lost_exits
stays 0, and each vCPU's I/O exit count is exactly what the VMM saw.

Sizes: KQ_STRESS_BURST_VMS (short 4, long 16), 64 vCPUs each.
"""
import os

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
    suite.finish()
    t.finish()


if __name__ == "__main__":
    main()
