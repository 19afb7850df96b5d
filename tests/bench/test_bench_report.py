#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of make bench's report (scripts/bench_report.py): the cost part on
synthetic plugin logs (slopes, what the module adds, its own functions,
with and without other VMs known), and the latency part on
synthetic latency.json files whose figures are known: percentiles as
kq-testvmm computes them, medians and ranges over repetitions, hog
throughput and its delta against the same repetition's stock run, CPU
shares, quanta and switches, the goals' verdicts, the README block; and
that a wrong computation (a different percentile, a mean for a median)
fails these checks.  Runs in about a second; bench.sh runs it first and
prints its results as "KQTEST ok bench-report:NAME" lines.
  python3 tests/bench/test_bench_report.py [-v]
"""
import importlib.util
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from unittest import mock

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import bench_report as br  # noqa: E402

HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def vm(program, iterations, run_ms, run_ns, slices, latency=None, reason=None):
    v = {"program": program, "guest_iterations": iterations, "run_ms": run_ms,
         "schedstat": {"run_ns": run_ns, "wait_ns": 0, "timeslices": slices},
         "module": {"vm": "1-1", "reason": reason, "target_quantum_us": 1000,
                    "decisions": {"base": 1}} if reason else {}}
    if latency is not None:
        v["latency"] = latency
    return v


def lat(samples_us, missed=0):
    """A kq-testvmm latency object; the summary fields deliberately wrong
    (negative) so a test sees whether the report used the samples."""
    return {"count": len(samples_us), "missed": missed, "p50_us": -1, "p99_us": -1,
            "p999_us": -1, "max_us": -1, "mean_us": -1, "samples_us": samples_us}


def run(config, rep, samples_us, hogs=(1000, 3000), run_ms=2000,
        run_ns=(2e9, 4e9, 4e9), slices=(100, 2000, 2000), reason="latency"):
    vms = [vm("irq:2000", 0, run_ms, int(run_ns[0]), slices[0], lat(samples_us), reason)]
    if config != "alone":
        vms += [vm("compute:2000", h, run_ms, int(n), s)
                for h, n, s in zip(hogs, run_ns[1:], slices[1:])]
    r = {"config": config, "rep": rep, "ms": run_ms, "vms": vms}
    if config == "tuned":
        r["tuned"] = {"base_slice_ns": 100000}
    return r


def write(d, kernel, runs, reps=1, phase_runs=None):
    os.makedirs(d, exist_ok=True)
    data = {"kernel": kernel, "ms": 2000, "reps": reps, "runs": runs}
    if phase_runs is not None:
        data["phase_runs"] = phase_runs
    with open(os.path.join(d, "latency.json"), "w") as f:
        json.dump(data, f)
    return os.path.join(d, "latency.json")


ONE_TO_THOUSAND = [float(i) for i in range(1000, 0, -1)]  # 1..1000 us, out of order


class Percentiles(unittest.TestCase):
    def check_nearest_rank(self):
        s = list(range(1, 101))
        self.assertEqual(br.nearest_rank(s, 500), 50)
        self.assertEqual(br.nearest_rank(s, 990), 99)   # the 99th, not the 100th
        self.assertEqual(br.nearest_rank(s, 999), 100)
        self.assertEqual(br.nearest_rank([7], 990), 7)
        self.assertEqual(br.nearest_rank(list(range(1, 1001)), 999), 999)
        self.assertIsNone(br.nearest_rank([], 500))

    def test_nearest_rank(self):
        self.check_nearest_rank()

    def test_run_latency_from_samples(self):
        m = br.run_metrics(run("stock", 0, ONE_TO_THOUSAND))
        self.assertAlmostEqual(m["p50_ms"], 0.5)
        self.assertAlmostEqual(m["p99_ms"], 0.99)
        self.assertAlmostEqual(m["p999_ms"], 0.999)
        self.assertAlmostEqual(m["max_ms"], 1.0)
        self.assertAlmostEqual(m["mean_ms"], 0.5005)
        self.assertEqual(m["slow_pct"], 0)
        self.assertEqual(m["answers"], 1000)
        self.assertEqual(m["missed"], 0)

    def test_slow_share(self):
        # Slower than 2 ms, strictly: 2.5 and 4 of the five.
        m = br.run_metrics(run("stock", 0, [4000.0, 500.0, 2000.0, 1000.0, 2500.0]))
        self.assertAlmostEqual(m["slow_pct"], 40.0)
        self.assertIsNone(br.run_metrics(run("stock", 0, []))["slow_pct"])

    def test_phases(self):
        r = run("stock", 0, ONE_TO_THOUSAND)
        r["phases"] = {"raise": {"n": 400, "mean_us": 150.0, "slow_pct": 2.5},
                       "wait": {"n": 400, "mean_us": 1200.0, "slow_pct": 30.0},
                       "run": {"n": 399, "mean_us": 250.0, "slow_pct": 0.0}}
        m = br.run_metrics(r)
        self.assertEqual(m["phased"], 400)
        self.assertAlmostEqual(m["stall_pct"], 2.5)   # the raise's, not the wait's
        self.assertAlmostEqual(m["wait_pct"], 30.0)
        self.assertAlmostEqual(m["raise_mean_ms"], 0.15)
        self.assertAlmostEqual(m["wait_mean_ms"], 1.2)
        self.assertAlmostEqual(m["run_mean_ms"], 0.25)
        # A run without the trace, or with a phase missing: no figures.
        for ph in (None, {"raise": r["phases"]["raise"], "wait": r["phases"]["wait"]}):
            r["phases"] = ph
            m = br.run_metrics(r)
            self.assertIsNone(m["stall_pct"])
            self.assertIsNone(m["wait_pct"])
            self.assertIsNone(m["run_mean_ms"])

    def test_run_latency_from_summary_without_samples(self):
        r = run("stock", 0, [])
        r["vms"][0]["latency"] = {"count": 5, "missed": 2, "p50_us": 100.0, "p99_us": 2500.0,
                                  "p999_us": 3000.0, "max_us": 3000.0, "mean_us": 700.0}
        m = br.run_metrics(r)
        self.assertAlmostEqual(m["p99_ms"], 2.5)
        self.assertEqual((m["answers"], m["missed"]), (5, 2))

    def test_wrong_percentile_fails(self):
        # An interpolating percentile (numpy's default) is not kq-testvmm's.
        def interpolated(sorted_vals, per_mille):
            if not sorted_vals:
                return None
            x = per_mille / 1000 * (len(sorted_vals) - 1)
            i = int(x)
            j = min(i + 1, len(sorted_vals) - 1)
            return sorted_vals[i] + (sorted_vals[j] - sorted_vals[i]) * (x - i)
        with mock.patch.object(br, "nearest_rank", interpolated):
            with self.assertRaises(AssertionError):
                self.check_nearest_rank()
            with self.assertRaises(AssertionError):
                self.test_run_latency_from_samples()


class HogsAndShares(unittest.TestCase):
    def test_throughput_shares_quanta(self):
        m = br.run_metrics(run("stock", 0, ONE_TO_THOUSAND))
        # 1000 and 3000 iterations in 2 s each: 500 + 1500 per second.
        self.assertAlmostEqual(m["hog_throughput_per_s"], 2000)
        # run_ns 2, 4, 4 s of 10: 20/40/40 percent.
        for got, want in zip(m["shares_pct"], (20, 40, 40)):
            self.assertAlmostEqual(got, want)
        # Hogs: 8 s over 4000 slices: 2 ms; 2000 slices in 2 s: 1000/s per hog.
        self.assertAlmostEqual(m["hog_quantum_ms"], 2.0)
        self.assertAlmostEqual(m["hog_switches_per_s"], 1000)
        self.assertAlmostEqual(m["latency_quantum_ms"], 20.0)
        self.assertEqual(m["reason"], "latency")

    def test_alone_has_no_hog_figures(self):
        m = br.run_metrics(run("alone", 0, ONE_TO_THOUSAND))
        self.assertIsNone(m["hog_throughput_per_s"])
        self.assertIsNone(m["hog_quantum_ms"])
        self.assertEqual(m["shares_pct"], [100.0])


def three_reps(kernel, d, enforce_p99_us=(2000, 2200, 2100), stock_p99_us=(4000, 5000, 4500)):
    """Stock, tuned and enforce, three repetitions: p99 = the last sample of
    100 below 1 ms and one at the given value (nearest rank 99 of 100 is
    the 99th: 99 samples of 900 us, then the value)."""
    def samples(p99):
        return [900.0] * 98 + [float(p99), float(p99) * 2]
    runs = []
    stock_hogs = ((1000, 1000), (2000, 2000), (3000, 3000))   # 1000, 2000, 3000 /s
    enforce_hogs = ((990, 990), (1960, 1960), (3030, 3030))   # -1%, -2%, +1%
    tuned_hogs = ((900, 900), (1800, 1800), (2700, 2700))     # -10%
    for rep in range(3):
        runs.append(run("alone", rep, [500.0] * 100))
        runs.append(run("stock", rep, samples(stock_p99_us[rep]), hogs=stock_hogs[rep]))
        runs.append(run("tuned", rep, samples(2000), hogs=tuned_hogs[rep],
                        slices=(100, 8000, 8000)))
        runs.append(run("enforce", rep, samples(enforce_p99_us[rep]), hogs=enforce_hogs[rep],
                        run_ns=(2.1e9, 3.95e9, 3.95e9)))
    # Enforce's traced runs: 1.5, 2.5 and 3.5% stalled, 10% waited (median
    # 2.5%), their own p99 3, 4 and 5 ms; stock has none.
    traced = []
    for rep in range(3):
        r = run("enforce", rep, samples(3000 + 1000 * rep))
        r["phases"] = {"raise": {"n": 100, "mean_us": 100.0, "slow_pct": 1.5 + rep},
                       "wait": {"n": 100, "mean_us": 400.0, "slow_pct": 10.0},
                       "run": {"n": 100, "mean_us": 300.0, "slow_pct": 0.0}}
        traced.append(r)
    return br.latency_report(write(d, kernel, runs, reps=3, phase_runs=traced))


class Repetitions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.rep, self.samples = three_reps("6.12.1-amd64", os.path.join(self.tmp.name, "t"))

    def tearDown(self):
        self.tmp.cleanup()

    def test_traced_runs_apart(self):
        c = self.rep["configs"]
        tr = c["enforce"]["traced"]
        self.assertEqual(tr["runs"], 3)
        self.assertAlmostEqual(tr["stall_pct"]["median"], 2.5)
        self.assertAlmostEqual(tr["wait_pct"]["median"], 10.0)
        self.assertAlmostEqual(tr["p99_ms"]["median"], 4.0)      # the traced runs' own
        self.assertAlmostEqual(c["enforce"]["p99_ms"]["median"], 2.1)   # not mixed in
        self.assertNotIn("traced", c["stock"])

    def check_medians(self):
        c = self.rep["configs"]
        self.assertEqual(list(c), ["alone", "stock", "tuned", "enforce"])
        p99 = c["enforce"]["p99_ms"]
        self.assertAlmostEqual(p99["median"], 2.1)
        self.assertAlmostEqual(p99["min"], 2.0)
        self.assertAlmostEqual(p99["max"], 2.2)
        self.assertAlmostEqual(c["stock"]["p99_ms"]["median"], 4.5)
        self.assertAlmostEqual(c["stock"]["p50_ms"]["median"], 0.9)
        # Throughput 1000 2000 3000 (stock) and 990 1960 3030 (enforce).
        self.assertAlmostEqual(c["stock"]["hog_throughput_per_s"]["median"], 2000)
        self.assertAlmostEqual(c["enforce"]["hog_throughput_per_s"]["median"], 1960)

    def test_medians_and_ranges(self):
        self.check_medians()
        self.assertEqual(self.rep["scheduler"], "EEVDF")
        self.assertEqual(self.rep["configs"]["tuned"]["tuned"], {"base_slice_ns": 100000})

    def test_wrong_median_fails(self):
        def mean_spread(vals):
            return {"median": sum(vals) / len(vals), "min": min(vals), "max": max(vals),
                    "reps": vals}
        with mock.patch.object(br, "spread", mean_spread):
            rep, _ = three_reps("6.12.1-amd64", os.path.join(self.tmp.name, "m"),
                                stock_p99_us=(4000, 4500, 9000))
        self.rep = rep
        with self.assertRaises(AssertionError):
            self.check_medians()

    def test_throughput_delta_paired_by_repetition(self):
        d = self.rep["configs"]["enforce"]["hog_throughput_vs_stock_pct"]
        # Per repetition -1%, -2%, +1%: median -1% (medians alone would say -2%).
        self.assertAlmostEqual(d["median"], -1.0)
        self.assertAlmostEqual(d["min"], -2.0)
        self.assertAlmostEqual(d["max"], 1.0)
        self.assertAlmostEqual(self.rep["configs"]["tuned"]["hog_throughput_vs_stock_pct"]
                               ["median"], -10.0)
        self.assertAlmostEqual(self.rep["configs"]["stock"]["hog_throughput_vs_stock_pct"]
                               ["median"], 0.0)
        self.assertIsNone(self.rep["configs"]["alone"]["hog_throughput_vs_stock_pct"])

    def test_shares_and_switches(self):
        c = self.rep["configs"]
        self.assertEqual([round(s["median"], 1) for s in c["enforce"]["shares_pct"]],
                         [21.0, 39.5, 39.5])
        self.assertAlmostEqual(c["tuned"]["hog_switches_per_s"]["median"], 4000)
        self.assertAlmostEqual(c["tuned"]["hog_quantum_ms"]["median"], 0.5)
        self.assertEqual(c["enforce"]["latency_vcpu_reason"], "latency")

    def test_cdf_samples_pooled(self):
        self.assertEqual(len(self.samples["enforce"]), 300)
        self.assertEqual(self.samples["enforce"], sorted(self.samples["enforce"]))
        self.assertAlmostEqual(self.samples["alone"][0], 0.5)

    def test_goals_eevdf(self):
        g = {x["goal"]: x for x in self.rep["goals"]}
        self.assertEqual(len(g), 4)
        p99 = g["enforce cuts the latency VM's p99 at least in half"]
        self.assertEqual(p99["status"], "met")                 # 2.1 / 4.5
        self.assertAlmostEqual(p99["value"], 2.1 / 4.5)
        hogs = g["the hogs lose at most 3% of their throughput"]
        self.assertEqual(hogs["status"], "met")
        shares = g["CPU shares stay as stock gives them"]
        self.assertAlmostEqual(shares["value"], 1.0)           # 21 vs 20
        self.assertEqual(shares["status"], "met")
        tuned = g["enforce gives the hogs more than tuned at similar latency"]
        self.assertEqual(tuned["status"], "met")               # 1960 vs 1800, p99 2.1 vs 2.0
        self.assertAlmostEqual(tuned["value"], 100 * (1960 / 1800 - 1))

    def test_goals_not_met(self):
        rep, _ = three_reps("7.2.0-amd64", os.path.join(self.tmp.name, "n"),
                            enforce_p99_us=(3000, 3000, 3000))
        g = {x["goal"]: x["status"] for x in rep["goals"]}
        self.assertEqual(g["enforce cuts the latency VM's p99 at least in half"], "not met")
        self.assertTrue(g["enforce gives the hogs more than tuned at similar latency"]
                        .startswith("n/a (latency not similar"))


class Storms(unittest.TestCase):
    """The compute/exit-storm set: quanta and switches per mode, medians."""

    @staticmethod
    def storm(mode, rep, q_ms, slices, run_ms=5000):
        return {"mode": mode, "rep": rep, "vms": [
            {"program": "compute:5000", "run_ms": run_ms,
             "schedstat": {"run_ns": int(q_ms * 1e6 * slices), "timeslices": slices}}]}

    def test_quanta_and_switches(self):
        st = br.storms_report([self.storm("observe", 0, 4.0, 500), self.storm("observe", 1, 6.0, 500),
                               self.storm("observe", 2, 5.0, 1000), self.storm("enforce", 0, 8.0, 250)])
        o = st["observe"]["compute"]
        self.assertAlmostEqual(o["quantum_ms"]["median"], 5.0)
        self.assertAlmostEqual(o["quantum_ms"]["min"], 4.0)
        self.assertAlmostEqual(o["switches_per_s"]["median"], 100.0)
        self.assertAlmostEqual(st["enforce"]["compute"]["switches_per_s"]["median"], 50.0)

    def test_no_slices_no_quantum(self):
        st = br.storms_report([self.storm("observe", 0, 4.0, 0)])
        self.assertIsNone(st["observe"]["compute"]["quantum_ms"])


class CfsGoal(unittest.TestCase):
    def goal(self, enforce, stock=(4000, 5000, 4500)):
        with tempfile.TemporaryDirectory() as d:
            rep, _ = three_reps("6.1.0-57-amd64", d, enforce_p99_us=enforce, stock_p99_us=stock)
        self.assertEqual(rep["scheduler"], "CFS")
        self.assertEqual(len(rep["goals"]), 1)
        return rep["goals"][0]["status"]

    def test_no_worse(self):
        self.assertEqual(self.goal((4000, 4400, 4200)), "met")

    def test_within_noise(self):
        # 4.8 against 4.5, stock spread 1.0 ms: within noise.
        self.assertEqual(self.goal((4700, 4800, 4900)), "met (within noise)")

    def test_worse(self):
        self.assertEqual(self.goal((9000, 9100, 9200)), "not met")


class EndToEnd(unittest.TestCase):
    def test_report_readme(self):
        with tempfile.TemporaryDirectory() as d:
            three_reps("6.12.1-amd64", os.path.join(d, "trixie-latency"))
            readme = os.path.join(d, "README")
            with open(readme, "w") as f:
                f.write("x\n=\n\nIntro\n\nWhat it costs: make bench\n"
                        "--------------------------\n\n    make bench\n")
            bench = os.path.join(d, "bench")
            with redirect_stdout(io.StringIO()):
                br.main(["--no-plots", "--readme", readme, bench, os.path.join(d, "trixie-latency")])
            res = json.load(open(os.path.join(bench, "results.json")))
            self.assertIn("latency", res["kernels"]["trixie"])
            self.assertNotIn("per_exit", res["kernels"]["trixie"])
            self.assertEqual(res["kernels"]["trixie"]["kernel"], "6.12.1-amd64")
            md = open(os.path.join(bench, "results.md")).read()
            self.assertIn("## Latency beside CPU hogs", md)
            self.assertNotIn("## What it costs", md)
            text = open(readme).read()
            self.assertLess(text.index("Results\n-------"), text.index("What it costs: make bench"))
            self.assertIn(".. bench-results-begin", text)
            self.assertIn("    stock ", text)
            self.assertIn("> 2 ms", text)
            self.assertIn("| over 2 ms |", md)
            # The phases: enforce's median stalled and waited shares; "-"
            # where a configuration ran without the trace.
            enforce = next(ln for ln in text.splitlines() if ln.startswith("    enforce "))
            self.assertRegex(enforce, r"\s2\.5%\s+10\.0%\s")
            stock = next(ln for ln in text.splitlines() if ln.startswith("    stock "))
            self.assertRegex(stock, r"%\s+-\s+-\s+")
            self.assertIn("| 100 | 2.5% (1.5% to 3.5%) | 10.0% | 0.10 / 0.40 / 0.30 |", md)
            self.assertIn("| latency | 4.000 (3.000 to 5.000) | 2.0% |", md)
            # A second run replaces the block, nothing doubles.
            with redirect_stdout(io.StringIO()):
                br.main(["--no-plots", "--readme", readme, bench, os.path.join(d, "trixie-latency")])
            again = open(readme).read()
            self.assertEqual(again.count(".. bench-results-begin"), 1)
            self.assertEqual(again.count("Results\n-------"), 1)
            self.assertEqual(len(again.splitlines()), len(text.splitlines()))

    @unittest.skipUnless(HAVE_MPL, "matplotlib missing: the report skips its plots")
    def test_plots(self):
        with tempfile.TemporaryDirectory() as d:
            three_reps("6.12.1-amd64", os.path.join(d, "trixie-latency"))
            three_reps("6.1.0-1-amd64", os.path.join(d, "bookworm-latency"))
            bench = os.path.join(d, "bench")
            with redirect_stdout(io.StringIO()):
                br.main([bench, os.path.join(d, "bookworm-latency"),
                         os.path.join(d, "trixie-latency")])
            res = json.load(open(os.path.join(bench, "results.json")))
            self.assertEqual(res["plots"], ["latency-cdf.png", "hog-quanta.png"])
            for p in res["plots"]:
                with open(os.path.join(bench, p), "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_not_a_bench_dir(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(SystemExit):
                br.main(["--no-plots", os.path.join(d, "out"), d])


# Synthetic cost runs: per exit, KVM runs 2000 instructions in svm_vcpu_run;
# with the module, its exit probe adds 30 and the tracepoint call site in
# svm_vcpu_run 20; each run also has fixed costs the slope cancels, and
# with VMs known the sampler adds instructions in proportion to the run
# (per window, not per exit) in a module function of its own, and the idle
# VMs cost KVM 3 more per exit in the runs without the module too.
KALLSYMS = ("ffffffff81000000 T svm_vcpu_run\n"
            "ffffffff81001000 t other_kernel_code\n"
            "ffffffffc0000000 t kq_probe_exit_tsc\t[kvm_quanta]\n"
            "ffffffffc0001000 t kq_sample_window\t[kvm_quanta]\n"
            "ffffffffc0002000 t kq_rare\t[kvm_quanta]\n")
SVM, OTHER, PROBE, SAMPLER, RARE = 0xffffffff81000010, 0xffffffff81001010, 0xffffffffc0000010, \
    0xffffffffc0001010, 0xffffffffc0002010


def cost_run(mode, exits, known):
    """{vaddr: instructions} between a storm's two markers."""
    # Idle VMs held open cost KVM a little per exit, with or without the module.
    rows = {SVM: 2000 * exits + (20 * exits if mode != "bare" else 0),
            OTHER: 5000 + (3 * exits if known else 0)}
    if mode != "bare":
        rows[PROBE] = 30 * exits
        rows[RARE] = exits // 5  # under half an instruction per exit: not the exit path
        if known:
            rows[SAMPLER] = 7 * exits  # the windows, longer runs see more of them
    return rows


