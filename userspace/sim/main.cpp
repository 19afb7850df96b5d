// SPDX-License-Identifier: GPL-2.0
// kq-sim: drift figures of the policy and fairness ledger against the stock
// scheduler model, for a few fixed scenarios and random ones (fixed seeds).
//   kq-sim [RANDOM_SCENARIOS]   default 40
// Prints, per scenario, each VM's share without and with the policy, the
// largest difference in points, the largest |debt| any vCPU reached, and
// how often the warm vCPUs were extended; then the worst over all; then the
// small-cache processor with fixed and with the host's own PMU thresholds;
// then phase placement within a group (GroupScenario) without and with the
// group, and with group_shift_pct 0; then SMT siblings (SmtScenario), stock
// against the policy: how long both threads of the core ran cache-hungry
// vCPUs, and the shares.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "scenarios.hpp"
#include "sim.hpp"

int main(int argc, char** argv) {
  using namespace kq::sim;
  const int random = argc > 1 ? std::atoi(argv[1]) : 40;
  const std::string opt = argc > 2 ? argv[2] : "";
  const bool exact = opt == "exact";
  const bool cfs_correction = opt == "cfs-correction";
  std::vector<Config> all = FixedScenarios();
  const Mix mixes[] = {Mix::kExact, Mix::kBusy, Mix::kAny};
  const char* names[] = {"exact", "busy", "any"};
  std::vector<int> mix_of(all.size(), -1);
  for (int m = 0; m < 3; m++)
    for (int i = 0; i < random; i++) {
      all.push_back(RandomScenario(1000 * (m + 1) + i, mixes[m]));
      mix_of.push_back(m);
    }
  std::vector<std::vector<double>> diffs(6);
  double worst = 0, worst_debt = 0;
  for (size_t k = 0; k < all.size(); k++) {
    Config& c = all[k];
    c.exact_cpu_wait = exact;
    c.cfs_correction = cfs_correction;
    const Comparison r = Compare(c);
    if (mix_of[k] >= 0) diffs[2 * mix_of[k] + (c.sched == Sched::kEevdf)].push_back(r.max_diff);
    std::printf("%s\n  shares stock/policy:", Describe(c).c_str());
    for (size_t v = 0; v < r.stock.size(); v++)
      std::printf(" vm%zu %.1f/%.1f", v, r.stock[v], r.policy[v]);
    std::printf(
        "\n  max share diff %.2f points, max |debt| %.1f ms, reference bias %.2f%%, warm "
        "extended %.0f%% of windows (quantum %.2f -> %.2f ms), payback %.0f%%\n",
        r.max_diff, r.max_debt_ms, r.ref_bias_pct, r.warm_pct, r.warm_quantum_stock_ms,
        r.warm_quantum_policy_ms, r.payback_pct);
    worst = std::max(worst, r.max_diff);
    worst_debt = std::max(worst_debt, r.max_debt_ms);
  }
  for (int m = 0; m < 6; m++) {
    std::vector<double>& d = diffs[m];
    if (d.empty()) continue;
    std::sort(d.begin(), d.end());
    std::printf("random %s %s (%zu): share diff median %.2f, p90 %.2f, max %.2f points\n",
                names[m / 2], m % 2 ? "EEVDF" : "CFS", d.size(), d[d.size() / 2],
                d[d.size() * 9 / 10], d.back());
  }
  std::printf("worst: %.2f points of share, %.1f ms of debt over %zu scenarios\n", worst,
              worst_debt, all.size());
  for (const Sched s : {Sched::kCfs, Sched::kEevdf}) {
    for (const bool host : {false, true}) {
      Config c = SmallCacheScenario(s);
      c.host_thresholds = host;
      Config pol = c;
      pol.policy = true;
      const Result r = Run(pol);
      std::printf("small cache, %s, %s thresholds: warm windows (mean quantum)",
                  s == Sched::kCfs ? "CFS" : "EEVDF", host ? "host" : "fixed");
      for (size_t v = 0; v < r.vcpus.size(); v++)
        std::printf(" vm%zu %llu (%.2f ms)", v,
                    static_cast<unsigned long long>(r.vcpus[v].warm_windows),
                    r.vcpus[v].mean_quantum_ns() / 1e6);
      std::printf(", max share diff %.2f points\n", Compare(c).max_diff);
    }
  }
  for (const Sched s : {Sched::kCfs, Sched::kEevdf}) {
    const Config c = GroupScenario(s);
    const GroupFigures none = RunGroup(Ungrouped(c)), with = RunGroup(c);
    Config off = c;
    off.group_shift_pct = 0;
    const GroupFigures zero = RunGroup(off);
    const double bound = (100.0 + KqGroupShiftPct(c)) / 2;
    std::printf(
        "%s\n  group (vm0 compute, vm1 exit-heavy) without/with: vm0's part of the group's "
        "time %.1f%%/%.1f%% (bound %.0f%%), mean shift vm0 %+.1f%% vm1 %+.1f%%\n",
        Describe(c).c_str(), none.efficient_pct, with.efficient_pct, bound, with.mean_shift_pct[0],
        with.mean_shift_pct[1]);
    std::printf(
        "  group's guest time %.0f/%.0f ms (%+.2f%%), per ms it ran %.4f/%.4f; shares vm0 "
        "%.1f/%.1f vm1 %.1f/%.1f, ungrouped vm2 %.2f/%.2f (%+.2f points); group_shift_pct 0: "
        "vm2 %.2f, vm0's part %.1f%%\n",
        none.group_work_ms, with.group_work_ms,
        100.0 * (with.group_work_ms - none.group_work_ms) / none.group_work_ms,
        none.group_work_ms / none.group_run_ms, with.group_work_ms / with.group_run_ms,
        none.shares[0], with.shares[0], none.shares[1], with.shares[1], none.shares[2],
        with.shares[2], with.shares[2] - none.shares[2], zero.shares[2], zero.efficient_pct);
  }
  for (const Sched s : {Sched::kCfs, Sched::kEevdf}) {
    const Config c = SmtScenario(s);
    Config pol = c;
    pol.policy = true;
    Config off = pol;
    off.smt_hungry_pct = 0;
    const SmtFigures stock = RunSmt(c), with = RunSmt(pol), zero = RunSmt(off);
    std::printf(
        "%s\n  SMT core (vm0, vm2 cache-hungry): both threads hungry %.1f%% of the time stock, "
        "%.1f%% with the policy (%.1f%% at smt_hungry_pct 0); vm0 smt in %llu windows, %llu "
        "early switches (%llu at 0); shares stock/policy",
        Describe(c).c_str(), stock.hungry_pair_pct, with.hungry_pair_pct, zero.hungry_pair_pct,
        static_cast<unsigned long long>(with.thrasher_smt_windows),
        static_cast<unsigned long long>(with.thrasher_yields),
        static_cast<unsigned long long>(zero.thrasher_yields));
    for (size_t v = 0; v < stock.shares.size(); v++)
      std::printf(" vm%zu %.1f/%.1f", v, stock.shares[v], with.shares[v]);
    std::printf("\n");
  }
  return 0;
}
