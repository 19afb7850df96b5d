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