def cost_dir(d, reps=2, known=(0, 1000)):
    """insncost-plan.json, plugin.log and kallsyms as tests/rig/insncost.py
    and the plugin leave them, for 1-vCPU storms of 100 and 200 exits."""
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "kallsyms-0.txt"), "w") as f:
        f.write(KALLSYMS)
    runs, log, mark, count = [], [], 0, 10 ** 6
    for rep in range(reps):
        for mode in ("bare", "observe"):
            for k in known:
                for exits in (100, 200):
                    rows = cost_run(mode, exits, k)
                    for i in (0, 1):
                        mark += 1
                        if i:
                            count += sum(rows.values())
                            log += [f"kq-tb {mark} {a:x} {n}" for a, n in rows.items()]
                        log.append(f"kq-mark {mark} {count}")
                    runs.append({"mode": mode, "kind": "storm", "exits": exits, "vcpus": 1,
                                 "known": k, "rep": rep, "markers": 2,
                                 "kallsyms": "kallsyms-0.txt", "error": ""})
    with open(os.path.join(d, "insncost-plan.json"), "w") as f:
        json.dump({"kernel": "6.12.1-amd64", "runs": runs}, f)
    with open(os.path.join(d, "plugin.log"), "w") as f:
        f.write("\n".join(log) + "\n")
    return d


