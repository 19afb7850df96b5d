// SPDX-License-Identifier: GPL-2.0
// Scenarios for the simulator and a stock-vs-policy comparison, shared by
// its tests and kq-sim.
#ifndef KQ_SIM_SCENARIOS_HPP
#define KQ_SIM_SCENARIOS_HPP

#include <cstdint>
#include <vector>

#include "sim.hpp"

namespace kq::sim {

struct Comparison {
  std::vector<double> stock, policy;  // VM shares, percent
  double max_diff = 0;                // points
  double max_debt_ms = 0;             // largest |debt| of any vCPU
  // The ledger run on the stock scheduler (observe): its reference's bias,
  // the largest |debt| at the end over the run time, percent of a CPU.
  double ref_bias_pct = 0;
  double warm_pct = 0;     // windows decided warm, over the warm vCPUs
  double payback_pct = 0;  // windows decided payback, over all vCPUs
  double warm_quantum_stock_ms = 0, warm_quantum_policy_ms = 0;  // warm vCPUs
};

Comparison Compare(const Config& c);

// The and the rig's cases, on both schedulers.
std::vector<Config> FixedScenarios();

// A processor with a small LLC: three always-runnable, warm-by-exits VMs on
// one CPU that miss 25 to 60 times per 1000 instructions in every window
// (VM 0 the least, at the highest IPC; VM 2 streaming).  Only the host's
// own thresholds (host_thresholds) call any of them warm.
Config SmallCacheScenario(Sched sched);

// Phase placement within a group: on one CPU, VM 0 (compute-bound: long
// guest runs, an exit every 2 ms) and VM 1 (exit-heavy: an exit every
// 50 us) declared one group, beside VM 2 (compute-bound, in no group); all
// always runnable, each exit 5 us of host time (Config::exit_cost_ns).
Config GroupScenario(Sched sched);

// The group scenario's figures from one run with the policy.
struct GroupFigures {
  std::vector<double> shares;     // each VM's share of all run time, percent
  double efficient_pct = 0;       // VM 0's part of the group's (VMs 0, 1) run time, percent
  double group_work_ms = 0;       // the group's guest time over the run
  double group_run_ms = 0;        // the group's run time over the run
  double mean_shift_pct[2] = {};  // VM 0's and VM 1's mean applied shift
  Result result;
};
GroupFigures RunGroup(const Config& c);
// The group_shift_pct c runs with (its own, else the module's default).
uint32_t KqGroupShiftPct(const Config& c);
// c with every VM in no group.
Config Ungrouped(Config c);

// SMT siblings: two CPUs, one core.  On CPU 0 a cache-hungry VM (LLC MPKI
// 30-40) and a cache-friendly one (0.2-0.5 MPKI, IPC 2-2.5), on CPU 1 the
// same with a hungry VM that misses less (20-28); each 1 vCPU, pinned,
// always runnable, exits every 2 ms.
Config SmtScenario(Sched sched);

// The SMT scenario's figures from one run (policy or stock, as c says).
struct SmtFigures {
  double hungry_pair_pct = 0;         // of the run, both threads of the core cache-hungry
  std::vector<double> shares;         // each VM's share of all run time, percent
  uint64_t thrasher_smt_windows = 0;  // VM 0's windows decided smt
  uint64_t thrasher_yields = 0;       // VM 0's early switches
};
SmtFigures RunSmt(const Config& c);

// Random workloads, the same for a given seed.
enum class Mix {
  // 1-3 CPUs, 2-4 VMs of 1-3 vCPUs, weights 50-300, duty cycles,
  // exit-heavy and warm vCPUs, pinned and not.
  kAny,
  // Where the ledger's model is exact: 1-vCPU VMs, pinned, at most one
  // partly runnable vCPU on each CPU.
  kExact,
  // Every vCPU always runnable; otherwise as kAny (multi-vCPU VMs,
  // unpinned, weights, heavy and warm).
  kBusy,
};
Config RandomScenario(uint64_t seed, Mix mix = Mix::kAny);

}  // namespace kq::sim

#endif  // KQ_SIM_SCENARIOS_HPP
