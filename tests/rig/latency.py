# SPDX-License-Identifier: GPL-2.0
"""What kvm_quanta gives a latency-sensitive VM, against what an admin would
do instead (make bench; a short run in make check).  One CPU (1) holds one
latency-sensitive VM and two CPU hogs; kq-testvmm's injector thread, on CPU
0, raises the first VM's interrupt at random 1-4 ms intervals and times each
raise to the guest handler's answer (a port write).  The hogs report work
done through their tick port writes.

Configurations, each KQ_LAT_MS of wall clock, KQ_LAT_REPS times in turn:
  alone    the latency VM without the hogs, module in observe
  stock    with the hogs, module in observe: the scheduler as shipped
  tuned    with the hogs, module in observe, the scheduler's global slice
           shortened as an admin would (debugfs sched/base_slice_ns on
           EEVDF kernels; sched/min_granularity_ns and
           wakeup_granularity_ns on CFS), restored after
  reniced  with the hogs, module in observe, the latency VM's vCPU thread
           at nice -KQ_LAT_RENICE: what an admin could do for one VM
  enforce  with the hogs, module in enforce with its defaults

Then the policy rig test's set, reported as a benchmark: a compute VM, an
I/O storm and a CPUID storm on one CPU, observe then enforce, KQ_LAT_MS
each, KQ_LAT_STORM_REPS times (1; 0 skips it): each vCPU's mean quantum
and switches per second (fewer switches for the compute vCPU: a warmer
cache on real hardware).

Then each configuration runs KQ_LAT_PHASE_REPS more times (1; 0 skips
them) with bpftrace running latency-phases.bt: per run, how long each
answer's raise took before the vCPU was woken (the rig), how long the
woken vCPU waited for its CPU (the scheduler) and how long it then ran to
the answer.  Apart, because the trace itself slows the rig's answers.

Writes KQ_OUT/latency.json: the kernel, and per run the configuration,
latency figures and samples, the hogs' iterations, CPU time, time slices
and the module's decisions for each vCPU; the traced runs the same and
their phases.  Checks only that each run produced its figures (no figure
is asserted: this is a benchmark).
  KQ_LAT_MS=10000  KQ_LAT_REPS=1  KQ_LAT_PHASE_REPS=1
  KQ_LAT_CONFIGS="alone stock tuned reniced enforce"
  KQ_LAT_RENICE=10
  KQ_LAT_TUNED_NS=100000  the admin's global slice (and granularity), ns
  KQ_LAT_POLICY=""  host knobs to set first, e.g. "latency_boost=20"
"""
import json
import os
import signal
import subprocess
import threading
import time

import kqtest as t
from kqtest import SYSFS, check

MS = int(os.environ.get("KQ_LAT_MS", "10000"))
STORM_REPS = int(os.environ.get("KQ_LAT_STORM_REPS", "1"))
STORMS = ["compute", "iostorm", "cpuidstorm"]
REPS = int(os.environ.get("KQ_LAT_REPS", "1"))
PHASE_REPS = int(os.environ.get("KQ_LAT_PHASE_REPS", "1"))
CONFIGS = os.environ.get("KQ_LAT_CONFIGS", "alone stock tuned reniced enforce").split()
RENICE = int(os.environ.get("KQ_LAT_RENICE", "10"))
TUNED_NS = int(os.environ.get("KQ_LAT_TUNED_NS", "100000"))
OUTPUT = os.path.join(t.OUT, "latency.json")
SCHED = "/sys/kernel/debug/sched"
HOG_CPU, INJECTOR_CPU = 1, 0
PHASES_BT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "latency-phases.bt")
PHASES = ("raise", "wait", "run")


def tuning_files():
    """The global knobs an admin shortens: EEVDF (6.6+) or CFS."""
    if os.path.exists(os.path.join(SCHED, "base_slice_ns")):
        return ["base_slice_ns"]
    return ["min_granularity_ns", "wakeup_granularity_ns"]


def set_tuning(values):
    for name, value in values.items():
        err = t.write(os.path.join(SCHED, name), str(value))
        if err:
            raise RuntimeError(f"{SCHED}/{name}: errno {err}")


def vm_order(pid):
    """The VMM's VMs in --vm order, by their vCPU 0 thread's name
    (kq-vmV-vcpu0); the module numbers VMs as it first sees them."""
    by_index = {}
    for vm in t.vms_of(pid):
        try:
            tid = int(t.read(os.path.join(t.vcpu_dir(vm, 0), "tid")))
            comm = t.read(f"/proc/{pid}/task/{tid}/comm").strip()
            by_index[int(comm[len("kq-vm"):].split("-")[0])] = vm
        except (OSError, ValueError):
            pass  # not running yet, or gone
    return [by_index[i] for i in sorted(by_index)]


