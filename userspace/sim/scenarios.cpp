// SPDX-License-Identifier: GPL-2.0
#include "scenarios.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "policy.h"

namespace kq::sim {

Comparison Compare(const Config& c) {
  Config stock = c, pol = c;
  stock.policy = false;
  stock.observe = true;
  pol.policy = true;
  const Result s = Run(stock), p = Run(pol);
  Comparison r;
  r.stock = s.VmShares(stock);
  r.policy = p.VmShares(pol);
  for (size_t v = 0; v < r.stock.size(); v++)
    r.max_diff = std::max(r.max_diff, std::abs(r.stock[v] - r.policy[v]));
  uint64_t warm = 0, warm_windows = 0, payback = 0, slices_s = 0, slices_p = 0;
  uint64_t run_s = 0, run_p = 0;
  const double span = double(c.windows) * double(c.window_ns);
  for (const VcpuResult& v : s.vcpus)
    r.ref_bias_pct = std::max(r.ref_bias_pct, 100.0 * double(std::abs(v.debt_ns)) / span);
  for (size_t i = 0; i < c.vcpus.size(); i++) {
    const VcpuResult& v = p.vcpus[i];
    r.max_debt_ms = std::max(r.max_debt_ms, double(v.max_abs_debt_ns) / 1e6);
    payback += v.payback_windows;
    if (c.vcpus[i].heavy) continue;
    warm += v.warm_windows;
    warm_windows += c.windows;
    run_s += s.vcpus[i].run_ns;
    slices_s += s.vcpus[i].slices;
    run_p += v.run_ns;
    slices_p += v.slices;
  }
  r.warm_pct = warm_windows ? 100.0 * double(warm) / double(warm_windows) : 0;
  r.payback_pct = 100.0 * double(payback) / double(c.windows * c.vcpus.size());
  r.warm_quantum_stock_ms = slices_s ? double(run_s) / double(slices_s) / 1e6 : 0;
  r.warm_quantum_policy_ms = slices_p ? double(run_p) / double(slices_p) / 1e6 : 0;
  return r;
}

std::vector<Config> FixedScenarios() {
  std::vector<Config> out;
  for (Sched s : {Sched::kCfs, Sched::kEevdf}) {
    Config c;
    c.sched = s;
    // The case: A always runnable, B CPU-bound half of each window.
    c.vms = {{100}, {100}};
    c.vcpus = {{0, 0, 1, 0, 0, false}, {1, 0, 50, 50, 0, false}};
    out.push_back(c);
    // The rig's: a compute VM and two exit storms on one CPU.
    c.vms = {{100}, {100}, {100}};
    c.vcpus = {{0, 0, 1, 0, 0, false}, {1, 0, 1, 0, 0, true}, {2, 0, 1, 0, 0, true}};
    out.push_back(c);
    // The mixed duty-cycle set: always-runnable compute, compute
    // running 20 ms of every 40, an exit storm.
    c.vcpus = {{0, 0, 1, 0, 0, false}, {1, 0, 20, 20, 0, false}, {2, 0, 1, 0, 0, true}};
    out.push_back(c);
    // Weights 200:100, a storm of weight 100.
    c.vms = {{200}, {100}, {100}};
    c.vcpus = {{0, 0, 1, 0, 0, false}, {1, 0, 1, 0, 0, false}, {2, 0, 1, 0, 0, true}};
    out.push_back(c);
    // Per-VM weight: a 3-vCPU VM and a 1-vCPU VM, unpinned on 2 CPUs.
    c.cpus = 2;
    c.vms = {{100}, {100}};
    c.vcpus = {{0, -1, 1, 0, 0, false},
               {0, -1, 1, 0, 0, true},
               {0, -1, 30, 10, 5, false},
               {1, -1, 1, 0, 0, false}};
    out.push_back(c);
  }
  return out;
}

Config SmallCacheScenario(Sched sched) {
  Config c;
  c.sched = sched;
  c.vms = {{100}, {100}, {100}};
  VcpuSpec friendly{.vm = 0, .ipc_lo = 750, .ipc_hi = 900, .llc_lo = 25000, .llc_hi = 32000};
  VcpuSpec mixed{.vm = 1, .ipc_lo = 550, .ipc_hi = 800, .llc_lo = 30000, .llc_hi = 45000};
  VcpuSpec streaming{.vm = 2, .ipc_lo = 400, .ipc_hi = 600, .llc_lo = 45000, .llc_hi = 60000};
  c.vcpus = {friendly, mixed, streaming};
  return c;
}

Config GroupScenario(Sched sched) {
  Config c;
  c.sched = sched;
  c.vms = {{.weight = 100, .group = 1}, {.weight = 100, .group = 1}, {.weight = 100, .group = 0}};
  c.vcpus = {{.vm = 0, .cpu = 0, .heavy = false},
             {.vm = 1, .cpu = 0, .heavy = true},
             {.vm = 2, .cpu = 0, .heavy = false}};
  c.exit_cost_ns = 5000;
  return c;
}

GroupFigures RunGroup(const Config& c) {
  Config pol = c;
  pol.policy = true;
  GroupFigures f;
  f.result = Run(pol);
  f.shares = f.result.VmShares(pol);
  uint64_t run[2] = {}, guest = 0;
  const uint64_t windows = uint64_t(c.windows);
  int64_t shift[2] = {};
  for (size_t i = 0; i < c.vcpus.size(); i++) {
    const int vm = c.vcpus[i].vm;
    if (vm > 1) continue;
    run[vm] += f.result.vcpus[i].run_ns;
    guest += f.result.vcpus[i].guest_ns;
    shift[vm] += f.result.vcpus[i].group_shift_pct_sum;
  }
  f.efficient_pct = run[0] + run[1] ? 100.0 * double(run[0]) / double(run[0] + run[1]) : 0;
  f.group_work_ms = double(guest) / 1e6;
  f.group_run_ms = double(run[0] + run[1]) / 1e6;
  for (int v = 0; v < 2; v++) f.mean_shift_pct[v] = double(shift[v]) / double(windows);
  return f;
}

uint32_t KqGroupShiftPct(const Config& c) {
  if (c.group_shift_pct) return *c.group_shift_pct;
  kq_policy_params p;
  kq_policy_defaults(&p);
  return p.group_shift_pct;
}

Config Ungrouped(Config c) {
  for (VmSpec& v : c.vms) v.group = 0;
  return c;
}

Config SmtScenario(Sched sched) {
  Config c;
  c.sched = sched;
  c.cpus = 2;
  c.smt = true;
  c.vms = {{.weight = 100}, {.weight = 100}, {.weight = 100}, {.weight = 100}};
  c.vcpus = {
      {.vm = 0, .cpu = 0, .ipc_lo = 400, .ipc_hi = 600, .llc_lo = 30000, .llc_hi = 40000},
      {.vm = 1, .cpu = 0, .ipc_lo = 2000, .ipc_hi = 2500, .llc_lo = 200, .llc_hi = 500},
      {.vm = 2, .cpu = 1, .ipc_lo = 500, .ipc_hi = 700, .llc_lo = 20000, .llc_hi = 28000},
      {.vm = 3, .cpu = 1, .ipc_lo = 2000, .ipc_hi = 2500, .llc_lo = 200, .llc_hi = 500},
  };
  return c;
}

SmtFigures RunSmt(const Config& c) {
  SmtFigures f;
  const Result r = Run(c);
  const uint64_t total = uint64_t(c.windows) * c.window_ns;
  f.hungry_pair_pct = total ? 100.0 * double(r.hungry_pair_ns) / double(total) : 0;
  f.shares = r.VmShares(c);
  f.thrasher_smt_windows = r.vcpus[0].smt_windows;
  f.thrasher_yields = r.vcpus[0].yields;
  return f;
}

Config RandomScenario(uint64_t seed, Mix mix) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return rng() % n; };
  Config c;
  c.sched = pick(2) ? Sched::kEevdf : Sched::kCfs;
  c.cpus = 1 + static_cast<int>(pick(3));
  const int vms = 2 + static_cast<int>(pick(3));
  static const uint32_t kWeights[] = {50, 100, 100, 100, 200, 300};
  std::vector<bool> duty_taken(c.cpus, false);
  for (int v = 0; v < vms; v++) {
    c.vms.push_back({kWeights[pick(6)]});
    const int n = mix == Mix::kExact ? 1 : 1 + static_cast<int>(pick(pick(3) ? 1 : 3));
    for (int k = 0; k < n; k++) {
      VcpuSpec s;
      s.vm = v;
      s.cpu = mix == Mix::kExact || pick(10) < 7 ? static_cast<int>(pick(c.cpus)) : -1;
      const bool duty = mix == Mix::kAny || (mix == Mix::kExact && !duty_taken[s.cpu]);
      if (duty && pick(2)) {
        if (s.cpu >= 0) duty_taken[s.cpu] = true;
        s.on_ms = 5 + double(pick(56));
        s.off_ms = 5 + double(pick(56));
        s.phase_ms = double(pick(60));
      }
      s.heavy = pick(10) < 3;
      c.vcpus.push_back(s);
    }
  }
  return c;
}

}  // namespace kq::sim
