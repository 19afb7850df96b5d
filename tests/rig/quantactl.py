# SPDX-License-Identifier: GPL-2.0
"""Rig tests for quantactl against the loaded module: status lists the
running VMs and their vCPUs; set refuses bad values and changes nothing,
applies a valid set in an order the kernel accepts; mode switches; show
has the VM's tree; record then replay produces per-VM output, and the
replayed policy calls the I/O-storm vCPU exit-heavy as the kernel does.
Usage: quantactl.py [QUANTACTL] (default build/userspace/quantactl/quantactl)."""
import json
import os
import subprocess
import sys
import time

import kqtest as t
from kqtest import SYSFS, check, result

_ARG = sys.argv[1] if len(sys.argv) > 1 else ""
QUANTACTL = os.path.abspath(_ARG) if _ARG else os.path.join(
    t.REPO, "build", "userspace", "quantactl", "quantactl")
KNOBS = ["enabled", "min_quantum_us", "base_quantum_us", "max_quantum_us", "weight"]
PROG_MS = 200000


def qc(*args, timeout=120):
    try:
        return subprocess.run([QUANTACTL, *args], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(args, -1, e.stdout or "", "timeout")


def policy(vm):
    return {k: int(t.read(os.path.join(SYSFS, "vms", vm, "policy", k))) for k in KNOBS}


def test_status(vms):
    p = qc("status", "--once", "--json")
    if not result("status-json", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}"):
        return
    doc = json.loads(p.stdout)
    listed = {v["vm"] for v in doc["vms"]}
    check("status-lists-vms", set(vms) <= listed, f"listed {sorted(listed)}, want {vms}")
    tids = {v["vm"]: [c["tid"] for c in v["vcpus"]] for v in doc["vms"]}
    check("status-vcpus", all(tids.get(vm) and all(tids[vm]) for vm in vms), f"tids {tids}")
    has_sample = [c for v in doc["vms"] if v["vm"] in vms for c in v["vcpus"]
                  if c["exit_rate_milli"] is not None and c["reason"] is not None]
    check("status-sampled", len(has_sample) == len(vms), f"{doc}")
    p = qc("status", "--once")
    check("status-table", p.returncode == 0 and all(vm in p.stdout for vm in vms) and
          "QUANTUM_MS" in p.stdout, f"rc {p.returncode}: {p.stdout} {p.stderr}")


def test_set(vm):
    before = policy(vm)
    bad = [["weight=0"], ["base_quantum_us=99999", "max_quantum_us=5000"],
           ["min_quantum_us=50"], ["nope=1"], ["weight=abc"], ["enabled=2"],
           ["min_quantum_us=9000"]]
    rcs = [qc("set", vm, *kv).returncode for kv in bad]
    check("set-bad-refused", rcs == [2] * len(bad), f"exit codes {rcs}")
    check("set-bad-unchanged", policy(vm) == before, f"{policy(vm)} vs {before}")
    want = {"min_quantum_us": 10000, "base_quantum_us": 20000, "max_quantum_us": 50000,
            "weight": 300}
    p = qc("set", vm, *[f"{k}={v}" for k, v in want.items()])
    got = policy(vm)
    check("set-widen", p.returncode == 0 and all(got[k] == v for k, v in want.items()),
          f"rc {p.returncode} {p.stderr.strip()}: {got}")
    want = {"min_quantum_us": 200, "base_quantum_us": 300, "max_quantum_us": 400}
    p = qc("set", vm, *[f"{k}={v}" for k, v in want.items()])
    got = policy(vm)
    check("set-narrow-below", p.returncode == 0 and all(got[k] == v for k, v in want.items()),
          f"rc {p.returncode} {p.stderr.strip()}: {got}")
    p = qc("--json", "set", vm, *[f"{k}={v}" for k, v in before.items()])
    check("set-restore", p.returncode == 0 and policy(vm) == before,
          f"rc {p.returncode} {p.stderr.strip()}: {policy(vm)} vs {before}")
    p = qc("set", "999999-1", "weight=5")
    check("set-no-vm", p.returncode == 1, f"rc {p.returncode}")
    p = qc("set", vm.split("-")[0], "weight=5")
    check("set-ambiguous-pid", p.returncode == 1 and "name one" in p.stderr and
          policy(vm) == before, f"rc {p.returncode} {p.stderr.strip()}")


def test_mode():
    p = qc("mode", "enforce")
    check("mode-enforce", p.returncode == 0 and t.read(f"{SYSFS}/mode").strip() == "enforce",
          f"rc {p.returncode} {p.stderr.strip()}")
    p = qc("--json", "mode")
    check("mode-read", p.returncode == 0 and json.loads(p.stdout)["mode"] == "enforce",
          p.stdout)
    p = qc("mode", "bogus")
    check("mode-bad", p.returncode == 2 and t.read(f"{SYSFS}/mode").strip() == "enforce",
          f"rc {p.returncode}")
    p = qc("mode", "observe")
    check("mode-observe", p.returncode == 0 and t.read(f"{SYSFS}/mode").strip() == "observe",
          f"rc {p.returncode} {p.stderr.strip()}")


def test_show(vm):
    p = qc("--json", "show", vm)
    ok = p.returncode == 0
    doc = json.loads(p.stdout) if ok else {}
    check("show", ok and doc["vm"] == vm and "0" in doc["sysfs"]["vcpus"] and
          "base_quantum_us" in doc["sysfs"]["policy"], f"rc {p.returncode} {p.stderr.strip()}")


def io_reasons(doc, io_vm):
    """A replay's windows by reason for the I/O-storm VM's vCPU 0."""
    by_vm = {v["vm"]: v for v in doc["vms"]}
    return by_vm.get(io_vm, {}).get("vcpus", [{}])[0].get("by_reason", {})


def test_record_replay(vms, io_vm):
    rec = os.path.join(t.OUT, "quantactl-rec.jsonl")
    p = qc("record", rec, "--seconds", "4")
    if not result("record", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}"):
        return
    with open(rec) as f:
        lines = [json.loads(x) for x in f if x.strip()]
    windows = [x for x in lines if x["type"] == "window"]
    check("record-windows", len(windows) >= 20 and lines[0]["type"] == "header",
          f"{len(windows)} windows")
    p = qc("--json", "replay", rec)
    if not result("replay", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}"):
        return
    doc = json.loads(p.stdout)
    by_vm = {v["vm"]: v for v in doc["vms"]}
    check("replay-per-vm", set(vms) <= set(by_vm) and
          all(c["windows"] > 0 for vm in vms for c in by_vm[vm]["vcpus"]),
          f"replayed VMs {sorted(by_vm)}")
    io = io_reasons(doc, io_vm)
    top = max(io, key=lambda r: io[r]["windows"]) if io else None
    if top != "exit_heavy":
        # 4 s under TCG beside other rigs can catch the storm short of
        # exit-heavy rates in most windows (CI: 24 base, 19 exit-heavy):
        # record once more before judging; a policy that never calls it
        # exit-heavy fails both.
        print(f"# replay of I/O-storm vCPU: {io}; recording once more", flush=True)
        rec2 = os.path.join(t.OUT, "quantactl-rec2.jsonl")
        p = qc("record", rec2, "--seconds", "4")
        p = qc("--json", "replay", rec2) if p.returncode == 0 else p
        io = io_reasons(json.loads(p.stdout), io_vm) if p.returncode == 0 else {}
        top = max(io, key=lambda r: io[r]["windows"]) if io else None
    # The kernel's most frequent decision, not its current reason: the VM
    # may have finished its storm by now, and its last window says little.
    dec = {ln.split()[0]: int(ln.split()[1]) for ln in t.read(
        os.path.join(SYSFS, "vms", io_vm, "vcpus", "0", "decisions")).splitlines()}
    kernel = max(dec, key=dec.get)
    print(f"# replay of I/O-storm vCPU: {io}; kernel decided {dec}", flush=True)
    t.timing("replay-exit-heavy", top == "exit_heavy" and kernel == "exit_heavy",
          f"replay {io}, kernel {kernel}")
    p = qc("--json", "replay", rec, "--policy", "min_quantum_us=500")
    doc = json.loads(p.stdout) if p.returncode == 0 else {"vms": []}
    io2 = [v for v in doc["vms"] if v["vm"] == io_vm]
    check("replay-what-if", io2 and
          io2[0]["vcpus"][0]["by_reason"]["exit_heavy"]["mean_target_ns"] == 500000,
          f"rc {p.returncode} {p.stderr.strip()}")
    p = qc("replay", rec)
    check("replay-text", p.returncode == 0 and all(f"VM {vm}" in p.stdout for vm in vms),
          p.stdout[-500:])


def main():
    p = t.load_module()
    if not result("load-module", p.returncode == 0, p.stderr.strip()):
        return
    vmm = t.Vmm("quantactl", [f"iostorm:{PROG_MS}", f"compute:{PROG_MS}"], timeout=600)
    try:
        vms, _ = t.wait_for(lambda: len(t.vms_of(vmm.pid)) == 2 and t.vms_of(vmm.pid), 60, 0.1)
        if not result("vms-tracked", vms, f"sysfs VMs of {vmm.pid}: {t.vms_of(vmm.pid)}"):
            return
        # kq-testvmm names vCPU threads kq-vm<index>-vcpu<n>; VM 0 runs iostorm.
        io_vm = next((vm for vm in vms if t.read(
            f"/proc/{t.read(os.path.join(t.vcpu_dir(vm, 0), 'tid')).strip()}/comm")
            .startswith("kq-vm0-")), None)
        if not result("io-vm", io_vm, "no VM runs kq-vm0"):
            return
        t.wait_for(lambda: all(os.path.exists(os.path.join(SYSFS, "vms", vm, "vcpus", "0",
                                                           "reason")) for vm in vms), 10)
        time.sleep(1)
        test_status(vms)
        test_set(vms[0])
        test_mode()
        test_show(vms[0])
        test_record_replay(vms, io_vm)
    finally:
        vmm.kill()
        t.wait_for(lambda: not t.vms_of(vmm.pid), 10, 0.1)
        t.unload_module()


main()
t.finish()