def vcpu_state(vms):
    """The module's view of each VM's vCPU 0: reason and decisions."""
    out = []
    for vm in vms:
        d = t.vcpu_dir(vm, 0)
        try:
            dec = {}
            for line in t.read(os.path.join(d, "decisions")).splitlines():
                name, count = line.split()
                dec[name] = int(count)
            tid = int(t.read(os.path.join(d, "tid")))
            # What the thread runs with: nice, and the slice where the kernel shows it.
            sched = {}
            for line in t.read(f"/proc/{tid}/sched").splitlines():
                parts = line.split(":")
                if len(parts) == 2 and parts[0].strip() in ("se.slice", "prio"):
                    sched[parts[0].strip()] = parts[1].strip()
            out.append({"vm": vm, "reason": t.read(os.path.join(d, "reason")).strip(),
                        "target_quantum_us": int(t.read(os.path.join(d, "target_quantum_us"))),
                        "decisions": dec, "nice": os.getpriority(os.PRIO_PROCESS, tid),
                        "sched": sched})
        except (OSError, ValueError):
            out.append({"vm": vm})
    return out


def run_one(config, rep, name="latency"):
    vms = [f"irq:{MS}"] + ([] if config == "alone" else [f"compute:{MS}"] * 2)
    if t.write(os.path.join(SYSFS, "mode"), "enforce" if config == "enforce" else "observe"):
        return None, "could not set the mode"
    saved = {}
    if config == "tuned":
        saved = {f: int(t.read(os.path.join(SCHED, f))) for f in tuning_files()}
        set_tuning({f: TUNED_NS for f in saved})
    tag = f"{name}-{config}-{rep}"
    vmm = t.Vmm(tag, vms, pin=HOG_CPU, hold=True, timeout=MS // 1000 + 300,
                extra=["--injector-cpu", str(INJECTOR_CPU)])
    try:
        if config == "reniced":
            # What an admin could do for one VM: raise its vCPU thread's priority.
            up, _ = t.wait_for(lambda: len(vm_order(vmm.pid)) == 3, 30)
            if not up:
                return None, "the VMs did not show up in sysfs"
            tid = int(t.read(os.path.join(t.vcpu_dir(vm_order(vmm.pid)[0], 0), "tid")))
            os.setpriority(os.PRIO_PROCESS, tid, -RENICE)
        # The module's decisions near the end of the run, while the VMs live,
        # read at low priority: at the harness's own (raise_priority) the
        # reading held up the injector on CPU 0 (a cluster of slow answers).
        time.sleep(MS * 0.9 / 1000)
        own = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, 19)
        try:
            state = vcpu_state(vm_order(vmm.pid))
        finally:
            os.setpriority(os.PRIO_PROCESS, 0, own)
        report = vmm.wait_report(MS / 1000 + 240)
        vmm.release()
        vmm.wait(60)
    finally:
        vmm.kill()
        if saved:
            set_tuning(saved)
        t.write(os.path.join(SYSFS, "mode"), "observe")
    if not report:
        return None, f"no report from kq-testvmm (see {tag}.log)"
    vcpus = [vm["vcpus"][0] for vm in report["vms"]]
    run = {"config": config, "rep": rep, "ms": MS, "tid": vcpus[0].get("tid"), "vms": []}
    for i, v in enumerate(vcpus):
        entry = {"program": v["program"], "guest_iterations": v["guest_iterations"],
                 "run_ms": v["run_ms"], "schedstat": v["schedstat"],
                 "module": state[i] if i < len(state) else {}}
        if "latency" in v:
            entry["latency"] = v["latency"]
        run["vms"].append(entry)
    if config == "tuned":
        run["tuned"] = {f: TUNED_NS for f in saved}
    if config == "reniced":
        run["reniced"] = -RENICE
    lat = run["vms"][0].get("latency")
    if not lat or not lat.get("count"):
        return None, f"no latency figures in the report (see {tag}.log)"
    return run, ""


def start_phases():
    """bpftrace with latency-phases.bt, on the injector's CPU at nice 19
    (off the measured CPU, behind the injector); None if it did not
    attach.  It compiles for seconds under TCG, so it starts once."""
    out = open(os.path.join(t.OUT, "latency-phases.json"), "w+")
    err = open(os.path.join(t.OUT, "latency-phases.err"), "w")

    def child():
        os.sched_setaffinity(0, {INJECTOR_CPU})
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    try:
        proc = subprocess.Popen(["bpftrace", "-f", "json", PHASES_BT], stdout=out,
                                stderr=err, preexec_fn=child)
    except OSError:
        out.close()
        return None
    finally:
        err.close()

    def attached():
        out.seek(0)
        return "attached_probes" in out.read()
    up, _ = t.wait_for(lambda: attached() or proc.poll() is not None, 180, step=0.5)
    if not up or proc.poll() is not None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        out.close()
        return None
    return proc, out


