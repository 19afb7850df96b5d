#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench's report: pairs each kernel's plugin log (the instruction
counts at kq-testvmm's markers, tests/tcg/kq_insn.c) with the plan the
guest wrote (tests/rig/insncost.py) and writes BENCH/results.json and
BENCH/results.md.

Per run, the instructions between its first and last marker; per mode and
repetition, the slope over the storm lengths (fixed costs cancel): the
instructions one exit costs, the guest's CPUID and KVM's exit path
included; kvm_quanta's cost is the slope's excess over the same
repetition's bare run (module not loaded).  From the profile (instructions
by block address between markers), the same by function.

usage: bench_report.py BENCH KERNEL_DIR...   (each KERNEL_DIR holds
plugin.log, insncost-plan.json and kallsyms-*.txt)
"""
import bisect
import datetime
import json
import os
import statistics
import sys


def parse_log(path):
    """[(count, {vaddr: insns since the previous marker})] per marker."""
    marks, rows = [], {}
    with open(path) as f:
        for ln in f:
            p = ln.split()
            if len(p) == 3 and p[0] == "kq-mark":
                marks.append((int(p[1]), int(p[2])))
            elif len(p) == 4 and p[0] == "kq-tb":
                rows.setdefault(int(p[1]), {})[int(p[2], 16)] = int(p[3])
    # Marker numbers count from 1, in order.
    if [m for m, _ in marks] != list(range(1, len(marks) + 1)):
        raise ValueError(f"{path}: markers out of order")
    return [(c, rows.get(m, {})) for m, c in marks]


class Symbols:
    """Address to function from a /proc/kallsyms copy (text symbols)."""

    def __init__(self, path):
        syms = []
        with open(path) as f:
            for ln in f:
                p = ln.split()
                if len(p) >= 3:
                    name = p[2] + (" " + p[3] if len(p) > 3 else "")
                    syms.append((int(p[0], 16), name))
        syms.sort()
        self.addr = [a for a, _ in syms]
        self.name = [n for _, n in syms]

    def __call__(self, vaddr):
        i = bisect.bisect_right(self.addr, vaddr) - 1
        if i < 0 or not self.addr[i]:
            return f"user or unknown ({vaddr:#x})" if vaddr < 1 << 47 else f"{vaddr:#x}"
        return self.name[i]


def slope(pts):
    """Least-squares slope of (exits, value) points."""
    xs = [x for x, _ in pts]
    ys = [y for _, y in pts]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in pts) / den if den else float("nan")


def spread(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "reps": vals}


def kernel_report(kdir):
    with open(os.path.join(kdir, "insncost-plan.json")) as f:
        plan = json.load(f)
    marks = parse_log(os.path.join(kdir, "plugin.log"))
    need = sum(r["markers"] for r in plan["runs"])
    if len(marks) != need:
        raise ValueError(f"{kdir}: {len(marks)} markers in the log, the plan has {need}")
    syms = {}
    # (mode, vcpus, rep) -> [(exits, insns)], and -> {function: [(exits, insns)]}
    totals, funcs = {}, {}
    i = 0
    idle = {}  # (vcpus, mode) -> (instructions, windows, {function: instructions})
    for r in plan["runs"]:
        mine = marks[i:i + r["markers"]]
        i += r["markers"]
        if r["error"]:
            continue
        # Instructions between the run's first and last marker, in all and
        # by function (each marker's profile covers the time since the one before).
        ins = mine[-1][0] - mine[0][0]
        sym = syms.setdefault(r["kallsyms"], Symbols(os.path.join(kdir, r["kallsyms"])))
        by_fn = {}
        for _, rows in mine[1:]:
            for vaddr, n in rows.items():
                fn = sym(vaddr)
                by_fn[fn] = by_fn.get(fn, 0) + n
        if r.get("kind") == "idle":
            idle[(r["vcpus"], r["mode"])] = (ins, r["windows"], by_fn)
            continue
        key = (r["mode"], r["vcpus"], r["rep"])
        totals.setdefault(key, []).append((r["exits"], ins))
        fdict = funcs.setdefault(key, {})
        for fn, n in by_fn.items():
            fdict.setdefault(fn, []).append((r["exits"], n))
    per_exit, added, fn_added = {}, {}, {}
    for (mode, vcpus, rep), pts in sorted(totals.items()):
        if len(pts) < 2:
            continue
        per_exit.setdefault(f"{mode}/{vcpus}", []).append(slope(pts))
        base = totals.get(("bare", vcpus, rep))
        if mode != "bare" and base and len(base) >= 2:
            added.setdefault(f"{mode}/{vcpus}", []).append(slope(pts) - slope(base))
            bf, mf = funcs.get(("bare", vcpus, rep), {}), funcs[(mode, vcpus, rep)]
            for fn in set(bf) | set(mf):
                d = slope(mf.get(fn, [(p[0], 0) for p in pts])) - \
                    slope(bf.get(fn, [(p[0], 0) for p in base]))
                fn_added.setdefault(f"{mode}/{vcpus}", {}).setdefault(fn, []).append(d)
    top = {}
    for k, fns in fn_added.items():
        med = {fn: statistics.median(v) for fn, v in fns.items() if len(v) == len(added[k])}
        top[k] = sorted(([fn, round(v, 1)] for fn, v in med.items() if abs(v) >= 0.5),
                        key=lambda x: (-abs(x[1]), x[0]))[:20]
    sampler = {}
    for (n, mode), (ins, windows, fns) in sorted(idle.items()):
        base = idle.get((n, "bare"))
        if mode != "observe" or not base:
            continue
        per_window = (ins - base[0]) / windows
        mod = {fn: round(c / windows) for fn, c in fns.items() if fn.endswith("[kvm_quanta]")}
        sampler[str(n)] = {"per_window": round(per_window), "per_vcpu_window": round(per_window / n),
                           "module_functions_per_window":
                               sorted(mod.items(), key=lambda x: (-x[1], x[0]))[:10]}
    mem_path = os.path.join(kdir, "insncost-mem.json")
    mem = {}
    if os.path.exists(mem_path):
        with open(mem_path) as f:
            mem = {str(m["vcpus"]): m for m in json.load(f)}
    return {"kernel": plan["kernel"],
            "per_exit": {k: spread(v) for k, v in per_exit.items()},
            "added_per_exit": {k: spread(v) for k, v in added.items()},
            "functions_added_per_exit": top,
            "idle_vcpus": {n: {**sampler.get(n, {}), **({"slab_bytes_per_vcpu":
                                                          round(mem[n]["bytes_per_vcpu"]),
                                                          "module_base_slab_bytes":
                                                          mem[n]["module_base_bytes"]}
                                                         if n in mem else {})}
                           for n in sorted(set(sampler) | set(mem), key=int)}}


def markdown(res):
    out = [f"# make bench results ({res['date']})", "",
           "Instructions per VM exit, counted by QEMU (TCG plugin tests/tcg/kq_insn.c) in the",
           "rig (nested KVM under TCG, one guest CPU): a CPUID storm in one VM whose vCPUs",
           f"share the exits, the slope over storm lengths {res['exits']} (fixed costs cancel);",
           f"median (min-max) over {res['reps']} repetition(s).  Cost, not speed: TCG runs",
           "every instruction, so these are what a host CPU would execute, give or take the",
           "CPU model's code paths.", "",
           "| kernel | vCPUs | per exit, no module | added in observe | added in enforce |",
           "|---|---|---|---|---|"]
    fmt = lambda s: f"{s['median']:.0f} ({s['min']:.0f}-{s['max']:.0f})" if s else "-"
    for name, k in res["kernels"].items():
        for v in sorted({int(x.split('/')[1]) for x in k["per_exit"]}):
            out.append(f"| {name} ({k['kernel']}) | {v} | {fmt(k['per_exit'].get(f'bare/{v}'))} | "
                       f"{fmt(k['added_per_exit'].get(f'observe/{v}'))} | "
                       f"{fmt(k['added_per_exit'].get(f'enforce/{v}'))} |")
    if any(k.get("idle_vcpus") for k in res["kernels"].values()):
        out += ["", "The module with idle vCPUs tracked (observe, 100 ms windows): the",
                "instructions its sampler and periodic work add per window (loaded against",
                "unloaded, the same VMs), and the slab memory it holds per vCPU (perf events",
                "excluded: the rig has no PMU).", "",
                "| kernel | vCPUs | per window | per vCPU and window | slab bytes per vCPU |",
                "|---|---|---|---|---|"]
        for name, k in res["kernels"].items():
            for n, s in k.get("idle_vcpus", {}).items():
                out.append(f"| {name} | {n} | {s.get('per_window', '-')} | "
                           f"{s.get('per_vcpu_window', '-')} | {s.get('slab_bytes_per_vcpu', '-')} |")
    for name, k in res["kernels"].items():
        for key, fns in sorted(k["functions_added_per_exit"].items()):
            out += ["", f"Where the added instructions are, {name} {key} (per exit, median):", "",
                    "| function | instructions |", "|---|---|"]
            out += [f"| `{fn}` | {n:+.1f} |" for fn, n in fns]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bench = sys.argv[1]
    res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "kernels": {}}
    for kdir in sys.argv[2:]:
        with open(os.path.join(kdir, "insncost-plan.json")) as f:
            runs = json.load(f)["runs"]
        storms = [r for r in runs if r.get("kind", "storm") == "storm"]
        res["exits"] = sorted({r["exits"] for r in storms})
        res["reps"] = len({r["rep"] for r in storms})
        res["kernels"][os.path.basename(os.path.normpath(kdir))] = kernel_report(kdir)
    os.makedirs(bench, exist_ok=True)
    with open(os.path.join(bench, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.join(bench, "results.md"), "w") as f:
        f.write(markdown(res))
    print(markdown(res), end="")


if __name__ == "__main__":
    main()
