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
        for vm, rvm in zip(sorted(t.vms_of(vmm.pid), key=lambda v: int(v.split("-")[1])),
                           rep["vms"]):
            rv = rvm["vcpus"][0]
            try:
                tid = int(t.read(os.path.join(t.vcpu_dir(vm, 0), "tid")))
            except OSError:
                tid = None
            if rv.get("first_tid") and tid != rv["tid"]:
                wrong_tid.append(f"{vm}: sysfs tid {tid}, ran first on {rv['first_tid']}, "
                                 f"then on {rv['tid']}")
            if not rv.get("first_tid"):
                sw_fail.append(f"{vm}: the vCPU was not handed over")
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
