# SPDX-License-Identifier: GPL-2.0
"""Rig test for phase placement within a group (and the SMT knob, which
the rig cannot exercise further: no SMT, no PMU): three single-vCPU VMs of
one VMM pinned to one CPU, a compute-bound one (long guest runs) and an
exit-heavy one (port I/O to the VMM) declared one group, and an ungrouped
exit-heavy one (CPUID).  Observe, enforce without the group, enforce with
it: with it, the group's CPU time moves toward the compute VM, within
group_shift_pct (20%: at most 60% of the group's time), and the ungrouped
VM's share stays within 2 points of observe's.  Also the knobs' bad
inputs.  The rig has no PMU, so efficiency is guest time per exit here.
Runs inside the guest."""
import errno
import os
import time

import kqtest as t
from kqtest import SYSFS, check, result

PROGS = ["compute:8000", "iostorm:8000", "cpuidstorm:8000"]
POINTS = 2.0
BOUND = 20


def identify(vmm):
    """{program: VM directory}: compute makes the fewest exits, iostorm the
    most port I/O exits, cpuidstorm is the other."""
    def get():
        vms = t.vms_of(vmm.pid)
        if len(vms) != 3:
            return None
        try:
            exits = {vm: int(t.read(os.path.join(t.vcpu_dir(vm, 0), "exits"))) for vm in vms}
            io = {vm: t.exit_reasons(vm, 0).get("io", 0) for vm in vms}
        except (OSError, ValueError):
            return None
        if sorted(exits.values())[1] < 1000:
            return None  # not far enough along to tell
        compute = min(vms, key=lambda vm: exits[vm])
        rest = [vm for vm in vms if vm != compute]
        iostorm = max(rest, key=lambda vm: io[vm])
        cpuid = [vm for vm in rest if vm != iostorm][0]
        return {"compute": compute, "iostorm": iostorm, "cpuidstorm": cpuid}
    got, _ = t.wait_for(get, 60)
    return got


def shift_of(vm):
    """(applied, lasting) group shift of the VM's vCPU 0, percent."""
    a, b = t.read(os.path.join(t.vcpu_dir(vm, 0), "group_shift_pct")).split()
    return int(a), int(b)


def run(tag, mode, grouped):
    """One run: {program: run ns} and the group shifts seen near its end."""
    t.write(f"{SYSFS}/mode", mode)
    vmm = t.Vmm(tag, PROGS, pin=0, hold=True)
    vms = identify(vmm)
    shifts = {}
    if vms:
        if grouped:
            for p in ("compute", "iostorm"):
                t.write(os.path.join(SYSFS, "vms", vms[p], "policy", "group"), "7")
        # How often the pair's weights were shifted (it competed), sampled.
        seen = []
        for _ in range(25):
            time.sleep(0.2)
            try:
                seen.append(shift_of(vms["compute"])[0] != 0)
            except (OSError, ValueError):
                pass
        print(f"# group {tag}: compute's weight shifted in {sum(seen)} of {len(seen)} samples",
              flush=True)
        try:
            shifts = {p: shift_of(vm) for p, vm in vms.items()}
        except (OSError, ValueError):
            pass
    report = vmm.wait_report(300)
    vmm.release()
    vmm.wait(60)
    out = {}
    if report:
        for rvm in report["vms"]:
            rv = rvm["vcpus"][0]
            out[rv["program"].split(":")[0]] = rv["schedstat"]["run_ns"]
    return out, shifts, vms


def shares(res):
    total = sum(res.values())
    return {p: 100.0 * v / total for p, v in res.items()}