class Cost(unittest.TestCase):
    def test_slopes_and_module_functions(self):
        with tempfile.TemporaryDirectory() as d:
            k = br.kernel_report(cost_dir(os.path.join(d, "trixie")))
        self.assertEqual(k["per_exit"]["bare/1"]["median"], 2000)
        self.assertEqual(k["per_exit"]["bare/1+1000"]["median"], 2003)
        self.assertAlmostEqual(k["added_per_exit"]["observe/1"]["median"], 50.2)
        # Only the module's own functions: not KVM's call site.
        self.assertEqual(k["exit_path_per_exit"]["observe/1"]["median"], 30)
        # With 1,000 VMs known the sampler's windows land in the slope, not
        # in the functions a lone vCPU's exits run.
        self.assertAlmostEqual(k["added_per_exit"]["observe/1+1000"]["median"], 57.2)
        self.assertEqual(k["exit_path_per_exit"]["observe/1+1000"]["median"], 30)
        self.assertEqual(k["exit_path_per_exit"]["observe/1"]["reps"], [30, 30])
        self.assertEqual(dict(k["functions_added_per_exit"]["observe/1"]),
                         {"kq_probe_exit_tsc [kvm_quanta]": 30.0, "svm_vcpu_run": 20.0})

    def test_no_known_vms(self):
        with tempfile.TemporaryDirectory() as d:
            k = br.kernel_report(cost_dir(os.path.join(d, "trixie"), known=(0,)))
        self.assertEqual(sorted(k["added_per_exit"]), ["observe/1"])

    def test_labels(self):
        self.assertEqual(br.cost_label("observe", 8), "observe/8")
        self.assertEqual(br.cost_label("enforce", 1, 1000), "enforce/1+1000")
        self.assertEqual(br.cost_key("enforce/1+1000"), ("enforce", 1, 1000))
        self.assertEqual(br.cost_key("bare/64"), ("bare", 64, 0))

    def test_markdown_rows(self):
        with tempfile.TemporaryDirectory() as d:
            k = br.kernel_report(cost_dir(os.path.join(d, "trixie")))
        md = "\n".join(br.cost_markdown({"exits": [100, 200], "reps": 2,
                                         "kernels": {"trixie": k}}))
        self.assertIn("| trixie (6.12.1-amd64) | 1 | 1 | 2000 (2000-2000) | 50 (50-50) | - "
                      "| 30 (30-30) | - |", md)
        self.assertIn("| trixie (6.12.1-amd64) | 1 | 1001 | 2003 (2003-2003) | 57 (57-57) | - "
                      "| 30 (30-30) | - |", md)


class KqtestResult(unittest.TextTestResult):
    """unittest's results as KQTEST lines (bench-report:NAME)."""

    def name(self, test):
        return "bench-report:" + test.id().split(".", 1)[1]

    def addSuccess(self, test):
        super().addSuccess(test)
        print(f"KQTEST ok {self.name(test)}", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print(f"KQTEST not ok {self.name(test)} - {err[1]}".replace("\n", " ")[:300], flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print(f"KQTEST not ok {self.name(test)} - {err[0].__name__}: {err[1]}"
              .replace("\n", " ")[:300], flush=True)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    verbosity = 2 if "-v" in sys.argv[1:] else 0
    r = unittest.TextTestRunner(resultclass=KqtestResult, verbosity=verbosity,
                                stream=sys.stderr).run(suite)
    sys.exit(0 if r.wasSuccessful() else 1)
