# SPDX-License-Identifier: GPL-2.0
"""Rig tests for the quantum policy and its enforcement: three single-vCPU
VMs pinned to one CPU (one compute-bound, two exit-heavy).  In enforce the
compute vCPU's achieved quantum is at least twice each exit-heavy one's
and CPU shares stay fair; in observe nothing changes; every change to a
thread is undone.  Then a mixed duty-cycle set on one CPU (always-runnable
compute, compute whose VMM thread sleeps half the time, an exit storm):
enforce's shares within 2 points of observe's, the compute vCPU's quantum
still extended where the kernel has a per-task slice (not shorter on CFS).
And the ledger of an unpinned vCPU.  Runs inside the guest."""
import ctypes
import os
import time

import kqtest as t
from kqtest import SYSFS, check, result

PROGS = ["compute:6000", "iostorm:6000", "cpuidstorm:6000"]
# duty: runnable 20 ms, then 20 ms asleep in its VMM outside KVM_RUN.
DUTY_PROGS = ["compute:8000", "duty:8000", "iostorm:8000"]
DUTY_POINTS = 2.0
SYS_sched_getattr = 315  # x86-64


class SchedAttr(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("sched_policy", ctypes.c_uint32),
                ("sched_flags", ctypes.c_uint64), ("sched_nice", ctypes.c_int32),
                ("sched_priority", ctypes.c_uint32), ("sched_runtime", ctypes.c_uint64),
                ("sched_deadline", ctypes.c_uint64), ("sched_period", ctypes.c_uint64),
                ("util_min", ctypes.c_uint32), ("util_max", ctypes.c_uint32)]


libc = ctypes.CDLL(None, use_errno=True)


def sched_params(tid):
    """(policy, nice, runtime) of a thread, or None if it is gone."""
    a = SchedAttr()
    if libc.syscall(SYS_sched_getattr, tid, ctypes.byref(a), ctypes.sizeof(a), 0) != 0:
        return None
    return (a.sched_policy, a.sched_nice, a.sched_runtime)


def task_slice():
    """The kernel has a per-task slice (EEVDF, 6.12+): sched_getattr()
    reports a fair thread's slice as its runtime; 0 on CFS."""
    p = sched_params(os.getpid())
    return bool(p and p[2] > 0)


def tids_of(vmm, n, timeout=60):
    def get():
        tids = []
        for vm in t.vms_of(vmm.pid):
            try:
                tids.append(int(t.read(os.path.join(t.vcpu_dir(vm, 0), "tid"))))
            except OSError:
                pass
        return tids if len(tids) == n else None
    tids, _ = t.wait_for(get, timeout)
    return tids or []


def run(tag, mode, progs=PROGS):
    """One pinned run; returns {program: (mean quantum ns, run ns, tid)} and extras."""
    t.write(f"{SYSFS}/mode", mode)
    vmm = t.Vmm(tag, progs, pin=0, hold=True)
    tids = tids_of(vmm, len(progs))
    before = {tid: sched_params(tid) for tid in tids}
    time.sleep(2.0)
    during = {tid: sched_params(tid) for tid in tids}
    reasons = {}
    for vm in t.vms_of(vmm.pid):
        d = t.vcpu_dir(vm, 0)
        reasons[int(t.read(os.path.join(d, "tid")))] = (
            t.read(os.path.join(d, "reason")).strip(),
            {ln.split()[0]: int(ln.split()[1]) for ln in t.read(os.path.join(d, "decisions")).splitlines()})
    report = vmm.wait_report(300)
    vmm.release()
    vmm.wait(60)
    out = {}
    if report:
        for rvm in report["vms"]:
            rv = rvm["vcpus"][0]
            ss = rv["schedstat"]
            out[rv["program"].split(":")[0]] = (ss["run_ns"] / max(ss["timeslices"], 1),
                                                ss["run_ns"], rv["tid"])
    return out, before, during, reasons


def shares_of(res):
    """{program: percent of the run time of all} from run()'s results."""
    total = sum(r[1] for r in res.values())
    return {p: 100.0 * r[1] / total for p, r in res.items()}


def shares_ok(name, res):
    shares = shares_of(res)
    text = ", ".join(f"{p}: {s:.1f}%" for p, s in shares.items())
    print(f"# {name} shares: {text}", flush=True)
    t.timing(f"{name}-shares-fair", all(28 <= s <= 39 for s in shares.values()),
             f"shares {text}")
    return shares