def stop_phases(trace):
    """End bpftrace; per vCPU thread id, each phase's n, mean_us and
    slow_pct (the share over 1 ms).  The script exits when this thread
    takes the name kq-phases-end (after a SIGINT it did not always print
    its maps); SIGINT, then SIGKILL, only if it does not."""
    proc, out = trace
    comm = f"/proc/self/task/{threading.get_native_id()}/comm"
    own = t.read(comm).strip()
    t.write(comm, "kq-phases-end")
    t.write(comm, own)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    maps = {}
    with out:
        out.seek(0)
        for line in out:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("type") == "map":
                maps.update(msg["data"])
    tids = {}
    for phase in PHASES:
        for tid, n in maps.get(f"@{phase}_n", {}).items():
            if n:
                total = maps.get(f"@{phase}_us", {}).get(tid, 0)
                slow = maps.get(f"@{phase}_slow", {}).get(tid, 0)
                tids.setdefault(int(tid), {})[phase] = {
                    "n": n, "mean_us": total / n, "slow_pct": 100 * slow / n}
    return tids


def report_run(run):
    lat = run["vms"][0]["latency"]
    print(f"# {run['config']} rep {run['rep']}: {lat['count']} answers, p50 {lat['p50_us']} us, "
          f"p99 {lat['p99_us']} us, hogs " +
          " ".join(str(v["guest_iterations"]) for v in run["vms"][1:]), flush=True)


def run_phases():
    """Every configuration KQ_LAT_PHASE_REPS times under latency-phases.bt;
    the runs, each with its "phases"."""
    trace = start_phases()
    if not check("latency-phases-start", trace,
                 "bpftrace did not attach latency-phases.bt (see latency-phases.err)"):
        return []
    runs = []
    try:
        for rep in range(PHASE_REPS):
            for config in CONFIGS:
                run, err = run_one(config, rep, "traced")
                if check(f"latency-traced-{config}-{rep}", run, err):
                    report_run(run)
                    runs.append(run)
    finally:
        phases = stop_phases(trace)
    for run in runs:
        run["phases"] = phases.get(run["tid"], {})
    # Alone, the vCPU halt-polls on its idle CPU and is rarely woken.
    missing = [f"{r['config']}-{r['rep']}" for r in runs
               if r["config"] != "alone" and len(r["phases"]) != len(PHASES)]
    check("latency-phases", not missing, "no phases for " + " ".join(missing))
    return runs


def run_storms(mode, rep):
    """The compute/exit-storm set in one mode; per vCPU its quanta."""
    if t.write(os.path.join(SYSFS, "mode"), mode):
        return None, "could not set the mode"
    tag = f"storms-{mode}-{rep}"
    vmm = t.Vmm(tag, [f"{p}:{MS}" for p in STORMS], pin=HOG_CPU, hold=False,
                timeout=MS // 1000 + 300)
    try:
        report = vmm.wait_report(MS / 1000 + 240)
        vmm.wait(60)
    finally:
        vmm.kill()
        t.write(os.path.join(SYSFS, "mode"), "observe")
    if not report:
        return None, f"no report from kq-testvmm (see {tag}.log)"
    vms = []
    for vm in report["vms"]:
        v = vm["vcpus"][0]
        s = v["schedstat"]
        vms.append({"program": v["program"], "guest_iterations": v["guest_iterations"],
                    "run_ms": v["run_ms"], "schedstat": s})
    return {"mode": mode, "rep": rep, "ms": MS, "vms": vms}, ""


def main():
    t.raise_priority()
    check("latency-load", t.load_module().returncode == 0, "insmod failed")
    for kv in os.environ.get("KQ_LAT_POLICY", "").split():
        name, value = kv.split("=", 1)
        check(f"latency-policy-{name}", not t.write(os.path.join(SYSFS, "policy", name), value),
              f"policy/{name} = {value} refused")
    runs = []
    for rep in range(REPS):
        for config in CONFIGS:
            run, err = run_one(config, rep)
            if check(f"latency-{config}-{rep}", run, err):
                report_run(run)
                runs.append(run)
    phase_runs = run_phases() if PHASE_REPS else []
    storms = []
    for rep in range(STORM_REPS):
        for mode in ("observe", "enforce"):
            run, err = run_storms(mode, rep)
            if check(f"latency-storms-{mode}-{rep}", run, err):
                storms.append(run)
    with open(OUTPUT, "w") as f:
        json.dump({"kernel": os.uname().release, "ms": MS, "reps": REPS, "runs": runs,
                   "phase_runs": phase_runs, "storms": storms}, f)
    check("latency-output", len(runs) == REPS * len(CONFIGS), f"{len(runs)} runs written")
    check("latency-unload", t.unload_module().returncode == 0, "rmmod failed")
    t.finish()


if __name__ == "__main__":
    main()