def bad_inputs():
    """The knobs refuse what is out of range or not a number, and keep
    their value; group is root's alone (mode 0640)."""
    pol = f"{SYSFS}/policy/group_shift_pct"
    check("group-shift-default", t.read(pol).strip() == str(BOUND), t.read(pol))
    for val, want in (("51", errno.ERANGE), ("-1", errno.EINVAL), ("abc", errno.EINVAL),
                      ("\n", errno.EINVAL)):
        err = t.write(pol, val)
        check(f"group-shift-rejects-{val.strip() or 'newline'}", err == want and
              t.read(pol).strip() == str(BOUND), f"write {val!r}: errno {err}, now {t.read(pol)!r}")
    smt = f"{SYSFS}/policy/smt_hungry_pct"
    check("smt-hungry-default", t.read(smt).strip() == "50", t.read(smt))
    for val, want in (("101", errno.ERANGE), ("-1", errno.EINVAL), ("5o", errno.EINVAL)):
        err = t.write(smt, val)
        check(f"smt-hungry-rejects-{val}", err == want and t.read(smt).strip() == "50",
              f"write {val!r}: errno {err}, now {t.read(smt)!r}")
    check("smt-hungry-accepts-0", t.write(smt, "0") is None and t.read(smt).strip() == "0",
          t.read(smt))
    t.write(smt, "50")
    vmm = t.Vmm("group-knob", ["compute:60000"], hold=True)
    vms, _ = t.wait_for(lambda: t.vms_of(vmm.pid), 60)
    if not result("group-knob-vm", vms, "no VM in sysfs"):
        vmm.kill()
        return
    knob = os.path.join(SYSFS, "vms", vms[0], "policy", "group")
    check("group-knob-default", t.read(knob).strip() == "0", t.read(knob))
    mode = os.stat(knob).st_mode & 0o777
    check("group-knob-mode", mode == 0o640, oct(mode))
    for val, want in (("65536", errno.ERANGE), ("-3", errno.EINVAL), ("1x", errno.EINVAL),
                      ("4294967296", errno.ERANGE)):
        err = t.write(knob, val)
        check(f"group-knob-rejects-{val}", err == want and t.read(knob).strip() == "0",
              f"write {val!r}: errno {err}, now {t.read(knob)!r}")
    check("group-knob-accepts", t.write(knob, "65535") is None and
          t.read(knob).strip() == "65535", t.read(knob))
    # Alone in its group: it competes with no member, so no shift.
    time.sleep(0.5)
    check("group-alone-no-shift", shift_of(vms[0]) == (0, 0), f"{shift_of(vms[0])}")
    vmm.kill()


def main():
    p = t.load_module()
    if not check("load", p.returncode == 0, p.stderr.strip()):
        t.finish()
    bad_inputs()

    res, shifts, vms = {}, {}, {}
    for tag, mode, grouped in (("observe", "observe", False), ("enforce", "enforce", False),
                               ("grouped", "enforce", True)):
        res[tag], shifts[tag], vms[tag] = run(f"group-{tag}", mode, grouped)
    t.write(f"{SYSFS}/mode", "observe")
    if not result("group-ran", all(len(r) == 3 for r in res.values()) and all(vms.values()),
                  f"results {res}, VMs {vms}"):
        t.finish()
    sh = {tag: shares(r) for tag, r in res.items()}
    part = {tag: 100.0 * r["compute"] / (r["compute"] + r["iostorm"]) for tag, r in res.items()}
    for tag in res:
        print(f"# group {tag}: shares " + ", ".join(f"{p} {s:.1f}%" for p, s in sh[tag].items()) +
              f"; compute's part of the pair {part[tag]:.1f}%; shifts {shifts[tag]}", flush=True)
    g = shifts["grouped"]
    check("group-shift-shown", g.get("compute", (0, 0))[0] > 0 and g.get("iostorm", (0, 0))[0] < 0
          and g.get("cpuidstorm") == (0, 0), f"{g}")
    check("group-shift-bounded", all(abs(a) <= BOUND and abs(b) <= BOUND // 2
                                     for a, b in g.values()), f"{g}")
    check("ungrouped-no-shift", all(v == (0, 0) for v in shifts["enforce"].values()),
          f"{shifts['enforce']}")
    moved = part["grouped"] - part["enforce"]
    t.timing("group-time-moves-to-compute", moved >= 4.0,
             f"compute's part of the pair {part['enforce']:.1f}% -> {part['grouped']:.1f}%")
    # 120:80 at most, with room for the ledger's deadband.
    t.timing("group-time-within-bound", part["grouped"] <= 50.0 + BOUND / 2 + 3.0,
             f"compute's part of the pair {part['grouped']:.1f}%")
    drift = abs(sh["grouped"]["cpuidstorm"] - sh["observe"]["cpuidstorm"])
    print(f"# group: ungrouped share drift {drift:.2f} points (grouped enforce against observe)",
          flush=True)
    t.timing("ungrouped-share-within-2-points", drift <= POINTS,
             f"cpuidstorm {sh['observe']['cpuidstorm']:.1f}% in observe, "
             f"{sh['grouped']['cpuidstorm']:.1f}% grouped")
    p = t.unload_module()
    check("unload", p.returncode == 0, p.stderr.strip())
    t.finish()


if __name__ == "__main__":
    main()
