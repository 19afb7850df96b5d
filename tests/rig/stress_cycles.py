# SPDX-License-Identifier: GPL-2.0
"""Stress c: VM create/destroy cycles in enforce with yields pending (issue
8, defects 1 and 5).  Three VMs (I/O storm, CPUID storm, compute) pinned to
one CPU make the module queue yields.  Teardowns, in turn:
  - close: a VMM thread drops the vCPU and VM fds while the vCPU threads are
    in KVM_RUN (kq-testvmm --close-during-run), so the vCPU's file is
    released by KVM_RUN's own reference, next to a queued yield;
  - switch: each vCPU is handed from one thread to another half-way
    (--switch-thread); the module must follow the thread that runs it
    (sysfs tid = the second thread) and the VM ends normally;
  - kill: the VMM is SIGKILLed while its vCPUs run.
Expected: every VMM run ends as planned, yields were queued (the decision
tracepoint shows early cuts), no VM is left, the kernel reports nothing.

Cycles: KQ_STRESS_CYCLES (short 15, long 1000), split over the three kinds.
"""
import json
import os
import random
import signal
import subprocess

import kqtest as t
import stress_common as sc

CYCLES = sc.count("cycles", 15, 1000)
TRACE = "/sys/kernel/tracing"
VMS = ["--vm", "iostorm:60000", "--vm", "cpuidstorm:60000", "--vm", "compute:60000"]


def tracing(on):
    ev = f"{TRACE}/events/kvm_quanta/decision"
    if not os.path.isdir(ev):
        return False
    if on:
        t.write(f"{TRACE}/trace", "")
        t.write(f"{ev}/filter", "early == 1")
    t.write(f"{ev}/enable", "1" if on else "0")
    return True


def early_cuts():
    try:
        return sum(1 for ln in t.read(f"{TRACE}/trace").splitlines() if "early 1" in ln)
    except OSError:
        return 0


def second_threads(pid):
    """tids of the threads that took vCPUs over (named kq-vmV-vcpuCb)."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                if t.read(f"/proc/{pid}/task/{tid}/comm").strip().endswith("b"):
                    out.append(int(tid))
            except OSError:
                pass
    except OSError:
        pass
    return out


def first_threads(pid):
    """tids of the threads that ran the vCPUs first (kq-vmV-vcpuC)."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                name = t.read(f"/proc/{pid}/task/{tid}/comm").strip()
            except OSError:
                continue
            if name.startswith("kq-vm") and not name.endswith("b"):
                out.append(int(tid))
    except OSError:
        pass
    return out


def nice(tid):
    try:
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return None


def run_vmm(args, timeout):
    p = subprocess.run([t.VMM, "--pin", "0", "--timeout", str(timeout), *VMS, *args],
                       capture_output=True, text=True, timeout=timeout + 60)
    return p


