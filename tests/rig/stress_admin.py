# SPDX-License-Identifier: GPL-2.0
"""Stress e: the admin's scheduling settings survive enforce, observe and
rmmod (issue 8, defect 4).  Three single-vCPU VMs pinned to one CPU (compute,
I/O storm, CPUID storm) so that the module acts.  Before enforce the VMM runs
vCPU 0 at nice 10 with SCHED_RESET_ON_FORK; during enforce an admin renices
vCPU 1 to 5 and moves vCPU 2 to SCHED_BATCH with SCHED_RESET_ON_FORK (renice
and chrt, from outside).  Expected at every step (in enforce after several
windows, after `observe`, after rmmod): vCPU 0 keeps nice 10 (the VM's
weight is relative to the thread's own nice), the admin's nice, policy and
flags stay as the admin left them.

Repeats: KQ_STRESS_ADMIN_ROUNDS (short 1, long 5).
"""
import os
import subprocess

import kqtest as t
import stress_common as sc

ROUNDS = sc.count("admin_rounds", 1, 5)
RESET_ON_FORK = 0x40000000
SCHED_OTHER, SCHED_BATCH = 0, 3
WINDOWS = 4  # sampling windows to let the module act after each change


def vcpu_tids(pid, n):
    """{vm index: tid} of the VMM's vCPU threads, by their names kq-vmV-vcpu0."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = t.read(f"/proc/{pid}/task/{tid}/comm").strip()
        except OSError:
            continue
        if name.startswith("kq-vm") and name.endswith("-vcpu0"):
            out[int(name[5:-6])] = int(tid)
    return out if len(out) == n else None


def sched(tid):
    """(policy with SCHED_RESET_ON_FORK, nice) of a thread."""
    return (os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid))


def windows_seen(pid):
    """Decisions counted so far over the VMM's vCPUs (grows once per window each)."""
    total = 0
    for vm in t.vms_of(pid):
        try:
            for ln in t.read(os.path.join(t.vcpu_dir(vm, 0), "decisions")).splitlines():
                total += int(ln.split()[1])
        except OSError:
            pass
    return total


def wait_windows(suite, pid, what):
    start = windows_seen(pid)
    ok, waited = t.wait_for(lambda: windows_seen(pid) >= start + 3 * WINDOWS, 120, 0.1)
    suite.check(f"windows-{what}", ok, f"the module decided nothing for {waited:.0f}s")


def one_round(suite, r):
    t.write(f"{t.SYSFS}/mode", "observe")
    vmm = t.Vmm(f"stress-admin{r}", ["compute:600000", "iostorm:600000", "cpuidstorm:600000"],
                pin=0, hold=True, timeout=900)
    tids, _ = t.wait_for(lambda: vcpu_tids(vmm.pid, 3), 60)
    if not suite.check(f"r{r}-threads", tids, "no vCPU threads named kq-vmN-vcpu0"):
        vmm.kill()
        return
    t.wait_for(lambda: len(t.vms_of(vmm.pid)) == 3, 60)
    # The VMM's own choice, made before enforce.
    os.sched_setscheduler(tids[0], SCHED_OTHER | RESET_ON_FORK, os.sched_param(0))
    os.setpriority(os.PRIO_PROCESS, tids[0], 10)
    want = {tids[0]: (SCHED_OTHER | RESET_ON_FORK, 10)}
    t.write(f"{t.SYSFS}/mode", "enforce")
    wait_windows(suite, vmm.pid, f"r{r}-enforce")
    got = sched(tids[0])
    suite.check(f"r{r}-vmm-nice-kept-in-enforce",
                got[0] == want[tids[0]][0] and abs(got[1] - want[tids[0]][1]) <= 3,
                f"VMM set nice 10 + RESET_ON_FORK, in enforce the thread has "
                f"policy {got[0]:#x} nice {got[1]}")
    # The admin, from outside, during enforce.
    p1 = subprocess.run(["renice", "-n", "5", "-p", str(tids[1])], capture_output=True, text=True)
    p2 = subprocess.run(["chrt", "-b", "-R", "-p", "0", str(tids[2])], capture_output=True,
                        text=True)
    suite.check(f"r{r}-admin-tools", p1.returncode == 0 and p2.returncode == 0,
                f"renice: {p1.stderr.strip()} chrt: {p2.stderr.strip()}")
    want[tids[1]] = (SCHED_OTHER, 5)
    want[tids[2]] = (SCHED_BATCH | RESET_ON_FORK, 0)
    wait_windows(suite, vmm.pid, f"r{r}-after-admin")

    def compare(step, slack=0):
        now = {tid: sched(tid) for tid in want}
        bad = {tid: (f"{now[tid][0]:#x}/{now[tid][1]}", f"{w[0]:#x}/{w[1]}")
               for tid, w in want.items()
               if now[tid][0] != w[0] or abs(now[tid][1] - w[1]) > slack}
        suite.check(f"r{r}-admin-kept-{step}", not bad,
                    f"(policy/nice now, wanted) by tid: {bad}")

    # In enforce a 1-vCPU VM of the default weight keeps its thread's own nice,
    # but on EEVDF the ledger's payback moves it by up to KQ_PAYBACK_MAX (3)
    # levels either way, relative to the admin's value.  Policy and flags are
    # the admin's exactly; after observe and rmmod, everything is.
    compare("enforce", slack=3)
    t.write(f"{t.SYSFS}/mode", "observe")
    wait_windows(suite, vmm.pid, f"r{r}-observe")
    compare("observe")
    t.write(f"{t.SYSFS}/mode", "enforce")
    wait_windows(suite, vmm.pid, f"r{r}-enforce-again")
    p = t.unload_module()
    suite.check(f"r{r}-rmmod", p.returncode == 0, f"rmmod: {p.stderr.strip()}")
    compare("rmmod")
    vmm.kill()
    ok, err = sc.load()
    suite.check(f"r{r}-reload", ok, f"insmod: {err}")


def main():
    suite = sc.Suite("admin")
    ok, err = sc.load()
    if not suite.check("load", ok, f"insmod: {err}"):
        t.finish()
    for r in range(ROUNDS):
        one_round(suite, r)
    t.write(f"{t.SYSFS}/mode", "observe")
    suite.finish()
    t.finish()


if __name__ == "__main__":
    main()