def measured(name, measure, tries=2):
    """Report measure()'s checks, a list of (name, ok, reason, timing),
    measuring once more if one failed.  They are CPU shares, quanta and
    debts in wall-clock time under TCG, which a busy host can upset for one
    run (CI has failed so on a rig that passes alone); a policy that gets
    them wrong gets them wrong twice.  timing: t.timing() (not asserted on
    the debug kernel), else check()."""
    for i in range(tries):
        got = measure()
        bad = [n for n, ok, _, _ in got if not ok]
        if not bad or i == tries - 1:
            break
        print(f"# {name}: {', '.join(bad)} failed; measuring again", flush=True)
    for n, ok, reason, timing in got:
        (t.timing if timing else check)(n, ok, reason)


def duty_cycle():
    """Observe, then enforce, over the duty-cycle set: the ledger keeps the
    shares the unmodified scheduler gives, and warm is still extended."""
    res = {}
    dec = {}
    for mode in ("observe", "enforce"):
        res[mode], _, _, reasons = run(f"duty-{mode}", mode, DUTY_PROGS)
        by_prog = {r[2]: p for p, r in res[mode].items()}
        dec[mode] = {by_prog.get(tid, tid): d for tid, (_, d) in reasons.items()}
    t.write(f"{SYSFS}/mode", "observe")
    if not all(len(r) == 3 for r in res.values()):
        return [("duty-ran", False, f"results {res}", False)]
    shares = {}
    for mode, r in res.items():
        shares[mode] = shares_of(r)
        print(f"# duty {mode}: shares " +
              ", ".join(f"{p} {s:.1f}%" for p, s in shares[mode].items()) +
              "; mean quantum (ms) " +
              ", ".join(f"{p} {x[0] / 1e6:.2f}" for p, x in r.items()) +
              f"; decisions {dec[mode]}", flush=True)
    drift = max(abs(shares["enforce"][p] - shares["observe"][p]) for p in shares["observe"])
    print(f"# duty drift: {drift:.2f} points (enforce against observe)", flush=True)
    got = [("duty-ran", True, "", False),
           ("duty-shares-within-2-points", drift <= DUTY_POINTS,
            f"enforce {shares['enforce']} observe {shares['observe']}: {drift:.2f} points", True)]
    qo, qe = res["observe"]["compute"][0], res["enforce"]["compute"][0]
    qtext = f"compute's mean quantum {qe / 1e6:.2f} ms in enforce, {qo / 1e6:.2f} ms in observe"
    if task_slice():
        got.append(("duty-compute-extended", qe > 1.2 * qo, qtext, True))
    else:
        # CFS has no per-task slice: a longer quantum there is more weight,
        # which is more share (Documentation/design.rst).  Enforce must not
        # shorten it (the others' early yields used to: 6.6 -> 3.7 ms).
        got.append(("duty-compute-not-shortened", qe > 0.9 * qo, qtext, True))
    got.append(("duty-decisions-warm", dec["enforce"].get("compute", {}).get("warm", 0) > 0,
                f"{dec['enforce']}", False))
    return got


def unpinned():
    """The ledger of an unpinned vCPU (observe): one compute vCPU pinned to
    each CPU and a third moved between them every 30 ms.  Charged where it
    ran (guest time by CPU), nobody's debt grows much; charged whole to the CPU it ended
    each window on, the moving one was owed about 12 ms per 100 ms window
    and the vCPU it was counted with owed as much."""
    t.write(f"{SYSFS}/mode", "observe")
    vmms = [t.Vmm("unpinned-a", ["compute:8000"], pin=0), t.Vmm("unpinned-b", ["compute:8000"], pin=1),
            t.Vmm("unpinned-c", ["compute:8000"])]
    tids = [tids_of(v, 1) for v in vmms]
    if not all(len(x) == 1 for x in tids):
        for v in vmms:
            v.kill()
        return [("unpinned-ran", False, f"tids {tids}", False)]
    mover = tids[2][0]
    dirs = [t.vcpu_dir(t.vms_of(v.pid)[0], 0) for v in vmms]

    def debts():
        return [int(t.read(os.path.join(d, "debt_us"))) / 1000.0 for d in dirs]

    start = debts()
    end = time.monotonic() + 5.0
    cpu = 0
    try:
        while time.monotonic() < end:
            os.sched_setaffinity(mover, {cpu})
            cpu ^= 1
            time.sleep(0.03)
        got = [b - a for a, b in zip(start, debts())]
    except OSError as e:
        got = None
        print(f"# unpinned: {e}", flush=True)
    for v in vmms:
        v.kill()
    print(f"# unpinned: debt change over 5 s (ms): pinned {got and got[:2]}, moving "
          f"{got and got[2]}", flush=True)
    return [("unpinned-ran", True, "", False),
            ("unpinned-ledger-by-cpu", got is not None and all(abs(x) < 200 for x in got),
             f"debts moved by {got} ms in 5 s (want each within 200)", False)]