def main():
    suite = sc.Suite("cycles")
    ok, err = sc.load()
    if not suite.check("load", ok, f"insmod: {err}"):
        t.finish()
    # Short windows: the policy is in place, and yields come, soon after a VM starts.
    t.write(f"{t.SYSFS}/sample_interval_ms", "10")
    t.write(f"{t.SYSFS}/mode", "enforce")
    traced = tracing(True)
    rng = random.Random(int(os.environ.get("KQ_STRESS_SEED", "1")))
    n_close = CYCLES * 6 // 10
    n_switch = CYCLES * 3 // 10
    n_kill = CYCLES - n_close - n_switch
    fails = []

    # close: batches of cycles per VMM process, each closing at a different moment.
    done = 0
    while done < n_close:
        batch = min(25, n_close - done)
        delay = rng.choice([0, 5, 20, 50, 100, 200])
        p = run_vmm(["--cycles", str(batch), "--close-during-run", str(delay)], 600)
        if p.returncode != 0:
            fails.append(f"close x{batch} delay {delay}: rc {p.returncode}: {p.stderr.strip()[-300:]}")
        else:
            rep = json.loads(p.stdout.strip().splitlines()[-1])
            if not all(v.get("closed") for vm in rep["vms"] for v in vm["vcpus"]):
                fails.append(f"close delay {delay}: a vCPU finished before its fds were closed")
        done += batch
    suite.check("close-during-run", not fails, f"{len(fails)} VMM runs failed: {fails[:2]}")

    # follow: after a vCPU moves to another thread, enforce acts on that thread
    # (issue 8, defect 5): a VM weight of 30 (nice about 5) reaches the second thread.
    follow = sc.Vmm("stress-cycles-follow", ["iostorm:60000", "cpuidstorm:60000", "compute:60000"],
                    ["--switch-thread"], pin=0, hold=False, timeout=600)
    up, _ = t.wait_for(lambda: len(t.vms_of(follow.pid)) == 3, 120)

    def seen_on_first():
        """The module lists every vCPU with the thread that runs it first."""
        tids = set()
        for vm in t.vms_of(follow.pid):
            try:
                tids.add(int(t.read(os.path.join(t.vcpu_dir(vm, 0), "tid"))))
            except OSError:
                pass
        return len(tids) == 3 and tids <= set(first_threads(follow.pid))
    # Only a vCPU the module knew on its first thread tests the move (a slow
    # machine may register it after the handover, at half the program's time).
    exercised, _ = t.wait_for(seen_on_first, 25, 0.1)
    # The weight changes only once the second threads run the vCPUs: a thread
    # created by the first would inherit a nice set before.
    seconds, _ = t.wait_for(lambda: len(second_threads(follow.pid)) == 3, 120)
    for vm in t.vms_of(follow.pid):
        t.write(os.path.join(t.SYSFS, "vms", vm, "policy", "weight"), "30")
    niced, waited = t.wait_for(lambda: all((nice(tid) or 0) > 0 for tid in second_threads(follow.pid)),
                               15, 0.1)
    state = {tid: nice(tid) for tid in second_threads(follow.pid)}
    firsts = {tid: nice(tid) for tid in first_threads(follow.pid)}
    follow.kill()
    suite.check("enforce-follows-thread", up and exercised and seconds and niced,
                f"VMs listed {up}, seen on their first threads {bool(exercised)}, "
                f"second threads {bool(seconds)}; nice of the threads now "
                f"running the vCPUs after {waited:.0f}s at weight 30: {state}; of the threads "
                f"that ran them first (now waiting): {firsts}")

    # switch: the module follows the thread that runs the vCPU.
    sw_fail, wrong_tid = [], []
    for i in range(n_switch):
        tag = f"stress-cycles-switch{i % 2}"
        vmm = sc.Vmm(tag, ["iostorm:1500", "cpuidstorm:1500", "compute:1500"], ["--switch-thread"],
                     pin=0, hold=True, timeout=600)
        rep = vmm.wait_report(600)
        if rep is None:
            sw_fail.append(f"run {i}: no report")
            vmm.kill()
            continue
        # The module lists VMs in the order it first saw them, not the VMM's: match by thread.
        firsts = {v["first_tid"] for vm in rep["vms"] for v in vm["vcpus"] if v.get("first_tid")}
        finals = {v["tid"] for vm in rep["vms"] for v in vm["vcpus"] if v.get("first_tid")}
        if len(firsts) != 3:
            sw_fail.append(f"run {i}: {3 - len(firsts)} vCPUs were not handed over")
        listed = {}
        for vm in t.vms_of(vmm.pid):
            try:
                listed[vm] = int(t.read(os.path.join(t.vcpu_dir(vm, 0), "tid")))
            except OSError:
                listed[vm] = None
        for vm, tid in listed.items():
            if tid not in finals:
                wrong_tid.append(f"{vm}: sysfs tid {tid}, " +
                                 ("the thread that ran it first" if tid in firsts else
                                  "not a thread that ran it") +
                                 f" (first {sorted(firsts)}, then {sorted(finals)})")
        if len(listed) != 3:
            sw_fail.append(f"run {i}: {len(listed)} of 3 VMs listed")
        vmm.release()
        if vmm.wait(120) != 0:
            sw_fail.append(f"run {i}: VMM failed")
    suite.check("switch-thread-runs", not sw_fail, f"{len(sw_fail)}x: {sw_fail[:2]}")
    suite.check("switch-thread-tid-followed", not wrong_tid,
                f"{len(wrong_tid)} vCPUs: {wrong_tid[:2]}")

    # kill: SIGKILL while the vCPUs run.
    k_fail = []
    for i in range(n_kill):
        vmm = t.Vmm(f"stress-cycles-kill{i % 2}", ["iostorm:60000", "cpuidstorm:60000",
                                                    "compute:60000"], pin=0, hold=False, timeout=600)
        up, _ = t.wait_for(lambda: len(t.vms_of(vmm.pid)) == 3, 120)
        if not up:
            k_fail.append(f"run {i}: VMs never listed")
        vmm.proc.send_signal(signal.SIGKILL)
        vmm.proc.wait()
    suite.check("kill-runs", not k_fail, f"{k_fail[:2]}")

    cuts = early_cuts()
    tracing(False)
    print(f"# stress cycles: {n_close} close, {n_switch} switch, {n_kill} kill; "
          f"{cuts} early cuts (yields) traced", flush=True)
    suite.check("yields-queued", not traced or cuts > 0,
                "no yield was queued: the cycles did not stress pending yields")
    t.write(f"{t.SYSFS}/mode", "observe")
    t.write(f"{t.SYSFS}/sample_interval_ms", "100")
    suite.finish()
    t.finish()


if __name__ == "__main__":
    main()
