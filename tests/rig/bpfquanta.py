# SPDX-License-Identifier: GPL-2.0
"""Rig tests for kq-bpfquanta (bpf/vcpu_quanta.bpf.c through userspace/bpf):
three single-vCPU VMs of different character pinned to one CPU; over the
same interval, the BPF program's mean quantum per vCPU thread must agree
with /proc/<tid>/schedstat (run time / timeslices) within 20%, its
histogram must hold every quantum, and the three threads must share the
CPU.  No kvm_quanta module is needed: the tids come from the thread names
kq-testvmm gives its vCPU threads."""
import json
import os
import subprocess
import time

import kqtest as t
from kqtest import check, result

BPFQUANTA = os.path.join(t.REPO, "build", "userspace", "bpf", "kq-bpfquanta")
SECONDS = 6
PROG_MS = 60000


def vcpu_tids(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().startswith("kq-vm"):
                    out.append(int(tid))
    except OSError:
        pass
    return sorted(out)


def schedstat(tid):
    with open(f"/proc/{tid}/schedstat") as f:
        run, _wait, slices = (int(x) for x in f.read().split())
    return run, slices


def main():
    p = subprocess.run([BPFQUANTA, "--tids", "x", "--seconds", "1"], capture_output=True)
    check("usage-error", p.returncode == 2, f"bad --tids: rc {p.returncode}")
    p = subprocess.run([BPFQUANTA, "--seconds", "1"], capture_output=True)
    check("usage-missing-tids", p.returncode == 2, f"no --tids: rc {p.returncode}")

    vmm = t.Vmm("bpfquanta", [f"compute:{PROG_MS}", f"iostorm:{PROG_MS}",
                              f"cpuidstorm:{PROG_MS}"], pin=0, timeout=600)
    try:
        tids, _ = t.wait_for(lambda: len(vcpu_tids(vmm.pid)) == 3 and vcpu_tids(vmm.pid), 60, 0.1)
        if not result("vcpu-threads", tids, f"vCPU threads of {vmm.pid}: {vcpu_tids(vmm.pid)}"):
            return
        time.sleep(2)  # past the VMs' set-up
        proc = subprocess.Popen([BPFQUANTA, "--tids", ",".join(map(str, tids)), "--seconds",
                                 str(SECONDS), "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()
        before = {tid: schedstat(tid) for tid in tids}
        out, err = proc.communicate(timeout=120)
        after = {tid: schedstat(tid) for tid in tids}
        if not result("attached", line.strip() == "attached" and proc.returncode == 0,
                      f"rc {proc.returncode}: {line.strip()} {err.strip()}"):
            return
        doc = json.loads(out)
        got = {e["tid"]: e for e in doc["tids"]}
        check("all-tids", set(got) == set(tids), f"tids {sorted(got)} want {tids}")
        total_run = sum(after[tid][0] - before[tid][0] for tid in tids)
        for i, tid in enumerate(tids):
            e = got.get(tid)
            run = after[tid][0] - before[tid][0]
            slices = after[tid][1] - before[tid][1]
            ss_mean = run / slices if slices else None
            name = f"vcpu{i}"
            if not result(f"{name}-measured", e and e["count"] > 20 and e["mean_ns"],
                          f"tid {tid}: {e}"):
                continue
            check(f"{name}-hist-complete", sum(b["count"] for b in e["hist"]) == e["count"],
                  f"hist {e['hist']} count {e['count']}")
            dev = abs(e["mean_ns"] - ss_mean) / ss_mean if ss_mean else 1
            print(f"# tid {tid}: bpf {e['count']} quanta mean {e['mean_ns'] / 1e6:.3f} ms, "
                  f"schedstat {slices} slices mean {(ss_mean or 0) / 1e6:.3f} ms "
                  f"({dev * 100:.1f}% apart), share {run / total_run * 100:.0f}%", flush=True)
            check(f"{name}-mean-vs-schedstat", dev <= 0.20,
                  f"bpf mean {e['mean_ns']} ns vs schedstat {ss_mean:.0f} ns: {dev * 100:.1f}%")
            check(f"{name}-count-vs-schedstat", abs(e["count"] - slices) <= 0.2 * slices,
                  f"bpf {e['count']} quanta vs schedstat {slices} slices")
            check(f"{name}-shares-cpu", 0.15 <= run / total_run <= 0.5,
                  f"share {run / total_run:.2f}")
    finally:
        vmm.kill()


main()
t.finish()