def main():
    p = t.load_module()
    if not check("load", p.returncode == 0, p.stderr.strip()):
        t.finish()

    # Observe: decisions are computed and reported, nothing is acted on.
    res, before, during, reasons = run("observe", "observe")
    if result("observe-ran", len(res) == 3, f"results {res}"):
        q = {p: r[0] for p, r in res.items()}
        print(f"# observe quanta (ms): { {p: round(v / 1e6, 2) for p, v in q.items()} }", flush=True)
        for heavy in ("iostorm", "cpuidstorm"):
            ratio = q["compute"] / q[heavy]
            check(f"observe-ratio-{heavy}", 0.75 <= ratio <= 1.33,
                  f"compute/{heavy} quantum ratio {ratio:.2f}")
        shares_ok("observe", res)
        check("observe-params-unchanged", all(before[k] == during[k] for k in before),
              f"before {before} during {during}")
        check("observe-decisions-counted", any(sum(d.values()) > 0 for _, d in reasons.values()),
              f"decisions {reasons}")

    # Enforce: warm compute extended, exit-heavy cut short, fair shares.
    ev = "/sys/kernel/tracing/events/kvm_quanta/decision"
    t.write(f"{ev}/enable", "1")
    t.write("/sys/kernel/tracing/trace", "")
    res, before, during, reasons = run("enforce", "enforce")
    t.write(f"{ev}/enable", "0")
    if result("enforce-ran", len(res) == 3, f"results {res}"):
        q = {p: r[0] for p, r in res.items()}
        print(f"# enforce quanta (ms): { {p: round(v / 1e6, 2) for p, v in q.items()} }", flush=True)
        print(f"# enforce reasons: {reasons}", flush=True)
        for heavy in ("iostorm", "cpuidstorm"):
            ratio = q["compute"] / q[heavy]
            t.timing(f"enforce-ratio-{heavy}", ratio >= 2.0,
                  f"compute/{heavy} quantum ratio {ratio:.2f} (want >= 2)")
        shares_ok("enforce", res)
        by_prog = {r[2]: p for p, r in res.items()}
        dec = {by_prog.get(tid, tid): d for tid, (_, d) in reasons.items()}
        check("decisions-warm", dec.get("compute", {}).get("warm", 0) > 0, f"{dec}")
        check("decisions-exit-heavy", all(dec.get(h, {}).get("exit_heavy", 0) > 0
                                          for h in ("iostorm", "cpuidstorm")), f"{dec}")
        trace = t.read("/sys/kernel/tracing/trace")
        check("tracepoint-shows-reasons", "reason=warm" in trace and "reason=exit_heavy" in trace,
              f"{trace.count('decision:')} decision events")
    t.write(f"{SYSFS}/mode", "observe")

    measured("duty", duty_cycle)
    measured("unpinned", unpinned)

    # Everything undone: mode back to observe mid-run, and rmmod mid-run.
    for tag, undo in (("undo-mode", lambda: t.write(f"{SYSFS}/mode", "observe")),
                      ("undo-rmmod", lambda: t.unload_module())):
        if not t.module_loaded():
            t.load_module()
        t.write(f"{SYSFS}/mode", "observe")
        # Guests outlast the undo: rmmod may wait seconds for an RCU-tasks
        # grace period once yields were queued.  Killed when checked.
        vmm = t.Vmm(tag, ["compute:60000", "iostorm:60000"], pin=0, hold=True)
        tids = tids_of(vmm, 2)
        orig = {tid: sched_params(tid) for tid in tids}
        # A heavier VM weight changes nice on every kernel, slices on 6.12+.
        for vm in t.vms_of(vmm.pid):
            t.write(os.path.join(SYSFS, "vms", vm, "policy", "weight"), "200")
        t.write(f"{SYSFS}/mode", "enforce")
        time.sleep(1.0)
        changed = {tid: sched_params(tid) for tid in tids}
        check(f"{tag}-enforce-changes-threads", all(changed[k] != orig[k] for k in orig),
              f"orig {orig} enforced {changed}")
        undo()
        time.sleep(0.5)
        after = {tid: sched_params(tid) for tid in tids}
        print(f"# {tag}: orig {orig} enforced {changed} after {after}", flush=True)
        check(f"{tag}-restores", after == orig, f"orig {orig} after {after}")
        vmm.kill()
    if not t.module_loaded():
        t.load_module()
    t.write(f"{SYSFS}/mode", "observe")
    p = t.unload_module()
    check("unload", p.returncode == 0, p.stderr.strip())
    t.finish()


if __name__ == "__main__":
    main()
